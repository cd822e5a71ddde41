/**
 * Dates in rules and contact attributes are ISO-8601 strings, a date (`2024-05-01`) or a date-time with or
 * without an offset. Both sides are normalized to one instant format (`2024-05-01T00:00:00.000Z`, UTC; a missing
 * offset means UTC, never the process's time zone), so that comparing them as text gives the same answer in
 * the evaluator and in SQL (`COLLATE "C"`).
 */
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function isIsoDate(value: string): boolean {
  return toInstant(value) !== null;
}

/** The normalized instant of an ISO-8601 date or date-time, or null when it is not one. */
export function toInstant(value: string): string | null {
  const match = ISO_DATE.exec(value);
  if (match === null) return null;
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '', offset = 'Z'] = match;
  const millis = fraction === '' ? '' : fraction.slice(0, 4).padEnd(4, '0');
  const zone = offset === 'Z' ? 'Z' : offset.includes(':') ? offset : `${offset.slice(0, 3)}:${offset.slice(3)}`;
  const date = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}${millis}${zone}`);
  if (Number.isNaN(date.getTime())) return null;
  // Reject impossible calendar dates (2024-02-31) that Date would roll over.
  const check = new Date(`${year}-${month}-${day}T00:00:00Z`);
  if (Number.isNaN(check.getTime()) || check.toISOString().slice(0, 10) !== `${year}-${month}-${day}`) return null;
  const iso = date.toISOString();
  return /^\d{4}-/.test(iso) ? iso : null;
}

const DAY_MS = 86_400_000;

/** The window [now - days, now] of `within_last_days`, as normalized instants. */
export function lastDaysWindow(now: Date, days: number): { readonly from: string; readonly to: string } {
  return { from: new Date(now.getTime() - days * DAY_MS).toISOString(), to: now.toISOString() };
}
