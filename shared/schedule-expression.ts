/**
 * Amazon EventBridge Scheduler schedule expressions — `at(...)`, `rate(...)` and `cron(...)` —
 * parsed and evaluated the way the service does, so that application code (which creates
 * one-time schedules) and the local runtime (which fires them) agree with AWS.
 *
 * Rules, from the EventBridge Scheduler / EventBridge cron reference:
 * - `cron(minutes hours day-of-month month day-of-week year)`: six fields; exactly one of
 *   day-of-month and day-of-week is `?`. Minutes 0-59, hours 0-23 (`, - * /`); day-of-month 1-31
 *   (`, - * ? / L W`); month 1-12 or JAN-DEC (`, - * /`); day-of-week 1-7 or SUN-SAT with
 *   1 = Sunday (`, - * ? L #`, no `/`); year 1970-2199 (`, - * /`).
 *   Quartz conventions (which the AWS syntax follows) fill in what the docs leave open: `L`, `LW`
 *   and `nW` stand alone in day-of-month; `L` (= Saturday), `nL` and `n#k` stand alone in
 *   day-of-week; a range may wrap (`FRI-MON`, `22-2`) except in the year field. `L-n` offsets are
 *   rejected (not documented by AWS, not supported by croner).
 * - `rate(value unit)`: value a positive integer, unit minute(s) | hour(s) | day(s), singular
 *   exactly when value is 1. Units are fixed durations (a day is 24 h even across DST).
 * - `at(yyyy-mm-ddThh:mm:ss)`: a wall-clock time in the schedule's time zone.
 *
 * Daylight saving time:
 * - cron: a time that does not exist (spring forward) is skipped, and a time that occurs twice
 *   (fall back) fires once, at the first occurrence — AWS documents both for EventBridge
 *   Scheduler. (croner alone would run fixed-time jobs after the gap and interval jobs twice,
 *   so its results are filtered.)
 * - at: a time in a gap is moved forward by the length of the gap (02:30 on a spring-forward day
 *   in New York becomes 03:30 EDT, as java.time does); an ambiguous time is the first occurrence.
 */
import { Cron } from 'croner';
import { BadRequestError } from './errors.ts';

export type RateUnit = 'minute' | 'minutes' | 'hour' | 'hours' | 'day' | 'days';

export type ScheduleExpression =
  | { kind: 'at'; at: string /* local date-time, no offset, 'YYYY-MM-DDThh:mm:ss' */ }
  | { kind: 'rate'; value: number; unit: RateUnit }
  | { kind: 'cron'; minutes: string; hours: string; dayOfMonth: string; month: string; dayOfWeek: string; year: string };

export class InvalidScheduleExpressionError extends BadRequestError {
  override name = 'InvalidScheduleExpressionError';
  readonly expression: string;
  constructor(expression: string, reason: string) {
    super(`Invalid schedule expression "${expression}": ${reason}`, 'invalid_schedule_expression');
    this.expression = expression;
  }
}

