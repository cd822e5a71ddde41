import { campaignKind, contactKind, segmentKind, templateKind } from '../../replay/kinds.js';
import { streamHistory } from '../../replay/history.js';
import { deliveriesOfContact, findDelivery, type DeliveryRecord } from '../../replay/sent.js';
import { foldAsOf, type TemporalDeps, type TemporalTarget } from '../../replay/temporal.js';
import { verifySentEmail } from '../../replay/verify.js';
import { memberCountAsOf, membersAsOf } from '../../projections/segments/history.js';
import { isUuid } from '../../domain/templates/input.js';
import { notFound, ValidationError } from '../errors.js';
import { decodeCursor, encodeCursor, pageSize, toConnection } from './connection.js';
import { requirePermission, type GraphQLContext, type GraphQLSlice } from './context.js';
import { asOfNode, auditEventNode, AuditJsonScalar, campaignStateNode, contactStateNode, segmentStateNode, templateStateNode } from './auditNodes.js';
import { AUDIT_TYPE_DEFS } from './auditSchema.js';

/**
 * Auditing (issue 7): temporal queries that fold an aggregate's stream up to an instant or a revision (with
 * snapshots), the audit trail of a campaign with a diff per event, and "what was sent" with a re-render that
 * proves the recorded content hash. Everything is read from the event store the process was given (never from
 * raw event tables), so erased contacts come out erased. Permission: `read` (every role, auditor included).
 */

const temporalDeps = (ctx: GraphQLContext): TemporalDeps => ({ eventStore: ctx.deps.eventStore, db: ctx.deps.db, logger: ctx.deps.logger });

function checkId(value: string, field: string): string {
  if (value.length === 0 || value.length > 200) throw new ValidationError(field, `${field} must be 1 to 200 characters.`);
  return value;
}

/** Campaign and contact ids are uuids; anything else cannot name an email stream. */
function checkUuid(value: string, field: string): string {
  if (!isUuid(value)) throw new ValidationError(field, `${field} must be a uuid.`);
  return value.toLowerCase();
}

function checkRevision(revision: number | null | undefined): number | undefined {
  if (revision == null) return undefined;
  if (!Number.isInteger(revision) || revision < 0) throw new ValidationError('revision', 'revision must be an integer ≥ 0 (the first event of a stream is revision 0).');
  return revision;
}

async function campaignAsOf(ctx: GraphQLContext, workspaceId: string, id: string, target: TemporalTarget) {
  const fold = await foldAsOf(temporalDeps(ctx), campaignKind, id, workspaceId, target);
  if (fold.status === 'unknown') throw notFound(`Campaign ${id}`);
  if (fold.status === 'no_such_revision') throw new ValidationError('revision', `Campaign ${id} has revisions 0 to ${fold.lastRevision}, not ${target.revision}.`);
  const node = asOfNode(fold, 'campaign', target.asOf ?? null, campaignStateNode);
  return { campaignId: id, ...node, campaign: node.entity };
}

async function contactAsOf(ctx: GraphQLContext, workspaceId: string, id: string, asOf: Date) {
  const fold = await foldAsOf(temporalDeps(ctx), contactKind, id, workspaceId, { asOf });
  if (fold.status === 'unknown' || fold.status === 'no_such_revision') throw notFound(`Contact ${id}`);
  const node = asOfNode(fold, 'contact', asOf, contactStateNode);
  return { contactId: id, ...node, contact: node.entity };
}

/** The revision at which a template version was written (TemplateCreated / TemplateChanged carry the version). */
async function revisionOfTemplateVersion(ctx: GraphQLContext, workspaceId: string, id: string, version: number): Promise<number> {
  const read = await ctx.deps.eventStore.readStream(templateKind.streamId(id));
  const events = read.status === 'found' && read.events[0]?.metadata.workspaceId === workspaceId ? read.events : [];
  if (events.length === 0) throw notFound(`Template ${id}`);
  const versions = events.filter((e) => e.type === 'TemplateCreated' || e.type === 'TemplateChanged').map((e) => ({ revision: e.revision, version: (e.data as { version: number }).version }));
  const found = versions.find((v) => v.version === version);
  if (found === undefined) throw new ValidationError('version', `Template ${id} has versions 1 to ${versions.at(-1)?.version ?? 0}, not ${version}.`);
  return found.revision;
}

interface DeliveryNodeContext {
  readonly ctx: GraphQLContext;
  readonly workspaceId: string;
}

function deliveryNode(record: DeliveryRecord, { ctx, workspaceId }: DeliveryNodeContext) {
  const sent = record.sent;
  const sentAt = sent === null ? null : new Date(sent.sentAt);
  const render = ctx.deps.config.trackingSecret === undefined ? null : { trackingSecret: ctx.deps.config.trackingSecret, publicBaseUrl: ctx.deps.config.publicBaseUrl };
  return {
    campaignId: record.campaignId,
    contactId: record.contactId,
    outcome: record.outcome.toUpperCase(),
    failureReason: record.failureReason,
    at: sentAt ?? record.events.at(-1)!.recordedAt,
    email: sent?.email ?? (record.events[0]!.data as { email?: string }).email ?? null,
    variantKey: sent?.variantKey ?? (record.events[0]!.data as { variantKey?: string }).variantKey ?? null,
    messageId: sent?.messageId ?? null,
    campaignRevision: sent?.campaignRevision ?? null,
    templateId: sent?.templateId ?? null,
    templateVersion: sent?.templateVersion ?? null,
    subject: sent?.subject ?? null,
    contentHash: sent?.contentHash ?? null,
    sentAt,
    sentPosition: sent?.position ?? null,
    opens: record.opens,
    clicks: record.clicks,
    events: record.events.map(auditEventNode),
    campaignAtSend: () => (sentAt === null ? null : campaignAsOf(ctx, workspaceId, record.campaignId, { asOf: sentAt })),
    contactAtSend: () => (sentAt === null ? null : contactAsOf(ctx, workspaceId, record.contactId, sentAt)),
    verification: () => (sent === null ? null : verifySentEmail(ctx.deps.eventStore, workspaceId, sent, render)),
  };
}

