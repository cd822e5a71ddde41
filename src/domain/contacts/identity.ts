import { deterministicUuid } from '../shared/ids.js';

/**
 * A contact's id is derived from its workspace and normalized email (email.ts), so every writer that creates
 * "this email in this workspace" addresses the same stream, `contact-<id>`.
 *
 * Why not a unique index or a reservation stream: the event store has no secondary unique constraint, and a
 * separate `email-<hash>` reservation stream would need a second append that can fail after the first (a
 * two-stream write without a transaction on EventStoreDB). With a derived id the uniqueness check IS the
 * stream's own optimistic concurrency: creating appends `ContactCreated` with expected `no_stream`; of two
 * concurrent creates one wins and the other conflicts, re-reads the stream and finds the contact already there
 * (an idempotent upsert). The price: the email cannot change without a new contact (a merge, not an edit).
 */
export function contactIdFor(workspaceId: string, normalizedEmail: string): string {
  return deterministicUuid(`contact:${workspaceId}:${normalizedEmail}`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isContactId(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}
