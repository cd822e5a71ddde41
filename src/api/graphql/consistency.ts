import { ApiError, ValidationError } from '../errors.js';
import { waitForProjection } from '../../projections/runner/queries.js';
import type { GraphQLContext } from './context.js';

/** How long a query waits for its read model to reach a mutation's position. */
export const CONSISTENCY_WAIT_MS = 5_000;

/**
 * Read-your-writes: a query given `consistentWith` (the position a mutation returned) answers only once the
 * read model has applied that position; after CONSISTENCY_WAIT_MS it fails with the retryable
 * READ_MODEL_BEHIND rather than answer with stale data.
 */
export async function awaitReadModel(ctx: GraphQLContext, projection: string, position: bigint | null | undefined): Promise<void> {
  // Nothing precedes position 0; a negative one was never returned by a mutation (it would wait 5 s for nothing).
  if (position == null || position === 0n) return;
  if (position < 0n) throw new ValidationError('consistentWith', 'consistentWith must be a position returned by a mutation (0 or more).');
  if (!(await waitForProjection(ctx.deps.db, projection, position, CONSISTENCY_WAIT_MS))) {
    throw new ApiError('READ_MODEL_BEHIND', `The ${projection} read model has not reached position ${position} yet; retry shortly.`);
  }
}