export class InvalidTimeZoneError extends BadRequestError {
  override name = 'InvalidTimeZoneError';
  readonly timezone: string;
  constructor(timezone: string) {
    super(`Unknown time zone "${timezone}": use an IANA time zone name such as "UTC", "Europe/Berlin" or "America/New_York"`, 'invalid_timezone');
    this.timezone = timezone;
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing

const MONTH_NAMES: Record<string, number> = { JAN: 1, FEB: 2, MAR: 3, APR: 4, MAY: 5, JUN: 6, JUL: 7, AUG: 8, SEP: 9, OCT: 10, NOV: 11, DEC: 12 };
const DAY_NAMES: Record<string, number> = { SUN: 1, MON: 2, TUE: 3, WED: 4, THU: 5, FRI: 6, SAT: 7 };

interface FieldSpec {
  label: string;
  min: number;
  max: number;
  names?: Record<string, number>;
  step: boolean;
  /** Quartz lets a range run past the end of the cycle (FRI-MON); not meaningful for years. */
  wrap: boolean;
}

const MINUTES: FieldSpec = { label: 'minutes', min: 0, max: 59, step: true, wrap: true };
const HOURS: FieldSpec = { label: 'hours', min: 0, max: 23, step: true, wrap: true };
const DAY_OF_MONTH: FieldSpec = { label: 'day-of-month', min: 1, max: 31, step: true, wrap: true };
const MONTH: FieldSpec = { label: 'month', min: 1, max: 12, names: MONTH_NAMES, step: true, wrap: true };
const DAY_OF_WEEK: FieldSpec = { label: 'day-of-week', min: 1, max: 7, names: DAY_NAMES, step: false, wrap: true };
const YEAR: FieldSpec = { label: 'year', min: 1970, max: 2199, step: true, wrap: false };

/** Thrown inside the field parsers; turned into InvalidScheduleExpressionError with the whole expression. */
class FieldError extends Error {}

function parseValue(text: string, spec: FieldSpec): number {
  const upper = text.toUpperCase();
  const named = spec.names?.[upper];
  if (named !== undefined) return named;
  if (!/^\d+$/.test(text)) {
    const hint = spec.names ? ` (numbers ${spec.min}-${spec.max} or names ${Object.keys(spec.names).join(',')})` : ` (numbers ${spec.min}-${spec.max})`;
    throw new FieldError(`${spec.label} value "${text}" is not valid${hint}`);
  }
  const value = Number(text);
  if (value < spec.min || value > spec.max) throw new FieldError(`${spec.label} value ${value} is out of range ${spec.min}-${spec.max}`);
  return value;
}

/** Expands one field made of `*`, values, ranges, steps and lists into the sorted set of values it allows. */
function expandField(field: string, spec: FieldSpec): number[] {
  if (field === '') throw new FieldError(`${spec.label} field is empty`);
  const size = spec.max - spec.min + 1;
  const values = new Set<number>();
  for (const part of field.split(',')) {
    if (part === '') throw new FieldError(`${spec.label} field "${field}" has an empty list element`);
    const slash = part.split('/');
    if (slash.length > 2) throw new FieldError(`${spec.label} element "${part}" has more than one "/"`);
    const [base = '', stepText] = slash;
    let step = 1;
    if (stepText !== undefined) {
      if (!spec.step) throw new FieldError(`"/" is not allowed in the ${spec.label} field ("${part}")`);
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1 || Number(stepText) > spec.max) {
        throw new FieldError(`${spec.label} increment in "${part}" must be a whole number from 1 to ${spec.max}`);
      }
      step = Number(stepText);
    }
    let start: number;
    let end: number;
    if (base === '*') {
      start = spec.min;
      end = spec.max;
    } else if (base.includes('-')) {
      const bounds = base.split('-');
      if (bounds.length !== 2) throw new FieldError(`${spec.label} range "${base}" is not valid`);
      start = parseValue(bounds[0] ?? '', spec);
      end = parseValue(bounds[1] ?? '', spec);
      if (end < start && !spec.wrap) throw new FieldError(`${spec.label} range "${base}" runs backwards`);
    } else {
      start = parseValue(base, spec);
      // `a/n` means from a to the end of the field, every n.
      end = stepText === undefined ? start : spec.max;
    }
    const length = end >= start ? end - start : size - (start - end);
    for (let offset = 0; offset <= length; offset += step) {
      values.add(spec.min + ((start - spec.min + offset) % size));
    }
  }
  return [...values].sort((a, b) => a - b);
}

/** day-of-month: `?`, `*`, `L`, `LW`, `nW`, or a list of values/ranges/steps. Returns croner syntax. */
function translateDayOfMonth(field: string): string {
  const upper = field.toUpperCase();
  if (upper === '?' || upper === '*') return '*';
  if (upper === 'L' || upper === 'LW') return upper;
  if (upper.includes('L')) {
    if (/^L-\d+$/.test(upper)) throw new FieldError(`day-of-month offsets such as "${field}" are not supported`);
    throw new FieldError(`day-of-month "L" must stand alone (or as "LW"), got "${field}"`);
  }
  if (upper.includes('W')) {
    const match = /^(\d+)W$/.exec(upper);
    if (!match) throw new FieldError(`day-of-month "W" takes a single day, as in "15W", got "${field}"`);
    return `${parseValue(match[1] ?? '', DAY_OF_MONTH)}W`;
  }
  return expandField(field, DAY_OF_MONTH).join(',');
}

/** day-of-week in AWS numbering (1 = Sunday) to croner's (0 = Sunday). */
function translateDayOfWeek(field: string): string {
  const upper = field.toUpperCase();
  if (upper === '?' || upper === '*') return '*';
  if (upper === 'L') return '6'; // last day of the week: Saturday
  if (upper.includes('#')) {
    const match = /^([A-Z]+|\d+)#(\d+)$/.exec(upper);
    if (!match) throw new FieldError(`day-of-week "#" takes one day and one occurrence, as in "3#2" or "TUE#2", and must stand alone; got "${field}"`);
    const nth = Number(match[2]);
    if (nth < 1 || nth > 5) throw new FieldError(`day-of-week occurrence in "${field}" must be 1-5`);
    return `${parseValue(match[1] ?? '', DAY_OF_WEEK) - 1}#${nth}`;
  }
  if (upper.endsWith('L')) {
    const match = /^([A-Z]+?|\d+)L$/.exec(upper);
    if (!match || match[1] === '') throw new FieldError(`day-of-week "L" takes one day, as in "6L" (last Friday), and must stand alone; got "${field}"`);
    return `${parseValue(match[1] ?? '', DAY_OF_WEEK) - 1}L`;
  }
  return expandField(field, DAY_OF_WEEK)
    .map((day) => day - 1)
    .join(',');
}

interface CompiledCron {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  /** 7-part croner pattern (seconds first, year last), weekdays 0 = Sunday. */
  pattern: string;
}

function compileCron(expression: Extract<ScheduleExpression, { kind: 'cron' }>): CompiledCron {
  const dom = expression.dayOfMonth;
  const dow = expression.dayOfWeek;
  if ((dom === '?') === (dow === '?')) {
    throw new FieldError(
      dom === '?'
        ? 'day-of-month and day-of-week cannot both be "?"; set one of them'
        : 'one of day-of-month and day-of-week must be "?" (AWS cron cannot constrain both; use "*" in one and "?" in the other for every day)',
    );
  }
  for (const [label, value] of [
    ['minutes', expression.minutes],
    ['hours', expression.hours],
    ['month', expression.month],
    ['year', expression.year],
  ] as const) {
    if (value.includes('?')) throw new FieldError(`"?" is only allowed in day-of-month and day-of-week, not in ${label}`);
  }
  const minutes = expandField(expression.minutes, MINUTES);
  const hours = expandField(expression.hours, HOURS);
  const months = expandField(expression.month, MONTH);
  const years = expression.year === '*' ? '*' : expandField(expression.year, YEAR).join(',');
  const pattern = ['0', minutes.join(','), hours.join(','), translateDayOfMonth(dom), months.join(','), translateDayOfWeek(dow), years].join(' ');
  return { minutes: new Set(minutes), hours: new Set(hours), pattern };
}

function fail(expression: string, reason: string): never {
  throw new InvalidScheduleExpressionError(expression, reason);
}

/** Parses an EventBridge Scheduler expression; throws InvalidScheduleExpressionError for anything AWS would reject. */
export function parseScheduleExpression(expression: string): ScheduleExpression {
  if (typeof expression !== 'string') fail(String(expression), 'the expression must be a string');
  const wrapper = /^(at|rate|cron)\((.*)\)$/s.exec(expression);
  if (!wrapper) fail(expression, 'expected at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(minutes hours day-of-month month day-of-week year)');
  const kind = wrapper[1];
  const body = (wrapper[2] ?? '').trim();

  if (kind === 'at') {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body);
    if (!m) fail(expression, 'at() takes a local date-time without offset, as in at(2026-12-01T09:00:00)');
    const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) fail(expression, `${body.slice(0, 10)} is not a calendar date`);
    if (hour > 23 || minute > 59 || second > 59) fail(expression, `${body.slice(11)} is not a valid time of day`);
    return { kind: 'at', at: body };
  }

  if (kind === 'rate') {
    const m = /^(\S+)\s+(\S+)$/.exec(body);
    if (!m) fail(expression, 'rate() takes a value and a unit, as in rate(5 minutes)');
    const [, valueText = '', unit = ''] = m;
    if (!/^\d+$/.test(valueText) || !Number.isSafeInteger(Number(valueText)) || Number(valueText) < 1) {
      fail(expression, `rate value "${valueText}" must be a positive whole number`);
    }
    const value = Number(valueText);
    if (!isRateUnit(unit)) fail(expression, `rate unit "${unit}" must be minute(s), hour(s) or day(s)`);
    const singular = !unit.endsWith('s');
    if (value === 1 && !singular) fail(expression, `a rate of 1 takes a singular unit: rate(1 ${unit.slice(0, -1)})`);
    if (value !== 1 && singular) fail(expression, `a rate of ${value} takes a plural unit: rate(${value} ${unit}s)`);
    return { kind: 'rate', value, unit };
  }

  const fields = body === '' ? [] : body.split(/\s+/);
  if (fields.length !== 6) {
    fail(expression, `cron() needs 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`);
  }
  const [minutes = '', hours = '', dayOfMonth = '', month = '', dayOfWeek = '', year = ''] = fields;
  const parsed: ScheduleExpression = { kind: 'cron', minutes, hours, dayOfMonth, month, dayOfWeek, year };
  try {
    compileCron(parsed);
  } catch (error) {
    if (error instanceof FieldError) fail(expression, error.message);
    throw error;
  }
  return parsed;
}

