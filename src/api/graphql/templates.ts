import { GraphQLScalarType, valueFromASTUntyped } from 'graphql';
import { isUuid } from '../../domain/templates/input.js';
import { renderTemplate, TemplateRenderError, type RenderScope } from '../../domain/templates/render.js';
import { contactValues, sampleScope } from '../../domain/templates/sample.js';
import { TEMPLATES_PROJECTION } from '../../projections/templates/projection.js';
import { contactForPreview, findTemplateVersion, listTemplates, listTemplateVersions, templatesByIds, templateVersionsByKeys, type TemplatePageCursor } from '../../projections/templates/queries.js';
import type { TemplateRow, TemplateVersionRow } from '../../projections/templates/tables.js';
import type { CommandDefinition } from '../commands/catalog.js';
import { TEMPLATE_COMMANDS } from '../commands/templates.js';
import { notFound, ValidationError } from '../errors.js';
import { receipt, runCommand } from './commands.js';
import { awaitReadModel } from './consistency.js';
import { decodeCursor, encodeCursor, pageSize, toConnection } from './connection.js';
import { requirePermission, type GraphQLContext, type GraphQLSlice } from './context.js';
import { RequestLoader, requestLoader } from './requestLoader.js';

/** Preview data as JSON: `{ "contact": { "email": ..., "first_name": ... }, "campaign": { "name": ... } }`. */
export const TemplateSampleScalar = new GraphQLScalarType<unknown, unknown>({
  name: 'TemplateSample',
  description: 'Sample data for a preview, as JSON: {"contact": {"email": "...", "first_name": "..."}, "campaign": {"name": "..."}, "unsubscribe_url": "..."}.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});

const typeDefs = /* GraphQL */ `
  scalar TemplateSample

  "Email content in Liquid, versioned: every content change is a new version, and campaigns pin one."
  type Template {
    id: ID!
    name: String!
    currentVersion: Int!
    archived: Boolean!
    createdAt: DateTime!
    updatedAt: DateTime!
    "The version shown below: the one asked for in template(id, version), else the current one."
    version: Int!
    subject: String!
    html: String!
    text: String
    "Every version, newest first."
    versions: [TemplateVersion!]!
  }

  type TemplateVersion {
    version: Int!
    subject: String!
    html: String!
    text: String
    createdAt: DateTime!
  }

  type TemplateEdge {
    cursor: String!
    node: Template!
  }

  type TemplateConnection {
    edges: [TemplateEdge!]!
    pageInfo: PageInfo!
  }

  "A version rendered for one contact (or sample data): what the recipient would get."
  type TemplatePreview {
    templateId: ID!
    version: Int!
    subject: String!
    html: String!
    text: String
  }

  input CreateTemplateInput {
    "Optional; derived from the commandId when absent."
    templateId: ID
    name: String!
    "Liquid. Variables: contact.email, contact.tags, contact.<attribute key>, campaign.name, unsubscribe_url, view_in_browser_url."
    subject: String!
    "Liquid; every output is HTML-escaped (the raw filter is not available)."
    html: String!
    "Liquid, not escaped. Null: no plain-text part."
    text: String
  }

  input ChangeTemplateInput {
    templateId: ID!
    subject: String!
    html: String!
    text: String
    expectedRevision: Int
  }

  input RenameTemplateInput {
    templateId: ID!
    name: String!
    expectedRevision: Int
  }

  input ArchiveTemplateInput {
    templateId: ID!
    expectedRevision: Int
  }

  type TemplatePayload {
    receipt: CommandReceipt!
    templateId: ID!
    "The version the command created (null when it created none)."
    version: Int
  }

  extend type Query {
    "Templates by name. consistentWith: a position returned by a mutation (read-your-writes)."
    templates(first: Int = 50, after: String, includeArchived: Boolean = false, consistentWith: BigInt): TemplateConnection!
    "Null when the workspace has no such template (or version)."
    template(id: ID!, version: Int, consistentWith: BigInt): Template
    """
    Renders a version (default: the current one) for a contact of the workspace (contactId) or for sample data,
    or both (sample then fills what the contact does not have: campaign, URLs).
    """
    previewTemplate(id: ID!, version: Int, contactId: ID, sample: TemplateSample, consistentWith: BigInt): TemplatePreview!
  }

  extend type Mutation {
    createTemplate(input: CreateTemplateInput!, commandId: String): TemplatePayload!
    "A new version; saving the same content again creates none."
    changeTemplate(input: ChangeTemplateInput!, commandId: String): TemplatePayload!
    renameTemplate(input: RenameTemplateInput!, commandId: String): TemplatePayload!
    "Campaigns that pinned a version keep it; new campaigns cannot use the template."
    archiveTemplate(input: ArchiveTemplateInput!, commandId: String): TemplatePayload!
  }
`;

export interface TemplateNode {
  readonly id: string;
  readonly workspaceId: string;
  readonly version: number;
  readonly [field: string]: unknown;
}

export function templateNode(row: TemplateRow, version: number = row.current_version): TemplateNode {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    name: row.name,
    currentVersion: row.current_version,
    archived: row.archived,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version,
  };
}

const versionNode = (row: TemplateVersionRow) => ({ version: row.version, subject: row.subject, html: row.html, text: row.text, createdAt: row.created_at });

function parseTemplateCursor(value: unknown): TemplatePageCursor | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { n, id } = value as { n?: unknown; id?: unknown };
  return typeof n === 'string' && isUuid(id) ? { name: n, id } : undefined;
}

