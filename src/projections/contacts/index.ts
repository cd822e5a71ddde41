import type { Projection } from '../runner/projectionRunner.js';

/** The contacts slice's projections, run by the projector role. */
export const contactsProjections: readonly Projection[] = [];