function isRateUnit(unit: string): unit is RateUnit {
  return ['minute', 'minutes', 'hour', 'hours', 'day', 'days'].includes(unit);
}

const RATE_UNIT_MS: Record<RateUnit, number> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

/** The interval of a rate expression in milliseconds (days are 24 h, as on AWS). */
export function rateIntervalMs(expression: Extract<ScheduleExpression, { kind: 'rate' }>): number {
  return expression.value * RATE_UNIT_MS[expression.unit];
}

/** The expression's text, as AWS would show it. */
export function formatScheduleExpression(expression: ScheduleExpression): string {
  switch (expression.kind) {
    case 'at':
      return `at(${expression.at})`;
    case 'rate':
      return `rate(${expression.value} ${expression.unit})`;
    case 'cron':
      return `cron(${expression.minutes} ${expression.hours} ${expression.dayOfMonth} ${expression.month} ${expression.dayOfWeek} ${expression.year})`;
  }
}

// ---------------------------------------------------------------------------------------------
// Time zones

export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const DAY_MS = 86_400_000;
// Building an Intl.DateTimeFormat costs far more than formatting, and the zone may come from each contact.
const zoneFormats = new Map<string, Intl.DateTimeFormat | null>();

/** A cached wall-clock formatter (24-hour, numeric fields) for an IANA zone; null for a zone the runtime does not know. */
export function zoneDateTimeFormat(zone: string): Intl.DateTimeFormat | null {
  let format = zoneFormats.get(zone);
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      format = null; // unknown zone: remembered too, so junk zones do not cost a failed construction each time
    }
    if (zoneFormats.size >= 1_000) zoneFormats.clear();
    zoneFormats.set(zone, format);
  }
  return format;
}

