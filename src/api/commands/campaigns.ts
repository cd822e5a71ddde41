import type { CampaignCommand } from '../../domain/campaigns/commands.js';
import { campaignDecider } from '../../domain/campaigns/decide.js';
import { campaignSchemaVersionOf, campaignStreamId, upcastCampaignEvent, type CampaignVariant } from '../../domain/campaigns/events.js';
import { reasonOf, settingsInputOf, variantsInputOf, type SettingsInput, type VariantInput } from '../../domain/campaigns/input.js';
import { deterministicUuid } from '../../domain/shared/ids.js';
import { expectedRevisionOf, inputObject, uuidOf, type RawInput } from '../../domain/templates/input.js';
import { validateTemplatePart } from '../../domain/templates/render.js';
import { handleCommand } from '../../eventstore/commandHandler.js';
import { rateOf } from '../../domain/campaigns/winner.js';
import { variantResults } from '../../projections/campaigns/winnerMetrics.js';
import { ValidationError } from '../errors.js';
import { defineCommand, type CommandDefinition, type CommandDeps, type CommandOutcome, type ExecutionContext } from './catalog.js';
import { defaultTemplateSchema, loadTemplate, type TemplateSchemaLookup } from './templates.js';

export interface CampaignsCommandsOptions {
  /** The contact schema for variants' subject overrides; default: the contacts slice's attribute keys. */
  readonly schema?: TemplateSchemaLookup;
}

/** A segment of the workspace that is not deleted, from its stream (every event carries the workspace). */
async function checkSegment(deps: CommandDeps, workspaceId: string, segmentId: string): Promise<void> {
  const read = await deps.eventStore.readStream(`segment-${segmentId}`, { direction: 'backwards', maxCount: 1 });
  const last = read.status === 'found' ? read.events[0] : undefined;
  if (last === undefined || last.metadata.workspaceId !== workspaceId) throw new ValidationError('input.segmentId', `There is no segment ${segmentId} in this workspace.`);
  if (last.type === 'SegmentDeleted') throw new ValidationError('input.segmentId', `Segment ${segmentId} is deleted.`);
}

/** An active template of the workspace; the version defaults to its current one and must exist. */
async function resolveTemplateVersion(deps: CommandDeps, workspaceId: string, templateId: string, version: number | undefined, field: string): Promise<number> {
  const template = await loadTemplate(deps.eventStore, workspaceId, templateId);
  if (template.status === 'none') throw new ValidationError(`${field}.templateId`, `There is no template ${templateId} in this workspace.`);
  if (template.status === 'archived') throw new ValidationError(`${field}.templateId`, `Template ${templateId} is archived.`);
  if (version !== undefined && version > template.version) {
    throw new ValidationError(`${field}.templateVersion`, `Template ${templateId} has versions 1 to ${template.version}, not ${version}.`);
  }
  return version ?? template.version;
}

/** Checks the references among the given settings and pins the template version. */
async function resolveSettings(deps: CommandDeps, workspaceId: string, settings: SettingsInput): Promise<SettingsInput> {
  if (settings.segmentId != null) await checkSegment(deps, workspaceId, settings.segmentId);
  if (settings.templateId === null) return { ...settings, templateVersion: null };
  if (settings.templateId === undefined) return settings;
  return { ...settings, templateVersion: await resolveTemplateVersion(deps, workspaceId, settings.templateId, settings.templateVersion ?? undefined, 'input') };
}

function campaignIdOf(input: RawInput): string {
  return uuidOf(input.campaignId, 'input.campaignId', true);
}

async function run(deps: CommandDeps, campaignId: string, command: CampaignCommand, context: ExecutionContext, expectedRevision?: number): Promise<CommandOutcome> {
  const result = await handleCommand(deps.eventStore, campaignDecider, campaignStreamId(campaignId), command, context, {
    schemaVersionOf: campaignSchemaVersionOf,
    ...(expectedRevision === undefined ? {} : { expectedRevision }),
  });
  return { streamId: result.streamId, revision: result.revision, position: result.position, duplicate: result.duplicate, data: { campaignId } };
}

