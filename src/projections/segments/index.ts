import type { Projection } from '../runner/projectionRunner.js';
import { createSegmentsProjection } from './projection.js';

export { createSegmentsProjection, SEGMENTS_PROJECTION } from './projection.js';
export { evaluateSegmentFully } from './fullEvaluation.js';

/** The segments slice's projections, run by the projector role. */
export const segmentsProjections: readonly Projection[] = [createSegmentsProjection()];