const parseRevisionCursor = (value: unknown): number | undefined => (typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined);
const parseContactCursor = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);

interface SegmentMembersParent {
  readonly segmentId: string;
  readonly workspaceId: string;
  readonly asOf: Date;
}

export const auditSlice: GraphQLSlice = {
  name: 'audit',
  typeDefs: AUDIT_TYPE_DEFS,
  resolvers: {
    AuditJSON: AuditJsonScalar,
    Query: {
      campaignAsOf: async (_: unknown, args: { id: string; asOf?: Date | null; revision?: number | null }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        const revision = checkRevision(args.revision);
        if (args.asOf == null && revision === undefined) throw new ValidationError('asOf', 'Give asOf (an instant) or revision (or both).');
        return campaignAsOf(ctx, principal.workspaceId, checkId(args.id, 'id'), { ...(args.asOf == null ? {} : { asOf: args.asOf }), ...(revision === undefined ? {} : { revision }) });
      },
      contactAsOf: async (_: unknown, args: { id: string; asOf: Date }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        return contactAsOf(ctx, principal.workspaceId, checkId(args.id, 'id'), args.asOf);
      },
      templateAsOf: async (_: unknown, args: { id: string; version?: number | null; asOf?: Date | null }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        const id = checkId(args.id, 'id');
        if ((args.version == null) === (args.asOf == null)) throw new ValidationError('version', 'Give exactly one of version and asOf.');
        if (args.version != null && (!Number.isInteger(args.version) || args.version < 1)) throw new ValidationError('version', 'version must be an integer ≥ 1.');
        const target: TemporalTarget = args.version != null ? { revision: await revisionOfTemplateVersion(ctx, principal.workspaceId, id, args.version) } : { asOf: args.asOf! };
        const fold = await foldAsOf(temporalDeps(ctx), templateKind, id, principal.workspaceId, target);
        if (fold.status === 'unknown' || fold.status === 'no_such_revision') throw notFound(`Template ${id}`);
        const node = asOfNode(fold, 'template', args.asOf ?? null, templateStateNode);
        return { templateId: id, ...node, template: node.entity };
      },
      segmentMembersAsOf: async (_: unknown, args: { id: string; asOf: Date }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        const id = checkId(args.id, 'id');
        const fold = await foldAsOf(temporalDeps(ctx), segmentKind, id, principal.workspaceId, { asOf: args.asOf });
        if (fold.status === 'unknown' || fold.status === 'no_such_revision') throw notFound(`Segment ${id}`);
        const node = asOfNode(fold, 'segment', args.asOf, segmentStateNode);
        const parent: SegmentMembersParent = { segmentId: id, workspaceId: principal.workspaceId, asOf: args.asOf };
        return { ...node, segment: node.entity, ...parent };
      },
      campaignHistory: async (_: unknown, args: { id: string; first: number; after?: string | null }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        const id = checkId(args.id, 'id');
        const first = pageSize(args.first);
        const afterRevision = args.after == null ? undefined : decodeCursor(args.after, parseRevisionCursor);
        const history = await streamHistory(temporalDeps(ctx), campaignKind, id, principal.workspaceId, { first, ...(afterRevision === undefined ? {} : { afterRevision }) });
        if (history.status === 'unknown') throw notFound(`Campaign ${id}`);
        return toConnection(
          history.entries,
          history.hasNextPage,
          (entry) => encodeCursor(entry.event.revision),
          (entry) => ({ ...auditEventNode(entry.event), changes: entry.changes.map((c) => ({ path: c.path, before: c.before ?? null, after: c.after ?? null })) }),
        );
      },
      emailsSent: async (_: unknown, args: { contactId: string }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        const records = await deliveriesOfContact(ctx.deps, principal.workspaceId, checkUuid(args.contactId, 'contactId'));
        return records.map((record) => deliveryNode(record, { ctx, workspaceId: principal.workspaceId }));
      },
      delivery: async (_: unknown, args: { campaignId: string; contactId: string }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        const record = await findDelivery(ctx.deps, principal.workspaceId, checkUuid(args.campaignId, 'campaignId'), checkUuid(args.contactId, 'contactId'));
        return record === null ? null : deliveryNode(record, { ctx, workspaceId: principal.workspaceId });
      },
    },
    SegmentMembersAsOf: {
      memberCount: (parent: SegmentMembersParent, _: unknown, ctx: GraphQLContext) => memberCountAsOf(ctx.deps.db, parent.workspaceId, parent.segmentId, parent.asOf),
      members: async (parent: SegmentMembersParent, args: { first: number; after?: string | null }, ctx: GraphQLContext) => {
        const afterContactId = args.after == null ? null : decodeCursor(args.after, parseContactCursor);
        const page = await membersAsOf(ctx.deps.db, parent.workspaceId, parent.segmentId, parent.asOf, { first: pageSize(args.first), afterContactId });
        return toConnection(page.members, page.hasNextPage, (m) => encodeCursor(m.contactId), (m) => m);
      },
    },
  },
};
