import type { CampaignCommand } from '../../domain/campaigns/commands.js';
import type { CampaignCompletionCounts } from '../../domain/campaigns/events.js';
import type { LaunchCounts } from '../../domain/launches/events.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { SagaRuntime } from './runtime.js';
import { loadCampaign, runCampaignCommand, sagaContext, type LoadedLaunch } from './streams.js';

/**
 * Brings the campaign in line with its launch: paused by the saga (circuit, render failures) → PauseCampaign,
 * completed → CompleteCampaign, compensated → RevertCampaignLaunch, failed → FailCampaign. State-guarded (only
 * the campaign attempt this launch belongs to, and only while it is running or paused) and idempotent (the
 * command id names the launch step), so it runs after every step and again on recovery.
 */
export async function syncCampaign(rt: SagaRuntime, launch: LoadedLaunch): Promise<void> {
  const { state, campaignId } = launch;
  if (state.status === 'none' || launch.workspaceId === null) return;
  const campaign = await loadCampaign(rt.eventStore, campaignId);
  if (campaign.launchedAt !== state.plan.campaignRevision) return;
  if (campaign.state.status !== 'running' && campaign.state.status !== 'paused') return;
  const at = rt.now().toISOString();
  let command: CampaignCommand;
  let step: string;
  switch (state.status) {
    case 'paused':
      // A pause by the user came from the campaign; the saga's own pauses are shown on the campaign too.
      if (state.pause.by === 'user' || campaign.state.status !== 'running') return;
      command = { type: 'PauseCampaign', data: { at, reason: `launch paused (${state.pause.by}): ${state.pause.reason ?? ''}`.trim() } };
      step = `pause:${launch.revision}`;
      break;
    case 'completed':
      command = { type: 'CompleteCampaign', data: { at, counts: completionCounts(state.counts) } };
      step = 'complete';
      break;
    case 'compensated': {
      const previous = state.plan.previousStatus;
      const revert = previous.status === 'draft' ? { to: 'draft' as const, scheduledAt: null, timeZone: null } : { to: 'scheduled' as const, scheduledAt: previous.scheduledAt, timeZone: previous.timeZone };
      command = { type: 'RevertCampaignLaunch', data: { ...revert, reason: state.reason, at } };
      step = 'revert';
      break;
    }
    case 'failed':
      command = { type: 'FailCampaign', data: { at, reason: state.reason } };
      step = 'fail';
      break;
    default:
      return;
  }
  const context = sagaContext(launch.workspaceId, `launch:campaign-${step}:${campaignId}:${state.plan.campaignRevision}`, launch.correlationId);
  try {
    await runCampaignCommand(rt.eventStore, campaignId, command, context);
  } catch (error) {
    // The campaign moved on meanwhile (cancelled, or changed by hand): its aggregate's answer stands.
    if (!(error instanceof DomainError)) throw error;
    rt.logger.debug({ correlationId: launch.correlationId, campaignId, code: error.code, reason: error.message }, 'campaign not synced with its launch');
  }
}

/** The campaign's summary of a launch: what did not go out for another reason counts as skipped. */
export function completionCounts(counts: LaunchCounts): CampaignCompletionCounts {
  return { audience: counts.audience, sent: counts.sent, failed: counts.failed + counts.renderFailed, skipped: counts.unknown + counts.cancelled };
}