/** The content of a template version; one query per request for all templates shown (no N+1). */
function versionContent(ctx: GraphQLContext, template: TemplateNode): Promise<TemplateVersionRow | undefined> {
  const loader = requestLoader(ctx, `templateVersions:${template.workspaceId}`, () => {
    return new RequestLoader<{ id: string; version: number }, TemplateVersionRow>(
      (key) => `${key.id}@${key.version}`,
      async (keys) => new Map((await templateVersionsByKeys(ctx.deps.db, template.workspaceId, keys)).map((row) => [`${row.template_id}@${row.version}`, row])),
    );
  });
  return loader.load({ id: template.id, version: template.version });
}

/** Templates by id for the current request (batched): campaign → template. */
export function loadTemplate(ctx: GraphQLContext, workspaceId: string, templateId: string): Promise<TemplateRow | undefined> {
  const loader = requestLoader(ctx, `templates:${workspaceId}`, () => {
    return new RequestLoader<string, TemplateRow>(
      (id) => id,
      async (ids) => new Map((await templatesByIds(ctx.deps.db, workspaceId, ids)).map((row) => [row.id, row])),
    );
  });
  return loader.load(templateId);
}

function mutation<Input>(definition: CommandDefinition<Input>) {
  return async (_: unknown, args: { input: unknown; commandId?: string | null }, ctx: GraphQLContext) => {
    const outcome = await runCommand(ctx, definition, args.input, args.commandId);
    return { receipt: receipt(outcome), templateId: outcome.data?.templateId, version: outcome.data?.version ?? null };
  };
}

interface PreviewArgs {
  id: string;
  version?: number | null;
  contactId?: string | null;
  sample?: unknown;
  consistentWith?: bigint | null;
}

async function preview(_: unknown, args: PreviewArgs, ctx: GraphQLContext) {
  const principal = requirePermission(ctx, 'read');
  await awaitReadModel(ctx, TEMPLATES_PROJECTION, args.consistentWith);
  const row = isUuid(args.id) ? await findTemplateVersion(ctx.deps.db, principal.workspaceId, args.id.toLowerCase(), args.version ?? null) : undefined;
  if (row === undefined) throw notFound(args.version == null ? 'Template' : `Template version ${args.version}`);
  let scope: RenderScope = sampleScope(args.sample, ctx.deps.config.publicBaseUrl);
  if (args.contactId != null) {
    const contact = isUuid(args.contactId) ? await contactForPreview(ctx.deps.db, principal.workspaceId, args.contactId.toLowerCase()) : undefined;
    if (contact === undefined) throw notFound('Contact');
    scope = { ...scope, contact: contactValues(contact) };
  }
  try {
    const rendered = renderTemplate({ subject: row.subject, html: row.html, text: row.text }, scope);
    return { templateId: row.template_id, version: row.version, ...rendered };
  } catch (error) {
    if (!(error instanceof TemplateRenderError)) throw error;
    throw new ValidationError(args.sample != null ? 'sample' : args.contactId != null ? 'contactId' : 'id', error.message);
  }
}

export const templatesSlice: GraphQLSlice = {
  name: 'templates',
  typeDefs,
  resolvers: {
    TemplateSample: TemplateSampleScalar,
    Query: {
      templates: async (_: unknown, args: { first: number; after?: string | null; includeArchived: boolean; consistentWith?: bigint | null }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        await awaitReadModel(ctx, TEMPLATES_PROJECTION, args.consistentWith);
        const page = await listTemplates(ctx.deps.db, {
          workspaceId: principal.workspaceId,
          after: args.after == null ? null : decodeCursor(args.after, parseTemplateCursor),
          limit: pageSize(args.first),
          includeArchived: args.includeArchived,
        });
        return toConnection(page.rows, page.hasNextPage, (row) => encodeCursor({ n: row.name, id: row.id }), (row) => templateNode(row));
      },
      template: async (_: unknown, args: { id: string; version?: number | null; consistentWith?: bigint | null }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        await awaitReadModel(ctx, TEMPLATES_PROJECTION, args.consistentWith);
        if (!isUuid(args.id)) return null;
        const [row] = await templatesByIds(ctx.deps.db, principal.workspaceId, [args.id.toLowerCase()]);
        if (row === undefined || (args.version != null && (args.version < 1 || args.version > row.current_version))) return null;
        return templateNode(row, args.version ?? row.current_version);
      },
      previewTemplate: preview,
    },
    Template: {
      subject: async (template: TemplateNode, _: unknown, ctx: GraphQLContext) => (await versionContent(ctx, template))?.subject ?? '',
      html: async (template: TemplateNode, _: unknown, ctx: GraphQLContext) => (await versionContent(ctx, template))?.html ?? '',
      text: async (template: TemplateNode, _: unknown, ctx: GraphQLContext) => (await versionContent(ctx, template))?.text ?? null,
      versions: async (template: TemplateNode, _: unknown, ctx: GraphQLContext) => (await listTemplateVersions(ctx.deps.db, template.workspaceId, template.id)).map(versionNode),
    },
    Mutation: {
      createTemplate: mutation(TEMPLATE_COMMANDS.CreateTemplate),
      changeTemplate: mutation(TEMPLATE_COMMANDS.ChangeTemplate),
      renameTemplate: mutation(TEMPLATE_COMMANDS.RenameTemplate),
      archiveTemplate: mutation(TEMPLATE_COMMANDS.ArchiveTemplate),
    },
  },
};
