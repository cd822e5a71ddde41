import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import * as commands from '../commands/contacts.js';
import type { CommandDefinition, CommandOutcome } from '../commands/catalog.js';
import { normalizeEmail } from '../../domain/contacts/email.js';
import { isContactId } from '../../domain/contacts/identity.js';
import { ATTRIBUTE_KEY, normalizeTag, normalizeTopic, parseIsoDate } from '../../domain/contacts/validate.js';
import { CONTACTS_PROJECTION } from '../../projections/contacts/projection.js';
import * as q from '../../projections/contacts/queries.js';
import type { ContactConsentRow, SuppressionRow } from '../../projections/contacts/tables.js';
import { notFound, ValidationError } from '../errors.js';
import { receipt, runCommand } from './commands.js';
import { awaitReadModel } from './consistency.js';
import { decodeCursor, encodeCursor, pageSize, toConnection } from './connection.js';
import { requirePermission, type GraphQLContext, type GraphQLSlice } from './context.js';
import { CONTACTS_TYPE_DEFS } from './contactsSchema.js';

type AttributeData = string | number | boolean | string[];

function toAttributeData(value: unknown): AttributeData {
  if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw new GraphQLError('AttributeData must be a string, number, boolean or list of strings.');
}

function literal(ast: ValueNode): AttributeData {
  if (ast.kind === Kind.STRING || ast.kind === Kind.BOOLEAN) return ast.value;
  if (ast.kind === Kind.INT || ast.kind === Kind.FLOAT) return Number(ast.value);
  if (ast.kind === Kind.LIST) return toAttributeData(ast.values.map((v) => (v.kind === Kind.STRING ? v.value : null)));
  throw new GraphQLError('AttributeData must be a string, number, boolean or list of strings.');
}

export const AttributeDataScalar = new GraphQLScalarType<AttributeData, AttributeData>({
  name: 'AttributeData',
  serialize: toAttributeData,
  parseValue: toAttributeData,
  parseLiteral: literal,
});

type Upper<T extends string> = Uppercase<T>;
const lower = <T extends string>(value: Upper<T>): T => value.toLowerCase() as T;
const upper = <T extends string>(value: T): Upper<T> => value.toUpperCase() as Upper<T>;

interface AttributeInput { key: string; type?: string | null; value?: AttributeData | null }

/** GraphQL's attribute list → the catalog's `{ key: { type, value } }`; no value: null (remove). */
function attributeMap(list: unknown, field: string): Record<string, { type: string | undefined; value: AttributeData } | null> | undefined {
  if (list == null) return undefined;
  const out: Record<string, { type: string | undefined; value: AttributeData } | null> = {};
  for (const a of list as AttributeInput[]) {
    if (Object.hasOwn(out, a.key)) throw new ValidationError(`${field}.${a.key}`, `Attribute ${a.key} is given twice.`);
    out[a.key] = a.value == null ? null : { type: a.type?.toLowerCase(), value: a.value };
  }
  return out;
}

function contactNode(row: q.ContactListRow, consents: () => Promise<Map<string, ContactConsentRow[]>>) {
  return {
    id: row.id,
    email: row.email,
    emailAsGiven: row.email_as_given,
    externalId: row.external_id,
    phone: row.phone,
    attributes: Object.entries(row.attributes)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, v]) => ({ key, type: upper(v.type), value: v.value })),
    tags: row.tags,
    status: upper(row.status),
    mergedInto: row.merged_into,
    suppressed: row.suppressed,
    suppression:
      row.suppression_reason === null ? null : { contactId: row.id, email: row.email, reason: upper(row.suppression_reason), detail: row.suppression_detail, at: row.suppressed_at ?? row.updated_at },
    consents: async () => ((await consents()).get(row.id) ?? []).map(consentNode),
    source: row.source,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const consentNode = (c: ContactConsentRow) => ({
  topic: c.topic,
  status: upper(c.status),
  source: c.source,
  consentTextVersion: c.consent_text_version,
  reason: c.reason,
  at: c.at,
  changedAt: c.changed_at,
});

