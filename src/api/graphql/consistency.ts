import { ApiError } from '../errors.js';
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
  if (position == null) return;
  if (!(await waitForProjection(ctx.deps.db, projection, position, CONSISTENCY_WAIT_MS))) {
    throw new ApiError('READ_MODEL_BEHIND', `The ${projection} read model has not reached position ${position} yet; retry shortly.`);
  }
}
