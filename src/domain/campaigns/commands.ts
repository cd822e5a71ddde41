import type { CampaignCompletionCounts, CampaignLaunchRevert, CampaignSettings, CampaignVariants } from './events.js';

/**
 * Campaign commands. References (segment, templates) arrive already checked against the workspace by the API
 * layer, which also pins a template's current version when none is given. `at` is the command's time, except in
 * ScheduleCampaign where `at` is the requested send time and `now` the command's time.
 */
export type CampaignCommand =
  | { readonly type: 'CreateCampaign'; readonly data: CampaignSettings & { readonly campaignId: string; readonly at: string } }
  /** Only the given settings change; null clears one. */
  | { readonly type: 'UpdateCampaign'; readonly data: { readonly changes: Partial<CampaignSettings>; readonly at: string } }
  | { readonly type: 'DefineCampaignVariants'; readonly data: CampaignVariants & { readonly at: string } }
  /** `at`: an instant with offset, or a wall-clock time (no offset) in `timeZone`. */
  | { readonly type: 'ScheduleCampaign'; readonly data: { readonly at: string; readonly timeZone: string; readonly now: string } }
  | { readonly type: 'UnscheduleCampaign'; readonly data: { readonly at: string } }
  /** `scheduledFor`: set by the scheduler, so that a launch for a schedule that was since changed is refused. */
  | { readonly type: 'LaunchCampaign'; readonly data: { readonly at: string; readonly by: string; readonly scheduledFor: string | null } }
  | { readonly type: 'PauseCampaign'; readonly data: { readonly at: string; readonly reason: string | null } }
  | { readonly type: 'ResumeCampaign'; readonly data: { readonly at: string } }
  | { readonly type: 'CancelCampaign'; readonly data: { readonly at: string; readonly reason: string | null } }
  | { readonly type: 'ChooseCampaignWinner'; readonly data: { readonly variantKey: string; readonly by: 'auto' | 'manual'; readonly values: Readonly<Record<string, number>>; readonly at: string } }
  /** From the launch saga (a later issue): every recipient handled. */
  | { readonly type: 'CompleteCampaign'; readonly data: { readonly at: string; readonly counts: CampaignCompletionCounts } }
  /** From the launch saga: sending cannot go on. */
  | { readonly type: 'FailCampaign'; readonly data: { readonly at: string; readonly reason: string } }
  /** From the launch saga: the launch was compensated before the first email; back to the status before it. */
  | { readonly type: 'RevertCampaignLaunch'; readonly data: CampaignLaunchRevert & { readonly at: string } };

export type CampaignCommandType = CampaignCommand['type'];
