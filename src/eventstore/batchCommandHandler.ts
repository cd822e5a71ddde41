import type { CommandContext, Decider, DomainEvent } from '../domain/shared/decider.js';
import { handleCommand, planCommand, type CommandResult, type HandleOptions } from './commandHandler.js';
import { AppendManyError, WrongExpectedRevisionError } from './errors.js';
import type { EventStore, StreamAppend } from './port.js';

export interface BatchItem<Command> {
  readonly streamId: string;
  readonly command: Command;
  readonly context: CommandContext;
}

export type BatchOutcome<Event extends DomainEvent> =
  | { readonly ok: true; readonly result: CommandResult<Event> }
  | { readonly ok: false; readonly error: unknown };

/**
 * Many commands on many streams with one read (`readStreams`) and one write (`appendMany`): the bulk path of
 * imports. Same semantics as handleCommand per item — commandId idempotency, workspace ownership, domain
 * errors — but an item's error is returned in its slot instead of failing the batch. When the batched write
 * conflicts (another writer touched one of the streams), the items not yet written fall back to handleCommand
 * one by one, so the outcome is the same, only slower. Items on a stream that appears earlier in the batch
 * run after the batch, in order.
 */
export async function handleCommandBatch<Command, State, Event extends DomainEvent>(
  store: EventStore,
  decider: Decider<Command, State, Event>,
  items: readonly BatchItem<Command>[],
  options: HandleOptions = {},
): Promise<BatchOutcome<Event>[]> {
  const outcomes: (BatchOutcome<Event> | undefined)[] = new Array(items.length);
  const firstOfStream = new Map<string, number>();
  const later: number[] = [];
  items.forEach((item, index) => (firstOfStream.has(item.streamId) ? later.push(index) : firstOfStream.set(item.streamId, index)));

  const histories = await store.readStreams([...firstOfStream.keys()]);
  const appends: StreamAppend[] = [];
  const appendedItems: { index: number; events: readonly Event[] }[] = [];
  for (const index of firstOfStream.values()) {
    const item = items[index]!;
    try {
      const plan = planCommand(decider, item.streamId, item.command, item.context, histories.get(item.streamId) ?? [], options);
      if (plan.kind === 'done') outcomes[index] = { ok: true, result: plan.result };
      else {
        appends.push(plan.append);
        appendedItems.push({ index, events: plan.events });
      }
    } catch (error) {
      outcomes[index] = { ok: false, error };
    }
  }

  let fallback: number[] = [];
  if (appends.length > 0) {
    try {
      const results = await store.appendMany(appends);
      results.forEach((appended, i) => {
        const { index, events } = appendedItems[i]!;
        outcomes[index] = { ok: true, result: { streamId: items[index]!.streamId, revision: appended.nextExpectedRevision, position: appended.position, events, duplicate: false } };
      });
    } catch (error) {
      // A conflict: nothing was written (PostgreSQL), or the streams before the failure were (AppendManyError),
      // which handleCommand then recognises by their command ids.
      if (!(error instanceof AppendManyError || error instanceof WrongExpectedRevisionError)) throw error;
      fallback = appendedItems.map((a) => a.index);
    }
  }

  for (const index of [...fallback, ...later].sort((a, b) => a - b)) {
    const item = items[index]!;
    try {
      outcomes[index] = { ok: true, result: await handleCommand(store, decider, item.streamId, item.command, item.context, options) };
    } catch (error) {
      outcomes[index] = { ok: false, error };
    }
  }
  return outcomes as BatchOutcome<Event>[];
}
