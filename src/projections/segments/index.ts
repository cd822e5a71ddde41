import type { Projection } from '../runner/projectionRunner.js';

/** The segments slice's projections, run by the projector role. */
export const segmentsProjections: readonly Projection[] = [];
