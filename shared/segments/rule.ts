/**
 * The segment rule language: a JSON rule a marketer writes, validated by `Rule` (zod, with
 * JSON paths such as `rule.and[1].value`) and compiled once by `compileRule` into a predicate
 * over `EvalContact` that does no I/O and allocates nothing per contact (date strings not in
 * `toISOString()` or YYYY-MM-DD form excepted: those are parsed).
 *
 * Grammar (every object is strict: an unknown key is an error at that key):
 *
 *   { "and": [Rule, …] } | { "or": [Rule, …] } | { "not": Rule }      1–50 children; and/or/not nest ≤ 10 deep
 *   { "field": F, "op": OP, … }                                        F: email phone country timezone tags
 *                                                                         createdAt updatedAt attributes.<name>
 *     eq, neq        "value": text | number | true/false | { "date": D }
 *     in             "values": [text | number | true/false, …] (1–500)       tags: has any of them
 *     contains       "value": text (substring; tags: has this tag)
 *     startsWith     "value": text
 *     gt gte lt lte  "value": number | { "date": D }
 *     between        "values": [low, high] (both numbers or both dates; inclusive)
 *     exists         "value": true | false
 *     withinLast     "amount": n, "unit": hours|days|weeks|months            at or after now − n units
 *     moreThanAgo    "amount": n, "unit": …                                   before now − n units
 *   { "reachable": "email" | "sms" }                                   address + consent confirmed + not suppressed
 *   { "consent": { "channel": "email", "status": "pending" | "confirmed" | "withdrawn" | "none" } }
 *   { "suppressed": "sms" } | { "hasAddress": "email" }
 *   { "behaviour": { "type": "clicked", "channel"?: "email", "campaignId"?: "…",
 *                    "within"?: { "amount": 30, "unit": "days" }, "count"?: { "op": "gte", "value": 1 } } }
 *     types: sent delivered opened clicked unsubscribed bounced complained converted …, and the
 *     site's visited, page_viewed and custom ("name": "added_to_cart" counts one custom event)
 *   { "score": S, "op": gt|gte|lt|lte|eq|neq, "value": n } | { "score": S, "op": "between", "values": [lo, hi] }
 *   { "segment": "<segmentId>" }
 *
 *   D: "YYYY-MM-DD" or an ISO 8601 instant with an offset ("2026-01-31T09:00:00Z", "…+02:00").
 *   S: engagement lead propensity.email propensity.sms value.monetary value.frequency
 *      value.recency value.expectedValue bestHour, or a learned score (shared/learning/names.ts):
 *      propensity.<goal> uplift.<goal> churn value.expected90d (`scores.models[S]`).
 *
 * Semantics:
 * - Missing: a field is missing when it is absent, null or "" (tags: no tags). Like SQL, a
 *   missing field never matches a comparison — `neq`, `in`, `gt`… are all false — only
 *   `exists: false` and `not(…)` match it. Types are not coerced: a number matches number
 *   attributes only (so `attributes.age gt 30` ignores "31"), and a value of another type is
 *   "not equal" for `neq` but never matches an ordering.
 * - Case: comparisons are case-sensitive (tags, attributes, country…), except `email`: stored
 *   emails are normalised to lower case, so the rule's email values are lower-cased once here.
 * - Dates: `{ "date": "2026-01-31" }` is that whole calendar day in the rule's time zone (`lte`
 *   includes all of it, `gt` starts the next day, `eq` means "on that day"); an instant
 *   (`2026-01-31T09:00:00Z`, offset required) is exact to the millisecond. Attribute strings in
 *   ISO form are dates: "YYYY-MM-DD" is midnight in the rule's time zone, instants need an
 *   offset; anything else is not a date (date comparisons are false for it).
 * - Relative windows: `hours` are exact; `days`, `weeks` and `months` are calendar units in the
 *   rule's time zone (same wall-clock time n days ago: a day across a DST change is 23 or 25
 *   hours; a month back from Mar 31 is Feb 28/29). A wall-clock time that does not exist is
 *   moved forward past the gap, an ambiguous one is its first occurrence. Windows have no upper
 *   bound (`withinLast` counts future dates too: add an `lt` if that matters).
 * - Behaviour: counters have hour resolution, so a window starts at the beginning of the hour
 *   that holds now − within (rounded outward). No `within` means all retained history (400
 *   days). No `count` means `{ "op": "gte", "value": 1 }`. No counter means a count of 0 (so
 *   `count eq 0` is "never did it"). Campaign counters are not split by channel.
 * - Scores that are null (value.recency, bestHour) are missing: every comparison is false. A
 *   learned score the contact has no value for (its model is not active, or the nightly scoring
 *   pass gave it none) is null in the same way: no comparison matches it, `neq` included, and
 *   `not(…)` of a comparison does (as for every missing value).
 * - and/or are evaluated cheapest child first (results are the same: rules have no effects).
 */
import * as z from 'zod';
import type { Channel, ConsentStatus } from '../contacts/model.ts';
import { ValidationError, issuesFromZod, type ValidationIssue } from '../errors.ts';
import { assertValidTimeZone, instantOfWallClock, wallClockOf } from '../schedule-expression.ts';
import { isStorableNumber, NUMBER_RANGE } from '../numbers.ts';
import type { Scores } from '../scoring/model.ts';
import { ACTIVITY_RETENTION_DAYS, countSince, customCounterType, hourOf } from '../activity/activity.ts';
import { LEARNED_SCORE } from '../learning/names.ts';
import { reachable, type EvalContact } from './contact-view.ts';

// ---------------------------------------------------------------------------------------------
// Types

export type TimeUnit = 'hours' | 'days' | 'weeks' | 'months';
export type BuiltInField = 'email' | 'phone' | 'country' | 'timezone' | 'tags' | 'createdAt' | 'updatedAt';
export type FieldName = BuiltInField | `attributes.${string}`;
/** A date literal: "YYYY-MM-DD" (a calendar day in the rule's time zone) or an ISO 8601 instant with offset. */
export interface DateValue {
  date: string;
}
export type ScalarValue = string | number | boolean;

export type FieldCondition =
  | { field: FieldName; op: 'eq' | 'neq'; value: ScalarValue | DateValue }
  | { field: FieldName; op: 'in'; values: ScalarValue[] }
  | { field: FieldName; op: 'contains' | 'startsWith'; value: string }
  | { field: FieldName; op: 'gt' | 'gte' | 'lt' | 'lte'; value: number | DateValue }
  | { field: FieldName; op: 'between'; values: [number, number] | [DateValue, DateValue] }
  | { field: FieldName; op: 'exists'; value: boolean }
  | { field: FieldName; op: 'withinLast' | 'moreThanAgo'; amount: number; unit: TimeUnit };
