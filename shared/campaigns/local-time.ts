import { BadRequestError } from '../errors.ts';
import { assertValidTimeZone, instantOfWallClock, wallAsUtcMs, wallClockOf, type WallClock } from '../schedule-expression.ts';

/**
 * Local-time arithmetic for sending: quiet hours and "09:00 in each contact's own time zone".
 * Wall-clock ↔ instant conversion is schedule-expression.ts's, so a time computed here matches
 * the at(...) schedule AWS would fire for it.
 */

/** Local times during which nothing is sent. May wrap midnight; start === end means none. */
export interface QuietHours {
  start: string;
  end: string;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** The largest UTC offset in use (Pacific/Kiritimati, UTC+14): where a wall-clock time comes first. */
const EARLIEST_OFFSET_MS = 14 * HOUR_MS;

/** "HH:mm", 00:00–23:59 (the campaign model's format) → minutes since midnight. */
export function parseClock(hhmm: string): number {
  const match = typeof hhmm === 'string' ? /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm) : null;
  if (!match) throw new BadRequestError(`"${String(hhmm)}" is not a time of day; use HH:mm from 00:00 to 23:59`, 'invalid_time_of_day');
  return Number(match[1]) * 60 + Number(match[2]);
}

function localMsOf(instantMs: number, timezone: string): number {
  return wallAsUtcMs(wallClockOf(instantMs, timezone));
}

/**
 * Every instant at which `w` is shown in `timezone`, ascending: one normally, two in a fall-back
 * overlap; in a spring-forward gap, the single instant the gap ends (the first one whose local
 * time is past `w`) — not instantOfWallClock's "shift by the gap", which would lose the time
 * between the transition and the shifted instant.
 */
function occurrencesOf(w: WallClock, timezone: string): number[] {
  const found = instantOfWallClock(w, timezone);
  const local = wallAsUtcMs(w);
  if (found.kind === 'single') return [found.instantMs];
  if (found.kind === 'ambiguous') {
    // Offsets a day either side include both sides of the transition (as in instantOfWallClock).
    const offsets = new Set([-DAY_MS, 0, DAY_MS].map((delta) => localMsOf(local + delta, timezone) - (local + delta)));
    return [...new Set([...offsets].map((offset) => local - offset))].filter((candidate) => localMsOf(candidate, timezone) === local).sort((a, b) => a - b);
  }
  // Gap: local time jumps over `w` at the transition. Binary-search the first whole second whose
  // local time is at or past `w`; the shifted instant is after the transition, two days before it
  // is before (real gaps are at most a day long).
  let hi = Math.floor(found.instantMs / 1000);
  let lo = hi - 2 * 86_400;
  if (localMsOf(lo * 1000, timezone) >= local || localMsOf(hi * 1000, timezone) < local) return [found.instantMs];
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (localMsOf(mid * 1000, timezone) >= local) hi = mid;
    else lo = mid;
  }
  return [hi * 1000];
}

function addDays(w: WallClock, days: number): WallClock {
  const date = new Date(wallAsUtcMs({ ...w, hour: 0, minute: 0, second: 0 }) + days * DAY_MS);
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(), hour: 0, minute: 0, second: 0 };
}

/**
 * `at` when it is outside quiet hours in `timezone`; otherwise the next instant after `at` at which
 * the local clock shows `quiet.end`. An end inside a spring-forward gap means the instant the gap
 * ends; an end that occurs twice (fall back) means its first occurrence after `at`.
 */
export function nextAllowedTime(at: Date, quiet: QuietHours | undefined, timezone: string): Date {
  if (!quiet) return at;
  const start = parseClock(quiet.start);
  const end = parseClock(quiet.end);
  if (start === end) return at;
  const atMs = at.getTime();
  if (Number.isNaN(atMs)) throw new TypeError('nextAllowedTime needs a valid Date');
  const w = wallClockOf(atMs, timezone);
  const minute = w.hour * 60 + w.minute + w.second / 60;
  const wraps = start > end;
  const inside = wraps ? minute >= start || minute < end : minute >= start && minute < end;
  if (!inside) return at;
  // A wrapping period entered in the evening ends on the next local day.
  const day = addDays(w, wraps && minute >= start ? 1 : 0);
  const endWall: WallClock = { ...day, hour: Math.floor(end / 60), minute: end % 60, second: 0 };
  // The first occurrence can precede `at` when `at` is in the repeated hour's second pass.
  const next = occurrencesOf(endWall, timezone).find((instant) => instant > atMs);
  return next === undefined ? at : new Date(next);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function parseWallClock(wallClock: string): WallClock {
  const match = typeof wallClock === 'string' ? /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(wallClock) : null;
  if (!match) throw new BadRequestError(`"${String(wallClock)}" is not a local date-time; use YYYY-MM-DDTHH:mm[:ss] without an offset`, 'invalid_local_time');
  const [year, month, day, hour, minute] = match.slice(1, 6).map(Number) as [number, number, number, number, number];
  const second = match[6] === undefined ? 0 : Number(match[6]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    throw new BadRequestError(`"${wallClock}" is not a valid local date-time`, 'invalid_local_time');
  }
  return { year, month, day, hour, minute, second };
}

/**
 * The instant `wallClock` denotes in `timezone`, with the at(...) rules of schedule-expression.ts
 * (a time in a gap is moved forward by the gap, an ambiguous one is the first occurrence) so it
 * is the instant a one-time schedule in that zone fires.
 */
export function instantAtLocalTime(wallClock: string, timezone: string): Date {
  const w = parseWallClock(wallClock);
  assertValidTimeZone(timezone);
  return new Date(instantOfWallClock(w, timezone).instantMs);
}

/** When `wallClock` first happens anywhere (UTC+14): a localTime campaign must be running by then. */
export function earliestInstantAnywhere(wallClock: string): Date {
  return new Date(wallAsUtcMs(parseWallClock(wallClock)) - EARLIEST_OFFSET_MS);
}
