/**
 * The segments API over GraphQL (app.inject) with the real pipeline behind it: mutations append through the
 * store, the relay and the segments projection fill the read model, queries read it with consistentWith.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../src/api/server.js';
import { contactStreamId, type ContactEvent } from '../../../src/domain/contacts/events.js';
import { Relay } from '../../../src/eventstore/relay/relay.js';
import { silentLogger } from '../../../src/infra/logger.js';
import { ProjectionRunner } from '../../../src/projections/runner/projectionRunner.js';
import { waitForProjection } from '../../../src/projections/runner/queries.js';
import { createSegmentsProjection, SEGMENTS_PROJECTION } from '../../../src/projections/segments/index.js';
import { uniquePrefix } from '../../support/nats.js';
import { gql, seedWorkspace, useApiTestEnv, type ApiTestEnv, type SeededWorkspace } from '../support.js';

let env: ApiTestEnv;
let app: FastifyInstance;
let relay: Relay;
let runner: ProjectionRunner;
let acme: SeededWorkspace;
let bolt: SeededWorkspace;

beforeAll(async () => {
  env = await useApiTestEnv('segments_graphql');
  const prefix = uniquePrefix('seggql');
  relay = new Relay({ store: env.eventStore, db: env.db, pool: env.pool, nats: env.nats, prefix, logger: silentLogger, checkpointEveryMs: 20 });
  // batchSize 1: a fetch returns as soon as one event is there (a larger batch waits for the 1 s fetch expiry).
  runner = new ProjectionRunner({ projection: createSegmentsProjection(), db: env.db, pool: env.pool, nats: env.nats, prefix, store: env.eventStore, logger: silentLogger, batchSize: 1 });
  relay.start();
  runner.start();
  app = await buildServer(env.deps);
  acme = await seedWorkspace(env.db, 'Acme');
  bolt = await seedWorkspace(env.db, 'Bolt');
});
afterAll(async () => {
  await app.close();
  await runner.stop();
  await relay.stop();
});

async function addContact(workspaceId: string, contactId: string, tags: string[]): Promise<void> {
  const data: ContactEvent['data'] = { contactId, email: `${contactId}@acme.com`, emailAsGiven: `${contactId}@acme.com`, externalId: null, phone: null, attributes: {}, tags, source: 'api', createdAt: new Date().toISOString() };
  const result = await env.eventStore.append(contactStreamId(contactId), [{ type: 'ContactCreated', data, metadata: { correlationId: randomUUID(), causationId: null, commandId: null, actor: 'test', workspaceId, schemaVersion: 1 } }], { expectedRevision: 'no_stream' });
  expect(await waitForProjection(env.db, SEGMENTS_PROJECTION, result.position, 15_000)).toBe(true);
}

const DEFINE = /* GraphQL */ `
  mutation Define($input: DefineSegmentInput!, $commandId: String) {
    defineSegment(input: $input, commandId: $commandId) { segmentId receipt { streamId revision position duplicate } }
  }
`;
const CHANGE = /* GraphQL */ `
  mutation Change($input: ChangeSegmentRulesInput!) { changeSegmentRules(input: $input) { segmentId receipt { revision position } } }
`;
const RENAME = /* GraphQL */ `
  mutation Rename($input: RenameSegmentInput!) { renameSegment(input: $input) { segmentId receipt { revision position } } }
`;
const DELETE = /* GraphQL */ `
  mutation Delete($input: DeleteSegmentInput!) { deleteSegment(input: $input) { segmentId receipt { revision position } } }
`;
const SEGMENT = /* GraphQL */ `
  query Segment($id: ID!, $position: BigInt, $first: Int, $after: String) {
    segment(id: $id, consistentWith: $position) {
      id name description status version rules dependsOn memberCount evaluatedVersion
      members(first: $first, after: $after) { edges { cursor node { contactId email since reason { trigger eventType version } } } pageInfo { hasNextPage endCursor } }
    }
  }
`;

async function define(key: string, input: Record<string, unknown>, commandId?: string) {
  const response = await gql(app, key, DEFINE, { input, commandId });
  expect(response.body.errors).toBeUndefined();
  return response.body.data!.defineSegment as { segmentId: string; receipt: { position: string; duplicate: boolean } };
}