export type FieldOp = FieldCondition['op'];

export interface AndRule {
  and: RuleNode[];
}
export interface OrRule {
  or: RuleNode[];
}
export interface NotRule {
  not: RuleNode;
}
export interface ReachableRule {
  reachable: Channel;
}
export interface ConsentRule {
  consent: { channel: Channel; status: ConsentStatus | 'none' };
}
export interface SuppressedRule {
  suppressed: Channel;
}
export interface HasAddressRule {
  hasAddress: Channel;
}
export type CountOp = 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte';
export interface BehaviourRule {
  behaviour: {
    type: string;
    /** With type "custom": only custom events of this name. */
    name?: string;
    channel?: Channel;
    campaignId?: string;
    within?: { amount: number; unit: TimeUnit };
    count?: { op: CountOp; value: number };
  };
}
/** The scores every contact has (shared/scoring/model.ts). */
export type FixedScoreName =
  | 'engagement'
  | 'lead'
  | 'propensity.email'
  | 'propensity.sms'
  | 'value.monetary'
  | 'value.frequency'
  | 'value.recency'
  | 'value.expectedValue'
  | 'bestHour';
/** A learned model's score, read from `scores.models` (shared/learning/names.ts: LEARNED_SCORE). */
export type LearnedScoreName = `propensity.${string}` | `uplift.${string}` | 'churn' | 'value.expected90d';
export type ScoreName = FixedScoreName | LearnedScoreName;
export type ScoreRule = { score: ScoreName; op: 'gt' | 'gte' | 'lt' | 'lte' | 'eq' | 'neq'; value: number } | { score: ScoreName; op: 'between'; values: [number, number] };
export interface SegmentRefRule {
  segment: string;
}

export type RuleNode =
  | AndRule
  | OrRule
  | NotRule
  | FieldCondition
  | ReachableRule
  | ConsentRule
  | SuppressedRule
  | HasAddressRule
  | BehaviourRule
  | ScoreRule
  | SegmentRefRule;

// ---------------------------------------------------------------------------------------------
// Limits and vocabularies

export const MAX_CHILDREN = 50;
export const MAX_DEPTH = 10;
export const MAX_IN_VALUES = 500;
const MAX_TEXT = 2048;
const HOUR_MS = 3_600_000;

const TIME_UNITS = ['hours', 'days', 'weeks', 'months'] as const satisfies readonly TimeUnit[];
const FIELD_OPS = ['eq', 'neq', 'in', 'contains', 'startsWith', 'gt', 'gte', 'lt', 'lte', 'between', 'exists', 'withinLast', 'moreThanAgo'] as const satisfies readonly FieldOp[];
const COUNT_OPS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte'] as const satisfies readonly CountOp[];
const SCORE_OPS = ['gt', 'gte', 'lt', 'lte', 'eq', 'neq', 'between'] as const satisfies readonly ScoreRule['op'][];
/** The fixed score names, in the order the API lists them. */
export const SCORE_NAMES = [
  'engagement',
  'lead',
  'propensity.email',
  'propensity.sms',
  'value.monetary',
  'value.frequency',
  'value.recency',
  'value.expectedValue',
  'bestHour',
] as const satisfies readonly FixedScoreName[];

const isFixedScoreName = (name: string): name is FixedScoreName => (SCORE_NAMES as readonly string[]).includes(name);
/** A learned score name (`propensity.email` and `propensity.sms` are the channel scores, not learned ones). */
export const isLearnedScoreName = (name: string): name is LearnedScoreName => !isFixedScoreName(name) && LEARNED_SCORE.test(name);
/** A score a rule may compare: a fixed one or a learned one. */
export const isScoreName = (name: string): name is ScoreName => isFixedScoreName(name) || LEARNED_SCORE.test(name);
const KIND_KEYS = ['and', 'or', 'not', 'field', 'behaviour', 'score', 'reachable', 'consent', 'suppressed', 'hasAddress', 'segment'] as const;
type Kind = (typeof KIND_KEYS)[number];

/** Relative windows on fields: up to 100 years back. */
const FIELD_WINDOW_MAX: Record<TimeUnit, number> = { hours: 876_000, days: 36_500, weeks: 5_200, months: 1_200 };
/** Behaviour windows cannot reach past the counters' retention (400 days). */
const BEHAVIOUR_WINDOW_MAX: Record<TimeUnit, number> = { hours: ACTIVITY_RETENTION_DAYS * 24, days: ACTIVITY_RETENTION_DAYS, weeks: 57, months: 13 };

type FieldKind = 'text' | 'tags' | 'date' | 'attribute';
const OPS_BY_KIND: Record<FieldKind, readonly FieldOp[]> = {
  text: ['eq', 'neq', 'in', 'contains', 'startsWith', 'exists'],
  tags: ['contains', 'in', 'exists'],
  date: ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'between', 'withinLast', 'moreThanAgo', 'exists'],
  attribute: FIELD_OPS,
};
type OperandKey = 'value' | 'values' | 'amount' | 'unit';
const OPERAND_KEYS: readonly OperandKey[] = ['value', 'values', 'amount', 'unit'];
const OPERANDS_BY_OP: Record<FieldOp, readonly OperandKey[]> = {
  eq: ['value'],
  neq: ['value'],
  in: ['values'],
  contains: ['value'],
  startsWith: ['value'],
  gt: ['value'],
  gte: ['value'],
  lt: ['value'],
  lte: ['value'],
  between: ['values'],
  exists: ['value'],
  withinLast: ['amount', 'unit'],
  moreThanAgo: ['amount', 'unit'],
};

const ATTRIBUTE_FIELD = /^attributes\.[A-Za-z][A-Za-z0-9_]{0,63}$/;
const BUILT_IN_FIELDS: readonly string[] = ['email', 'phone', 'country', 'timezone', 'tags', 'createdAt', 'updatedAt'] satisfies BuiltInField[];
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/;

function fieldKind(field: string): FieldKind {
  if (field === 'tags') return 'tags';
  if (field === 'createdAt' || field === 'updatedAt') return 'date';
  if (field.startsWith('attributes.')) return 'attribute';
  return 'text';
}

