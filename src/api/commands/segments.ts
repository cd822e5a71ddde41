import type { SegmentCommand } from '../../domain/segments/commands.js';
import { segmentDecider } from '../../domain/segments/decide.js';
import { segmentSchemaVersionOf, segmentStreamId, upcastSegmentEvent } from '../../domain/segments/events.js';
import { initialSegmentState } from '../../domain/segments/evolve.js';
import { referencedSegments, SEGMENT_ID, type SegmentReference } from '../../domain/segments/rules.js';
import { validateSegmentRules, type AttributeKeyLookup, type SegmentLookup } from '../../domain/segments/validation.js';
import { deterministicUuid } from '../../domain/shared/ids.js';
import { handleCommand } from '../../eventstore/commandHandler.js';
import type { EventStore } from '../../eventstore/port.js';
import { attributeKeyTypes, segmentReferrers } from '../../projections/segments/queries.js';
import { ValidationError } from '../errors.js';
import { defineCommand, type CommandDefinition, type CommandDeps, type CommandOutcome, type ExecutionContext } from './catalog.js';

export interface SegmentsCommandsOptions {
  /** The workspace's attribute keys; default: the contacts slice's `contact_attribute_keys` table. */
  readonly attributeKeys?: (deps: CommandDeps) => AttributeKeyLookup;
}

/**
 * Reads referenced segments from their streams (the truth, not the read model), so that a segment defined a
 * moment ago can be referenced at once and cycles are found against the current rules.
 */
export function segmentsFromStore(store: EventStore): SegmentLookup {
  return async (workspaceId, segmentIds) => {
    const streams = await store.readStreams(segmentIds.map(segmentStreamId));
    const found = new Map<string, SegmentReference>();
    for (const id of segmentIds) {
      const events = streams.get(segmentStreamId(id));
      if (events === undefined || events[0]?.metadata.workspaceId !== workspaceId) continue;
      const state = events.reduce((s, e) => segmentDecider.evolve(s, upcastSegmentEvent(e, e.metadata.schemaVersion)), initialSegmentState());
      if (state.status === 'active') found.set(id, { status: 'active', dependsOn: referencedSegments(state.rules) });
      if (state.status === 'deleted') found.set(id, { status: 'deleted', dependsOn: [] });
    }
    return found;
  };
}

type Raw = Record<string, unknown>;

function inputObject(raw: unknown): Raw {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ValidationError('input', 'input must be an object.');
  return raw as Raw;
}

function segmentIdOf(value: unknown, required: true): string;
function segmentIdOf(value: unknown, required: false): string | undefined;
function segmentIdOf(value: unknown, required: boolean): string | undefined {
  if (value == null && !required) return undefined;
  if (typeof value !== 'string' || !SEGMENT_ID.test(value)) throw new ValidationError('segmentId', 'segmentId must be 1-100 letters, digits, _ . : or - (starting with a letter or digit).');
  return value;
}

function nameOf(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 200) throw new ValidationError('name', 'name must be a non-empty string of at most 200 characters.');
  return value.trim();
}

function descriptionOf(value: unknown): string | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (typeof value !== 'string' || value.length > 2_000) throw new ValidationError('description', 'description must be a string of at most 2000 characters, or null.');
  return value.trim() === '' ? null : value;
}

function expectedRevisionOf(value: unknown): number | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new ValidationError('expectedRevision', 'expectedRevision must be a non-negative integer.');
  return value;
}

function rulesOf(value: unknown): unknown {
  if (value === undefined || value === null) throw new ValidationError('rules', 'rules are required.');
  return value;
}

async function run(deps: CommandDeps, segmentId: string, command: SegmentCommand, context: ExecutionContext, expectedRevision?: number): Promise<CommandOutcome> {
  const result = await handleCommand(deps.eventStore, segmentDecider, segmentStreamId(segmentId), command, context, {
    schemaVersionOf: segmentSchemaVersionOf,
    ...(expectedRevision === undefined ? {} : { expectedRevision }),
  });
  return { streamId: result.streamId, revision: result.revision, position: result.position, duplicate: result.duplicate, data: { segmentId } };
}