describe('segments over GraphQL', () => {
  it('defines a segment and reads it back with its members, paginated, after the read model caught up', async () => {
    const tag = `t${randomUUID().slice(0, 6)}`;
    const contacts = ['m1', 'm2', 'm3'].map((n) => `${n}-${randomUUID().slice(0, 6)}`).sort();
    for (const c of contacts) await addContact(acme.workspaceId, c, [tag]);
    await addContact(acme.workspaceId, `out-${randomUUID().slice(0, 6)}`, []);
    const defined = await define(acme.keys.marketer.key, { name: 'Tagged', description: 'all tagged', rules: { tag } });
    expect(defined.receipt).toMatchObject({ duplicate: false });

    const first = await gql(app, acme.keys.auditor.key, SEGMENT, { id: defined.segmentId, position: defined.receipt.position, first: 2 });
    expect(first.body.errors).toBeUndefined();
    const segment = first.body.data!.segment;
    expect(segment).toMatchObject({ id: defined.segmentId, name: 'Tagged', description: 'all tagged', status: 'ACTIVE', version: 1, rules: { tag }, dependsOn: [], memberCount: 3, evaluatedVersion: 1 });
    expect(segment.members.edges.map((e: { node: { contactId: string } }) => e.node.contactId)).toEqual(contacts.slice(0, 2));
    expect(segment.members.edges[0].node).toMatchObject({ email: `${contacts[0]}@acme.com`, reason: { trigger: 'rules', eventType: 'SegmentDefined', version: 1 } });
    expect(segment.members.pageInfo.hasNextPage).toBe(true);
    const second = await gql(app, acme.keys.auditor.key, SEGMENT, { id: defined.segmentId, first: 2, after: segment.members.pageInfo.endCursor });
    expect(second.body.data!.segment.members.edges.map((e: { node: { contactId: string } }) => e.node.contactId)).toEqual(contacts.slice(2));
    expect(second.body.data!.segment.members.pageInfo.hasNextPage).toBe(false);
  });

  it('lists segments by name, paginated; renames; deleted ones only on request', async () => {
    const a = await define(acme.keys.marketer.key, { name: 'zz-a', rules: { all: [] } });
    const b = await define(acme.keys.marketer.key, { name: 'zz-b', rules: { any: [] } });
    const renamed = await gql(app, acme.keys.marketer.key, RENAME, { input: { segmentId: b.segmentId, name: 'zz-c', description: 'renamed' } });
    const deleted = await gql(app, acme.keys.marketer.key, DELETE, { input: { segmentId: a.segmentId } });
    expect(deleted.body.errors).toBeUndefined();
    const LIST = `query($after: String, $deleted: Boolean, $p: BigInt) { segments(first: 100, after: $after, includeDeleted: $deleted, consistentWith: $p) { edges { node { id name status description } } pageInfo { hasNextPage } } }`;
    const active = await gql(app, acme.keys.auditor.key, LIST, { p: deleted.body.data!.deleteSegment.receipt.position });
    const names = active.body.data!.segments.edges.map((e: { node: { name: string } }) => e.node.name);
    expect(names).toEqual([...names].sort());
    expect(names).toContain('zz-c');
    expect(names).not.toContain('zz-a');
    expect(renamed.body.data!.renameSegment.receipt.revision).toBe(1);
    const all = await gql(app, acme.keys.auditor.key, LIST, { deleted: true });
    expect(all.body.data!.segments.edges.map((e: { node: { name: string; status: string } }) => [e.node.name, e.node.status])).toContainEqual(['zz-a', 'DELETED']);
    const other = await gql(app, bolt.keys.admin.key, LIST, {});
    expect(other.body.data!.segments.edges).toEqual([]);
  });

  it('explains why a contact is in or out', async () => {
    const contactId = `ex-${randomUUID().slice(0, 6)}`;
    await addContact(acme.workspaceId, contactId, ['gold']);
    const defined = await define(acme.keys.marketer.key, { name: 'Gold, not silver', rules: { all: [{ tag: 'gold' }, { not: { tag: 'silver' } }, { email: { op: 'ends_with', value: '@other.com' } }] } });
    const EXPLAIN = `query($s: ID!, $c: ID!, $p: BigInt) { explainMembership(segmentId: $s, contactId: $c, consistentWith: $p) { segmentId contactId isMember since matches explanation { path depth rule result detail } } }`;
    const response = await gql(app, acme.keys.auditor.key, EXPLAIN, { s: defined.segmentId, c: contactId, p: defined.receipt.position });
    expect(response.body.errors).toBeUndefined();
    const explained = response.body.data!.explainMembership;
    expect(explained).toMatchObject({ isMember: false, since: null, matches: false });
    expect(explained.explanation.map((n: { path: string; depth: number; result: boolean }) => [n.path, n.depth, n.result])).toEqual([
      ['rules', 0, false],
      ['rules.all[0]', 1, true],
      ['rules.all[1]', 1, true],
      ['rules.all[1].not', 2, false],
      ['rules.all[2]', 1, false],
    ]);
    expect(explained.explanation[4]).toMatchObject({ rule: { email: { op: 'ends_with', value: '@other.com' } }, detail: expect.stringContaining(`${contactId}@acme.com`) });
    const unknown = await gql(app, acme.keys.auditor.key, EXPLAIN, { s: defined.segmentId, c: 'nobody' });
    expect(unknown.body.data!.explainMembership).toBeNull();
  });

  it('is idempotent by commandId: the same segment, nothing new recorded', async () => {
    const commandId = randomUUID();
    const first = await define(acme.keys.service.key, { name: 'Once', rules: { tag: 'x' } }, commandId);
    const again = await define(acme.keys.service.key, { name: 'Once', rules: { tag: 'x' } }, commandId);
    expect(again).toEqual({ segmentId: first.segmentId, receipt: { ...first.receipt, duplicate: true } });
  });

  it('refuses bad rules with BAD_USER_INPUT naming the path, and writes nothing', async () => {
    const head = await env.eventStore.headPosition();
    const cases: [unknown, string][] = [
      [{ all: [{ tag: 'a' }, { email: { op: 'eq', value: 3 } }] }, 'rules.all[1].email.value'],
      [{ attribute: 'plan', op: 'eq', value: 'pro' }, 'rules.attribute'],
      [{ inSegment: 'no-such-segment' }, 'rules.inSegment'],
      [{ any: [{ tag: 'a' }, { bogus: true }] }, 'rules.any[1].bogus'],
    ];
    for (const [rules, field] of cases) {
      const response = await gql(app, acme.keys.marketer.key, DEFINE, { input: { name: 'Bad', rules } });
      expect(response.body.errors?.[0]?.extensions, JSON.stringify(rules)).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    const noName = await gql(app, acme.keys.marketer.key, DEFINE, { input: { name: '  ', rules: { tag: 'a' } } });
    expect(noName.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    const badId = await gql(app, acme.keys.marketer.key, DEFINE, { input: { segmentId: 'no spaces', name: 'x', rules: { tag: 'a' } } });
    expect(badId.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'segmentId' });
    expect(await env.eventStore.headPosition()).toBe(head);
  });

  it('refuses a cycle and deleting a segment in use', async () => {
    const a = await define(acme.keys.marketer.key, { name: 'A', rules: { tag: 'a' } });
    const b = await define(acme.keys.marketer.key, { name: 'B', rules: { all: [{ tag: 'b' }, { inSegment: a.segmentId }] } });
    const cycle = await gql(app, acme.keys.marketer.key, CHANGE, { input: { segmentId: a.segmentId, rules: { any: [{ tag: 'a' }, { inSegment: b.segmentId }] } } });
    expect(cycle.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'rules.any[1].inSegment' });
    expect(cycle.body.errors?.[0]?.message).toContain(`${a.segmentId} → ${b.segmentId} → ${a.segmentId}`);
    await gql(app, acme.keys.auditor.key, SEGMENT, { id: b.segmentId, position: b.receipt.position });
    const inUse = await gql(app, acme.keys.marketer.key, DELETE, { input: { segmentId: a.segmentId } });
    expect(inUse.body.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_TRANSITION' });
    expect(inUse.body.errors?.[0]?.message).toContain('"B"');
  });

  it('checks roles and keeps workspaces apart', async () => {
    const denied = await gql(app, acme.keys.auditor.key, DEFINE, { input: { name: 'Nope', rules: { tag: 'a' } } });
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const noKey = await gql(app, undefined, `{ segments { edges { node { id } } } }`);
    expect(noKey.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const mine = await define(acme.keys.admin.key, { name: 'Acme only', rules: { tag: 'a' } });
    const seen = await gql(app, bolt.keys.admin.key, SEGMENT, { id: mine.segmentId, position: mine.receipt.position });
    expect(seen.body.data!.segment).toBeNull();
    const changed = await gql(app, bolt.keys.admin.key, CHANGE, { input: { segmentId: mine.segmentId, rules: { tag: 'b' } } });
    expect(changed.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const referenced = await gql(app, bolt.keys.admin.key, DEFINE, { input: { name: 'Sneaky', rules: { inSegment: mine.segmentId } } });
    expect(referenced.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'rules.inSegment' });
  });
});