function isTimeZone(zone: unknown): zone is string {
  if (typeof zone !== 'string' || !ZONE_NAME.test(zone)) return false;
  try {
    assertValidTimeZone(zone);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Dates

const DAY_LITERAL = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT_LITERAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function isCalendarDay(year: number, month: number, day: number): boolean {
  return year >= 1000 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/** Epoch ms of an ISO 8601 instant with an offset (seconds and fraction optional), NaN otherwise. */
function parseInstant(text: string): number {
  const m = INSTANT_LITERAL.exec(text);
  if (!m) return NaN;
  const [year, month, day, hour, minute, second = 0, offsetHours = 0, offsetMinutes = 0] = m.slice(1).map((part) => (part === undefined ? undefined : Number(part)));
  // Date.parse rolls Feb 30 over to March: check the calendar first.
  if (!isCalendarDay(year!, month!, day!) || hour! > 23 || minute! > 59 || second > 59 || offsetHours > 14 || offsetMinutes > 59) return NaN;
  return Date.parse(text);
}

function parseDay(text: string): { year: number; month: number; day: number } | undefined {
  const m = DAY_LITERAL.exec(text);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return isCalendarDay(year, month, day) ? { year, month, day } : undefined;
}

export function isDateLiteral(text: string): boolean {
  return parseDay(text) !== undefined || !Number.isNaN(parseInstant(text));
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const formatDay = (year: number, month: number, day: number) => `${pad(year, 4)}-${pad(month)}-${pad(day)}`;

/** Calendar arithmetic on a date, via UTC (years ≥ 1000 only, so Date.UTC's 19xx mapping never applies). */
function addDays(year: number, month: number, day: number, days: number): { year: number; month: number; day: number } {
  const d = new Date(Date.UTC(year, month - 1, day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

function startOfDay(year: number, month: number, day: number, timezone: string): number {
  return instantOfWallClock({ year, month, day, hour: 0, minute: 0, second: 0 }, timezone).instantMs;
}

/**
 * `now − amount units`. Hours are exact; days, weeks and months move the wall clock of `now` in
 * `timezone` (keeping the time of day; a month back from the 31st lands on the month's last day).
 */
export function relativeThreshold(now: Date, amount: number, unit: TimeUnit, timezone: string): Date {
  const nowMs = now.getTime();
  if (Number.isNaN(nowMs)) throw new TypeError('relativeThreshold needs a valid Date');
  if (!Number.isInteger(amount) || amount < 0) throw new RangeError(`amount must be a whole number ≥ 0, got ${amount}`);
  if (unit === 'hours') return new Date(nowMs - amount * HOUR_MS);
  const w = wallClockOf(nowMs, timezone);
  let { year, month, day } = w;
  if (unit === 'months') {
    const index = year * 12 + (month - 1) - amount;
    year = Math.floor(index / 12);
    month = (index % 12) + 1;
    day = Math.min(day, daysInMonth(year, month));
  } else {
    ({ year, month, day } = addDays(year, month, day, -(unit === 'weeks' ? amount * 7 : amount)));
  }
  const { instantMs } = instantOfWallClock({ year, month, day, hour: w.hour, minute: w.minute, second: w.second }, timezone);
  // wallClockOf works to the second; keep now's milliseconds so an hours-free window is exact.
  return new Date(instantMs + (nowMs - Math.floor(nowMs / 1000) * 1000));
}

/**
 * One instant bound in the three forms a stored date string can be compared with without
 * parsing: epoch ms, a `toISOString()` string, and the first calendar day (YYYY-MM-DD) whose
 * midnight in the rule's zone is at or after it.
 */
interface Bound {
  ms: number;
  iso: string;
  day: string;
}
// '' sorts before every string and '\uffff' after every date string: no branches for open ends.
const OPEN_LOW: Bound = { ms: -Infinity, iso: '', day: '' };
const OPEN_HIGH: Bound = { ms: Infinity, iso: '\uffff', day: '\uffff' };

function boundAt(ms: number, timezone: string): Bound {
  const w = wallClockOf(ms, timezone);
  const first = startOfDay(w.year, w.month, w.day, timezone) >= ms ? w : addDays(w.year, w.month, w.day, 1);
  return { ms, iso: new Date(ms).toISOString(), day: formatDay(first.year, first.month, first.day) };
}

/** [lo, hi) of a date literal: a whole day in the zone, or one millisecond for an instant. */
function literalRange(value: DateValue, timezone: string): { lo: Bound; hi: Bound } {
  const day = parseDay(value.date);
  if (day) {
    const next = addDays(day.year, day.month, day.day, 1);
    return { lo: boundAt(startOfDay(day.year, day.month, day.day, timezone), timezone), hi: boundAt(startOfDay(next.year, next.month, next.day, timezone), timezone) };
  }
  const ms = parseInstant(value.date);
  return { lo: boundAt(ms, timezone), hi: boundAt(ms + 1, timezone) };
}

const NOT_A_DATE = 0;
const INSIDE = 1;
const OUTSIDE = 2;

/**
 * Where a stored value lies against [lo, hi). Canonical `toISOString()` instants and
 * YYYY-MM-DD days are compared as strings (the hot path: no parsing); other ISO instants with
 * an offset are parsed; anything else is not a date.
 */
function dateState(v: unknown, lo: Bound, hi: Bound): number {
  if (typeof v !== 'string') return NOT_A_DATE;
  const n = v.length;
  if (n === 24 && v.charCodeAt(23) === 90 /* Z */ && v.charCodeAt(10) === 84 /* T */ && v.charCodeAt(19) === 46 /* . */ && v.charCodeAt(4) === 45) {
    return v >= lo.iso && v < hi.iso ? INSIDE : OUTSIDE;
  }
  if (n === 10 && v.charCodeAt(4) === 45 && v.charCodeAt(7) === 45 && isDigit(v, 0) && isDigit(v, 1) && isDigit(v, 2) && isDigit(v, 3) && isDigit(v, 5) && isDigit(v, 6) && isDigit(v, 8) && isDigit(v, 9)) {
    return v >= lo.day && v < hi.day ? INSIDE : OUTSIDE;
  }
  const ms = parseInstant(v);
  if (ms !== ms) return NOT_A_DATE; // NaN
  return ms >= lo.ms && ms < hi.ms ? INSIDE : OUTSIDE;
}

function isDigit(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
}

// ---------------------------------------------------------------------------------------------
// Validation

/** zod error option: "is required" for a missing key, `message` for a wrong value. */
const expecting = (message: string) => ({ error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : message) });

const ChannelSchema = z.enum(['email', 'sms'], expecting('must be "email" or "sms"'));
const TimeUnitSchema = z.enum(TIME_UNITS, expecting(`must be one of ${TIME_UNITS.join(', ')}`));
const DATE_MESSAGE = 'must be a date such as 2026-01-31 or an instant with an offset such as 2026-01-31T09:00:00Z';
const DateValueSchema = z.strictObject({ date: z.string(expecting(DATE_MESSAGE)).refine(isDateLiteral, DATE_MESSAGE) });

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

type Path = PropertyKey[];
interface IssueSink {
  addIssue(issue: { code: 'custom'; path: Path; message: string }): void;
}

/** Re-reports a sub-parse's issues under `prefix`, unknown keys one per key (as issuesFromZod does). */
function relay(ctx: IssueSink, issues: readonly z.core.$ZodIssue[], prefix: Path = []): void {
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) ctx.addIssue({ code: 'custom', path: [...prefix, ...issue.path, key], message: 'is not a known field' });
    } else {
      ctx.addIssue({ code: 'custom', path: [...prefix, ...issue.path], message: issue.message });
    }
  }
}

type ValueShape = 'text' | 'scalar' | 'comparable' | 'date' | 'any';
const SHAPE_MESSAGE: Record<ValueShape, string> = {
  text: 'must be a non-empty text value',
  scalar: 'must be a text value, a number, true or false',
  comparable: 'must be a number or a date such as { "date": "2026-01-31" }',
  date: 'must be a date such as { "date": "2026-01-31" }',
  any: 'must be a text value, a number, true, false or a date such as { "date": "2026-01-31" }',
};

/** Checks one operand; returns false (after reporting) when it does not fit. */
function checkOperand(ctx: IssueSink, shape: ValueShape, value: unknown, path: Path): boolean {
  const fail = (message = SHAPE_MESSAGE[shape]) => {
    ctx.addIssue({ code: 'custom', path, message });
    return false;
  };
  if (typeof value === 'string') {
    if (shape !== 'text' && shape !== 'scalar' && shape !== 'any') return fail();
    if (value.length === 0) return fail('must not be empty (use "exists": false for a missing value)');
    return value.length <= MAX_TEXT || fail(`must be at most ${MAX_TEXT} characters`);
  }
  if (typeof value === 'number') {
    if (shape !== 'scalar' && shape !== 'comparable' && shape !== 'any') return fail();
    // The rule is stored: a number DynamoDB (or the SDK) cannot hold is refused here, not by the write.
    return isStorableNumber(value) || fail(NUMBER_RANGE);
  }
  if (typeof value === 'boolean') return shape === 'scalar' || shape === 'any' || fail();
  if (isPlainObject(value) && (shape === 'date' || shape === 'comparable' || shape === 'any')) {
    const result = DateValueSchema.safeParse(value);
    if (result.success) return true;
    relay(ctx, result.error.issues, path);
    return false;
  }
  return fail();
}

/** Reports one issue and ends the transform. */
function reject(ctx: IssueSink, path: Path, message: string): never {
  ctx.addIssue({ code: 'custom', path, message });
  return z.NEVER;
}

const isDateValue = (value: unknown): value is DateValue => isPlainObject(value) && typeof value['date'] === 'string';

/** Low ≤ high, compared the same way in every zone (days as UTC midnights; a mixed pair is checked again at compile time). */
function rangeOrderProblem(low: number | DateValue, high: number | DateValue): string | undefined {
  if (typeof low === 'number' && typeof high === 'number') return low <= high ? undefined : 'the low value must not be above the high value';
  if (typeof low === 'number' || typeof high === 'number') return 'must be two numbers or two dates';
  const lowDay = parseDay(low.date);
  const highDay = parseDay(high.date);
  if (lowDay && highDay) return low.date <= high.date ? undefined : 'the low date must not be after the high date';
  if (!lowDay && !highDay) return parseInstant(low.date) <= parseInstant(high.date) ? undefined : 'the low date must not be after the high date';
  return undefined;
}

const FieldConditionSchema = z
  .strictObject({
    field: z
      .string(expecting('must be email, phone, country, timezone, tags, createdAt, updatedAt or attributes.<name>'))
      .refine((f) => BUILT_IN_FIELDS.includes(f) || ATTRIBUTE_FIELD.test(f), 'must be email, phone, country, timezone, tags, createdAt, updatedAt or attributes.<name>'),
    op: z.enum(FIELD_OPS, expecting(`must be one of ${FIELD_OPS.join(', ')}`)),
    value: z.unknown().optional(),
    values: z.array(z.unknown(), expecting('must be a list')).optional(),
    amount: z.unknown().optional(),
    unit: z.unknown().optional(),
  })
  .transform((raw, ctx): FieldCondition => {
    const { field, op } = raw;
    const kind = fieldKind(field);
    const allowed = OPS_BY_KIND[kind];
    if (!allowed.includes(op)) {
      ctx.addIssue({ code: 'custom', path: ['op'], message: `"${op}" does not apply to ${field === 'tags' ? 'tags' : `${field} (a ${kind === 'attribute' ? 'attribute' : kind} field)`}: use one of ${allowed.join(', ')}` });
      return z.NEVER;
    }
    const needs = OPERANDS_BY_OP[op];
    let ok = true;
    for (const key of OPERAND_KEYS) {
      const present = raw[key] !== undefined;
      if (needs.includes(key) && !present) {
        ctx.addIssue({ code: 'custom', path: [key], message: `is required with op "${op}"` });
        ok = false;
      } else if (!needs.includes(key) && present) {
        ctx.addIssue({ code: 'custom', path: [key], message: `is not used with op "${op}", which takes ${needs.map((k) => `"${k}"`).join(' and ')}` });
        ok = false;
      }
    }
    if (!ok) return z.NEVER;
    const name = field as FieldName;
    const value = raw.value;
    const values = raw.values ?? [];
    switch (op) {
      case 'exists':
        if (typeof value !== 'boolean') return reject(ctx, ['value'], 'must be true or false');
        return { field: name, op, value };
      case 'contains':
      case 'startsWith':
        if (!checkOperand(ctx, 'text', value, ['value'])) return z.NEVER;
        return { field: name, op, value: value as string };
      case 'eq':
      case 'neq':
        if (!checkOperand(ctx, kind === 'date' ? 'date' : kind === 'attribute' ? 'any' : 'text', value, ['value'])) return z.NEVER;
        return { field: name, op, value: value as ScalarValue | DateValue };
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
        if (!checkOperand(ctx, kind === 'date' ? 'date' : 'comparable', value, ['value'])) return z.NEVER;
        return { field: name, op, value: value as number | DateValue };
      case 'in': {
        if (values.length === 0 || values.length > MAX_IN_VALUES) {
          return reject(ctx, ['values'], `must hold 1 to ${MAX_IN_VALUES} values`);
        }
        const shape = kind === 'attribute' ? 'scalar' : 'text';
        const good = values.map((v, i) => checkOperand(ctx, shape, v, ['values', i])).every(Boolean);
        return good ? { field: name, op, values: values as ScalarValue[] } : z.NEVER;
      }
      case 'between': {
        if (values.length !== 2) return reject(ctx, ['values'], 'must be [low, high]');
        const shape = kind === 'date' ? 'date' : 'comparable';
        const good = values.map((v, i) => checkOperand(ctx, shape, v, ['values', i])).every(Boolean);
        if (!good) return z.NEVER;
        const [low, high] = values as [number | DateValue, number | DateValue];
        const problem = rangeOrderProblem(low, high);
        if (problem) return reject(ctx, ['values'], problem);
        return { field: name, op, values: [low, high] as [number, number] | [DateValue, DateValue] };
      }
      case 'withinLast':
      case 'moreThanAgo': {
        const unit = TimeUnitSchema.safeParse(raw.unit);
        if (!unit.success) {
          relay(ctx, unit.error.issues, ['unit']);
          return z.NEVER;
        }
        const max = FIELD_WINDOW_MAX[unit.data];
        const amount = raw.amount;
        if (typeof amount !== 'number' || !Number.isInteger(amount) || amount < 1 || amount > max) {
          return reject(ctx, ['amount'], `must be a whole number of ${unit.data} from 1 to ${max}`);
        }
        return { field: name, op, amount, unit: unit.data };
      }
    }
  });

const WindowSchema = z
  .strictObject({
    amount: z.int(expecting('must be a whole number')).min(1, 'must be at least 1'),
    unit: TimeUnitSchema,
  })
  .superRefine((window, ctx) => {
    const max = BEHAVIOUR_WINDOW_MAX[window.unit];
    if (window.amount > max) {
      ctx.addIssue({ code: 'custom', path: ['amount'], message: `must be at most ${max} ${window.unit}: behaviour counters are kept for ${ACTIVITY_RETENTION_DAYS} days` });
    }
  });

const BehaviourSchema = z.strictObject({
  behaviour: z
    .strictObject({
      type: z.string(expecting('must be an interaction type')).regex(/^[a-z_]{1,40}$/, 'must be an interaction type such as clicked, opened or converted (a-z and _, at most 40)'),
      name: z.string(expecting('must be a custom event name')).regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'must be a custom event name (letters, digits and _ . : -, at most 100)').optional(),
      channel: ChannelSchema.optional(),
      campaignId: z.string(expecting('must be a campaign id')).min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
      within: WindowSchema.optional(),
      count: z
        .strictObject({
          op: z.enum(COUNT_OPS, expecting(`must be one of ${COUNT_OPS.join(', ')}`)),
          value: z.int(expecting('must be a whole number')).min(0, 'must be at least 0').max(1_000_000, 'must be at most 1000000'),
        })
        .optional(),
    })
    .superRefine((behaviour, ctx) => {
      if (behaviour.name !== undefined && behaviour.type !== 'custom') {
        ctx.addIssue({ code: 'custom', path: ['name'], message: 'names a custom event: only with type "custom"' });
      }
      if (behaviour.channel !== undefined && behaviour.campaignId !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['channel'], message: 'cannot be combined with campaignId: campaign counters are not split by channel' });
      }
    }),
});

