import type { ApiKeyRole } from './permissions.js';

/** Who is calling: an API key of one workspace. Every read and write is scoped to `workspaceId`. */
export interface Principal {
  readonly workspaceId: string;
  readonly apiKeyId: string;
  readonly role: ApiKeyRole;
  /** Recorded as the `actor` of events and audit fields: `apikey:<id>`. */
  readonly actor: string;
}

export function actorOfApiKey(apiKeyId: string): string {
  return `apikey:${apiKeyId}`;
}
