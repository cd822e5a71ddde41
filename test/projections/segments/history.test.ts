/**
 * Segment membership history (segment_membership_history): every entry and exit the segments projection makes —
 * a contact event (incremental), a rules change (set-based full evaluation) and a deletion — is recorded with
 * the causing event's time and position, so membersAsOf(T) answers "who was in the segment at T".
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ContactEvent } from '../../../src/domain/contacts/events.js';
import type { SegmentEvent } from '../../../src/domain/segments/events.js';
import type { RecordedEvent } from '../../../src/eventstore/port.js';
import { memberCountAsOf, membersAsOf } from '../../../src/projections/segments/history.js';
import { createSegmentsProjection } from '../../../src/projections/segments/index.js';
import { useApiTestEnv, type ApiTestEnv } from '../../api/support.js';

const NOW = new Date('2024-06-01T12:00:00.000Z');
const ws = `ws-${randomUUID().slice(0, 8)}`;
const segmentId = `seg-${randomUUID().slice(0, 8)}`;
const projection = createSegmentsProjection({ now: () => NOW });
let env: ApiTestEnv;

beforeAll(async () => {
  env = await useApiTestEnv('segments_history');
});

/** Appends one event and applies it to the segments projection in its own transaction, as the runner would. */
async function apply(streamId: string, event: ContactEvent | SegmentEvent): Promise<RecordedEvent> {
  const metadata = { correlationId: randomUUID(), causationId: null, commandId: randomUUID(), actor: 'test', workspaceId: ws, schemaVersion: 1 };
  const { nextExpectedRevision } = await env.eventStore.append(streamId, [{ type: event.type, data: event.data, metadata }], { expectedRevision: 'any' });
  const read = await env.eventStore.readStream(streamId, { fromRevision: nextExpectedRevision, maxCount: 1 });
  const recorded = read.status === 'found' ? read.events[0]! : undefined;
  if (recorded === undefined) throw new Error('appended event not found');
  await env.db.transaction().execute((trx) => projection.apply(trx, recorded));
  await new Promise((resolve) => setTimeout(resolve, 5)); // distinct recordedAt instants
  return recorded;
}

const contactCreated = (contactId: string, tags: string[]): ContactEvent => ({
  type: 'ContactCreated',
  data: { contactId, email: `${contactId}@acme.com`, emailAsGiven: `${contactId}@acme.com`, externalId: null, phone: null, attributes: {}, tags, source: 'api', createdAt: NOW.toISOString() },
} as ContactEvent);

const members = async (at: Date) => (await membersAsOf(env.db, ws, segmentId, at, { first: 100 })).members.map((m) => m.contactId);
const before = (event: RecordedEvent) => new Date(event.recordedAt.getTime() - 1);

describe('segment membership history', () => {
  it('answers who was in the segment at any moment: contact changes, a rules change and the deletion', async () => {
    const segment = `segment-${segmentId}`;
    const defined = await apply(segment, { type: 'SegmentDefined', data: { segmentId, name: 'VIPs', description: null, rules: { tag: 'vip' }, version: 1, definedAt: NOW.toISOString() } });
    const aCreated = await apply('contact-a', contactCreated('a', ['vip']));
    const bCreated = await apply('contact-b', contactCreated('b', []));
    const bTagged = await apply('contact-b', { type: 'ContactTagged', data: { tag: 'vip', at: NOW.toISOString() } });
    const cCreated = await apply('contact-c', contactCreated('c', ['gold']));
    const aUntagged = await apply('contact-a', { type: 'ContactUntagged', data: { tag: 'vip', at: NOW.toISOString() } });
    const rulesChanged = await apply(segment, { type: 'SegmentRulesChanged', data: { rules: { tag: 'gold' }, version: 2, changedAt: NOW.toISOString() } });
    const deleted = await apply(segment, { type: 'SegmentDeleted', data: { deletedAt: NOW.toISOString() } });

    expect(await members(before(defined))).toEqual([]);
    expect(await members(aCreated.recordedAt)).toEqual(['a']);
    expect(await members(bCreated.recordedAt)).toEqual(['a']);
    expect(await members(bTagged.recordedAt)).toEqual(['a', 'b']);
    expect(await members(cCreated.recordedAt)).toEqual(['a', 'b']);
    expect(await members(aUntagged.recordedAt)).toEqual(['b']);
    expect(await members(rulesChanged.recordedAt)).toEqual(['c']);
    expect(await members(before(deleted))).toEqual(['c']);
    expect(await members(deleted.recordedAt)).toEqual([]);
    expect(await memberCountAsOf(env.db, ws, segmentId, bTagged.recordedAt)).toBe(2);

    const stays = await env.db.selectFrom('segment_membership_history').selectAll().where('segment_id', '=', segmentId).orderBy('contact_id').orderBy('entered_position').execute();
    expect(stays.map((s) => [s.contact_id, s.entered_position, s.left_position])).toEqual([
      ['a', aCreated.position.toString(), aUntagged.position.toString()],
      ['b', bTagged.position.toString(), rulesChanged.position.toString()],
      ['c', rulesChanged.position.toString(), deleted.position.toString()],
    ]);
  });

  it('pages members by contact id', async () => {
    const segment2 = `seg-${randomUUID().slice(0, 8)}`;
    await apply(`segment-${segment2}`, { type: 'SegmentDefined', data: { segmentId: segment2, name: 'Gold', description: null, rules: { tag: 'gold' }, version: 1, definedAt: NOW.toISOString() } });
    const d = await apply('contact-d', contactCreated('d', ['gold']));
    const first = await membersAsOf(env.db, ws, segment2, d.recordedAt, { first: 1 });
    expect(first.members.map((m) => m.contactId)).toEqual(['c']);
    expect(first.hasNextPage).toBe(true);
    const second = await membersAsOf(env.db, ws, segment2, d.recordedAt, { first: 1, afterContactId: 'c' });
    expect(second).toMatchObject({ members: [{ contactId: 'd' }], hasNextPage: false });
  });
});