const SCORE_NAME_MESSAGE = `must be one of ${SCORE_NAMES.join(', ')}, or a learned score: propensity.<goal>, uplift.<goal>, churn, value.expected90d (a goal is 1–100 of A-Z a-z 0-9 _ . : -)`;
const ScoreSchema = z
  .strictObject({
    score: z.string(expecting(SCORE_NAME_MESSAGE)).refine(isScoreName, SCORE_NAME_MESSAGE),
    op: z.enum(SCORE_OPS, expecting(`must be one of ${SCORE_OPS.join(', ')}`)),
    value: z.unknown().optional(),
    values: z.unknown().optional(),
  })
  .transform((raw, ctx): ScoreRule => {
    const isNumber = (v: unknown): v is number => typeof v === 'number';
    const [needed, unused] = raw.op === 'between' ? (['values', 'value'] as const) : (['value', 'values'] as const);
    let ok = true;
    if (raw[unused] !== undefined) {
      ctx.addIssue({ code: 'custom', path: [unused], message: `is not used with op "${raw.op}", which takes "${needed}"` });
      ok = false;
    }
    if (raw[needed] === undefined) {
      ctx.addIssue({ code: 'custom', path: [needed], message: `is required with op "${raw.op}"` });
      return z.NEVER;
    }
    if (raw.op !== 'between') {
      if (!isNumber(raw.value)) return reject(ctx, ['value'], 'must be a number');
      if (!isStorableNumber(raw.value)) return reject(ctx, ['value'], NUMBER_RANGE);
      return ok ? { score: raw.score as ScoreName, op: raw.op, value: raw.value } : z.NEVER;
    }
    const values = raw.values;
    if (!Array.isArray(values) || values.length !== 2 || !values.every(isNumber)) {
      return reject(ctx, ['values'], 'must be [low, high], two numbers');
    }
    const [low, high] = values as [number, number];
    const unstorable = values.findIndex((v) => !isStorableNumber(v as number));
    if (unstorable >= 0) return reject(ctx, ['values', unstorable], NUMBER_RANGE);
    if (low > high) return reject(ctx, ['values'], 'the low value must not be above the high value');
    return ok ? { score: raw.score as ScoreName, op: 'between', values: [low, high] } : z.NEVER;
  });

