/**
 * Temporal folds (src/replay/temporal.ts): the state as of a revision or an instant, the same with and without
 * snapshots, snapshots written every N revisions and ignored when their fold version is not the current one.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { campaignKind, contactKind } from '../../src/replay/kinds.js';
import { foldAsOf, type TemporalDeps } from '../../src/replay/temporal.js';
import { useApiTestEnv, type ApiTestEnv } from '../api/support.js';
import { campaignStream } from './fixtures.js';

let env: ApiTestEnv;
const ws = `ws-${randomUUID().slice(0, 8)}`;
const deps = (snapshotEvery: number | false): TemporalDeps => ({ eventStore: env.eventStore, db: env.db, snapshotEvery });
const nameOf = (fold: Awaited<ReturnType<typeof foldAsOf>>) => (fold.status === 'found' ? (fold.state as { settings: { name: string } }).settings.name : fold.status);

beforeAll(async () => {
  env = await useApiTestEnv('replay_temporal');
});

describe('foldAsOf', () => {
  it('folds to every revision the same with and without snapshots, and stores a snapshot every N revisions', async () => {
    const id = await campaignStream(env.eventStore, ws, 23, { batch: 4 });
    for (let revision = 0; revision <= 23; revision++) {
      const plain = await foldAsOf(deps(false), campaignKind, id, ws, { revision });
      const snapshotted = await foldAsOf(deps(5), campaignKind, id, ws, { revision });
      expect(nameOf(plain)).toBe(`name-${revision}`);
      expect(snapshotted).toMatchObject({ status: 'found', revision, state: plain.status === 'found' ? plain.state : null });
    }
    const rows = await env.db.selectFrom('temporal_snapshots').select(['revision', 'fold_version']).where('stream_id', '=', `campaign-${id}`).orderBy('revision').execute();
    expect(rows.map((r) => r.revision)).toEqual([4, 9, 14, 19]);
    expect(new Set(rows.map((r) => r.fold_version))).toEqual(new Set([campaignKind.snapshotVersion]));

    const last = await foldAsOf(deps(5), campaignKind, id, ws, { revision: 23 });
    expect(last).toMatchObject({ status: 'found', snapshotRevision: 19, eventsFolded: 4 });
  });

  it('folds as of an instant: events recorded at or before it; snapshots are only used when recorded by then', async () => {
    const id = await campaignStream(env.eventStore, ws, 9, { batch: 5 }); // revisions 0-4 in one append, 5-9 in the next
    const read = await env.eventStore.readStream(`campaign-${id}`);
    const events = read.status === 'found' ? read.events : [];
    const firstAppend = events[4]!.recordedAt;
    expect(nameOf(await foldAsOf(deps(false), campaignKind, id, ws, { asOf: firstAppend }))).toBe('name-4');
    expect(nameOf(await foldAsOf(deps(2), campaignKind, id, ws, { revision: 9 }))).toBe('name-9'); // stores snapshots 1, 3, 5, 7, 9
    const asOf = await foldAsOf(deps(2), campaignKind, id, ws, { asOf: firstAppend });
    expect(asOf).toMatchObject({ status: 'found', revision: 4, snapshotRevision: 3 });
    expect(nameOf(asOf)).toBe('name-4');
    const both = await foldAsOf(deps(2), campaignKind, id, ws, { asOf: events[9]!.recordedAt, revision: 6 });
    expect(both).toMatchObject({ status: 'found', revision: 6, snapshotRevision: 5 });
  });

  it('ignores snapshots of another fold version (a changed evolve)', async () => {
    const id = await campaignStream(env.eventStore, ws, 4);
    await env.db
      .insertInto('temporal_snapshots')
      .values({ stream_id: `campaign-${id}`, fold_version: 'campaign:0:stale', revision: 3, workspace_id: ws, position: '1', recorded_at: new Date(), state: JSON.stringify({ status: 'draft', settings: { name: 'stale' } }) })
      .execute();
    const fold = await foldAsOf(deps(100), campaignKind, id, ws, { revision: 3 });
    expect(fold).toMatchObject({ status: 'found', snapshotRevision: null });
    expect(nameOf(fold)).toBe('name-3');
  });

  it('tells "not created yet", "no such revision" and "unknown" apart; another workspace sees nothing', async () => {
    const before = new Date();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const id = await campaignStream(env.eventStore, ws, 2);
    const created = await foldAsOf(deps(false), campaignKind, id, ws, { revision: 0 });
    expect(await foldAsOf(deps(false), campaignKind, id, ws, { asOf: before })).toEqual({ status: 'not_yet', createdAt: created.status === 'found' ? created.recordedAt : null });
    expect(await foldAsOf(deps(false), campaignKind, id, ws, { revision: 7 })).toEqual({ status: 'no_such_revision', lastRevision: 2 });
    expect(await foldAsOf(deps(false), campaignKind, randomUUID(), ws, { asOf: new Date() })).toEqual({ status: 'unknown' });
    expect(await foldAsOf(deps(false), campaignKind, id, 'other-ws', { asOf: new Date() })).toEqual({ status: 'unknown' });
    // Also through a snapshot: the snapshot row names its workspace.
    await foldAsOf(deps(1), campaignKind, id, ws, { revision: 2 });
    expect(await foldAsOf(deps(1), campaignKind, id, 'other-ws', { revision: 2 })).toEqual({ status: 'unknown' });
  });

  it('never snapshots contacts (their state is personal data that erasure must reach)', () => {
    expect(contactKind.snapshotVersion).toBeNull();
  });
});