function formatterFor(timezone: string): Intl.DateTimeFormat {
  const formatter = zoneDateTimeFormat(timezone);
  if (!formatter) throw new InvalidTimeZoneError(timezone);
  return formatter;
}

/** Throws InvalidTimeZoneError unless `timezone` is a time zone the runtime knows (IANA names). */
export function assertValidTimeZone(timezone: string): void {
  if (typeof timezone !== 'string' || timezone.trim() === '') throw new InvalidTimeZoneError(String(timezone));
  formatterFor(timezone);
}

export function wallClockOf(instantMs: number, timezone: string): WallClock {
  const fields: Record<string, number> = {};
  for (const part of formatterFor(timezone).formatToParts(new Date(instantMs))) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  return {
    year: fields['year'] ?? NaN,
    month: fields['month'] ?? NaN,
    day: fields['day'] ?? NaN,
    hour: (fields['hour'] ?? NaN) % 24, // some ICU versions print midnight as 24
    minute: fields['minute'] ?? NaN,
    second: fields['second'] ?? NaN,
  };
}

/** The wall-clock fields read as if they were UTC (Date.UTC maps years 0-99 to 19xx; avoid that). */
export function wallAsUtcMs(w: WallClock): number {
  const date = new Date(0);
  date.setUTCFullYear(w.year, w.month - 1, w.day);
  date.setUTCHours(w.hour, w.minute, w.second, 0);
  return date.getTime();
}

