import type { CampaignCommand } from '../../domain/campaigns/commands.js';
import { campaignDecider } from '../../domain/campaigns/decide.js';
import { campaignSchemaVersionOf, campaignStreamId, upcastCampaignEvent } from '../../domain/campaigns/events.js';
import type { CampaignState } from '../../domain/campaigns/state.js';
import { launchSchemaVersionOf, launchStreamId, upcastLaunchEvent } from '../../domain/launches/events.js';
import type { CommandContext } from '../../domain/shared/decider.js';
import { handleCommand, type CommandResult } from '../../eventstore/commandHandler.js';
import { WrongExpectedRevisionError } from '../../eventstore/errors.js';
import type { EventStore, RecordedEvent } from '../../eventstore/port.js';
import { LAUNCH_SAGA_ACTOR } from '../delivery/recordOutcomes.js';
import { sagaLaunchSteps } from '../../infra/metrics.js';
import { initialLaunchState, launchDecider, type LaunchCommand, type LaunchState } from './workflow.js';

/** The saga's reads and writes of the launch and campaign streams (the event store is the truth for both). */

export interface LoadedLaunch {
  readonly campaignId: string;
  readonly state: LaunchState;
  /** -1: no stream yet. */
  readonly revision: number;
  readonly workspaceId: string | null;
  /** The correlation id of the current attempt's LaunchStarted (the launch request's): every step carries it. */
  readonly correlationId: string;
  readonly events: readonly RecordedEvent[];
}

export async function loadLaunch(eventStore: EventStore, campaignId: string): Promise<LoadedLaunch> {
  const read = await eventStore.readStream(launchStreamId(campaignId));
  const events = read.status === 'found' ? read.events : [];
  const state = events.reduce((s, e) => launchDecider.evolve(s, upcastLaunchEvent(e, e.metadata.schemaVersion)), initialLaunchState());
  const started = events.findLast((e) => e.type === 'LaunchStarted');
  return {
    campaignId,
    state,
    revision: events.length - 1,
    workspaceId: events[0]?.metadata.workspaceId ?? null,
    correlationId: started?.metadata.correlationId ?? `launch-${campaignId}`,
    events,
  };
}

/** Who runs a saga step: the saga itself, in the launch's workspace and correlation. */
export function sagaContext(workspaceId: string, commandId: string, correlationId: string, causationId: string | null = null): CommandContext {
  return { commandId, correlationId, causationId, actor: LAUNCH_SAGA_ACTOR, workspaceId };
}

/**
 * One step on the launch stream. `expectedRevision`: the revision the step was decided from; when the stream moved
 * on meanwhile (another worker stepped, a pause arrived) it conflicts instead of stepping twice, unless the very
 * same step (same deterministic command id) is already there, which returns the first result.
 */
export function runLaunchCommand(
  eventStore: EventStore,
  campaignId: string,
  command: LaunchCommand,
  context: CommandContext,
  expectedRevision?: number,
): Promise<CommandResult<{ type: string; data: unknown }>> {
  return handleCommand(eventStore, launchDecider, launchStreamId(campaignId), command, context, {
    schemaVersionOf: launchSchemaVersionOf,
    ...(expectedRevision === undefined ? { retriesOnConflict: 3 } : { expectedRevision }),
  }).then((result) => {
    if (!result.duplicate) for (const event of result.events) sagaLaunchSteps.inc({ step: event.type });
    return result;
  });
}

/**
 * A step decided from `launch` at its revision: false (nothing appended) when the stream moved on meanwhile
 * (another worker stepped, a pause or cancel arrived); the step is then left to the launch's new state.
 */
export async function stepIfCurrent(launch: LoadedLaunch, step: () => Promise<unknown>): Promise<boolean> {
  try {
    await step();
    return true;
  } catch (error) {
    if (error instanceof WrongExpectedRevisionError) return false;
    throw error;
  }
}

export interface LoadedCampaign {
  readonly state: CampaignState;
  readonly revision: number;
  readonly workspaceId: string | null;
  readonly events: readonly RecordedEvent[];
  /** The revision of the campaign's newest CampaignLaunched: the launch attempt it is in (null: never launched). */
  readonly launchedAt: number | null;
}

export async function loadCampaign(eventStore: EventStore, campaignId: string): Promise<LoadedCampaign> {
  const read = await eventStore.readStream(campaignStreamId(campaignId));
  const events = read.status === 'found' ? read.events : [];
  return {
    state: foldCampaign(events),
    revision: events.length - 1,
    workspaceId: events[0]?.metadata.workspaceId ?? null,
    events,
    launchedAt: events.findLast((e) => e.type === 'CampaignLaunched')?.revision ?? null,
  };
}

export function foldCampaign(events: readonly RecordedEvent[]): CampaignState {
  return events.reduce((s, e) => campaignDecider.evolve(s, upcastCampaignEvent(e, e.metadata.schemaVersion)), campaignDecider.initialState());
}

export function runCampaignCommand(eventStore: EventStore, campaignId: string, command: CampaignCommand, context: CommandContext) {
  return handleCommand(eventStore, campaignDecider, campaignStreamId(campaignId), command, context, { schemaVersionOf: campaignSchemaVersionOf, retriesOnConflict: 3 });
}
