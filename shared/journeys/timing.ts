import { instantAtLocalTime } from '../campaigns/local-time.ts';
import type { Duration } from './definition.ts';

const MINUTE_MS = 60_000;
export type Weekday = 'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat';

/** The local calendar date, time and weekday of an instant in a zone. */
function localParts(at: Date, timezone: string): { date: string; time: string; weekday: Weekday } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', weekday: 'short', hourCycle: 'h23' })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}:${parts.second}`, weekday: parts.weekday!.slice(0, 3).toLowerCase() as Weekday };
}

/** A calendar date moved by whole days (the date alone: no zone, no daylight saving). */
function plusDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/**
 * When a wait of `duration` that starts at `at` ends. Minutes and hours are exact; days and weeks
 * are calendar days in the contact's zone, so "wait 2 days" from 09:00 ends at 09:00 local time
 * across a daylight-saving change (a wall time in a spring-forward gap moves forward by the gap).
 */
export function waitEnds(at: Date, duration: Duration, timezone: string): Date {
  if (duration.unit === 'minutes') return new Date(at.getTime() + duration.amount * MINUTE_MS);
  if (duration.unit === 'hours') return new Date(at.getTime() + duration.amount * 60 * MINUTE_MS);
  const days = duration.amount * (duration.unit === 'weeks' ? 7 : 1);
  const local = localParts(at, timezone);
  const ends = instantAtLocalTime(`${plusDays(local.date, days)}T${local.time}`, timezone);
  // A repeated (fall-back) hour can put the first occurrence a little before `at` + days: never end early.
  return ends.getTime() > at.getTime() ? ends : new Date(at.getTime() + days * 24 * 60 * MINUTE_MS);
}

/** The next instant after `at` when the zone's clock shows `time` ("09:00") on one of `weekdays` (any day if none). */
export function nextLocalTime(at: Date, time: string, weekdays: readonly Weekday[] | undefined, timezone: string): Date {
  const today = localParts(at, timezone).date;
  for (let d = 0; d <= 8; d++) {
    const candidate = instantAtLocalTime(`${plusDays(today, d)}T${time}`, timezone);
    if (candidate.getTime() <= at.getTime()) continue;
    if (!weekdays || weekdays.includes(localParts(candidate, timezone).weekday)) return candidate;
  }
  // Unreachable with at least one weekday (a week always holds it); kept total for the type.
  throw new RangeError(`no ${time} on ${weekdays?.join(', ')} within a week`);
}