function sameWallClock(a: WallClock, b: WallClock): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day && a.hour === b.hour && a.minute === b.minute && a.second === b.second;
}

function offsetMsAt(instantMs: number, timezone: string): number {
  const wholeSecond = Math.floor(instantMs / 1000) * 1000;
  return wallAsUtcMs(wallClockOf(wholeSecond, timezone)) - wholeSecond;
}

/**
 * The instant a wall-clock time denotes in `timezone`: the first occurrence when it is ambiguous
 * (fall back), and — when it does not exist (spring forward) — the time moved forward by the
 * length of the gap, read with the offset in force before the transition.
 */
export function instantOfWallClock(w: WallClock, timezone: string): { instantMs: number; kind: 'single' | 'ambiguous' | 'gap' } {
  const local = wallAsUtcMs(w);
  // Real offsets are within ±14 h, so those a day either side cover any transition near `local`.
  const before = offsetMsAt(local - DAY_MS, timezone);
  const offsets = new Set([before, offsetMsAt(local, timezone), offsetMsAt(local + DAY_MS, timezone)]);
  const matches = [...offsets]
    .map((offset) => local - offset)
    .filter((candidate) => sameWallClock(wallClockOf(candidate, timezone), w))
    .sort((a, b) => a - b);
  const first = matches[0];
  if (first !== undefined) return { instantMs: first, kind: matches.length > 1 ? 'ambiguous' : 'single' };
  return { instantMs: local - before, kind: 'gap' };
}

function parseAt(at: string): WallClock {
  const [date = '', time = ''] = at.split('T');
  const [year = NaN, month = NaN, day = NaN] = date.split('-').map(Number);
  const [hour = NaN, minute = NaN, second = NaN] = time.split(':').map(Number);
  return { year, month, day, hour, minute, second };
}

/** The instant of a one-time `at(...)` schedule in `timezone` (past or not); see the DST notes at the top. */
export function atInstant(expression: string | ScheduleExpression, timezone = 'UTC'): Date {
  const parsed = parseScheduleExpression(typeof expression === 'string' ? expression : formatScheduleExpression(expression));
  if (parsed.kind !== 'at') throw new InvalidScheduleExpressionError(formatScheduleExpression(parsed), 'not a one-time at(...) expression');
  assertValidTimeZone(timezone);
  return new Date(instantOfWallClock(parseAt(parsed.at), timezone).instantMs);
}

/**
 * Formats `at(...)` for an instant as wall-clock time in `timezone`, for CreateSchedule with
 * ScheduleExpressionTimezone = `timezone`. Milliseconds are dropped (AWS works to the second,
 * and fires within the minute anyway). An instant in the second pass of a repeated hour (fall
 * back) cannot be told apart in an at() expression; AWS-style reading gives the first pass.
 */
