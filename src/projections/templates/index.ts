import type { Projection } from '../runner/projectionRunner.js';
import { templatesProjection } from './projection.js';

/** The templates slice's projections, run by the projector role. */
export const templatesProjections: readonly Projection[] = [templatesProjection];
