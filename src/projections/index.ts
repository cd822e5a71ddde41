import { activityProjection } from './activity/projection.js';
import { contactsProjections } from './contacts/index.js';
import { segmentsProjections } from './segments/index.js';
import { templatesProjections } from './templates/index.js';
import { campaignsProjections } from './campaigns/index.js';
import type { Projection } from './runner/projectionRunner.js';

/** Every projection the `projector` role runs. A slice adds its read model's projection here. */
export const PROJECTIONS: readonly Projection[] = [activityProjection, ...contactsProjections, ...segmentsProjections, ...templatesProjections, ...campaignsProjections];