const Node: z.ZodType<RuleNode> = z.lazy(() => NodeDispatch);
const children = (key: 'and' | 'or') =>
  z
    .array(Node, expecting(`must be a list of rules`))
    .min(1, `must hold at least one rule`)
    .max(MAX_CHILDREN, `must hold at most ${MAX_CHILDREN} rules (group them in nested "${key}")`);

const KIND_SCHEMAS: Record<Kind, z.ZodType<RuleNode>> = {
  and: z.strictObject({ and: children('and') }),
  or: z.strictObject({ or: children('or') }),
  not: z.strictObject({ not: Node }),
  field: FieldConditionSchema,
  behaviour: BehaviourSchema,
  score: ScoreSchema,
  reachable: z.strictObject({ reachable: ChannelSchema }),
  consent: z.strictObject({
    consent: z.strictObject({ channel: ChannelSchema, status: z.enum(['pending', 'confirmed', 'withdrawn', 'none'], expecting('must be one of pending, confirmed, withdrawn, none')) }),
  }),
  suppressed: z.strictObject({ suppressed: ChannelSchema }),
  hasAddress: z.strictObject({ hasAddress: ChannelSchema }),
  segment: z.strictObject({ segment: z.string(expecting('must be a segment id')).min(1, 'must be a segment id').max(200, 'must be a segment id') }),
};

