/**
 * Time zones and send times, pure (Intl's time zone data, no clock). A send time is either an instant with an
 * offset (`2025-03-01T09:00:00Z`, `...+01:00`) or a wall-clock time without one (`2025-03-01T09:00`), which is
 * read in the campaign's IANA time zone.
 */

const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

/** The canonical IANA name (`europe/berlin` → `Europe/Berlin`), or null when the zone is unknown. */
export function canonicalTimeZone(timeZone: string): string | null {
  if (!IANA_NAME.test(timeZone)) return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

const WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
const WALL_CLOCK = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/;

/** The instant a send time means, or null when it is not a valid time. */
export function resolveSendTime(at: string, timeZone: string): Date | null {
  if (WITH_OFFSET.test(at)) {
    const instant = new Date(at);
    return Number.isNaN(instant.getTime()) ? null : instant;
  }
  const match = WALL_CLOCK.exec(at);
  if (match === null) return null;
  const [, year, month, day, hour, minute, second, fraction] = match;
  const fields = [Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second ?? 0), Number((fraction ?? '0').padEnd(3, '0'))] as const;
  const asUtc = Date.UTC(...fields);
  // Date.UTC rolls over (Feb 30 → Mar 2); a time that rolled over was not a valid one.
  const check = new Date(asUtc);
  if (check.getUTCMonth() !== fields[1] || check.getUTCDate() !== fields[2] || check.getUTCHours() !== fields[3] || check.getUTCMinutes() !== fields[4] || check.getUTCSeconds() !== fields[5]) return null;
  // The offset at the guess, then again at the result: right across a daylight-saving change.
  let instant = asUtc - offsetMs(asUtc, timeZone);
  instant = asUtc - offsetMs(instant, timeZone);
  return new Date(instant);
}

/** How far the zone's wall clock is ahead of UTC at `instant`, in ms. */
function offsetMs(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(instant));
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - (instant - (instant % 1000 + 1000) % 1000);
}
