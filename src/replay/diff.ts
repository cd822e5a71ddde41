/** One changed value of a folded state, by field path (`settings.sender.email`, `variants.variants[1].splitPercent`). */
export interface FieldChange {
  readonly path: string;
  /** undefined: the field did not exist before (or no longer exists after). */
  readonly before: unknown;
  readonly after: unknown;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * What changed between two folded states, leaf by leaf, in a stable order (keys sorted). Arrays are compared
 * element by element when both sides are arrays of the same length, else as one value (a tag added or removed
 * reads better as the whole list before → after than as shifted indices).
 */
export function diffStates(before: unknown, after: unknown, path = ''): FieldChange[] {
  if (Object.is(before, after)) return [];
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => diffStates(before[key], after[key], path === '' ? key : `${path}.${key}`));
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((item, index) => diffStates(item, after[index], `${path}[${index}]`));
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [{ path: path === '' ? '(state)' : path, before, after }];
}
