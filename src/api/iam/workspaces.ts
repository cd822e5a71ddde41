import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Database, WorkspacesTable } from '../../projections/db/schema.js';
import { ValidationError } from '../errors.js';

// Workspaces and API keys are written straight to their tables, not through the event log: authentication
// needs strong consistency (a revoked key must stop working on the very next request), which an eventually
// consistent projection cannot promise.

export type Workspace = Selectable<WorkspacesTable>;

export async function createWorkspace(db: Kysely<Database>, input: { name: string; createdBy: string }): Promise<Workspace> {
  const name = requireName('name', input.name, 200);
  return db
    .insertInto('workspaces')
    .values({ id: randomUUID(), name })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findWorkspace(db: Kysely<Database>, id: string): Promise<Workspace | undefined> {
  return db.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Trims a human-given name; empty or longer than `max` → ValidationError naming `field`. */
export function requireName(field: string, value: string, max: number): string {
  const name = value.trim();
  if (name === '') throw new ValidationError(field, `${field} must not be empty.`);
  if (name.length > max) throw new ValidationError(field, `${field} must be at most ${max} characters.`);
  return name;
}