/** A command that names only the campaign (and optionally the revision the client saw, and a reason). */
function simple(name: string, toCommand: (at: string, reason: string | null, context: ExecutionContext) => CampaignCommand) {
  return defineCommand({
    name,
    permission: 'write',
    parse(raw) {
      const input = inputObject(raw);
      return { campaignId: campaignIdOf(input), reason: reasonOf(input.reason), expectedRevision: expectedRevisionOf(input.expectedRevision) };
    },
    execute: (deps, input, context) => run(deps, input.campaignId, toCommand(context.now.toISOString(), input.reason, context), context, input.expectedRevision),
  });
}

/**
 * Each variant's winner metric so far, recorded with a winner chosen by hand: the variants and metric from the
 * campaign's stream, the counts from the stats read model (variantResults; 0 for a variant not counted yet).
 */
async function metricValues(deps: CommandDeps, workspaceId: string, campaignId: string): Promise<Record<string, number>> {
  const read = await deps.eventStore.readStream(campaignStreamId(campaignId));
  if (read.status === 'not_found' || read.events[0]?.metadata.workspaceId !== workspaceId) return {};
  const state = read.events.reduce((s, e) => campaignDecider.evolve(s, upcastCampaignEvent(e, e.metadata.schemaVersion)), campaignDecider.initialState());
  if (state.status === 'none' || state.variants === null) return {};
  const results = await variantResults(deps.db, workspaceId, campaignId, state.variants);
  return Object.fromEntries(results.map((result) => [result.key, rateOf(result)]));
}

