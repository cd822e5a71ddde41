import type { Projection } from '../runner/projectionRunner.js';
import { campaignsProjection } from './projection.js';
import { campaignStatsProjection } from './stats.js';

/** The campaigns slice's projections, run by the projector role. */
export const campaignsProjections: readonly Projection[] = [campaignsProjection, campaignStatsProjection];
