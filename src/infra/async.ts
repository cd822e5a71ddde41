/** The next item of an iterator if it arrives within `ms`, else null (the pending `next` stays usable). */
export async function nextWithin<T>(next: Promise<IteratorResult<T>>, ms: number): Promise<IteratorResult<T> | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([next, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Yields once per burst: after an item that `keep` accepts, waits `windowMs` absorbing whatever else arrives,
 * then yields the number of accepted items. Turns a flood of change notices into at most one update per window.
 */
export async function* coalesce<T>(source: AsyncIterable<T>, windowMs: number, keep: (item: T) => boolean): AsyncGenerator<number> {
  const iterator = source[Symbol.asyncIterator]();
  let next = iterator.next();
  for (;;) {
    const first = await next;
    if (first.done === true) return;
    next = iterator.next();
    if (!keep(first.value)) continue;
    let count = 1;
    const deadline = Date.now() + windowMs;
    for (;;) {
      const more = await nextWithin(next, Math.max(0, deadline - Date.now()));
      if (more === null) break;
      if (more.done === true) {
        yield count;
        return;
      }
      next = iterator.next();
      if (keep(more.value)) count++;
    }
    yield count;
  }
}