/** Picks the node's schema by its one kind key, so errors speak about the rule the marketer meant. */
const NodeDispatch = z.unknown().transform((input, ctx): RuleNode => {
  if (!isPlainObject(input)) {
    ctx.addIssue({ code: 'custom', message: 'must be a rule: an object such as { "field": "attributes.plan", "op": "eq", "value": "pro" }' });
    return z.NEVER;
  }
  const kinds = KIND_KEYS.filter((key) => Object.hasOwn(input, key));
  if (kinds.length > 1) {
    ctx.addIssue({ code: 'custom', message: `combines ${kinds.map((k) => `"${k}"`).join(' and ')}: a rule has exactly one of them (combine rules with "and" or "or")` });
    return z.NEVER;
  }
  // { "op": …, "value": … } without "field" is a field condition missing its field: say so there.
  const kind = kinds[0] ?? (['op', 'value', 'values'].some((key) => Object.hasOwn(input, key)) ? 'field' : undefined);
  if (!kind) {
    ctx.addIssue({ code: 'custom', message: `must have one of the keys ${KIND_KEYS.join(', ')}` });
    return z.NEVER;
  }
  const result = KIND_SCHEMAS[kind].safeParse(input);
  if (result.success) return result.data;
  relay(ctx, result.error.issues);
  return z.NEVER;
});

/** Path of the first and/or/not group nested deeper than MAX_DEPTH (checked before parsing, so a hostile depth cannot exhaust the stack). */
function tooDeep(input: unknown): Path | undefined {
  const stack: { node: unknown; depth: number; path: Path }[] = [{ node: input, depth: 0, path: [] }];
  while (stack.length) {
    const { node, depth, path } = stack.pop()!;
    if (!isPlainObject(node)) continue;
    const groups: [string, unknown][] = [];
    for (const key of ['and', 'or'] as const) {
      const list = node[key];
      if (Array.isArray(list)) list.forEach((child, i) => groups.push([`${key}[${i}]`, child]));
    }
    const isGroup = Array.isArray(node['and']) || Array.isArray(node['or']) || Object.hasOwn(node, 'not');
    if (!isGroup) continue;
    if (depth + 1 > MAX_DEPTH) return path;
    if (Object.hasOwn(node, 'not')) stack.push({ node: node['not'], depth: depth + 1, path: [...path, 'not'] });
    for (const key of ['and', 'or'] as const) {
      const list = node[key];
      if (Array.isArray(list)) for (let i = list.length - 1; i >= 0; i--) stack.push({ node: list[i], depth: depth + 1, path: [...path, key, i] });
    }
  }
  return undefined;
}

/** A segment rule (recursive, strict objects; issues carry JSON paths relative to the rule). */
export const Rule: z.ZodType<RuleNode> = z
  .unknown()
  .superRefine((input, ctx) => {
    const path = tooDeep(input);
    if (path) ctx.addIssue({ code: 'custom', path, message: `nests and/or/not more than ${MAX_DEPTH} levels deep` });
  })
  .pipe(Node);

/** The time zone of a segment's calendar windows (IANA name; offsets such as +02:00 are refused: they know no DST). */
export const RuleTimeZone = z.string(expecting('must be an IANA time zone such as Europe/Berlin')).refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin');

/** A segment definition's rule part: `{ rule, timezone? }` (timezone defaults to UTC). */
export const SegmentRuleDefinition = z.strictObject({ rule: Rule, timezone: RuleTimeZone.default('UTC') });

// ---------------------------------------------------------------------------------------------
// References

/** Segment ids the rule refers to directly, in order of appearance, each once (no validation: tolerant of any shape). */
export function referencedSegments(rule: RuleNode): string[] {
  const found = new Set<string>();
  const walk = (node: unknown): void => {
    if (!isPlainObject(node)) return;
    if (typeof node['segment'] === 'string') found.add(node['segment']);
    for (const key of ['and', 'or'] as const) {
      const list = node[key];
      if (Array.isArray(list)) list.forEach(walk);
    }
    if (Object.hasOwn(node, 'not')) walk(node['not']);
  };
  walk(rule);
  return [...found];
}

/** A learned score a rule compares, at the JSON path of its `score` key (`rule.and[1].score`). */
export interface LearnedScoreUse {
  path: string;
  score: LearnedScoreName;
}

/** The learned scores the rule itself compares (not those of the segments it refers to), in order of appearance. */
export function learnedScoresIn(rule: RuleNode, base = 'rule'): LearnedScoreUse[] {
  const found: LearnedScoreUse[] = [];
  const walk = (node: unknown, path: string): void => {
    if (!isPlainObject(node)) return;
    const score = node['score'];
    if (typeof score === 'string' && isLearnedScoreName(score)) found.push({ path: `${path}.score`, score });
    for (const key of ['and', 'or'] as const) {
      const list = node[key];
      if (Array.isArray(list)) list.forEach((child, i) => walk(child, `${path}.${key}[${i}]`));
    }
    if (Object.hasOwn(node, 'not')) walk(node['not'], `${path}.not`);
  };
  walk(rule, base);
  return found;
}

/**
 * The first cycle reachable from `start` following `edges`, as the path from the segment where it
 * closes back to that segment (A→B→C→A gives ['A', 'B', 'C', 'A']), or undefined.
 */
export function findCycle(start: string, edges: (id: string) => string[]): string[] | undefined {
  const done = new Set<string>();
  const onPath: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const at = onPath.indexOf(id);
    if (at >= 0) return [...onPath.slice(at), id];
    if (done.has(id)) return undefined;
    onPath.push(id);
    for (const next of edges(id)) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    onPath.pop();
    done.add(id);
    return undefined;
  };
  return visit(start);
}

// ---------------------------------------------------------------------------------------------
// Compilation

export interface CompileOptions {
  /** The instant relative windows count back from. */
  now: Date;
  /** IANA zone of calendar windows and date literals; default UTC. */
  timezone?: string;
  /** Compiled rules of the segments this rule refers to. */
  resolveSegment?: (id: string) => CompiledRule | undefined;
}

export interface CompiledRule {
  test(contact: EvalContact): boolean;
  /** Segments referred to directly (not those their rules refer to). */
  referencedSegments: string[];
  /** Reads behaviour counters (directly or through a referenced segment): the activity index must be loaded. */
  usesBehaviour: boolean;
  /** Reads consent or suppression state (reachable, consent, suppressed; directly or through a referenced segment). */
  usesReachability: boolean;
}

type Test = (contact: EvalContact) => boolean;
/** A compiled node with a rough relative cost, so and/or try cheap children first. */
interface Compiled {
  test: Test;
  cost: number;
}
type Read = (contact: EvalContact) => unknown;
type Predicate = (value: unknown) => boolean;