/** The segments commands, with the attribute-key lookup injectable (tests, or before the contacts slice exists). */
export function createSegmentsCommands(options: SegmentsCommandsOptions = {}) {
  const attributeKeys = options.attributeKeys ?? ((deps: CommandDeps) => (workspaceId: string) => attributeKeyTypes(deps.db, workspaceId));
  const validate = (deps: CommandDeps, context: ExecutionContext, segmentId: string, rules: unknown) =>
    validateSegmentRules(rules, { workspaceId: context.workspaceId, segmentId, attributeKeys: attributeKeys(deps), segments: segmentsFromStore(deps.eventStore) });

  const DefineSegment = defineCommand<{ segmentId: string | undefined; name: string; description: string | null; rules: unknown }>({
    name: 'DefineSegment',
    permission: 'write',
    parse(raw) {
      const input = inputObject(raw);
      return { segmentId: segmentIdOf(input.segmentId, false), name: nameOf(input.name), description: descriptionOf(input.description) ?? null, rules: rulesOf(input.rules) };
    },
    async execute(deps, input, context) {
      // Without a client-chosen id, the id follows from the command id: a retried command names the same segment.
      const segmentId = input.segmentId ?? deterministicUuid(`segment:${context.workspaceId}:${context.commandId}`);
      const rules = await validate(deps, context, segmentId, input.rules);
      const command: SegmentCommand = { type: 'DefineSegment', data: { segmentId, name: input.name, description: input.description, rules, at: context.now.toISOString() } };
      return run(deps, segmentId, command, context);
    },
  });

  const ChangeSegmentRules = defineCommand<{ segmentId: string; rules: unknown; expectedRevision: number | undefined }>({
    name: 'ChangeSegmentRules',
    permission: 'write',
    parse(raw) {
      const input = inputObject(raw);
      return { segmentId: segmentIdOf(input.segmentId, true), rules: rulesOf(input.rules), expectedRevision: expectedRevisionOf(input.expectedRevision) };
    },
    async execute(deps, input, context) {
      const rules = await validate(deps, context, input.segmentId, input.rules);
      return run(deps, input.segmentId, { type: 'ChangeSegmentRules', data: { rules, at: context.now.toISOString() } }, context, input.expectedRevision);
    },
  });

  const RenameSegment = defineCommand<{ segmentId: string; name: string; description: string | null | undefined; expectedRevision: number | undefined }>({
    name: 'RenameSegment',
    permission: 'write',
    parse(raw) {
      const input = inputObject(raw);
      return { segmentId: segmentIdOf(input.segmentId, true), name: nameOf(input.name), description: descriptionOf(input.description), expectedRevision: expectedRevisionOf(input.expectedRevision) };
    },
    execute(deps, input, context) {
      const data = { name: input.name, at: context.now.toISOString(), ...(input.description === undefined ? {} : { description: input.description }) };
      return run(deps, input.segmentId, { type: 'RenameSegment', data }, context, input.expectedRevision);
    },
  });

  const DeleteSegment = defineCommand<{ segmentId: string; expectedRevision: number | undefined }>({
    name: 'DeleteSegment',
    permission: 'write',
    parse(raw) {
      const input = inputObject(raw);
      return { segmentId: segmentIdOf(input.segmentId, true), expectedRevision: expectedRevisionOf(input.expectedRevision) };
    },
    async execute(deps, input, context) {
      // From the read model: a segment saved a moment ago that references this one may not be there yet; the
      // projector then evaluates its inSegment rule as false (the deleted segment has no members).
      const referencedBy = await segmentReferrers(deps.db, context.workspaceId, input.segmentId);
      return run(deps, input.segmentId, { type: 'DeleteSegment', data: { referencedBy, at: context.now.toISOString() } }, context, input.expectedRevision);
    },
  });

  return { DefineSegment, ChangeSegmentRules, RenameSegment, DeleteSegment };
}

export const SEGMENT_COMMANDS = createSegmentsCommands();

/** Commands of the segments slice (GraphQL mutations and NATS request/reply). */
// Commands of different input types; each checks its own input in `parse`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const segmentsCommands: readonly CommandDefinition<any>[] = Object.values(SEGMENT_COMMANDS);
