import type { Kysely } from 'kysely';
import type { Database } from '../../projections/db/schema.js';
import { ApiError, ValidationError } from '../errors.js';
import { issueApiKey, listApiKeys, revokeApiKey, type ApiKey, type ApiKeyCursor } from '../iam/apiKeys.js';
import { API_KEY_ROLES, isApiKeyRole, type ApiKeyRole } from '../iam/permissions.js';
import { createWorkspace, findWorkspace } from '../iam/workspaces.js';
import { parseCommandLine, UsageError } from './usage.js';

export const USAGE = `Usage: npm run admin -- <command> [options]

Commands:
  workspace create --name <name>                                  create a workspace and its first admin key
  key issue  --workspace <id> --name <name> --role <role>         issue an API key (role: ${API_KEY_ROLES.join(', ')})
  key revoke --workspace <id> --id <keyId>                        revoke an API key
  key list   --workspace <id>                                     list the workspace's API keys

Options:
  --json    print JSON instead of text
  --help    show this help`;

export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface AdminCliDeps {
  readonly db: Kysely<Database>;
  readonly out: CliOutput;
  /** Recorded as created_by; default `cli`. */
  readonly actor?: string;
}

export type AdminCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'workspace create'; readonly name: string; readonly json: boolean }
  | { readonly kind: 'key issue'; readonly workspaceId: string; readonly name: string; readonly role: ApiKeyRole; readonly json: boolean }
  | { readonly kind: 'key revoke'; readonly workspaceId: string; readonly id: string; readonly json: boolean }
  | { readonly kind: 'key list'; readonly workspaceId: string; readonly json: boolean };

