import { randomUUID } from 'node:crypto';
import { campaignStreamId, upcastCampaignEvent } from '../../domain/campaigns/events.js';
import { evolveCampaign, initialCampaignState, type CampaignState } from '../../domain/campaigns/state.js';
import type { ContactCommand } from '../../domain/contacts/commands.js';
import { contactDecider } from '../../domain/contacts/decide.js';
import { contactStreamId, type ContactEvent, type SuppressionReason } from '../../domain/contacts/events.js';
import type { ContactState } from '../../domain/contacts/state.js';
import type { CommandContext } from '../../domain/shared/decider.js';
import { deterministicUuid } from '../../domain/shared/ids.js';
import { handleCommand } from '../../eventstore/commandHandler.js';
import type { EventStore } from '../../eventstore/port.js';

/**
 * What recipients' feedback does to their contact: a one-click unsubscribe, a hard bounce or a complaint. Every
 * change goes through the contact aggregate (handleCommand with contactDecider); repeating one decides nothing.
 * A contact merged into another is followed to its survivor, which now holds its consent.
 */

const RETRIES = { retriesOnConflict: 3 } as const;
const MAX_MERGE_HOPS = 10;

interface Caller {
  readonly workspaceId: string;
  readonly correlationId: string;
  readonly causationId?: string | null;
  readonly actor: string;
}

async function loadContact(eventStore: EventStore, contactId: string): Promise<{ state: ContactState; workspaceId: string | null }> {
  const read = await eventStore.readStream(contactStreamId(contactId));
  if (read.status === 'not_found') return { state: contactDecider.initialState(), workspaceId: null };
  const state = read.events.reduce((s, e) => contactDecider.evolve(s, e as unknown as ContactEvent), contactDecider.initialState());
  return { state, workspaceId: read.events[0]!.metadata.workspaceId };
}

/** The active contact this id now lives on as (following merges), or null when there is none in the workspace. */
async function resolveContact(eventStore: EventStore, workspaceId: string, contactId: string): Promise<{ id: string; state: Extract<ContactState, { status: 'active' }> } | null> {
  let id = contactId;
  for (let hop = 0; hop < MAX_MERGE_HOPS; hop++) {
    const { state, workspaceId: owner } = await loadContact(eventStore, id);
    if (owner !== workspaceId || state.status === 'none' || state.status === 'erased') return null;
    if (state.status === 'active') return { id, state };
    id = state.survivorId;
  }
  return null;
}

/** The campaign's consent topic (null: any marketing consent), or undefined when the campaign is not the workspace's. */
export async function campaignTopic(eventStore: EventStore, workspaceId: string, campaignId: string): Promise<string | null | undefined> {
  const read = await eventStore.readStream(campaignStreamId(campaignId));
  if (read.status === 'not_found' || read.events[0]!.metadata.workspaceId !== workspaceId) return undefined;
  const state: CampaignState = read.events.reduce((s, e) => evolveCampaign(s, upcastCampaignEvent(e, e.metadata.schemaVersion)), initialCampaignState());
  return state.status === 'none' ? undefined : state.settings.topic;
}

async function run(eventStore: EventStore, contactId: string, command: ContactCommand, caller: Caller, commandId: string): Promise<number> {
  const context: CommandContext = { commandId, correlationId: caller.correlationId, causationId: caller.causationId ?? null, actor: caller.actor, workspaceId: caller.workspaceId };
  const result = await handleCommand(eventStore, contactDecider, contactStreamId(contactId), command, context, RETRIES);
  return result.duplicate ? 0 : result.events.length;
}

export type UnsubscribeOutcome =
  | { readonly status: 'unsubscribed'; readonly contactId: string; readonly topics: readonly string[] }
  | { readonly status: 'not_found' };

/**
 * One-click unsubscribe (RFC 8058) from the campaign's topic; for a campaign without a topic ("any marketing
 * consent"), from every topic the contact is subscribed to. Source `one-click:<campaignId>`.
 */
export async function unsubscribeFromCampaign(
  eventStore: EventStore,
  target: { readonly campaignId: string; readonly contactId: string; readonly at: string },
  caller: Caller,
): Promise<UnsubscribeOutcome> {
  const topic = await campaignTopic(eventStore, caller.workspaceId, target.campaignId);
  const contact = await resolveContact(eventStore, caller.workspaceId, target.contactId);
  if (topic === undefined || contact === null) return { status: 'not_found' };
  const topics = topic !== null ? [topic] : Object.entries(contact.state.consents).filter(([, c]) => c.status === 'subscribed').map(([t]) => t);
  for (const t of topics) {
    const command: ContactCommand = { type: 'UnsubscribeContact', data: { topic: t, source: `one-click:${target.campaignId}`, campaignId: target.campaignId, reason: null, at: target.at } };
    // A fresh command id: a repeated click re-decides, and an already unsubscribed topic decides nothing.
    await run(eventStore, contact.id, command, caller, randomUUID());
  }
  return { status: 'unsubscribed', contactId: contact.id, topics };
}

/**
 * Suppresses the contact after a hard bounce or a complaint. `reportId` identifies the provider's report, so a
 * retried webhook repeats the same command id and appends nothing. Returns how many events were appended, or
 * null when the contact does not exist in the workspace.
 */
export async function suppressContact(
  eventStore: EventStore,
  target: { readonly contactId: string; readonly reason: SuppressionReason; readonly detail: string | null; readonly at: string; readonly reportId: string },
  caller: Caller,
): Promise<number | null> {
  const contact = await resolveContact(eventStore, caller.workspaceId, target.contactId);
  if (contact === null) return null;
  const command: ContactCommand = { type: 'SuppressContact', data: { reason: target.reason, detail: target.detail, at: target.at } };
  return run(eventStore, contact.id, command, caller, deterministicUuid(`suppress:${target.reportId}:${contact.id}`));
}
