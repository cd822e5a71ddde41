import type { ApiKeyRole } from '../../projections/db/schema.js';

export type { ApiKeyRole };

export const API_KEY_ROLES: readonly ApiKeyRole[] = ['admin', 'marketer', 'auditor', 'service'];

/**
 * Which roles may perform each action. One row per action: a slice that needs a finer permission
 * (say 'launch' or 'export') adds a row here and checks it with `requirePermission`.
 */
const PERMISSIONS = {
  /** Read any read model of the workspace. */
  read: ['admin', 'marketer', 'auditor', 'service'],
  /** Run commands that change the workspace's campaigns, contacts, segments and templates. */
  write: ['admin', 'marketer', 'service'],
  /** Manage the workspace's API keys. */
  admin: ['admin'],
} as const satisfies Record<string, readonly ApiKeyRole[]>;

export type Action = keyof typeof PERMISSIONS;

export function can(role: ApiKeyRole, action: Action): boolean {
  return (PERMISSIONS[action] as readonly ApiKeyRole[]).includes(role);
}

export function isApiKeyRole(value: string): value is ApiKeyRole {
  return (API_KEY_ROLES as readonly string[]).includes(value);
}
