import type { AttributeType } from '../contacts/events.js';
import { referencedSegments, validateRules, type Rule, type SegmentReference } from './rules.js';

/** The workspace's custom attribute keys and their types (the contacts slice's `contact_attribute_keys`). */
export type AttributeKeyLookup = (workspaceId: string) => Promise<ReadonlyMap<string, AttributeType>>;

/** The given segments of the workspace as they are now; a segment that does not exist is absent. */
export type SegmentLookup = (workspaceId: string, segmentIds: readonly string[]) => Promise<ReadonlyMap<string, SegmentReference>>;

export interface SegmentRulesValidation {
  readonly workspaceId: string;
  readonly segmentId: string;
  readonly attributeKeys: AttributeKeyLookup;
  readonly segments: SegmentLookup;
}

/** How many segments a chain of `inSegment` references may reach before validation refuses it. */
export const MAX_REFERENCED_SEGMENTS = 1_000;

/**
 * Validates rules on save: structure and operators, attribute keys and their types, referenced segments that
 * exist and are not deleted, and no cycle of `inSegment` references back to this segment (loaded transitively
 * through the lookups). Throws a ValidationError whose field is the offending path.
 */
export async function validateSegmentRules(raw: unknown, options: SegmentRulesValidation): Promise<Rule> {
  const [attributeTypes, segments] = await Promise.all([
    options.attributeKeys(options.workspaceId),
    loadReachable(referencedSegments(raw), options),
  ]);
  return validateRules(raw, { segmentId: options.segmentId, attributeTypes, segments });
}

async function loadReachable(start: readonly string[], options: SegmentRulesValidation): Promise<ReadonlyMap<string, SegmentReference>> {
  const reached = new Map<string, SegmentReference>();
  const asked = new Set<string>([options.segmentId]);
  let frontier = start.filter((id) => !asked.has(id));
  while (frontier.length > 0 && asked.size <= MAX_REFERENCED_SEGMENTS) {
    frontier.forEach((id) => asked.add(id));
    const loaded = await options.segments(options.workspaceId, frontier);
    const next = new Set<string>();
    for (const [id, segment] of loaded) {
      reached.set(id, segment);
      if (segment.status === 'active') segment.dependsOn.filter((d) => !asked.has(d)).forEach((d) => next.add(d));
    }
    frontier = [...next];
  }
  return reached;
}
