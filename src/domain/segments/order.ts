/** A segment as far as evaluation order is concerned. */
export interface SegmentNode {
  readonly id: string;
  readonly dependsOn: readonly string[];
}

/**
 * Dependency order: a segment comes after every segment it names in `inSegment`, so evaluating in this order
 * lets `inSegment` see fresh memberships. Validation refuses cycles; one created by two concurrent saves is
 * tolerated here: its segments come last, in input order (their `inSegment` then sees the previous memberships).
 */
export function dependencyOrder<T extends SegmentNode>(segments: readonly T[]): T[] {
  const byId = new Map(segments.map((s) => [s.id, s]));
  const pending = new Map(segments.map((s) => [s.id, s.dependsOn.filter((d) => d !== s.id && byId.has(d)).length]));
  const dependents = new Map<string, string[]>();
  for (const s of segments) for (const d of s.dependsOn) if (d !== s.id && byId.has(d)) dependents.set(d, [...(dependents.get(d) ?? []), s.id]);
  const ready = segments.filter((s) => pending.get(s.id) === 0).map((s) => s.id);
  const ordered: T[] = [];
  for (let i = 0; i < ready.length; i++) {
    const id = ready[i]!;
    ordered.push(byId.get(id)!);
    for (const next of dependents.get(id) ?? []) {
      const left = pending.get(next)! - 1;
      pending.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  const placed = new Set(ordered.map((s) => s.id));
  return [...ordered, ...segments.filter((s) => !placed.has(s.id))];
}

/** Segments that depend on `segmentId` directly or through others, in dependency order. */
export function dependentsOf<T extends SegmentNode>(segmentId: string, segments: readonly T[]): T[] {
  const affected = new Set<string>([segmentId]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of segments) {
      if (!affected.has(s.id) && s.dependsOn.some((d) => affected.has(d))) {
        affected.add(s.id);
        grew = true;
      }
    }
  }
  return dependencyOrder(segments.filter((s) => s.id !== segmentId && affected.has(s.id)));
}
