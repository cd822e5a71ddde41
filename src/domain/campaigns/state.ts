import type { CampaignCompletionCounts, CampaignEvent, CampaignSettings, CampaignVariants, WinnerMetric } from './events.js';

export interface CampaignWinner {
  readonly variantKey: string;
  readonly by: 'auto' | 'manual';
  readonly metric: WinnerMetric;
  readonly values: Readonly<Record<string, number>>;
  readonly at: string;
}

/** What every existing campaign has, whatever its status. */
interface CampaignBody {
  readonly campaignId: string;
  readonly settings: CampaignSettings;
  readonly variants: CampaignVariants | null;
  readonly winner: CampaignWinner | null;
}

interface Launched {
  readonly launchedAt: string;
  readonly launchedBy: string;
}

export type CampaignState =
  | { readonly status: 'none' }
  | (CampaignBody & { readonly status: 'draft' })
  | (CampaignBody & { readonly status: 'scheduled'; readonly scheduledAt: string; readonly timeZone: string })
  | (CampaignBody & Launched & { readonly status: 'running' })
  | (CampaignBody & Launched & { readonly status: 'paused'; readonly pausedAt: string })
  | (CampaignBody & Launched & { readonly status: 'completed'; readonly completedAt: string; readonly counts: CampaignCompletionCounts })
  | (CampaignBody & { readonly status: 'cancelled'; readonly cancelledAt: string; readonly reason: string | null })
  | (CampaignBody & { readonly status: 'failed'; readonly failedAt: string; readonly reason: string });

export type CampaignStatus = CampaignState['status'];
export type ExistingCampaign = Exclude<CampaignState, { readonly status: 'none' }>;

export const CAMPAIGN_STATUSES: readonly CampaignStatus[] = ['none', 'draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed'];

export const initialCampaignState = (): CampaignState => ({ status: 'none' });

const bodyOf = (state: ExistingCampaign) => ({ campaignId: state.campaignId, settings: state.settings, variants: state.variants, winner: state.winner });
const launchOf = (state: ExistingCampaign): Launched =>
  'launchedAt' in state ? { launchedAt: state.launchedAt, launchedBy: state.launchedBy } : { launchedAt: '', launchedBy: '' };

export function settingsOf(data: CampaignSettings): CampaignSettings {
  const { name, sender, replyTo, segmentId, templateId, templateVersion, topic } = data;
  return { name, sender, replyTo, segmentId, templateId, templateVersion, topic };
}

export function evolveCampaign(state: CampaignState, event: CampaignEvent): CampaignState {
  if (event.type === 'CampaignCreated') {
    return { status: 'draft', campaignId: event.data.campaignId, settings: settingsOf(event.data), variants: null, winner: null };
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'CampaignUpdated':
      return { ...state, settings: settingsOf(event.data) };
    case 'CampaignVariantsDefined': {
      const { variants, testSamplePercent, winnerMetric, winnerAfterHours } = event.data;
      return { ...state, variants: { variants, testSamplePercent, winnerMetric, winnerAfterHours } };
    }
    case 'CampaignScheduled':
      return { ...bodyOf(state), status: 'scheduled', scheduledAt: event.data.at, timeZone: event.data.timeZone };
    case 'CampaignUnscheduled':
      return { ...bodyOf(state), status: 'draft' };
    case 'CampaignLaunched':
      return { ...bodyOf(state), status: 'running', launchedAt: event.data.at, launchedBy: event.data.by };
    case 'CampaignPaused':
      return { ...bodyOf(state), ...launchOf(state), status: 'paused', pausedAt: event.data.at };
    case 'CampaignResumed':
      return { ...bodyOf(state), ...launchOf(state), status: 'running' };
    case 'CampaignCompleted':
      return { ...bodyOf(state), ...launchOf(state), status: 'completed', completedAt: event.data.at, counts: event.data.counts };
    case 'CampaignCancelled':
      return { ...bodyOf(state), status: 'cancelled', cancelledAt: event.data.at, reason: event.data.reason };
    case 'CampaignFailed':
      return { ...bodyOf(state), status: 'failed', failedAt: event.data.at, reason: event.data.reason };
    case 'CampaignLaunchReverted': {
      // A winner chosen during the reverted launch belonged to its test, which never sent anything.
      const body = { ...bodyOf(state), winner: null };
      return event.data.to === 'draft' ? { ...body, status: 'draft' } : { ...body, status: 'scheduled', scheduledAt: event.data.scheduledAt, timeZone: event.data.timeZone };
    }
    case 'CampaignWinnerChosen': {
      const { variantKey, by, metric, values, at } = event.data;
      return { ...state, winner: { variantKey, by, metric, values, at } };
    }
  }
}