/** Parses the arguments without touching the database, so bad usage writes nothing and needs no connection. */
export function parseAdminArgs(argv: readonly string[]): AdminCommand {
  const parsed = parseCommandLine({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      name: { type: 'string' },
      role: { type: 'string' },
      workspace: { type: 'string' },
      id: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const { values, positionals } = parsed;
  if (values.help || positionals[0] === 'help') return { kind: 'help' };
  const command = positionals.join(' ');
  const json = values.json ?? false;
  const allowed = (...names: string[]): void => {
    const extra = ['name', 'role', 'workspace', 'id'].filter((n) => !names.includes(n) && values[n as keyof typeof values] !== undefined);
    if (extra.length > 0) throw new UsageError(`${command}: unexpected option --${extra[0]}`);
  };
  const required = (name: 'name' | 'role' | 'workspace' | 'id'): string => {
    const value = values[name]?.trim();
    if (value === undefined || value === '') throw new UsageError(`${command}: --${name} is required`);
    return value;
  };
  switch (command) {
    case 'workspace create':
      allowed('name');
      return { kind: command, name: required('name'), json };
    case 'key issue': {
      allowed('workspace', 'name', 'role');
      const role = required('role');
      if (!isApiKeyRole(role)) throw new UsageError(`key issue: --role must be one of ${API_KEY_ROLES.join(', ')}, got ${JSON.stringify(role)}`);
      return { kind: command, workspaceId: required('workspace'), name: required('name'), role, json };
    }
    case 'key revoke':
      allowed('workspace', 'id');
      return { kind: command, workspaceId: required('workspace'), id: required('id'), json };
    case 'key list':
      allowed('workspace');
      return { kind: command, workspaceId: required('workspace'), json };
    default:
      throw new UsageError(command === '' ? 'missing command' : `unknown command: ${command}`);
  }
}

/**
 * The admin CLI without a process: returns the exit code (0 done, 1 failed, e.g. unknown workspace,
 * 2 bad usage). Unexpected errors (database down) are thrown to the caller.
 */
export async function runAdminCli(argv: readonly string[], deps: AdminCliDeps): Promise<number> {
  let command: AdminCommand;
  try {
    command = parseAdminArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    deps.out.stderr(`error: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  try {
    await execute(command, deps);
    return 0;
  } catch (error) {
    if (error instanceof ValidationError) {
      deps.out.stderr(`error: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    if (error instanceof ApiError) {
      deps.out.stderr(`error: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

async function execute(command: AdminCommand, { db, out, actor = 'cli' }: AdminCliDeps): Promise<void> {
  const print = (json: boolean, value: unknown, text: string): void => out.stdout(json ? `${JSON.stringify(value, null, 2)}\n` : text);
  switch (command.kind) {
    case 'help':
      out.stdout(`${USAGE}\n`);
      return;
    case 'workspace create': {
      const { workspace, issued } = await db.transaction().execute(async (tx) => {
        const workspace = await createWorkspace(tx, { name: command.name, createdBy: actor });
        const issued = await issueApiKey(tx, { workspaceId: workspace.id, name: 'initial admin', role: 'admin', createdBy: actor });
        return { workspace, issued };
      });
      print(
        command.json,
        { workspace: { id: workspace.id, name: workspace.name, createdAt: workspace.created_at }, apiKey: keyJson(issued.apiKey), key: issued.key },
        `Workspace created\n  id:   ${workspace.id}\n  name: ${workspace.name}\n\n` +
          `Admin API key (id ${issued.apiKey.id}). It is shown only once: store it now.\n  ${issued.key}\n`,
      );
      return;
    }
    case 'key issue': {
      const issued = await issueApiKey(db, { workspaceId: command.workspaceId, name: command.name, role: command.role, createdBy: actor });
      print(
        command.json,
        { apiKey: keyJson(issued.apiKey), key: issued.key },
        `API key issued\n  id:   ${issued.apiKey.id}\n  name: ${issued.apiKey.name}\n  role: ${issued.apiKey.role}\n\n` +
          `Key (shown only once: store it now):\n  ${issued.key}\n`,
      );
      return;
    }
    case 'key revoke': {
      const revoked = await revokeApiKey(db, { workspaceId: command.workspaceId, id: command.id, revokedBy: actor });
      print(command.json, { apiKey: keyJson(revoked) }, `API key ${revoked.id} (${revoked.name}) revoked at ${revoked.revoked_at?.toISOString()}\n`);
      return;
    }
    case 'key list': {
      if ((await findWorkspace(db, command.workspaceId)) === undefined) throw new ApiError('NOT_FOUND', `Workspace ${command.workspaceId} not found.`);
      const keys = await allKeys(db, command.workspaceId);
      print(command.json, { apiKeys: keys.map(keyJson) }, keysTable(keys));
      return;
    }
  }
}

async function allKeys(db: Kysely<Database>, workspaceId: string): Promise<ApiKey[]> {
  const keys: ApiKey[] = [];
  let after: ApiKeyCursor | undefined;
  for (;;) {
    const page = await listApiKeys(db, { workspaceId, first: 100, after });
    keys.push(...page.apiKeys);
    const last = page.apiKeys.at(-1);
    if (!page.hasNextPage || last === undefined) return keys;
    after = { createdAt: last.created_at, id: last.id };
  }
}

function keyJson(k: ApiKey) {
  return {
    id: k.id,
    workspaceId: k.workspace_id,
    name: k.name,
    role: k.role,
    keyPrefix: k.key_prefix,
    createdBy: k.created_by,
    createdAt: k.created_at,
    revokedAt: k.revoked_at,
    lastUsedAt: k.last_used_at,
  };
}

function keysTable(keys: readonly ApiKey[]): string {
  if (keys.length === 0) return 'No API keys.\n';
  const rows = [
    ['ID', 'NAME', 'ROLE', 'PREFIX', 'CREATED', 'LAST USED', 'STATUS'],
    ...keys.map((k) => [
      k.id,
      k.name,
      k.role,
      k.key_prefix,
      k.created_at.toISOString(),
      k.last_used_at?.toISOString() ?? '-',
      k.revoked_at === null ? 'active' : `revoked ${k.revoked_at.toISOString()}`,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}
