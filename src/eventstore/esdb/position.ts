import type { Position } from '@eventstore/db-client';

/**
 * EventStoreDB identifies a place in `$all` by two 64-bit log offsets, `{ commit, prepare }`, ordered by commit
 * and then by prepare. The port wants one totally ordered bigint, so we pack them losslessly:
 *
 *   position = (commit << 64n) | prepare
 *
 * Packed positions sort exactly like ESDB positions. They are never computed with (no "+ 1", no distance between
 * two positions): they are only packed when an event comes out of ESDB and unpacked when a caller hands one back
 * as a starting point for readAll / subscribeAll. In real ESDB commit and prepare differ (several events of one
 * write share a commit position and have distinct prepare positions), which is why both halves are kept.
 */
const PREPARE_BITS = 64n;
const PREPARE_MASK = (1n << PREPARE_BITS) - 1n;

export function packPosition({ commit, prepare }: Position): bigint {
  if (commit < 0n || prepare < 0n || commit > PREPARE_MASK || prepare > PREPARE_MASK) {
    throw new RangeError(`EventStoreDB position out of range: commit ${commit}, prepare ${prepare}`);
  }
  return (commit << PREPARE_BITS) | prepare;
}

export function unpackPosition(position: bigint): Position {
  if (position < 0n || position >> (2n * PREPARE_BITS) !== 0n) {
    throw new RangeError(`Not a packed EventStoreDB position: ${position}`);
  }
  return { commit: position >> PREPARE_BITS, prepare: position & PREPARE_MASK };
}
