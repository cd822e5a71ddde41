import type { Projection } from '../runner/projectionRunner.js';

/** The campaigns slice's projections, run by the projector role. */
export const campaignsProjections: readonly Projection[] = [];
