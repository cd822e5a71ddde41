/**
 * 100 concurrent commands on one campaign, through the command handler and through GraphQL: exactly one per
 * revision wins, the others get the retryable WRONG_EXPECTED_REVISION; commands retried (or raced) with the same
 * commandId never apply twice, which the stream's length and its command ids show.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapError } from '../../src/api/errors.js';
import { buildServer } from '../../src/api/server.js';
import { campaignDecider } from '../../src/domain/campaigns/decide.js';
import { campaignSchemaVersionOf, campaignStreamId } from '../../src/domain/campaigns/events.js';
import type { CommandContext } from '../../src/domain/shared/decider.js';
import { handleCommand } from '../../src/eventstore/commandHandler.js';
import { WrongExpectedRevisionError } from '../../src/eventstore/errors.js';
import type { RecordedEvent } from '../../src/eventstore/port.js';
import { gql, seedWorkspace, useApiTestEnv, type ApiTestEnv, type SeededWorkspace } from './support.js';

const N = 100;
let env: ApiTestEnv;
let app: FastifyInstance;
let ws: SeededWorkspace;

beforeAll(async () => {
  env = await useApiTestEnv('concurrency');
  app = await buildServer(env.deps);
  ws = await seedWorkspace(env.db);
});
afterAll(() => app.close());

const context = (commandId: string = randomUUID()): CommandContext => ({ commandId, correlationId: randomUUID(), causationId: null, actor: 'test', workspaceId: ws.workspaceId });

async function history(campaignId: string): Promise<readonly RecordedEvent[]> {
  const read = await env.eventStore.readStream(campaignStreamId(campaignId));
  return read.status === 'found' ? read.events : [];
}

/** Revisions are dense and every command id in the stream appears on exactly one event (each command appends one). */
function expectEachCommandOnce(events: readonly RecordedEvent[]): void {
  expect(events.map((e) => e.revision)).toEqual(events.map((_, i) => i));
  const ids = events.map((e) => e.metadata.commandId);
  expect(new Set(ids).size).toBe(ids.length);
}

const rename = (campaignId: string, name: string, commandId: string, expectedRevision?: number) =>
  handleCommand(env.eventStore, campaignDecider, campaignStreamId(campaignId), { type: 'UpdateCampaign', data: { changes: { name }, at: new Date().toISOString() } }, context(commandId), {
    schemaVersionOf: campaignSchemaVersionOf,
    ...(expectedRevision === undefined ? {} : { expectedRevision }),
  });

async function createCampaign(): Promise<string> {
  const campaignId = randomUUID();
  const data = { campaignId, name: 'Race', sender: null, replyTo: null, segmentId: null, templateId: null, templateVersion: null, topic: null, at: new Date().toISOString() };
  await handleCommand(env.eventStore, campaignDecider, campaignStreamId(campaignId), { type: 'CreateCampaign', data }, context(), { schemaVersionOf: campaignSchemaVersionOf });
  return campaignId;
}

