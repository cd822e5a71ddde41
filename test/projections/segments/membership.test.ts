/**
 * Segment membership through the real pipeline: contact events appended to the store, segment commands through
 * the command handler, the relay to JetStream, and the segments projection through the ProjectionRunner.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSegmentsCommands } from '../../../src/api/commands/segments.js';
import type { CommandDefinition, CommandDeps } from '../../../src/api/commands/catalog.js';
import { contactStreamId, type ContactEvent } from '../../../src/domain/contacts/events.js';
import { Relay } from '../../../src/eventstore/relay/relay.js';
import { silentLogger } from '../../../src/infra/logger.js';
import { waitForProjection } from '../../../src/projections/runner/queries.js';
import { ProjectionRunner } from '../../../src/projections/runner/projectionRunner.js';
import { createSegmentsProjection, SEGMENTS_PROJECTION } from '../../../src/projections/segments/index.js';
import { useApiTestEnv, type ApiTestEnv } from '../../api/support.js';
import { uniquePrefix } from '../../support/nats.js';

const NOW = new Date('2024-06-01T12:00:00.000Z');
const commands = createSegmentsCommands({ attributeKeys: () => async () => new Map([['plan', 'string'], ['lastOrder', 'date']] as const) });

let env: ApiTestEnv;
let deps: CommandDeps;
let relay: Relay;
let runner: ProjectionRunner;
const ws = `ws-${randomUUID().slice(0, 8)}`;
const otherWs = `ws-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  env = await useApiTestEnv('segments_membership');
  const prefix = uniquePrefix('segmember');
  deps = { eventStore: env.eventStore, db: env.db, logger: silentLogger, now: () => NOW };
  relay = new Relay({ store: env.eventStore, db: env.db, pool: env.pool, nats: env.nats, prefix, logger: silentLogger, checkpointEveryMs: 20 });
  // batchSize 1: a fetch returns as soon as one event is there (a larger batch waits for the 1 s fetch expiry).
  runner = new ProjectionRunner({ projection: createSegmentsProjection({ now: () => NOW }), db: env.db, pool: env.pool, nats: env.nats, prefix, store: env.eventStore, logger: silentLogger, batchSize: 1 });
  relay.start();
  runner.start();
});
afterAll(async () => {
  await runner.stop();
  await relay.stop();
});

async function settled(position: bigint | null): Promise<void> {
  if (position === null) return;
  expect(await waitForProjection(env.db, SEGMENTS_PROJECTION, position, 15_000)).toBe(true);
}

/** Appends contact events as the contacts slice would, and waits until the projection has applied them. */
async function contact(contactId: string, events: readonly ContactEvent[], workspaceId = ws): Promise<void> {
  const result = await env.eventStore.append(
    contactStreamId(contactId),
    events.map((e) => ({ type: e.type, data: e.data, metadata: { correlationId: randomUUID(), causationId: null, commandId: randomUUID(), actor: 'test', workspaceId, schemaVersion: 1 } })),
    { expectedRevision: 'any' },
  );
  await settled(result.position);
}

const created = (contactId: string, tags: string[] = [], attributes: Record<string, { type: 'string'; value: string }> = {}): ContactEvent => ({
  type: 'ContactCreated',
  data: { contactId, email: `${contactId}@acme.com`, emailAsGiven: `${contactId}@Acme.com`, externalId: null, phone: null, attributes, tags, source: 'api', createdAt: NOW.toISOString() },
});
const tagged = (tag: string): ContactEvent => ({ type: 'ContactTagged', data: { tag, at: NOW.toISOString() } });
const untagged = (tag: string): ContactEvent => ({ type: 'ContactUntagged', data: { tag, at: NOW.toISOString() } });

