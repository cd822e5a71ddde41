/**
 * Command handling on top of any EventStore adapter: idempotency by commandId (also under races), optimistic
 * concurrency and workspace ownership. Run against every adapter.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext, Decider } from '../../src/domain/shared/decider.js';
import { InvalidTransitionError, NotFoundError } from '../../src/domain/shared/errors.js';
import { handleCommand } from '../../src/eventstore/commandHandler.js';
import { handleCommandBatch } from '../../src/eventstore/batchCommandHandler.js';
import { WrongExpectedRevisionError } from '../../src/eventstore/errors.js';
import type { EventStore } from '../../src/eventstore/port.js';
import type { ContractHarness } from './contract.js';

type Counter = { status: 'none' } | { status: 'open'; value: number };
type CounterEvent = { type: 'Opened'; data: Record<string, never> } | { type: 'Added'; data: { by: number } };
type CounterCommand = { type: 'Open' } | { type: 'Add'; by: number };

const counter: Decider<CounterCommand, Counter, CounterEvent> = {
  initialState: () => ({ status: 'none' }),
  evolve: (state, event) => {
    switch (event.type) {
      case 'Opened':
        return { status: 'open', value: 0 };
      case 'Added':
        return state.status === 'open' ? { status: 'open', value: state.value + event.data.by } : state;
    }
  },
  decide: (command, state) => {
    if (command.type === 'Open') {
      if (state.status !== 'none') throw new InvalidTransitionError('counter', state.status, 'Open');
      return [{ type: 'Opened', data: {} }];
    }
    if (state.status !== 'open') throw new InvalidTransitionError('counter', state.status, 'Add');
    return command.by === 0 ? [] : [{ type: 'Added', data: { by: command.by } }];
  },
};

const context = (overrides: Partial<CommandContext> = {}): CommandContext => ({
  commandId: randomUUID(),
  correlationId: randomUUID(),
  causationId: null,
  actor: 'apikey:test',
  workspaceId: 'ws-a',
  ...overrides,
});

export function commandHandlerContract(name: string, createHarness: () => Promise<ContractHarness>): void {
  describe(`command handling: ${name}`, () => {
    let harness: ContractHarness;
    let store: EventStore;
    beforeAll(async () => {
      harness = await createHarness();
      store = harness.store;
    });
    afterAll(() => harness?.cleanup());
    const stream = () => `counter-${randomUUID()}`;

    it('appends the decided events with the command metadata', async () => {
      const id = stream();
      const ctx = context();
      const result = await handleCommand(store, counter, id, { type: 'Open' }, ctx);
      expect(result).toMatchObject({ streamId: id, revision: 0, duplicate: false, events: [{ type: 'Opened' }] });
      const read = await store.readStream(id);
      if (read.status !== 'found') throw new Error('missing');
      expect(read.events[0]!.metadata).toEqual({ ...ctx, schemaVersion: 1 });
      expect(read.events[0]!.position).toBe(result.position);
    });

    it('repeating a command id returns the first result and appends nothing', async () => {
      const id = stream();
      await handleCommand(store, counter, id, { type: 'Open' }, context());
      const ctx = context();
      const first = await handleCommand(store, counter, id, { type: 'Add', by: 5 }, ctx);
      const again = await handleCommand(store, counter, id, { type: 'Add', by: 5 }, { ...ctx, correlationId: randomUUID() });
      expect(again).toEqual({ ...first, duplicate: true });
      const read = await store.readStream(id);
      expect(read.status === 'found' && read.events.length).toBe(2);
    });

    it('when two copies of one command race, both get the same result and one event is appended', async () => {
      const id = stream();
      await handleCommand(store, counter, id, { type: 'Open' }, context());
      for (let round = 0; round < 5; round++) {
        const ctx = context();
        const [a, b] = await Promise.all([
          handleCommand(store, counter, id, { type: 'Add', by: 1 }, ctx),
          handleCommand(store, counter, id, { type: 'Add', by: 1 }, ctx),
        ]);
        expect(a.revision).toBe(b.revision);
        expect(a.position).toBe(b.position);
      }
      const read = await store.readStream(id);
      expect(read.status === 'found' && read.events.map((e) => e.type)).toEqual(['Opened', 'Added', 'Added', 'Added', 'Added', 'Added']);
    });

    it('when two copies of a creating command race, one stream with one event results', async () => {
      const id = stream();
      const ctx = context();
      const results = await Promise.all([1, 2, 3].map(() => handleCommand(store, counter, id, { type: 'Open' }, ctx)));
      expect(new Set(results.map((r) => r.position)).size).toBe(1);
      const read = await store.readStream(id);
      expect(read.status === 'found' && read.events.length).toBe(1);
    });

    it('different commands racing on one revision: one wins, the other gets a retryable conflict', async () => {
      const id = stream();
      await handleCommand(store, counter, id, { type: 'Open' }, context());
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, () => handleCommand(store, counter, id, { type: 'Add', by: 1 }, context())),
      );
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      expect(won.length).toBeGreaterThanOrEqual(1);
      for (const o of outcomes) {
        if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'WRONG_EXPECTED_REVISION', retryable: true });
      }
      const read = await store.readStream(id);
      expect(read.status === 'found' && read.events.length).toBe(1 + won.length);
    });

    it('with retries on conflict, every one of concurrent different commands lands exactly once', async () => {
      const id = stream();
      await handleCommand(store, counter, id, { type: 'Open' }, context());
      await Promise.all(Array.from({ length: 8 }, () => handleCommand(store, counter, id, { type: 'Add', by: 1 }, context(), { retriesOnConflict: 20 })));
      const read = await store.readStream(id);
      expect(read.status === 'found' && read.events.length).toBe(9);
    });

    it('a stale client revision conflicts without deciding', async () => {
      const id = stream();
      await handleCommand(store, counter, id, { type: 'Open' }, context());
      await handleCommand(store, counter, id, { type: 'Add', by: 1 }, context());
      const error = await handleCommand(store, counter, id, { type: 'Add', by: 1 }, context(), { expectedRevision: 0 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
    });

    it('a client revision of a stream that does not exist is NOT_FOUND (not a retryable conflict), and appends nothing', async () => {
      const id = stream();
      const error = await handleCommand(store, counter, id, { type: 'Open' }, context(), { expectedRevision: 3 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotFoundError);
      expect((await store.readStream(id)).status).toBe('not_found');
    });

    it('an invalid transition throws the domain error and appends nothing', async () => {
      const id = stream();
      await expect(handleCommand(store, counter, id, { type: 'Add', by: 1 }, context())).rejects.toBeInstanceOf(InvalidTransitionError);
      expect((await store.readStream(id)).status).toBe('not_found');
    });

    it('a command that decides nothing appends nothing', async () => {
      const id = stream();
      await handleCommand(store, counter, id, { type: 'Open' }, context());
      const result = await handleCommand(store, counter, id, { type: 'Add', by: 0 }, context());
      expect(result).toMatchObject({ revision: 0, position: null, events: [] });
    });

    it("another workspace's stream is not found, and nothing is appended to it", async () => {
      const id = stream();
      await handleCommand(store, counter, id, { type: 'Open' }, context({ workspaceId: 'ws-a' }));
      await expect(handleCommand(store, counter, id, { type: 'Add', by: 1 }, context({ workspaceId: 'ws-b' }))).rejects.toBeInstanceOf(NotFoundError);
      const read = await store.readStream(id);
      expect(read.status === 'found' && read.events.length).toBe(1);
    });

    describe('batch', () => {
      it('runs many commands with one read and one write, each with its own outcome', async () => {
        const open = stream();
        await handleCommand(store, counter, open, { type: 'Open' }, context());
        const fresh = stream();
        const repeated = context();
        await handleCommand(store, counter, open, { type: 'Add', by: 2 }, repeated);
        const otherWorkspace = stream();
        await handleCommand(store, counter, otherWorkspace, { type: 'Open' }, context({ workspaceId: 'ws-b' }));
        const outcomes = await handleCommandBatch(store, counter, [
          { streamId: fresh, command: { type: 'Open' }, context: context() },
          { streamId: open, command: { type: 'Add', by: 2 }, context: repeated },
          { streamId: stream(), command: { type: 'Add', by: 1 }, context: context() },
          { streamId: otherWorkspace, command: { type: 'Add', by: 1 }, context: context() },
          { streamId: fresh, command: { type: 'Add', by: 5 }, context: context() },
        ]);
        expect(outcomes[0]).toMatchObject({ ok: true, result: { revision: 0, duplicate: false } });
        expect(outcomes[1]).toMatchObject({ ok: true, result: { revision: 1, duplicate: true } });
        expect(outcomes[2]).toMatchObject({ ok: false });
        expect((outcomes[2] as { error: unknown }).error).toBeInstanceOf(InvalidTransitionError);
        expect((outcomes[3] as { error: unknown }).error).toBeInstanceOf(NotFoundError);
        expect(outcomes[4]).toMatchObject({ ok: true, result: { revision: 1, duplicate: false } });
        const read = await store.readStreams([fresh, open, otherWorkspace]);
        expect(read.get(fresh)!.map((e) => e.type)).toEqual(['Opened', 'Added']);
        expect(read.get(open)!.map((e) => e.type)).toEqual(['Opened', 'Added']);
        expect(read.get(otherWorkspace)!.map((e) => e.type)).toEqual(['Opened']);
      });

      it('when another writer conflicts, falls back per command and still applies each exactly once', async () => {
        const ids = Array.from({ length: 5 }, () => stream());
        for (const id of ids) await handleCommand(store, counter, id, { type: 'Open' }, context());
        const contexts = ids.map(() => context());
        const batch = handleCommandBatch(store, counter, ids.map((id, i) => ({ streamId: id, command: { type: 'Add' as const, by: 1 }, context: contexts[i]! })), { retriesOnConflict: 5 });
        const interloper = handleCommand(store, counter, ids[3]!, { type: 'Add', by: 100 }, context(), { retriesOnConflict: 5 });
        const [outcomes] = await Promise.all([batch, interloper]);
        expect(outcomes.every((o) => o.ok)).toBe(true);
        const read = await store.readStreams(ids);
        for (const id of ids) {
          const added = read.get(id)!.filter((e) => e.type === 'Added' && (e.data as { by: number }).by === 1);
          expect(added).toHaveLength(1);
        }
        const again = await handleCommandBatch(store, counter, ids.map((id, i) => ({ streamId: id, command: { type: 'Add' as const, by: 1 }, context: contexts[i]! })));
        expect(again.every((o) => o.ok && o.result.duplicate)).toBe(true);
      });
    });
  });
}