describe('100 concurrent commands on one campaign', () => {
  it('through the command handler: one winner per revision, retryable conflicts, retries never apply twice', async () => {
    const campaignId = await createCampaign();
    const commandIds = Array.from({ length: N }, () => randomUUID());
    const outcomes = await Promise.allSettled(commandIds.map((id, i) => rename(campaignId, `name ${i}`, id, 0)));
    const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
    expect(winners).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') continue;
      expect(outcome.reason).toBeInstanceOf(WrongExpectedRevisionError);
      expect(mapError(outcome.reason)).toMatchObject({ code: 'WRONG_EXPECTED_REVISION', retryable: true, httpStatus: 409 });
    }
    expect(await history(campaignId)).toHaveLength(2);

    // The winner retries (a lost reply): the first result, nothing appended, even with the now stale revision.
    const winner = winners[0]!;
    const again = await rename(campaignId, `name ${winner}`, commandIds[winner]!, 0);
    expect(again).toMatchObject({ duplicate: true, revision: 1 });

    // Every loser retries with its own commandId without an expected revision, twice at once (a retry racing
    // the original), one loser after the other: each applies exactly once, one per revision.
    const losers = commandIds.filter((_, i) => i !== winner);
    const retried: Awaited<ReturnType<typeof rename>>[] = [];
    for (const [k, id] of losers.entries()) {
      const retry = () => rename(campaignId, `retry ${k}`, id);
      retried.push(...(await Promise.all([retryOnConflict(retry), retryOnConflict(retry)])));
    }
    const events = await history(campaignId);
    expect(events).toHaveLength(2 + losers.length);
    expectEachCommandOnce(events);
    // The two copies of each command report the same revision and position (one event in the stream). Both may
    // say duplicate: false when they appended at the same moment: the store took the second, identical append
    // (same deterministic event ids at the same revision) as a no-op.
    for (let i = 0; i < losers.length; i++) {
      const [a, b] = [retried[2 * i]!, retried[2 * i + 1]!];
      expect([a.revision, a.position]).toEqual([b.revision, b.position]);
    }
    expect(new Set(retried.map((r) => r.revision)).size).toBe(losers.length);
  });

  it('through GraphQL: one mutation wins, 99 get WRONG_EXPECTED_REVISION with retryable: true; retries are duplicates', async () => {
    const created = await gql(app, ws.keys.marketer.key, `mutation { createCampaign(input: { name: "Race over GraphQL" }) { campaignId receipt { revision } } }`);
    expect(created.body.errors).toBeUndefined();
    const campaignId = created.body.data!.createCampaign.campaignId as string;
    const UPDATE = `mutation($input: UpdateCampaignInput!, $commandId: String) { updateCampaign(input: $input, commandId: $commandId) { receipt { revision duplicate } } }`;
    const update = (commandId: string, name: string, expectedRevision?: number) =>
      gql(app, ws.keys.marketer.key, UPDATE, { input: { campaignId, name, ...(expectedRevision === undefined ? {} : { expectedRevision }) }, commandId });

    const commandIds = Array.from({ length: N }, (_, i) => `race-${i}-${randomUUID()}`);
    const responses = await Promise.all(commandIds.map((id, i) => update(id, `gql ${i}`, 0)));
    const won = responses.filter((r) => r.body.errors === undefined);
    expect(won).toHaveLength(1);
    expect(won[0]!.body.data!.updateCampaign.receipt).toEqual({ revision: 1, duplicate: false });
    const conflicts = responses.filter((r) => r.body.errors !== undefined);
    expect(conflicts).toHaveLength(N - 1);
    for (const r of conflicts) expect(r.body.errors![0]!.extensions).toMatchObject({ code: 'WRONG_EXPECTED_REVISION', retryable: true });

    // Retrying the winner with its commandId (and the stale revision) is a duplicate; ten racing copies of a new
    // command append once.
    const winnerId = commandIds[responses.indexOf(won[0]!)]!;
    const retry = await update(winnerId, 'whatever the retry says', 0);
    expect(retry.body.data!.updateCampaign.receipt).toEqual({ revision: 1, duplicate: true });
    const copies = await Promise.all(Array.from({ length: 10 }, () => update('one-more-time', 'last')));
    for (const c of copies) expect(c.body.errors, JSON.stringify(c.body.errors)).toBeUndefined();
    const receipts = copies.map((c) => c.body.data!.updateCampaign.receipt as { revision: number; duplicate: boolean });
    expect(new Set(receipts.map((r) => r.revision))).toEqual(new Set([2]));
    const events = await history(campaignId);
    expect(events).toHaveLength(3);
    expectEachCommandOnce(events);
  });
});

/** A retry without an expected revision may still lose a race for the next revision: re-run the same command. */
async function retryOnConflict<T>(command: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await command();
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError) || i > 200) throw error;
    }
  }
}