interface CompileState {
  nowMs: number;
  timezone: string;
  resolveSegment: ((id: string) => CompiledRule | undefined) | undefined;
  issues: ValidationIssue[];
  refs: Set<string>;
  usesBehaviour: boolean;
  usesReachability: boolean;
}

const NEVER: Compiled = { test: () => false, cost: 0 };

/**
 * Validates and compiles a rule. Problems the schema cannot see (an unknown referenced segment, a
 * bad time zone) throw a ValidationError whose paths match `{ rule, timezone }` (`rule.and[2].segment`).
 */
export function compileRule(rule: RuleNode, options: CompileOptions): CompiledRule {
  const nowMs = options.now instanceof Date ? options.now.getTime() : NaN;
  if (Number.isNaN(nowMs)) throw new TypeError('compileRule needs a valid `now` Date');
  const timezone = options.timezone ?? 'UTC';
  if (!isTimeZone(timezone)) throw new ValidationError([{ path: 'timezone', message: 'must be an IANA time zone such as Europe/Berlin' }]);
  // Re-validated here too: stored or hand-built rules reach the compiler without the API's parse.
  const parsed = Rule.safeParse(rule);
  if (!parsed.success) throw new ValidationError(issuesFromZod(parsed.error.issues, 'rule'));
  const state: CompileState = {
    nowMs,
    timezone,
    resolveSegment: options.resolveSegment,
    issues: [],
    refs: new Set(),
    usesBehaviour: false,
    usesReachability: false,
  };
  const { test } = compileNode(parsed.data, 'rule', state);
  if (state.issues.length) throw new ValidationError(state.issues);
  return { test, referencedSegments: [...state.refs], usesBehaviour: state.usesBehaviour, usesReachability: state.usesReachability };
}

function compileNode(node: RuleNode, path: string, state: CompileState): Compiled {
  if ('and' in node) return combine('and', node.and.map((child, i) => compileNode(child, `${path}.and[${i}]`, state)));
  if ('or' in node) return combine('or', node.or.map((child, i) => compileNode(child, `${path}.or[${i}]`, state)));
  if ('not' in node) {
    const inner = compileNode(node.not, `${path}.not`, state);
    const t = inner.test;
    return { test: (c) => !t(c), cost: inner.cost };
  }
  if ('field' in node) return compileField(node, path, state);
  if ('score' in node) return compileScore(node);
  if ('behaviour' in node) return compileBehaviour(node.behaviour, state);
  if ('reachable' in node) {
    state.usesReachability = true;
    const channel = node.reachable;
    return { test: (c) => reachable(c, channel), cost: 1 };
  }
  if ('consent' in node) {
    state.usesReachability = true;
    const { channel, status } = node.consent;
    const wanted = status === 'none' ? undefined : status;
    return { test: (c) => c.consent[channel] === wanted, cost: 1 };
  }
  if ('suppressed' in node) {
    state.usesReachability = true;
    const channel = node.suppressed;
    return { test: (c) => c.suppressed[channel] === true, cost: 1 };
  }
  if ('hasAddress' in node) {
    return { test: node.hasAddress === 'email' ? (c) => Boolean(c.email) : (c) => Boolean(c.phone), cost: 1 };
  }
  return compileSegmentRef(node.segment, path, state);
}

function combine(kind: 'and' | 'or', parts: Compiled[]): Compiled {
  // Stable sort: equal-cost children keep the marketer's order.
  const sorted = [...parts].sort((a, b) => a.cost - b.cost);
  const cost = sorted.reduce((sum, p) => sum + p.cost, 0);
  const tests = sorted.map((p) => p.test);
  const [a, b, c] = tests;
  if (tests.length === 1) return { test: a!, cost };
  if (kind === 'and') {
    if (tests.length === 2) return { test: (x) => a!(x) && b!(x), cost };
    if (tests.length === 3) return { test: (x) => a!(x) && b!(x) && c!(x), cost };
    return {
      test: (x) => {
        for (let i = 0; i < tests.length; i++) if (!tests[i]!(x)) return false;
        return true;
      },
      cost,
    };
  }
  if (tests.length === 2) return { test: (x) => a!(x) || b!(x), cost };
  if (tests.length === 3) return { test: (x) => a!(x) || b!(x) || c!(x), cost };
  return {
    test: (x) => {
      for (let i = 0; i < tests.length; i++) if (tests[i]!(x)) return true;
      return false;
    },
    cost,
  };
}

function compileSegmentRef(id: string, path: string, state: CompileState): Compiled {
  state.refs.add(id);
  const target = state.resolveSegment?.(id);
  if (!target) {
    state.issues.push({ path: `${path}.segment`, message: `refers to segment ${id}, which does not exist` });
    return NEVER;
  }
  if (target.usesBehaviour) state.usesBehaviour = true;
  if (target.usesReachability) state.usesReachability = true;
  return { test: (c) => target.test(c), cost: 5 };
}

// --- fields

const isPresent = (v: unknown): boolean => v !== undefined && v !== null && v !== '';

const readEmail: Read = (c) => c.email;
const readPhone: Read = (c) => c.phone;
const readCountry: Read = (c) => c.country;
const readTimezone: Read = (c) => c.timezone;
const readCreatedAt: Read = (c) => c.createdAt;
const readUpdatedAt: Read = (c) => c.updatedAt;
const BUILT_IN_READERS: Record<Exclude<BuiltInField, 'tags'>, Read> = {
  email: readEmail,
  phone: readPhone,
  country: readCountry,
  timezone: readTimezone,
  createdAt: readCreatedAt,
  updatedAt: readUpdatedAt,
};

function readerFor(field: Exclude<FieldName, 'tags'>): Read {
  if (!field.startsWith('attributes.')) return BUILT_IN_READERS[field as Exclude<BuiltInField, 'tags'>];
  const name = field.slice('attributes.'.length);
  // "constructor", "toString"… would otherwise read Object.prototype on every contact.
  if (name in Object.prototype) return (c) => (Object.hasOwn(c.attributes, name) ? c.attributes[name] : undefined);
  return (c) => c.attributes[name];
}

function numberPredicate(op: 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte', n: number): Predicate {
  switch (op) {
    case 'eq':
      return (v) => v === n;
    case 'neq':
      return (v) => typeof v === 'number' && v !== n;
    case 'gt':
      return (v) => typeof v === 'number' && v > n;
    case 'gte':
      return (v) => typeof v === 'number' && v >= n;
    case 'lt':
      return (v) => typeof v === 'number' && v < n;
    case 'lte':
      return (v) => typeof v === 'number' && v <= n;
  }
}

