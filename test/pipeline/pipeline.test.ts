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
  relay = new Relay({ store: env.eventStore, db: env.db, pool: env.pool, nats: env.nats, prefix, logger: silentLogger, checkpointEveryMs: 20 });
  runner = new ProjectionRunner({ projection: activityProjection, db: env.db, pool: env.pool, nats: env.nats, prefix, store: env.eventStore, logger: silentLogger });
  relay.start();
  runner.start();
  app = await buildServer(env.deps);
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
    expect(response.body.data!.projections).toEqual([{ name: 'activity', checkpoint: String(head), lag: '0' }]);
    const denied = await gql(app, acme.keys.marketer.key, '{ projections { name } }');
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
