import { notFound } from '../errors.js';
import { issueApiKey, listApiKeys, revokeApiKey, type ApiKey, type ApiKeyCursor } from '../iam/apiKeys.js';
import type { ApiKeyRole } from '../iam/permissions.js';
import type { Principal } from '../iam/principal.js';
import { findWorkspace, type Workspace } from '../iam/workspaces.js';
import { decodeCursor, encodeCursor, pageSize, toConnection } from './connection.js';
import { requirePermission, type GraphQLContext, type GraphQLSlice } from './context.js';

type GraphQLRole = 'ADMIN' | 'MARKETER' | 'AUDITOR' | 'SERVICE';

const typeDefs = /* GraphQL */ `
  enum ApiKeyRole {
    "Manages API keys; may do everything."
    ADMIN
    "Reads and runs campaigns."
    MARKETER
    "Reads only."
    AUDITOR
    "A machine client: reads and writes, no key management."
    SERVICE
  }

  "The caller: an API key of one workspace."
  type Principal {
    workspaceId: ID!
    apiKeyId: ID!
    role: ApiKeyRole!
    "Recorded as the actor of what this key does: apikey:<id>."
    actor: String!
  }

  type Workspace {
    id: ID!
    name: String!
    createdAt: DateTime!
  }

  type ApiKey {
    id: ID!
    name: String!
    role: ApiKeyRole!
    "The first characters of the key, to tell keys apart."
    keyPrefix: String!
    createdBy: String!
    createdAt: DateTime!
    revokedAt: DateTime
    "Updated at most once a minute."
    lastUsedAt: DateTime
  }

  type ApiKeyEdge {
    cursor: String!
    node: ApiKey!
  }

  type ApiKeyConnection {
    edges: [ApiKeyEdge!]!
    pageInfo: PageInfo!
  }

  input IssueApiKeyInput {
    name: String!
    role: ApiKeyRole!
  }

  type IssuedApiKey {
    apiKey: ApiKey!
    "The secret key. It is shown only in this response and cannot be read again."
    key: String!
  }

  type Query {
    me: Principal!
    workspace: Workspace!
    "Keys of the caller's workspace, oldest first, revoked ones included. Admin only."
    apiKeys(first: Int = 50, after: String): ApiKeyConnection!
  }

  type Mutation {
    "Admin only."
    issueApiKey(input: IssueApiKeyInput!): IssuedApiKey!
    "Admin only. Takes effect on the next request made with the key."
    revokeApiKey(id: ID!): ApiKey!
  }
`;

const toGraphQLRole = (role: ApiKeyRole): GraphQLRole => role.toUpperCase() as GraphQLRole;
const fromGraphQLRole = (role: GraphQLRole): ApiKeyRole => role.toLowerCase() as ApiKeyRole;

function principalNode(principal: Principal) {
  return { ...principal, role: toGraphQLRole(principal.role) };
}

function workspaceNode(workspace: Workspace) {
  return { id: workspace.id, name: workspace.name, createdAt: workspace.created_at };
}

function apiKeyNode(apiKey: ApiKey) {
  return {
    id: apiKey.id,
    name: apiKey.name,
    role: toGraphQLRole(apiKey.role),
    keyPrefix: apiKey.key_prefix,
    createdBy: apiKey.created_by,
    createdAt: apiKey.created_at,
    revokedAt: apiKey.revoked_at,
    lastUsedAt: apiKey.last_used_at,
  };
}

function parseApiKeyCursor(value: unknown): ApiKeyCursor | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { t, id } = value as { t?: unknown; id?: unknown };
  if (typeof t !== 'string' || typeof id !== 'string') return undefined;
  const createdAt = new Date(t);
  return Number.isNaN(createdAt.getTime()) ? undefined : { createdAt, id };
}

export const iamSlice: GraphQLSlice = {
  name: 'iam',
  typeDefs,
  resolvers: {
    Query: {
      me: (_: unknown, __: unknown, ctx: GraphQLContext) => principalNode(requirePermission(ctx, 'read')),
      workspace: async (_: unknown, __: unknown, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'read');
        const workspace = await findWorkspace(ctx.deps.db, principal.workspaceId);
        if (workspace === undefined) throw notFound('Workspace');
        return workspaceNode(workspace);
      },
      apiKeys: async (_: unknown, args: { first: number; after?: string | null }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'admin');
        const first = pageSize(args.first);
        const after = args.after == null ? undefined : decodeCursor(args.after, parseApiKeyCursor);
        const page = await listApiKeys(ctx.deps.db, { workspaceId: principal.workspaceId, first, after });
        return toConnection(
          page.apiKeys,
          page.hasNextPage,
          (k) => encodeCursor({ t: k.created_at.toISOString(), id: k.id }),
          apiKeyNode,
        );
      },
    },
    Mutation: {
      issueApiKey: async (_: unknown, args: { input: { name: string; role: GraphQLRole } }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'admin');
        const issued = await issueApiKey(ctx.deps.db, {
          workspaceId: principal.workspaceId,
          name: args.input.name,
          role: fromGraphQLRole(args.input.role),
          createdBy: principal.actor,
        });
        ctx.logger.info({ apiKeyId: issued.apiKey.id, role: issued.apiKey.role }, 'API key issued');
        return { apiKey: apiKeyNode(issued.apiKey), key: issued.key };
      },
      revokeApiKey: async (_: unknown, args: { id: string }, ctx: GraphQLContext) => {
        const principal = requirePermission(ctx, 'admin');
        const revoked = await revokeApiKey(ctx.deps.db, { workspaceId: principal.workspaceId, id: args.id, revokedBy: principal.actor });
        ctx.logger.info({ apiKeyId: revoked.id }, 'API key revoked');
        return apiKeyNode(revoked);
      },
    },
  },
};