/** The campaigns commands, with the contact schema lookup injectable (tests, or before the contacts slice exists). */
export function createCampaignsCommands(options: CampaignsCommandsOptions = {}) {
  const schemaOf = options.schema ?? defaultTemplateSchema;

  const CreateCampaign = defineCommand({
    name: 'CreateCampaign',
    permission: 'write',
    parse(raw) {
      const input = inputObject(raw);
      if (input.name === undefined) throw new ValidationError('input.name', 'name is required.');
      return { campaignId: uuidOf(input.campaignId, 'input.campaignId', false), settings: settingsInputOf(input) };
    },
    async execute(deps, input, context) {
      const settings = await resolveSettings(deps, context.workspaceId, input.settings);
      // Without a client-chosen id, the id follows from the command id: a retried command names the same campaign.
      const campaignId = input.campaignId ?? deterministicUuid(`campaign:${context.workspaceId}:${context.commandId}`);
      const data = {
        campaignId,
        name: settings.name!,
        sender: settings.sender ?? null,
        replyTo: settings.replyTo ?? null,
        segmentId: settings.segmentId ?? null,
        templateId: settings.templateId ?? null,
        templateVersion: settings.templateVersion ?? null,
        topic: settings.topic ?? null,
        at: context.now.toISOString(),
      };
      return run(deps, campaignId, { type: 'CreateCampaign', data }, context);
    },
  });

  const UpdateCampaign = defineCommand({
    name: 'UpdateCampaign',
    permission: 'write',
    parse(raw) {
      const input = inputObject(raw);
      const changes = settingsInputOf(input);
      if (Object.keys(changes).length === 0) throw new ValidationError('input', 'Give at least one setting to change: name, sender, replyTo, segmentId, templateId, templateVersion or topic.');
      return { campaignId: campaignIdOf(input), changes, expectedRevision: expectedRevisionOf(input.expectedRevision) };
    },
    async execute(deps, input, context) {
      const changes = await resolveSettings(deps, context.workspaceId, input.changes);
      return run(deps, input.campaignId, { type: 'UpdateCampaign', data: { changes, at: context.now.toISOString() } }, context, input.expectedRevision);
    },
  });

  const DefineCampaignVariants = defineCommand({
    name: 'DefineCampaignVariants',
    permission: 'write',
    parse(raw) {
      const input = inputObject(raw);
      return { campaignId: campaignIdOf(input), definition: variantsInputOf(input), expectedRevision: expectedRevisionOf(input.expectedRevision) };
    },
    async execute(deps, input, context) {
      const schema = await schemaOf(deps, context.workspaceId);
      const resolve = async (variant: VariantInput, index: number): Promise<CampaignVariant> => {
        const field = `input.variants[${index}]`;
        if (variant.subject !== null) validateTemplatePart('subject', variant.subject, schema, `${field}.subject`);
        const templateVersion = await resolveTemplateVersion(deps, context.workspaceId, variant.templateId, variant.templateVersion, field);
        return { key: variant.key, templateId: variant.templateId, templateVersion, subject: variant.subject, splitPercent: variant.splitPercent };
      };
      const variants = await Promise.all(input.definition.variants.map(resolve));
      const data = { ...input.definition, variants, at: context.now.toISOString() };
      return run(deps, input.campaignId, { type: 'DefineCampaignVariants', data }, context, input.expectedRevision);
    },
  });

  const ScheduleCampaign = defineCommand({
    name: 'ScheduleCampaign',
    permission: 'write',
    parse(raw) {
      const input = inputObject(raw);
      if (typeof input.at !== 'string') throw new ValidationError('input.at', 'at (an ISO 8601 date-time) is required.');
      if (input.timeZone != null && typeof input.timeZone !== 'string') throw new ValidationError('input.timeZone', 'timeZone must be an IANA time zone name.');
      return { campaignId: campaignIdOf(input), at: input.at, timeZone: (input.timeZone as string | null | undefined) ?? 'UTC', expectedRevision: expectedRevisionOf(input.expectedRevision) };
    },
    execute(deps, input, context) {
      const command: CampaignCommand = { type: 'ScheduleCampaign', data: { at: input.at, timeZone: input.timeZone, now: context.now.toISOString() } };
      return run(deps, input.campaignId, command, context, input.expectedRevision);
    },
  });

  const ChooseCampaignWinner = defineCommand({
    name: 'ChooseCampaignWinner',
    permission: 'write',
    parse(raw) {
      const input = inputObject(raw);
      if (typeof input.variantKey !== 'string' || input.variantKey === '') throw new ValidationError('input.variantKey', 'variantKey is required.');
      return { campaignId: campaignIdOf(input), variantKey: input.variantKey, expectedRevision: expectedRevisionOf(input.expectedRevision) };
    },
    async execute(deps, input, context) {
      const values = await metricValues(deps, context.workspaceId, input.campaignId);
      const command: CampaignCommand = { type: 'ChooseCampaignWinner', data: { variantKey: input.variantKey, by: 'manual', values, at: context.now.toISOString() } };
      return run(deps, input.campaignId, command, context, input.expectedRevision);
    },
  });

  return {
    CreateCampaign,
    UpdateCampaign,
    DefineCampaignVariants,
    ScheduleCampaign,
    UnscheduleCampaign: simple('UnscheduleCampaign', (at) => ({ type: 'UnscheduleCampaign', data: { at } })),
    LaunchCampaign: simple('LaunchCampaign', (at, _, context) => ({ type: 'LaunchCampaign', data: { at, by: context.actor, scheduledFor: null } })),
    PauseCampaign: simple('PauseCampaign', (at, reason) => ({ type: 'PauseCampaign', data: { at, reason } })),
    ResumeCampaign: simple('ResumeCampaign', (at) => ({ type: 'ResumeCampaign', data: { at } })),
    CancelCampaign: simple('CancelCampaign', (at, reason) => ({ type: 'CancelCampaign', data: { at, reason } })),
    ChooseCampaignWinner,
  };
}

export const CAMPAIGN_COMMANDS = createCampaignsCommands();

/** Commands of the campaigns slice (GraphQL mutations and NATS request/reply). */
// Commands of different input types; each checks its own input in `parse`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const campaignsCommands: readonly CommandDefinition<any>[] = Object.values(CAMPAIGN_COMMANDS);