export function toAwsAtExpression(instant: Date, timezone = 'UTC'): string {
  if (!(instant instanceof Date) || Number.isNaN(instant.getTime())) throw new TypeError('toAwsAtExpression needs a valid Date');
  assertValidTimeZone(timezone);
  const w = wallClockOf(instant.getTime(), timezone);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `at(${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)})`;
}

// ---------------------------------------------------------------------------------------------
// Next fire time

const cronCache = new Map<string, { compiled: CompiledCron; cron: Cron }>();

function cronFor(expression: Extract<ScheduleExpression, { kind: 'cron' }>, timezone: string): { compiled: CompiledCron; cron: Cron } {
  const key = `${timezone}\u0000${formatScheduleExpression(expression)}`;
  let entry = cronCache.get(key);
  if (!entry) {
    let compiled: CompiledCron;
    try {
      compiled = compileCron(expression);
    } catch (error) {
      if (error instanceof FieldError) fail(formatScheduleExpression(expression), error.message);
      throw error;
    }
    // domAndDow: one side is always `*` after translation, so AND is what "?" means.
    const cron = new Cron(compiled.pattern, { timezone, mode: '7-part', domAndDow: true });
    entry = { compiled, cron };
    if (cronCache.size >= 500) cronCache.clear(); // bounded; recompiling is cheap
    cronCache.set(key, entry);
  }
  return entry;
}

function nextCron(expression: Extract<ScheduleExpression, { kind: 'cron' }>, timezone: string, afterMs: number): Date | null {
  const { compiled, cron } = cronFor(expression, timezone);
  let cursor = new Date(afterMs);
  // Each skipped candidate is a DST artefact (at most an hour of them per transition).
  for (let guard = 0; guard < 10_000; guard++) {
    const candidate = cron.nextRun(cursor);
    if (!candidate) return null;
    const w = wallClockOf(candidate.getTime(), timezone);
    const inGap = !compiled.minutes.has(w.minute) || !compiled.hours.has(w.hour); // croner moved a non-existent time past the gap
    const secondPass = !inGap && instantOfWallClock(w, timezone).instantMs !== candidate.getTime(); // repeated hour, already fired
    if (!inGap && !secondPass) return candidate;
    cursor = candidate;
  }
  return null;
}

/**
 * The next instant strictly after `after` at which the schedule fires, or null when it never
 * fires again (an `at` in the past, a cron whose years are over).
 * - at: wall-clock time in `timezone`; `startDate` is ignored, as AWS ignores StartDate for one-time schedules.
 * - rate: fires at startDate + k × interval (k ≥ 0); `startDate` defaults to `after`.
 * - cron: evaluated in `timezone`; never before `startDate` when given (a match at startDate counts).
 */
export function nextFireTime(expression: string | ScheduleExpression, timezone: string = 'UTC', after: Date, startDate?: Date): Date | null {
  // Objects are re-parsed too, so a hand-built one is validated like a string.
  const parsed = parseScheduleExpression(typeof expression === 'string' ? expression : formatScheduleExpression(expression));
  const tz = timezone;
  assertValidTimeZone(tz);
  const afterMs = after.getTime();
  if (Number.isNaN(afterMs)) throw new TypeError('nextFireTime needs a valid `after` Date');
  switch (parsed.kind) {
    case 'at': {
      const instant = instantOfWallClock(parseAt(parsed.at), tz).instantMs;
      return instant > afterMs ? new Date(instant) : null;
    }
    case 'rate': {
      const interval = rateIntervalMs(parsed);
      const anchor = (startDate ?? after).getTime();
      if (anchor > afterMs) return new Date(anchor);
      const steps = Math.floor((afterMs - anchor) / interval) + 1;
      return new Date(anchor + steps * interval);
    }
    case 'cron': {
      const from = startDate && startDate.getTime() - 1 > afterMs ? startDate.getTime() - 1 : afterMs;
      return nextCron(parsed, tz, from);
    }
  }
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}
