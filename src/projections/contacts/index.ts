import type { Projection } from '../runner/projectionRunner.js';
import { contactsProjection } from './projection.js';

export { CONTACTS_PROJECTION, contactsProjection } from './projection.js';

/** The contacts slice's projections, run by the projector role. */
export const contactsProjections: readonly Projection[] = [contactsProjection];