function datePredicate(lo: Bound, hi: Bound, negate: boolean): Predicate {
  const wanted = negate ? OUTSIDE : INSIDE;
  return (v) => dateState(v, lo, hi) === wanted;
}

function compileField(cond: FieldCondition, path: string, state: CompileState): Compiled {
  if (cond.field === 'tags') return compileTags(cond);
  const read = readerFor(cond.field);
  const tz = state.timezone;
  // Stored emails are lower-case: lowering the rule's values once makes email matching case-insensitive for free.
  const fold = cond.field === 'email' ? (s: string) => s.toLowerCase() : (s: string) => s;
  let predicate: Predicate;
  let cost = 1;
  switch (cond.op) {
    case 'exists':
      predicate = cond.value ? isPresent : (v) => !isPresent(v);
      break;
    case 'eq':
    case 'neq': {
      const negate = cond.op === 'neq';
      const value = cond.value;
      if (isDateValue(value)) {
        const { lo, hi } = literalRange(value, tz);
        predicate = datePredicate(lo, hi, negate);
        cost = 2;
      } else {
        const v = typeof value === 'string' ? fold(value) : value;
        predicate = negate ? (x) => isPresent(x) && x !== v : (x) => x === v;
      }
      break;
    }
    case 'in': {
      const set = new Set<unknown>(cond.values.map((v) => (typeof v === 'string' ? fold(v) : v)));
      predicate = (x) => set.has(x);
      break;
    }
    case 'contains': {
      const s = fold(cond.value);
      predicate = (x) => typeof x === 'string' && x.includes(s);
      break;
    }
    case 'startsWith': {
      const s = fold(cond.value);
      predicate = (x) => typeof x === 'string' && x.startsWith(s);
      break;
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const value = cond.value;
      if (typeof value === 'number') {
        predicate = numberPredicate(cond.op, value);
      } else {
        const { lo, hi } = literalRange(value, tz);
        predicate =
          cond.op === 'gt' ? datePredicate(hi, OPEN_HIGH, false) : cond.op === 'gte' ? datePredicate(lo, OPEN_HIGH, false) : cond.op === 'lt' ? datePredicate(OPEN_LOW, lo, false) : datePredicate(OPEN_LOW, hi, false);
        cost = 2;
      }
      break;
    }
    case 'between': {
      const [low, high] = cond.values;
      if (typeof low === 'number' && typeof high === 'number') {
        predicate = (x) => typeof x === 'number' && x >= low && x <= high;
      } else {
        const lo = literalRange(low as DateValue, tz).lo;
        const hi = literalRange(high as DateValue, tz).hi;
        if (lo.ms >= hi.ms) state.issues.push({ path: `${path}.values`, message: `the low date must not be after the high date (in ${tz})` });
        predicate = datePredicate(lo, hi, false);
        cost = 2;
      }
      break;
    }
    case 'withinLast':
    case 'moreThanAgo': {
      const threshold = boundAt(relativeThreshold(new Date(state.nowMs), cond.amount, cond.unit, tz).getTime(), tz);
      predicate = cond.op === 'withinLast' ? datePredicate(threshold, OPEN_HIGH, false) : datePredicate(OPEN_LOW, threshold, false);
      cost = 2;
      break;
    }
  }
  const p = predicate;
  return { test: (c) => p(read(c)), cost };
}

function compileTags(cond: FieldCondition): Compiled {
  switch (cond.op) {
    case 'contains': {
      const tag = cond.value;
      return { test: (c) => c.tags.includes(tag), cost: 2 };
    }
    case 'in': {
      const set = new Set<unknown>(cond.values);
      return {
        test: (c) => {
          const tags = c.tags;
          for (let i = 0; i < tags.length; i++) if (set.has(tags[i])) return true;
          return false;
        },
        cost: 2,
      };
    }
    case 'exists':
      return { test: cond.value ? (c) => c.tags.length > 0 : (c) => c.tags.length === 0, cost: 1 };
    default:
      // The schema only lets contains, in and exists through for tags.
      throw new Error(`op ${cond.op} on tags passed validation`);
  }
}

// --- scores and behaviour

type ScoreRead = (scores: Scores) => number | null;
const SCORE_READERS: Record<FixedScoreName, ScoreRead> = {
  engagement: (s) => s.engagement,
  lead: (s) => s.lead,
  'propensity.email': (s) => s.propensity.email.mean,
  'propensity.sms': (s) => s.propensity.sms.mean,
  'value.monetary': (s) => s.value.monetary,
  'value.frequency': (s) => s.value.frequency,
  'value.recency': (s) => s.value.recency,
  'value.expectedValue': (s) => s.value.expectedValue,
  bestHour: (s) => s.bestHour,
};

/**
 * The one reader of every learned score: `scores.models[name]`, null when the contact has none
 * (no scoring pass yet, the model not active, or no value for this contact) or when what is stored
 * is not a finite number.
 */
export function learnedScoreReader(name: LearnedScoreName): ScoreRead {
  return (s) => {
    const models = s.models;
    if (!models || !Object.hasOwn(models, name)) return null;
    const x = models[name];
    return typeof x === 'number' && Number.isFinite(x) ? x : null;
  };
}

/** The reader of a score name: the fixed scores' own fields, else `scores.models`. */
export function scoreReader(name: ScoreName): ScoreRead {
  return isFixedScoreName(name) ? SCORE_READERS[name] : learnedScoreReader(name);
}

function compileScore(node: ScoreRule): Compiled {
  const read = scoreReader(node.score);
  if (node.op === 'between') {
    const [low, high] = node.values;
    return {
      test: (c) => {
        const x = read(c.scores);
        return typeof x === 'number' && x >= low && x <= high;
      },
      cost: 1,
    };
  }
  const p = numberPredicate(node.op, node.value);
  return { test: (c) => p(read(c.scores)), cost: 1 };
}

const COUNT_DEFAULT = { op: 'gte', value: 1 } as const;

function compileBehaviour(b: BehaviourRule['behaviour'], state: CompileState): Compiled {
  state.usesBehaviour = true;
  const type = b.name !== undefined ? customCounterType(b.name) : b.type;
  const key = b.campaignId !== undefined ? `${type}|c:${b.campaignId}` : `${type}|${b.channel ?? '*'}`;
  const oldest = hourOf(state.nowMs) - ACTIVITY_RETENTION_DAYS * 24;
  const fromHour = b.within ? Math.max(oldest, hourOf(relativeThreshold(new Date(state.nowMs), b.within.amount, b.within.unit, state.timezone).getTime())) : oldest;
  const count = b.count ?? COUNT_DEFAULT;
  const p = numberPredicate(count.op, count.value);
  return { test: (c) => p(countSince(c.activity.get(key), fromHour)), cost: 4 };
}