const suppressionNode = (s: SuppressionRow) => ({ contactId: s.contact_id, email: s.email, reason: upper(s.reason), detail: s.detail, at: s.at });

/** Nodes for a page of contacts, with one consent query for the whole page, run only if a client asks for consents. */
function contactNodes(ctx: GraphQLContext, workspaceId: string, rows: readonly q.ContactListRow[]) {
  let loaded: Promise<Map<string, ContactConsentRow[]>> | undefined;
  const consents = () =>
    (loaded ??= q.listConsents(ctx.deps.db, workspaceId, rows.map((r) => r.id)).then((all) => {
      const byContact = new Map<string, ContactConsentRow[]>();
      for (const c of all) {
        const list = byContact.get(c.contact_id);
        if (list === undefined) byContact.set(c.contact_id, [c]);
        else list.push(c);
      }
      return byContact;
    }));
  return new Map(rows.map((row) => [row.id, contactNode(row, consents)]));
}

async function loadContact(ctx: GraphQLContext, workspaceId: string, id: string) {
  const row = isContactId(id) ? await q.findContact(ctx.deps.db, workspaceId, id) : undefined;
  return row === undefined ? null : contactNodes(ctx, workspaceId, [row]).get(row.id)!;
}

function parseCondition(raw: { key: string; op: Upper<q.AttributeCondition['op']>; value?: unknown }): q.AttributeCondition {
  const field = 'filter.attribute';
  if (!ATTRIBUTE_KEY.test(raw.key)) throw new ValidationError(`${field}.key`, `key must match ${ATTRIBUTE_KEY.source}.`);
  const op = lower<q.AttributeCondition['op']>(raw.op);
  if (op === 'exists') return { key: raw.key, op };
  let value = raw.value;
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) value = parseIsoDate(value, `${field}.value`);
  const allowed = CONDITION_VALUE_TYPES[op];
  if (!allowed.includes(typeof value)) throw new ValidationError(`${field}.value`, `${raw.op} needs a ${allowed.join(' or ')} value.`);
  return { key: raw.key, op, value } as q.AttributeCondition;
}

const EQUALITY = ['string', 'number', 'boolean'];
const ORDERED = ['string', 'number'];
const CONDITION_VALUE_TYPES: Record<Exclude<q.AttributeCondition['op'], 'exists'>, readonly string[]> = { eq: EQUALITY, neq: EQUALITY, gt: ORDERED, lt: ORDERED, contains: ['string'] };

interface ContactsArgs {
  first: number;
  after?: string | null;
  consistentWith?: bigint | null;
  filter?: { email?: string | null; tag?: string | null; attribute?: Parameters<typeof parseCondition>[0] | null; subscribedTo?: string | null; suppressed?: boolean | null; status?: 'ACTIVE' | 'MERGED' | null } | null;
}

const parseContactCursor = (v: unknown): q.ContactCursor | undefined => {
  const { t, id } = (v ?? {}) as { t?: unknown; id?: unknown };
  return typeof t === 'string' && isContactId(id) && !Number.isNaN(Date.parse(t)) ? { createdAt: new Date(t), id } : undefined;
};
const parseSuppressionCursor = (v: unknown): q.SuppressionCursor | undefined => {
  const { t, id } = (v ?? {}) as { t?: unknown; id?: unknown };
  return typeof t === 'string' && isContactId(id) && !Number.isNaN(Date.parse(t)) ? { at: new Date(t), contactId: id } : undefined;
};

type Args = { input: Record<string, unknown> & { contactId?: string }; commandId?: string | null };

/** A mutation: the catalog command, then a payload whose `contact` waits for the read model to apply it. */
function mutation<Input>(definition: CommandDefinition<Input>, toRaw: (input: Args['input']) => unknown = (input) => input) {
  return async (_: unknown, args: Args, ctx: GraphQLContext) => {
    const principal = requirePermission(ctx, 'write');
    const outcome: CommandOutcome = await runCommand(ctx, definition, toRaw(args.input), args.commandId);
    const contactId = String(outcome.data?.contactId);
    return {
      receipt: receipt(outcome),
      contactId,
      created: outcome.data?.created === true,
      contact: async () => {
        await awaitReadModel(ctx, CONTACTS_PROJECTION, outcome.position);
        return loadContact(ctx, principal.workspaceId, contactId);
      },
    };
  };
}