async function command<Input>(definition: CommandDefinition<Input>, raw: unknown, workspaceId = ws) {
  const context = { commandId: randomUUID(), correlationId: randomUUID(), causationId: null, actor: 'test', workspaceId, now: NOW };
  const outcome = await definition.execute(deps, definition.parse(raw), context);
  await settled(outcome.position);
  return outcome.data!.segmentId as string;
}

async function members(segmentId: string, workspaceId = ws): Promise<Record<string, string>> {
  const rows = await env.db.selectFrom('segment_memberships').select(['contact_id', 'since']).where('workspace_id', '=', workspaceId).where('segment_id', '=', segmentId).orderBy('contact_id').execute();
  return Object.fromEntries(rows.map((r) => [r.contact_id, r.since.toISOString()]));
}

async function segmentRow(segmentId: string) {
  return env.db.selectFrom('segments').selectAll().where('workspace_id', '=', ws).where('id', '=', segmentId).executeTakeFirstOrThrow();
}

const id = () => randomUUID().slice(0, 8);

describe('segment membership', () => {
  it('a new segment is evaluated fully over the existing contacts', async () => {
    const [a, b, c] = [id(), id(), id()];
    await contact(a, [created(a, ['vip'])]);
    await contact(b, [created(b)]);
    await contact(c, [created(c, ['vip'])]);
    await contact(id(), [created('x', ['vip'])], otherWs);
    const vip = await command(commands.DefineSegment, { name: 'VIP', rules: { tag: 'vip' } });
    expect(Object.keys(await members(vip))).toEqual([a, c].sort());
    expect(await segmentRow(vip)).toMatchObject({ member_count: '2', evaluated_version: 1, status: 'active', version: 1 });
  });

  it('a contact change re-evaluates that contact only: others keep their since', async () => {
    const vip = await command(commands.DefineSegment, { name: 'VIP 2', rules: { all: [{ tag: 'vip2' }, { not: { suppressed: true } }] } });
    const [a, b] = [id(), id()];
    await contact(a, [created(a, ['vip2'])]);
    const before = await members(vip);
    expect(Object.keys(before)).toEqual([a]);
    await new Promise((r) => setTimeout(r, 20));
    await contact(b, [created(b), tagged('vip2')]);
    const after = await members(vip);
    expect(after[a]).toBe(before[a]);
    expect(Object.keys(after).sort()).toEqual([a, b].sort());
    expect((await segmentRow(vip)).member_count).toBe('2');
    const joined = await env.db.selectFrom('segment_memberships').select('reason').where('workspace_id', '=', ws).where('segment_id', '=', vip).where('contact_id', '=', b).executeTakeFirstOrThrow();
    expect(joined.reason).toMatchObject({ trigger: 'contact', eventType: 'ContactTagged', version: 1 });

    await contact(a, [untagged('vip2')]);
    await contact(b, [{ type: 'ContactSuppressed', data: { reason: 'complaint', detail: null, at: NOW.toISOString() } }]);
    expect(await members(vip)).toEqual({});
    expect((await segmentRow(vip)).member_count).toBe('0');
  });

  it('a rules change re-evaluates the whole segment and records the version', async () => {
    const [a, b] = [id(), id()];
    await contact(a, [created(a, ['r1'])]);
    await contact(b, [created(b, ['r2'])]);
    const segment = await command(commands.DefineSegment, { name: 'R', rules: { tag: 'r1' } });
    expect(Object.keys(await members(segment))).toEqual([a]);
    await command(commands.ChangeSegmentRules, { segmentId: segment, rules: { any: [{ tag: 'r2' }, { email: { op: 'eq', value: `${a}@ACME.com` } }] } });
    expect(Object.keys(await members(segment)).sort()).toEqual([a, b].sort());
    await command(commands.ChangeSegmentRules, { segmentId: segment, rules: { tag: 'r2' } });
    expect(Object.keys(await members(segment))).toEqual([b]);
    expect(await segmentRow(segment)).toMatchObject({ version: 3, evaluated_version: 3, member_count: '1' });
    const row = await env.db.selectFrom('segment_memberships').select('reason').where('workspace_id', '=', ws).where('segment_id', '=', segment).executeTakeFirstOrThrow();
    expect(row.reason).toMatchObject({ trigger: 'rules', eventType: 'SegmentRulesChanged', version: 2 });
  });

  it('inSegment chains follow a contact change in the same event, and a rules change downstream', async () => {
    const base = await command(commands.DefineSegment, { name: 'Base', rules: { tag: 'chain' } });
    const middle = await command(commands.DefineSegment, { name: 'Middle', rules: { all: [{ inSegment: base }, { attribute: 'plan', op: 'eq', value: 'pro' }] } });
    const top = await command(commands.DefineSegment, { name: 'Top', rules: { any: [{ inSegment: middle }, { tag: 'forced' }] } });
    const a = id();
    await contact(a, [created(a, [], { plan: { type: 'string', value: 'pro' } })]);
    expect([await members(base), await members(middle), await members(top)].map((m) => Object.keys(m))).toEqual([[], [], []]);
    await contact(a, [tagged('chain')]);
    expect([await members(base), await members(middle), await members(top)].map((m) => Object.keys(m))).toEqual([[a], [a], [a]]);

    // Changing the base's rules re-evaluates its dependents fully, in order.
    await command(commands.ChangeSegmentRules, { segmentId: base, rules: { tag: 'something-else' } });
    expect([await members(base), await members(middle), await members(top)].map((m) => Object.keys(m))).toEqual([[], [], []]);
    expect((await segmentRow(top)).member_count).toBe('0');

    // A segment in use cannot be deleted; the one at the top can.
    await expect(command(commands.DeleteSegment, { segmentId: middle })).rejects.toMatchObject({ code: 'INVALID_TRANSITION', message: expect.stringContaining('"Top"') });
    await command(commands.DeleteSegment, { segmentId: top });
    expect(await segmentRow(top)).toMatchObject({ status: 'deleted', member_count: '0' });
    await command(commands.DeleteSegment, { segmentId: middle });
  });

  it('a merged contact leaves every segment; the survivor gains what it absorbed', async () => {
    const segment = await command(commands.DefineSegment, { name: 'Merge', rules: { tag: 'merge' } });
    const [duplicate, survivor] = [id(), id()];
    await contact(duplicate, [created(duplicate, ['merge'])]);
    await contact(survivor, [created(survivor)]);
    expect(Object.keys(await members(segment))).toEqual([duplicate]);
    const at = NOW.toISOString();
    await contact(duplicate, [{ type: 'ContactMerged', data: { survivorId: survivor, rule: 'email', at } }]);
    await contact(survivor, [
      {
        type: 'ContactAbsorbed',
        data: { duplicateId: duplicate, duplicateEmail: `${duplicate}@acme.com`, attributes: {}, tags: ['merge'], subscriptions: [], unsubscriptions: [], suppression: null, phone: null, externalId: null, rule: 'email', at },
      },
    ]);
    expect(Object.keys(await members(segment))).toEqual([survivor]);
    expect((await segmentRow(segment)).member_count).toBe('1');
  });

  it('time-relative rules use the projection clock', async () => {
    const a = id();
    const b = id();
    await contact(a, [created(a), { type: 'ContactAttributesChanged', data: { changes: { lastOrder: { type: 'date', value: '2024-05-25' } }, changedAt: NOW.toISOString() } }]);
    await contact(b, [created(b), { type: 'ContactAttributesChanged', data: { changes: { lastOrder: { type: 'date', value: '2024-01-01T10:00:00+01:00' } }, changedAt: NOW.toISOString() } }]);
    const recent = await command(commands.DefineSegment, { name: 'Recent buyers', rules: { attribute: 'lastOrder', op: 'within_last_days', value: 30 } });
    expect(Object.keys(await members(recent))).toEqual([a]);
  });
});
