/**
 * The whole write-to-read path as a user meets it: a command appends through the store, the relay publishes
 * to JetStream, the projector fills the activity read model, and GraphQL answers with read-your-writes.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import type { Decider } from '../../src/domain/shared/decider.js';
import { handleCommand } from '../../src/eventstore/commandHandler.js';
import { Relay } from '../../src/eventstore/relay/relay.js';
import { silentLogger } from '../../src/infra/logger.js';
import { activityProjection } from '../../src/projections/activity/projection.js';
import { ProjectionRunner } from '../../src/projections/runner/projectionRunner.js';
import { gql, seedWorkspace, useApiTestEnv, type ApiTestEnv, type SeededWorkspace } from '../api/support.js';
import { uniquePrefix } from '../support/nats.js';
import { subscribe } from '../support/graphqlWs.js';
import { loadConfig } from '../../src/infra/config.js';

type Note = { status: 'none' } | { status: 'written' };
const notes: Decider<{ text: string }, Note, { type: 'NoteWritten'; data: { text: string } }> = {
  initialState: () => ({ status: 'none' }),
  evolve: () => ({ status: 'written' }),
  decide: (command) => [{ type: 'NoteWritten', data: { text: command.text } }],
};

let env: ApiTestEnv;
let app: FastifyInstance;
let relay: Relay;
let runner: ProjectionRunner;
let acme: SeededWorkspace;
let other: SeededWorkspace;

beforeAll(async () => {
  env = await useApiTestEnv('pipeline');
  const prefix = uniquePrefix('pipeline');
  env = { ...env, deps: { ...env.deps, config: loadConfig({ NODE_ENV: 'test', NATS_PREFIX: prefix }) } };
  relay = new Relay({ store: env.eventStore, db: env.db, pool: env.pool, nats: env.nats, prefix, logger: silentLogger, checkpointEveryMs: 20 });
  runner = new ProjectionRunner({ projection: activityProjection, db: env.db, pool: env.pool, nats: env.nats, prefix, store: env.eventStore, logger: silentLogger });
  relay.start();
  runner.start();
  app = await buildServer(env.deps);
  await app.listen({ port: 0, host: '127.0.0.1' });
  acme = await seedWorkspace(env.db);
  other = await seedWorkspace(env.db);
});
afterAll(async () => {
  await app.close();
  await runner.stop();
  await relay.stop();
});

const ACTIVITY = `query($position: BigInt, $stream: String) {
  activity(first: 10, consistentWith: $position, streamId: $stream) { edges { node { eventType streamId actor correlationId commandId position } } }
}`;

describe('command → event store → relay → JetStream → projector → GraphQL', () => {
  it('a query with consistentWith sees the command it follows, attributed to its actor and correlation id', async () => {
    const streamId = `note-${randomUUID()}`;
    const context = { commandId: randomUUID(), correlationId: randomUUID(), causationId: null, actor: `apikey:${acme.keys.marketer.id}`, workspaceId: acme.workspaceId };
    const result = await handleCommand(env.eventStore, notes, streamId, { text: 'hello' }, context);
    const response = await gql(app, acme.keys.auditor.key, ACTIVITY, { position: String(result.position), stream: streamId });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data!.activity.edges.map((e: { node: unknown }) => e.node)).toEqual([
      { eventType: 'NoteWritten', streamId, actor: context.actor, correlationId: context.correlationId, commandId: context.commandId, position: String(result.position) },
    ]);
  });

  it("another workspace's key does not see the event", async () => {
    const streamId = `note-${randomUUID()}`;
    const result = await handleCommand(env.eventStore, notes, streamId, { text: 'private' }, { commandId: randomUUID(), correlationId: randomUUID(), causationId: null, actor: 'apikey:x', workspaceId: acme.workspaceId });
    const response = await gql(app, other.keys.admin.key, ACTIVITY, { position: String(result.position), stream: streamId });
    expect(response.body.data!.activity.edges).toEqual([]);
  });

  it('a position the read model cannot reach gives the retryable READ_MODEL_BEHIND', async () => {
    const head = (await env.eventStore.headPosition()) ?? 0n;
    const response = await gql(app, acme.keys.auditor.key, ACTIVITY, { position: String(head + 1_000n) });
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ code: 'READ_MODEL_BEHIND', retryable: true });
  }, 15_000);

  it('admins see projection status with zero lag once caught up', async () => {
    const head = await env.eventStore.headPosition();
    await gql(app, acme.keys.admin.key, ACTIVITY, { position: String(head) });
    const response = await gql(app, acme.keys.admin.key, '{ projections { name checkpoint lag } }');
    const projections = response.body.data!.projections as { name: string }[];
    expect(projections.find((p) => p.name === 'activity')).toEqual({ name: 'activity', checkpoint: String(head), lag: '0' });
    const denied = await gql(app, acme.keys.marketer.key, '{ projections { name } }');
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('live updates over a GraphQL subscription (WebSocket, fed by NATS change notices)', () => {
  const wsUrl = () => {
    const address = app.server.address();
    return `ws://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/graphql`;
  };
  const SUBSCRIPTION = 'subscription($category: String) { activityAppended(category: $category) { eventType streamId } }';
  const write = (streamId: string, workspaceId: string) =>
    handleCommand(env.eventStore, notes, streamId, { text: 'live' }, { commandId: randomUUID(), correlationId: randomUUID(), causationId: null, actor: 'apikey:x', workspaceId });

  it('pushes the workspace\'s new events to a subscriber authenticated in connection_init, filtered by category', async () => {
    const live = await subscribe(wsUrl(), SUBSCRIPTION, { category: 'note' }, { authorization: `Bearer ${acme.keys.auditor.key}` });
    const other = await subscribe(wsUrl(), SUBSCRIPTION, {}, {}, { authorization: `Bearer ${other_key()}` });
    const streamId = `note-${randomUUID()}`;
    await write(`memo-${randomUUID()}`, acme.workspaceId); // another category: filtered out
    await write(streamId, acme.workspaceId);
    const [first] = await live.waitFor(1);
    expect(first).toEqual({ data: { activityAppended: [{ eventType: 'NoteWritten', streamId }] } });
    await new Promise((r) => setTimeout(r, 300));
    expect(live.received).toHaveLength(1);
    expect(other.received).toEqual([]); // another workspace hears nothing
    await live.close();
    await other.close();
  });

  it('refuses a connection_init with a bad key', async () => {
    await expect(subscribe(wsUrl(), SUBSCRIPTION, {}, { authorization: 'Bearer mk_forged' })).rejects.toThrow(/closed/);
  });
});

function other_key(): string {
  return other.keys.auditor.key;
}