const withEnumReason = (input: Args['input']) => ({ ...input, reason: typeof input.reason === 'string' ? input.reason.toLowerCase() : input.reason });

export const contactsSlice: GraphQLSlice = {
  name: 'contacts',
  typeDefs: CONTACTS_TYPE_DEFS,
  resolvers: {
    AttributeData: AttributeDataScalar,
    Query: {
      contacts: async (_: unknown, args: ContactsArgs, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        const f = args.filter ?? {};
        const filter: q.ContactFilter = {
          workspaceId: principal.workspaceId,
          email: f.email == null ? null : normalizeEmail(f.email, 'filter.email'),
          tag: f.tag == null ? null : normalizeTag(f.tag, 'filter.tag'),
          subscribedTo: f.subscribedTo == null ? null : normalizeTopic(f.subscribedTo, 'filter.subscribedTo'),
          attribute: f.attribute == null ? null : parseCondition(f.attribute),
          suppressed: f.suppressed ?? null,
          status: f.status == null ? 'active' : lower<'active' | 'merged'>(f.status),
        };
        const page = { limit: pageSize(args.first), after: args.after == null ? null : decodeCursor(args.after, parseContactCursor) };
        await awaitReadModel(ctx, CONTACTS_PROJECTION, args.consistentWith);
        const { rows, hasNextPage } = await q.listContacts(ctx.deps.db, filter, page);
        const nodes = contactNodes(ctx, principal.workspaceId, rows);
        return toConnection(rows, hasNextPage, (r) => encodeCursor({ t: r.created_at.toISOString(), id: r.id }), (r) => nodes.get(r.id)!);
      },
      contact: async (_: unknown, args: { id: string; consistentWith?: bigint | null }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        await awaitReadModel(ctx, CONTACTS_PROJECTION, args.consistentWith);
        const contact = await loadContact(ctx, principal.workspaceId, args.id);
        if (contact === null) throw notFound('Contact');
        return contact;
      },
      suppressions: async (_: unknown, args: { first: number; after?: string | null; consistentWith?: bigint | null }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        const page = { limit: pageSize(args.first), after: args.after == null ? null : decodeCursor(args.after, parseSuppressionCursor) };
        await awaitReadModel(ctx, CONTACTS_PROJECTION, args.consistentWith);
        const { rows, hasNextPage } = await q.listSuppressions(ctx.deps.db, principal.workspaceId, page);
        return toConnection(rows, hasNextPage, (r) => encodeCursor({ t: r.at.toISOString(), id: r.contact_id }), suppressionNode);
      },
      contactAttributeKeys: async (_: unknown, args: { consistentWith?: bigint | null }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        await awaitReadModel(ctx, CONTACTS_PROJECTION, args.consistentWith);
        const rows = await q.listAttributeKeys(ctx.deps.db, principal.workspaceId);
        return rows.map((r) => ({ key: r.key, type: upper(r.type), firstSeenAt: r.first_seen_at }));
      },
    },
    Mutation: {
      createContact: mutation(commands.CreateContact, (input) => ({ ...input, attributes: attributeMap(input.attributes, 'input.attributes') })),
      updateContactAttributes: mutation(commands.UpdateContactAttributes, (input) => ({ ...input, changes: attributeMap(input.changes, 'input.changes') })),
      tagContact: mutation(commands.TagContact),
      untagContact: mutation(commands.UntagContact),
      subscribeContact: mutation(commands.SubscribeContact),
      unsubscribeContact: mutation(commands.UnsubscribeContact),
      suppressContact: mutation(commands.SuppressContact, withEnumReason),
      unsuppressContact: mutation(commands.UnsuppressContact),
    },
  },
};
