import { describe, expect, test } from 'vitest';
import * as z from 'zod';
import { ValidationError, issuesFromZod } from '../../shared/errors.ts';
import { beta, defaultScores, type Scores } from '../../shared/scoring/model.ts';
import { activityKeys, hourOf, indexActivity } from '../../shared/activity/activity.ts';
import type { EvalContact } from '../../shared/segments/contact-view.ts';
import {
  Rule,
  SegmentRuleDefinition,
  compileRule,
  findCycle,
  isLearnedScoreName,
  isScoreName,
  learnedScoreReader,
  learnedScoresIn,
  referencedSegments,
  scoreReader,
  relativeThreshold,
  type CompileOptions,
  type CompiledRule,
  type RuleNode,
} from '../../shared/segments/rule.ts';

const NOW = new Date('2026-06-15T12:00:00.000Z');
const HOUR = 3_600_000;

function contact(overrides: Partial<EvalContact> = {}, activity?: Record<string, number>, nowMs = NOW.getTime()): EvalContact {
  return {
    id: 'c1',
    email: 'ada@example.com',
    phone: '+447400123456',
    country: 'GB',
    timezone: 'Europe/London',
    tags: ['newsletter', 'vip'],
    createdAt: '2026-06-01T09:30:00.000Z',
    updatedAt: '2026-06-10T09:30:00.000Z',
    attributes: { plan: 'pro', city: 'London', age: 36, lastOrder: '2026-03-01', member: true, blank: '', gone: null },
    consent: { email: 'confirmed', sms: 'pending' },
    suppressed: { email: false, sms: false },
    scores: defaultScores(12),
    activity: indexActivity(activity, nowMs),
    ...overrides,
  };
}

const withAttributes = (attributes: EvalContact['attributes']) => contact({ attributes });
const compile = (rule: RuleNode, options: Partial<CompileOptions> = {}): CompiledRule => compileRule(rule, { now: NOW, ...options });
const matches = (rule: RuleNode, c: EvalContact = contact(), options: Partial<CompileOptions> = {}) => compile(rule, options).test(c);

/** Issues of an invalid rule, as the API reports them inside `{ rule, timezone }`. */
function ruleIssues(input: unknown) {
  const result = SegmentRuleDefinition.safeParse({ rule: input });
  expect(result.success).toBe(false);
  return result.success ? [] : issuesFromZod(result.error.issues);
}

function compileError(run: () => unknown): ValidationError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

const attr = (name: string) => `attributes.${name}` as const;

describe('field operators', () => {
  test.each<[string, RuleNode, boolean]>([
    ['eq text', { field: attr('plan'), op: 'eq', value: 'pro' }, true],
    ['eq text, other value', { field: attr('plan'), op: 'eq', value: 'free' }, false],
    ['eq is case-sensitive', { field: attr('plan'), op: 'eq', value: 'Pro' }, false],
    ['eq number', { field: attr('age'), op: 'eq', value: 36 }, true],
    ['eq number, other value', { field: attr('age'), op: 'eq', value: 37 }, false],
    ['eq does not coerce "36" to 36', { field: attr('age'), op: 'eq', value: '36' }, false],
    ['eq true', { field: attr('member'), op: 'eq', value: true }, true],
    ['eq false', { field: attr('member'), op: 'eq', value: false }, false],
    ['eq country', { field: 'country', op: 'eq', value: 'GB' }, true],
    ['eq country is case-sensitive', { field: 'country', op: 'eq', value: 'gb' }, false],
    ['neq, different', { field: attr('plan'), op: 'neq', value: 'free' }, true],
    ['neq, equal', { field: attr('plan'), op: 'neq', value: 'pro' }, false],
    ['neq, other type is not equal', { field: attr('age'), op: 'neq', value: 'thirty-six' }, true],
    ['in, listed', { field: attr('plan'), op: 'in', values: ['free', 'pro'] }, true],
    ['in, not listed', { field: attr('plan'), op: 'in', values: ['free', 'enterprise'] }, false],
    ['in numbers', { field: attr('age'), op: 'in', values: [18, 36] }, true],
    ['in numbers, not listed', { field: attr('age'), op: 'in', values: [18, 37] }, false],
    ['in country', { field: 'country', op: 'in', values: ['DE', 'GB'] }, true],
    ['in country, case-sensitive', { field: 'country', op: 'in', values: ['gb'] }, false],
    ['contains substring', { field: attr('city'), op: 'contains', value: 'ondo' }, true],
    ['contains, absent substring', { field: attr('city'), op: 'contains', value: 'Paris' }, false],
    ['contains on a number attribute', { field: attr('age'), op: 'contains', value: '3' }, false],
    ['startsWith', { field: attr('city'), op: 'startsWith', value: 'Lon' }, true],
    ['startsWith is case-sensitive', { field: attr('city'), op: 'startsWith', value: 'lon' }, false],
    ['startsWith phone prefix', { field: 'phone', op: 'startsWith', value: '+44' }, true],
    ['startsWith other phone prefix', { field: 'phone', op: 'startsWith', value: '+1' }, false],
    ['timezone eq', { field: 'timezone', op: 'eq', value: 'Europe/London' }, true],
    ['gt below', { field: attr('age'), op: 'gt', value: 35 }, true],
    ['gt equal', { field: attr('age'), op: 'gt', value: 36 }, false],
    ['gte equal', { field: attr('age'), op: 'gte', value: 36 }, true],
    ['gte above', { field: attr('age'), op: 'gte', value: 37 }, false],
    ['lt equal', { field: attr('age'), op: 'lt', value: 36 }, false],
    ['lt above', { field: attr('age'), op: 'lt', value: 40 }, true],
    ['lte equal', { field: attr('age'), op: 'lte', value: 36 }, true],
    ['lte below', { field: attr('age'), op: 'lte', value: 35 }, false],
    ['gt on text', { field: attr('plan'), op: 'gt', value: 3 }, false],
    ['between inside', { field: attr('age'), op: 'between', values: [30, 40] }, true],
    ['between inclusive low', { field: attr('age'), op: 'between', values: [36, 40] }, true],
    ['between inclusive high', { field: attr('age'), op: 'between', values: [30, 36] }, true],
    ['between outside', { field: attr('age'), op: 'between', values: [37, 40] }, false],
    ['exists true on a value', { field: attr('plan'), op: 'exists', value: true }, true],
    ['exists false on a value', { field: attr('plan'), op: 'exists', value: false }, false],
    ['exists true on a missing attribute', { field: attr('nope'), op: 'exists', value: true }, false],
    ['exists false on a missing attribute', { field: attr('nope'), op: 'exists', value: false }, true],
    ['exists: "" is missing', { field: attr('blank'), op: 'exists', value: false }, true],
    ['exists: null is missing', { field: attr('gone'), op: 'exists', value: true }, false],
    ['exists: false is a value', { field: attr('member'), op: 'exists', value: true }, true],
  ])('%s', (_, rule, expected) => {
    expect(matches(rule)).toBe(expected);
  });

  test.each<[string, RuleNode, boolean]>([
    ['contains = has tag', { field: 'tags', op: 'contains', value: 'vip' }, true],
    ['contains is the whole tag, not a substring', { field: 'tags', op: 'contains', value: 'news' }, false],
    ['contains is case-sensitive', { field: 'tags', op: 'contains', value: 'VIP' }, false],
    ['in = has any of them', { field: 'tags', op: 'in', values: ['churned', 'vip'] }, true],
    ['in, none of them', { field: 'tags', op: 'in', values: ['churned', 'beta'] }, false],
    ['in, the first tag', { field: 'tags', op: 'in', values: ['newsletter'] }, true],
    ['exists true', { field: 'tags', op: 'exists', value: true }, true],
    ['exists false', { field: 'tags', op: 'exists', value: false }, false],
  ])('tags: %s', (_, rule, expected) => {
    expect(matches(rule)).toBe(expected);
  });

  test('tags on a contact without tags: exists false, contains false', () => {
    const c = contact({ tags: [] });
    expect(matches({ field: 'tags', op: 'exists', value: false }, c)).toBe(true);
    expect(matches({ field: 'tags', op: 'contains', value: 'vip' }, c)).toBe(false);
    expect(matches({ field: 'tags', op: 'in', values: ['vip'] }, c)).toBe(false);
  });

  test.each<[string, RuleNode, boolean]>([
    ['eq ignores case', { field: 'email', op: 'eq', value: 'Ada@Example.COM' }, true],
    ['eq, other address', { field: 'email', op: 'eq', value: 'bob@example.com' }, false],
    ['neq ignores case', { field: 'email', op: 'neq', value: 'ADA@example.com' }, false],
    ['in ignores case', { field: 'email', op: 'in', values: ['x@example.com', 'ADA@EXAMPLE.COM'] }, true],
    ['contains ignores case', { field: 'email', op: 'contains', value: '@EXAMPLE.' }, true],
    ['startsWith ignores case', { field: 'email', op: 'startsWith', value: 'ADA@' }, true],
    ['startsWith, other prefix', { field: 'email', op: 'startsWith', value: 'bob' }, false],
  ])('email: %s', (_, rule, expected) => {
    expect(matches(rule)).toBe(expected);
  });

  test('attribute names shared with Object.prototype read only the contact’s own attributes', () => {
    expect(matches({ field: attr('constructor'), op: 'exists', value: true })).toBe(false);
    expect(matches({ field: attr('toString'), op: 'exists', value: false })).toBe(true);
    expect(matches({ field: attr('constructor'), op: 'eq', value: 'x' }, withAttributes({ constructor: 'x' }))).toBe(true);
  });
});

describe('missing fields match nothing but exists:false and not(…)', () => {
  const missing = attr('missing');
  const comparisons: RuleNode[] = [
    { field: missing, op: 'eq', value: 'x' },
    { field: missing, op: 'neq', value: 'x' },
    { field: missing, op: 'in', values: ['x', 1, true] },
    { field: missing, op: 'contains', value: 'x' },
    { field: missing, op: 'startsWith', value: 'x' },
    { field: missing, op: 'gt', value: 0 },
    { field: missing, op: 'gte', value: 0 },
    { field: missing, op: 'lt', value: 0 },
    { field: missing, op: 'lte', value: 0 },
    { field: missing, op: 'between', values: [-1e9, 1e9] },
    { field: missing, op: 'eq', value: { date: '2026-06-15' } },
    { field: missing, op: 'neq', value: { date: '2026-06-15' } },
    { field: missing, op: 'gt', value: { date: '2000-01-01' } },
    { field: missing, op: 'lt', value: { date: '2100-01-01' } },
    { field: missing, op: 'withinLast', amount: 100, unit: 'months' },
    { field: missing, op: 'moreThanAgo', amount: 1, unit: 'hours' },
  ];

  test.each(comparisons.map((rule) => [JSON.stringify(rule), rule] as const))('%s is false, its negation true', (_, rule) => {
    expect(matches(rule)).toBe(false);
    expect(matches({ not: rule })).toBe(true);
  });

  test.each([
    ['absent', {}],
    ['null', { missing: null }],
    ['empty text', { missing: '' }],
  ])('%s: neq is false, exists:false is true', (_, attributes) => {
    const c = withAttributes(attributes);
    expect(matches({ field: missing, op: 'neq', value: 'x' }, c)).toBe(false);
    expect(matches({ field: missing, op: 'exists', value: false }, c)).toBe(true);
    expect(matches({ field: missing, op: 'exists', value: true }, c)).toBe(false);
  });

  test('a contact without an email: neq false, not(eq) true, exists:false true', () => {
    const c = contact({ email: undefined });
    expect(matches({ field: 'email', op: 'neq', value: 'bob@example.com' }, c)).toBe(false);
    expect(matches({ not: { field: 'email', op: 'eq', value: 'bob@example.com' } }, c)).toBe(true);
    expect(matches({ field: 'email', op: 'exists', value: false }, c)).toBe(true);
    expect(matches({ field: 'email', op: 'exists', value: false })).toBe(false);
  });

  test('a non-date string matches no date comparison, not even neq', () => {
    const c = withAttributes({ lastOrder: 'soon' });
    for (const rule of [
      { field: attr('lastOrder'), op: 'neq', value: { date: '2026-01-01' } },
      { field: attr('lastOrder'), op: 'lt', value: { date: '2100-01-01' } },
      { field: attr('lastOrder'), op: 'withinLast', amount: 100, unit: 'months' },
    ] satisfies RuleNode[]) {
      expect(matches(rule, c)).toBe(false);
    }
    expect(matches({ field: attr('lastOrder'), op: 'lt', value: { date: '2100-01-01' } }, withAttributes({ lastOrder: '2026-01-01' }))).toBe(true);
  });
});

describe('dates', () => {
  const created = (createdAt: string) => contact({ createdAt });

  test.each<[string, RuleNode, boolean]>([
    ['gt the day before', { field: 'createdAt', op: 'gt', value: { date: '2026-05-31' } }, true],
    ['gt the same day (after the whole day)', { field: 'createdAt', op: 'gt', value: { date: '2026-06-01' } }, false],
    ['gte the same day', { field: 'createdAt', op: 'gte', value: { date: '2026-06-01' } }, true],
    ['lt the same day (before it starts)', { field: 'createdAt', op: 'lt', value: { date: '2026-06-01' } }, false],
    ['lte the same day (includes all of it)', { field: 'createdAt', op: 'lte', value: { date: '2026-06-01' } }, true],
    ['lt the next day', { field: 'createdAt', op: 'lt', value: { date: '2026-06-02' } }, true],
    ['eq the day', { field: 'createdAt', op: 'eq', value: { date: '2026-06-01' } }, true],
    ['eq another day', { field: 'createdAt', op: 'eq', value: { date: '2026-06-02' } }, false],
    ['neq another day', { field: 'createdAt', op: 'neq', value: { date: '2026-06-02' } }, true],
    ['neq the day', { field: 'createdAt', op: 'neq', value: { date: '2026-06-01' } }, false],
    ['gte the exact instant', { field: 'createdAt', op: 'gte', value: { date: '2026-06-01T09:30:00Z' } }, true],
    ['gt the exact instant', { field: 'createdAt', op: 'gt', value: { date: '2026-06-01T09:30:00Z' } }, false],
    ['eq the instant with an offset', { field: 'createdAt', op: 'eq', value: { date: '2026-06-01T11:30:00+02:00' } }, true],
    ['lt an instant a millisecond later', { field: 'createdAt', op: 'lt', value: { date: '2026-06-01T09:30:00.001Z' } }, true],
    ['between days (inclusive)', { field: 'createdAt', op: 'between', values: [{ date: '2026-05-01' }, { date: '2026-06-01' }] }, true],
    ['between later days', { field: 'createdAt', op: 'between', values: [{ date: '2026-06-02' }, { date: '2026-06-30' }] }, false],
    ['updatedAt gt', { field: 'updatedAt', op: 'gt', value: { date: '2026-06-09' } }, true],
  ])('createdAt 2026-06-01T09:30Z: %s', (_, rule, expected) => {
    expect(matches(rule)).toBe(expected);
  });

  test('a calendar day is the day in the rule’s time zone', () => {
    const c = created('2026-06-01T23:30:00.000Z'); // 2 June 01:30 in Berlin
    const onJune2: RuleNode = { field: 'createdAt', op: 'eq', value: { date: '2026-06-02' } };
    expect(matches(onJune2, c, { timezone: 'Europe/Berlin' })).toBe(true);
    expect(matches(onJune2, c, { timezone: 'UTC' })).toBe(false);
    expect(matches({ field: 'createdAt', op: 'lte', value: { date: '2026-06-01' } }, c, { timezone: 'America/New_York' })).toBe(true);
  });

  test('a YYYY-MM-DD attribute is midnight in the rule’s time zone', () => {
    const c = withAttributes({ lastOrder: '2026-03-01' });
    const atOrAfter4Z: RuleNode = { field: attr('lastOrder'), op: 'gte', value: { date: '2026-03-01T04:00:00Z' } };
    expect(matches(atOrAfter4Z, c, { timezone: 'America/New_York' })).toBe(true); // midnight EST = 05:00Z
    expect(matches(atOrAfter4Z, c, { timezone: 'UTC' })).toBe(false);
    const before16Z: RuleNode = { field: attr('lastOrder'), op: 'lt', value: { date: '2026-02-28T16:00:00Z' } };
    expect(matches(before16Z, c, { timezone: 'Asia/Tokyo' })).toBe(true); // midnight JST = 28 Feb 15:00Z
    expect(matches(before16Z, c, { timezone: 'UTC' })).toBe(false);
    expect(matches({ field: attr('lastOrder'), op: 'eq', value: { date: '2026-03-01' } }, c, { timezone: 'Asia/Tokyo' })).toBe(true);
    expect(matches({ field: attr('lastOrder'), op: 'gt', value: { date: '2026-03-01' } }, c)).toBe(false);
  });

  test('attribute instants in other ISO forms are parsed', () => {
    const rule: RuleNode = { field: attr('lastOrder'), op: 'eq', value: { date: '2026-03-01' } };
    expect(matches(rule, withAttributes({ lastOrder: '2026-03-01T23:30:00+01:00' }))).toBe(true); // 22:30Z
    expect(matches(rule, withAttributes({ lastOrder: '2026-03-02T00:30:00+01:00' }))).toBe(true); // 23:30Z on 1 March
    expect(matches(rule, withAttributes({ lastOrder: '2026-03-02T01:30:00+01:00' }))).toBe(false);
    const exact: RuleNode = { field: attr('lastOrder'), op: 'gte', value: { date: '2026-03-01T22:30:00Z' } };
    expect(matches(exact, withAttributes({ lastOrder: '2026-03-01T22:30:00Z' }))).toBe(true);
    expect(matches(exact, withAttributes({ lastOrder: '2026-03-01T22:29:59Z' }))).toBe(false);
    expect(matches(exact, withAttributes({ lastOrder: '2026-03-01T22:30' }))).toBe(false); // no offset: not an instant
  });

  test('a between whose range is empty in the rule’s time zone is refused at compile time', () => {
    const rule: RuleNode = { field: 'createdAt', op: 'between', values: [{ date: '2026-06-02' }, { date: '2026-06-01T12:00:00Z' }] };
    const error = compileError(() => compile(rule, { timezone: 'Europe/Berlin' }));
    expect(error.issues).toEqual([{ path: 'rule.values', message: expect.stringContaining('the low date must not be after the high date') }]);
  });
});

describe('and / or / not', () => {
  const yes: RuleNode = { field: attr('plan'), op: 'eq', value: 'pro' };
  const no: RuleNode = { field: attr('plan'), op: 'eq', value: 'free' };

  test.each([1, 2, 3, 4, 5])('and of %i children is true only when all are', (n) => {
    expect(matches({ and: Array.from({ length: n }, () => yes) })).toBe(true);
    for (let falseAt = 0; falseAt < n; falseAt++) {
      expect(matches({ and: Array.from({ length: n }, (_, i) => (i === falseAt ? no : yes)) })).toBe(false);
    }
  });

  test.each([1, 2, 3, 4, 5])('or of %i children is true when any is', (n) => {
    expect(matches({ or: Array.from({ length: n }, () => no) })).toBe(false);
    for (let trueAt = 0; trueAt < n; trueAt++) {
      expect(matches({ or: Array.from({ length: n }, (_, i) => (i === trueAt ? yes : no)) })).toBe(true);
    }
  });

  test('not inverts', () => {
    expect(matches({ not: yes })).toBe(false);
    expect(matches({ not: no })).toBe(true);
  });

  test('ten nested levels are allowed and evaluated', () => {
    let rule: RuleNode = yes;
    for (let i = 0; i < 10; i++) rule = i % 2 ? { not: rule } : { and: [rule, yes] };
    expect(matches(rule)).toBe(false); // 5 nots around true
    // and > or > not > and > or > not > and > or > not > not(false): 10 levels
    expect(matches({ and: [{ or: [{ not: { and: [{ or: [{ not: { and: [{ or: [{ not: { not: no } }] }] } }] }] } }] }] })).toBe(false);
    expect(matches({ and: [{ or: [{ not: { and: [{ or: [{ not: { and: [{ or: [{ not: { not: yes } }] }] } }] }] } }] }] })).toBe(true);
  });

  test('a mixed rule: (pro or enterprise) and not churned and (GB or created this month)', () => {
    const rule: RuleNode = {
      and: [
        { or: [yes, { field: attr('plan'), op: 'eq', value: 'enterprise' }] },
        { not: { field: 'tags', op: 'contains', value: 'churned' } },
        { or: [{ field: 'country', op: 'eq', value: 'GB' }, { field: 'createdAt', op: 'withinLast', amount: 1, unit: 'months' }] },
      ],
    };
    expect(matches(rule)).toBe(true);
    expect(matches(rule, contact({ tags: ['churned'] }))).toBe(false);
    expect(matches(rule, contact({ country: 'DE', createdAt: '2026-06-01T00:00:00.000Z' }))).toBe(true);
    expect(matches(rule, contact({ country: 'DE', createdAt: '2026-05-01T00:00:00.000Z' }))).toBe(false);
  });

  test('cheap children run first, with the same answers (behaviour child listed first)', () => {
    const rule: RuleNode = { and: [{ behaviour: { type: 'clicked' } }, yes] };
    const clicked = contact({}, { [`clicked|email|${hourOf(NOW.getTime()) - 1}`]: 1 });
    expect(matches(rule, clicked)).toBe(true);
    expect(matches(rule)).toBe(false);
    expect(matches({ or: [{ behaviour: { type: 'clicked' } }, no] }, clicked)).toBe(true);
  });
});

describe('relativeThreshold (calendar units in the time zone)', () => {
  const hoursBetween = (a: Date, b: Date) => (a.getTime() - b.getTime()) / HOUR;

  test('a day across the New York spring-forward change (8 March 2026) is 23 hours', () => {
    const now = new Date('2026-03-08T16:00:00Z'); // 12:00 EDT
    const from = relativeThreshold(now, 1, 'days', 'America/New_York');
    expect(from.toISOString()).toBe('2026-03-07T17:00:00.000Z'); // 12:00 EST
    expect(hoursBetween(now, from)).toBe(23);
  });

  test('the same window a day later is 24 hours again; in 2025 the change was on 9 March', () => {
    expect(hoursBetween(new Date('2026-03-09T16:00:00Z'), relativeThreshold(new Date('2026-03-09T16:00:00Z'), 1, 'days', 'America/New_York'))).toBe(24);
    const now2025 = new Date('2025-03-09T16:00:00Z'); // 12:00 EDT on 9 March 2025
    expect(hoursBetween(now2025, relativeThreshold(now2025, 1, 'days', 'America/New_York'))).toBe(23);
  });

  test('a day across the Berlin fall-back change (25 October 2026) is 25 hours', () => {
    const now = new Date('2026-10-25T11:00:00Z'); // 12:00 CET
    const from = relativeThreshold(now, 1, 'days', 'Europe/Berlin');
    expect(from.toISOString()).toBe('2026-10-24T10:00:00.000Z'); // 12:00 CEST
    expect(hoursBetween(now, from)).toBe(25);
    expect(hoursBetween(now, relativeThreshold(now, 1, 'days', 'UTC'))).toBe(24);
  });

  test('hours are exact, also across a change', () => {
    const now = new Date('2026-03-08T16:00:00Z');
    expect(hoursBetween(now, relativeThreshold(now, 24, 'hours', 'America/New_York'))).toBe(24);
  });

  test('weeks are 7 calendar days', () => {
    const now = new Date('2026-03-15T16:00:00Z'); // 12:00 EDT
    expect(relativeThreshold(now, 2, 'weeks', 'America/New_York').toISOString()).toBe('2026-03-01T17:00:00.000Z'); // 12:00 EST
  });

  test.each([
    ['2026-03-31T10:00:00.000Z', 1, '2026-02-28T10:00:00.000Z'],
    ['2028-03-31T10:00:00.000Z', 1, '2028-02-29T10:00:00.000Z'],
    ['2026-05-31T10:00:00.000Z', 3, '2026-02-28T10:00:00.000Z'],
    ['2026-01-31T10:00:00.000Z', 2, '2025-11-30T10:00:00.000Z'],
    ['2026-03-15T10:00:00.000Z', 13, '2025-02-15T10:00:00.000Z'],
    ['2026-07-31T10:00:00.000Z', 1, '2026-06-30T10:00:00.000Z'],
  ])('months: %s minus %i month(s) is %s', (now, months, expected) => {
    expect(relativeThreshold(new Date(now), months, 'months', 'UTC').toISOString()).toBe(expected);
  });

  test('months keep the local time across DST (Berlin, 31 March back to 28 February)', () => {
    const now = new Date('2026-03-31T10:00:00Z'); // 12:00 CEST
    expect(relativeThreshold(now, 1, 'months', 'Europe/Berlin').toISOString()).toBe('2026-02-28T11:00:00.000Z'); // 12:00 CET
  });

  test('a wall-clock time that does not exist moves forward past the gap', () => {
    const now = new Date('2026-03-09T06:30:00Z'); // 02:30 EDT; 02:30 on 8 March did not exist
    expect(relativeThreshold(now, 1, 'days', 'America/New_York').toISOString()).toBe('2026-03-08T07:30:00.000Z'); // 03:30 EDT
  });

  test('milliseconds are kept', () => {
    expect(relativeThreshold(new Date('2026-06-15T12:00:00.123Z'), 1, 'days', 'Europe/Berlin').toISOString()).toBe('2026-06-14T12:00:00.123Z');
  });
});

describe('withinLast / moreThanAgo on fields', () => {
  const nyNow = new Date('2026-03-08T16:00:00Z');
  const withinDay: RuleNode = { field: 'createdAt', op: 'withinLast', amount: 1, unit: 'days' };
  const olderThanDay: RuleNode = { field: 'createdAt', op: 'moreThanAgo', amount: 1, unit: 'days' };

  test('the threshold itself is within; a millisecond earlier is more than ago (New York, 23-hour day)', () => {
    const options = { now: nyNow, timezone: 'America/New_York' };
    expect(matches(withinDay, contact({ createdAt: '2026-03-07T17:00:00.000Z' }), options)).toBe(true);
    expect(matches(olderThanDay, contact({ createdAt: '2026-03-07T17:00:00.000Z' }), options)).toBe(false);
    expect(matches(withinDay, contact({ createdAt: '2026-03-07T16:59:59.999Z' }), options)).toBe(false);
    expect(matches(olderThanDay, contact({ createdAt: '2026-03-07T16:59:59.999Z' }), options)).toBe(true);
  });

  test('the same instant is within a UTC day but not a New York one', () => {
    const c = contact({ createdAt: '2026-03-07T16:30:00.000Z' });
    expect(matches(withinDay, c, { now: nyNow, timezone: 'UTC' })).toBe(true);
    expect(matches(withinDay, c, { now: nyNow, timezone: 'America/New_York' })).toBe(false);
  });

  test('Berlin fall back: 25 hours ago is still within the last day', () => {
    const now = new Date('2026-10-25T11:00:00Z');
    const c = contact({ createdAt: '2026-10-24T10:00:00.000Z' });
    expect(matches(withinDay, c, { now, timezone: 'Europe/Berlin' })).toBe(true);
    expect(matches(withinDay, c, { now, timezone: 'UTC' })).toBe(false);
  });

  test('date-only attributes compare as local midnights', () => {
    const options = { now: nyNow, timezone: 'America/New_York' };
    const within: RuleNode = { field: attr('lastOrder'), op: 'withinLast', amount: 1, unit: 'days' };
    const older: RuleNode = { field: attr('lastOrder'), op: 'moreThanAgo', amount: 1, unit: 'days' };
    expect(matches(within, withAttributes({ lastOrder: '2026-03-07' }), options)).toBe(false); // midnight 7 March < 12:00 7 March
    expect(matches(older, withAttributes({ lastOrder: '2026-03-07' }), options)).toBe(true);
    expect(matches(within, withAttributes({ lastOrder: '2026-03-08' }), options)).toBe(true);
    expect(matches(older, withAttributes({ lastOrder: '2026-03-08' }), options)).toBe(false);
  });

  test('months: within the last month from 31 March reaches back to 28 February', () => {
    const now = new Date('2026-03-31T10:00:00Z');
    const rule: RuleNode = { field: attr('lastOrder'), op: 'withinLast', amount: 1, unit: 'months' };
    expect(matches(rule, withAttributes({ lastOrder: '2026-02-28T10:00:00.000Z' }), { now })).toBe(true);
    expect(matches(rule, withAttributes({ lastOrder: '2026-02-28T09:59:59.999Z' }), { now })).toBe(false);
    expect(matches(rule, withAttributes({ lastOrder: '2026-03-01' }), { now })).toBe(true);
    expect(matches(rule, withAttributes({ lastOrder: '2026-02-28' }), { now })).toBe(false); // midnight is before 10:00
  });

  test('exact hours', () => {
    const rule: RuleNode = { field: 'updatedAt', op: 'withinLast', amount: 3, unit: 'hours' };
    expect(matches(rule, contact({ updatedAt: '2026-06-15T09:00:00.000Z' }))).toBe(true);
    expect(matches(rule, contact({ updatedAt: '2026-06-15T08:59:59.999Z' }))).toBe(false);
  });
});

describe('behaviour', () => {
  const H = hourOf(NOW.getTime()); // NOW is on the hour
  const at = (type: string, scope: string, hour: number, count = 1) => ({ [`${type}|${scope}|${hour}`]: count });
  const clickedEmail = (within?: { amount: number; unit: 'hours' | 'days' | 'weeks' | 'months' }, count?: { op: 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte'; value: number }): RuleNode => ({
    behaviour: { type: 'clicked', channel: 'email', ...(within ? { within } : {}), ...(count ? { count } : {}) },
  });

  test('the window starts at the hour that holds now − within (on the hour: that hour counts, the one before not)', () => {
    const rule = clickedEmail({ amount: 24, unit: 'hours' });
    expect(matches(rule, contact({}, at('clicked', 'email', H - 24)))).toBe(true);
    expect(matches(rule, contact({}, at('clicked', 'email', H - 25)))).toBe(false);
  });

  test('mid-hour, the window is rounded outward to the start of the hour', () => {
    const now = new Date(NOW.getTime() + 30 * 60_000); // 12:30
    const rule = clickedEmail({ amount: 1, unit: 'hours' }); // from 11:30 → counters of the 11:00 hour count
    expect(matches(rule, contact({}, at('clicked', 'email', H - 1)), { now })).toBe(true);
    expect(matches(rule, contact({}, at('clicked', 'email', H - 2)), { now })).toBe(false);
    expect(matches(rule, contact({}, at('clicked', 'email', H)), { now })).toBe(true);
  });

  test('calendar days in the rule’s time zone (23-hour day in New York)', () => {
    const now = new Date('2026-03-08T16:00:00Z');
    const hour = hourOf(now.getTime());
    const rule = clickedEmail({ amount: 1, unit: 'days' });
    const c = contact({}, at('clicked', 'email', hour - 24), now.getTime());
    expect(matches(rule, c, { now, timezone: 'UTC' })).toBe(true);
    expect(matches(rule, c, { now, timezone: 'America/New_York' })).toBe(false);
    expect(matches(rule, contact({}, at('clicked', 'email', hour - 23), now.getTime()), { now, timezone: 'America/New_York' })).toBe(true);
  });

  test('channel: a specific channel or any channel', () => {
    const c = contact({}, at('clicked', 'sms', H - 2));
    expect(matches(clickedEmail(), c)).toBe(false);
    expect(matches({ behaviour: { type: 'clicked', channel: 'sms' } }, c)).toBe(true);
    expect(matches({ behaviour: { type: 'clicked' } }, c)).toBe(true);
    expect(matches({ behaviour: { type: 'opened' } }, c)).toBe(false);
  });

  test('campaign-scoped behaviour reads the campaign series', () => {
    const c = contact({}, { ...at('clicked', 'email', H - 2), ...at('clicked', 'c:cmp-1', H - 2) });
    expect(matches({ behaviour: { type: 'clicked', campaignId: 'cmp-1' } }, c)).toBe(true);
    expect(matches({ behaviour: { type: 'clicked', campaignId: 'cmp-2' } }, c)).toBe(false);
    // campaign counters do not leak into the any-channel series twice
    expect(matches({ behaviour: { type: 'clicked', count: { op: 'eq', value: 1 } } }, c)).toBe(true);
  });

  test.each<['eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte', number, boolean]>([
    ['eq', 3, true],
    ['eq', 2, false],
    ['neq', 2, true],
    ['neq', 3, false],
    ['gt', 2, true],
    ['gt', 3, false],
    ['gte', 3, true],
    ['gte', 4, false],
    ['lt', 4, true],
    ['lt', 3, false],
    ['lte', 3, true],
    ['lte', 2, false],
  ])('count %s %i over counts 1 + 2 in the window (and 5 outside it)', (op, value, expected) => {
    const c = contact({}, { ...at('clicked', 'email', H - 1), ...at('clicked', 'email', H - 20, 2), ...at('clicked', 'email', H - 24 * 40, 5) });
    expect(matches(clickedEmail({ amount: 30, unit: 'days' }, { op, value }), c)).toBe(expected);
  });

  test('"no conversion in 90 days": count eq 0, also with no counters at all', () => {
    const rule: RuleNode = { behaviour: { type: 'converted', within: { amount: 90, unit: 'days' }, count: { op: 'eq', value: 0 } } };
    expect(matches(rule)).toBe(true);
    expect(matches(rule, contact({}, at('converted', 'email', H - 24 * 100)))).toBe(true);
    expect(matches(rule, contact({}, at('converted', 'email', H - 24 * 80)))).toBe(false);
  });

  test('without within: all retained history; without count: at least once', () => {
    const c = contact({}, at('opened', 'email', H - 24 * 300));
    expect(matches({ behaviour: { type: 'opened' } }, c)).toBe(true);
    expect(matches({ behaviour: { type: 'opened', within: { amount: 30, unit: 'days' } } }, c)).toBe(false);
    expect(matches({ behaviour: { type: 'opened' } })).toBe(false);
  });

  test('without within, counters older than 400 days before now are ignored even if the index still holds them', () => {
    const builtEarlier = NOW.getTime() - 10 * 24 * HOUR; // an index read ten days ago keeps 10 more days of history
    const c = contact({}, at('opened', 'email', H - 24 * 405), builtEarlier);
    expect(c.activity.size).toBeGreaterThan(0);
    expect(matches({ behaviour: { type: 'opened' } }, c)).toBe(false);
    expect(matches({ behaviour: { type: 'opened' } }, contact({}, at('opened', 'email', H - 24 * 399), builtEarlier))).toBe(true);
  });

  test('site events: visits and page views by type; a custom event by name, or any custom event', () => {
    // Counters as activityKeys writes them for one "added_to_cart" and two visits.
    const keys = [
      ...activityKeys({ type: 'custom', occurredAt: new Date(NOW.getTime() - 2 * HOUR).toISOString(), data: { name: 'added_to_cart' } }),
      ...activityKeys({ type: 'visited', occurredAt: new Date(NOW.getTime() - 3 * HOUR).toISOString() }),
      ...activityKeys({ type: 'visited', occurredAt: new Date(NOW.getTime() - 30 * 24 * HOUR).toISOString() }),
    ];
    const c = contact({}, Object.fromEntries([...new Set(keys)].map((k) => [k, keys.filter((x) => x === k).length])));
    expect(matches({ behaviour: { type: 'custom', name: 'added_to_cart' } }, c)).toBe(true);
    expect(matches({ behaviour: { type: 'custom', name: 'trial_started' } }, c)).toBe(false);
    expect(matches({ behaviour: { type: 'custom', count: { op: 'eq', value: 1 } } }, c)).toBe(true);
    expect(matches({ behaviour: { type: 'visited', within: { amount: 7, unit: 'days' }, count: { op: 'eq', value: 1 } } }, c)).toBe(true);
    expect(matches({ behaviour: { type: 'visited', count: { op: 'eq', value: 2 } } }, c)).toBe(true);
    expect(matches({ behaviour: { type: 'page_viewed' } }, c)).toBe(false);
    expect(ruleIssues({ behaviour: { type: 'clicked', name: 'added_to_cart' } })).toEqual([{ path: 'rule.behaviour.name', message: 'names a custom event: only with type "custom"' }]);
    expect(ruleIssues({ behaviour: { type: 'custom', name: 'a|b' } }).map((i) => i.path)).toEqual(['rule.behaviour.name']);
  });

  test('usesBehaviour', () => {
    expect(compile({ behaviour: { type: 'opened' } }).usesBehaviour).toBe(true);
    expect(compile({ not: { and: [{ field: 'country', op: 'eq', value: 'GB' }, { behaviour: { type: 'opened' } }] } }).usesBehaviour).toBe(true);
    expect(compile({ field: 'country', op: 'eq', value: 'GB' }).usesBehaviour).toBe(false);
  });
});

describe('scores', () => {
  const scored = (changes: Partial<Scores>) => contact({ scores: { ...defaultScores(40), ...changes } });
  const c = scored({
    engagement: 0.62,
    propensity: { email: beta(3, 27), sms: beta(1, 99) }, // 0.1 and 0.01
    value: { recency: null, frequency: 4, monetary: 420, expectedValue: 105 },
    bestHour: 9,
  });

  test.each<[string, RuleNode, boolean]>([
    ['propensity.email gte 0.1', { score: 'propensity.email', op: 'gte', value: 0.1 }, true],
    ['propensity.email gt 0.1', { score: 'propensity.email', op: 'gt', value: 0.1 }, false],
    ['propensity.sms lt 0.05', { score: 'propensity.sms', op: 'lt', value: 0.05 }, true],
    ['propensity.sms gte 0.05', { score: 'propensity.sms', op: 'gte', value: 0.05 }, false],
    ['engagement between 0.5 and 0.7', { score: 'engagement', op: 'between', values: [0.5, 0.7] }, true],
    ['engagement between 0.7 and 1', { score: 'engagement', op: 'between', values: [0.7, 1] }, false],
    ['lead eq 40', { score: 'lead', op: 'eq', value: 40 }, true],
    ['lead neq 40', { score: 'lead', op: 'neq', value: 40 }, false],
    ['lead lte 39', { score: 'lead', op: 'lte', value: 39 }, false],
    ['value.monetary gt 400', { score: 'value.monetary', op: 'gt', value: 400 }, true],
    ['value.frequency gte 5', { score: 'value.frequency', op: 'gte', value: 5 }, false],
    ['value.expectedValue eq 105', { score: 'value.expectedValue', op: 'eq', value: 105 }, true],
    ['bestHour eq 9', { score: 'bestHour', op: 'eq', value: 9 }, true],
    ['lead between 40 and 50 (inclusive low)', { score: 'lead', op: 'between', values: [40, 50] }, true],
    ['lead between 30 and 40 (inclusive high)', { score: 'lead', op: 'between', values: [30, 40] }, true],
    ['lead between 41 and 50', { score: 'lead', op: 'between', values: [41, 50] }, false],
    ['bestHour between 10 and 12', { score: 'bestHour', op: 'between', values: [10, 12] }, false],
  ])('%s', (_, rule, expected) => {
    expect(matches(rule, c)).toBe(expected);
  });

  test('a null score (no conversion yet: value.recency) matches no comparison', () => {
    for (const rule of [
      { score: 'value.recency', op: 'lt', value: 1e9 },
      { score: 'value.recency', op: 'gte', value: -1e9 },
      { score: 'value.recency', op: 'neq', value: 5 },
      { score: 'value.recency', op: 'between', values: [-1e9, 1e9] },
    ] satisfies RuleNode[]) {
      expect(matches(rule, c)).toBe(false);
    }
    expect(matches({ score: 'value.recency', op: 'lt', value: 30 }, scored({ value: { recency: 12, frequency: 1, monetary: 50, expectedValue: 50 } }))).toBe(true);
  });
});

describe('learned scores', () => {
  const withModels = (models: Record<string, number> | undefined) => contact({ scores: { ...defaultScores(), ...(models ? { models, modelsAt: NOW.toISOString() } : {}) } });
  const c = withModels({ 'propensity.purchase': 0.3, 'uplift.purchase': -0.02, churn: 0.8, 'value.expected90d': 120, 'propensity.sign_up': 0.05 });

  test.each<[string, RuleNode, boolean]>([
    ['propensity.purchase gte 0.3', { score: 'propensity.purchase', op: 'gte', value: 0.3 }, true],
    ['propensity.purchase gt 0.3', { score: 'propensity.purchase', op: 'gt', value: 0.3 }, false],
    ['uplift.purchase lt 0 (a negative uplift)', { score: 'uplift.purchase', op: 'lt', value: 0 }, true],
    ['churn between 0.5 and 1', { score: 'churn', op: 'between', values: [0.5, 1] }, true],
    ['value.expected90d eq 120', { score: 'value.expected90d', op: 'eq', value: 120 }, true],
    ['value.expected90d neq 120', { score: 'value.expected90d', op: 'neq', value: 120 }, false],
    ['another goal is another score', { score: 'propensity.sign_up', op: 'gt', value: 0.1 }, false],
  ])('%s', (_, rule, expected) => {
    expect(Rule.safeParse(rule).success).toBe(true);
    expect(matches(rule, c)).toBe(expected);
  });

  test('propensity.email is the channel Beta score, not scores.models', () => {
    const contactWithBoth = contact({ scores: { ...defaultScores(), propensity: { email: beta(1, 9), sms: beta(1, 99) }, models: { 'propensity.email': 0.9 } } });
    expect(matches({ score: 'propensity.email', op: 'lt', value: 0.5 }, contactWithBoth)).toBe(true);
  });

  test('a learned score the contact has no value for is null: no comparison matches, neq included; not(…) matches, as for value.recency', () => {
    const comparisons = [
      { score: 'propensity.purchase', op: 'gte', value: -1e9 },
      { score: 'propensity.purchase', op: 'lt', value: 1e9 },
      { score: 'propensity.purchase', op: 'neq', value: 0.5 },
      { score: 'churn', op: 'between', values: [-1e9, 1e9] },
    ] satisfies RuleNode[];
    const recency = { score: 'value.recency', op: 'neq', value: 5 } satisfies RuleNode;
    for (const someone of [withModels(undefined), withModels({}), withModels({ 'propensity.other': 0.4, 'value.expected90d': 10 }), withModels({ 'propensity.purchase': Number.NaN, churn: Number.NaN })]) {
      for (const rule of comparisons) {
        expect(matches(rule, someone), JSON.stringify(rule)).toBe(false);
        // The same as a null fixed score: negation is the one way a missing value matches.
        expect(matches({ not: rule }, someone), JSON.stringify(rule)).toBe(matches({ not: recency }, someone));
        expect(matches({ not: rule }, someone)).toBe(true);
      }
    }
    // A stored value of another type is no score either.
    expect(matches({ score: 'churn', op: 'neq', value: 1 }, withModels({ churn: '0.2' as unknown as number }))).toBe(false);
  });

  test('names are read as own keys: a prototype name is no score', () => {
    expect(scoreReader('propensity.constructor')({ ...defaultScores(), models: {} })).toBeNull();
    expect(learnedScoreReader('uplift.toString')({ ...defaultScores(), models: { 'uplift.toString': 0.01 } })).toBe(0.01);
  });

  test.each<[string, boolean]>([
    ['propensity.purchase', true],
    ['propensity.Add-To-Cart:v2.web', true],
    ['uplift.sign_up', true],
    ['churn', true],
    ['value.expected90d', true],
    ['propensity.email', true],
    ['propensity.sms', true],
    ['value.expectedValue', true],
    [`propensity.${'g'.repeat(100)}`, true],
    [`propensity.${'g'.repeat(101)}`, false],
    ['propensity.', false],
    ['uplift.', false],
    ['uplift.email', false],
    ['uplift.x y', false],
    ['propensity.purchase ', false],
    ['propensity', false],
    ['uplift', false],
    ['Churn', false],
    ['value.expected30d', false],
    ['models.propensity.purchase', false],
    ['propensity.é', false],
  ])('score name %j is valid: %s', (name, valid) => {
    expect(isScoreName(name)).toBe(valid);
    const result = Rule.safeParse({ score: name, op: 'gt', value: 0 });
    expect(result.success).toBe(valid);
    if (!result.success) expect(issuesFromZod(result.error.issues, 'rule')).toEqual([{ path: 'rule.score', message: expect.stringMatching(/^must be one of engagement, .*a learned score: propensity\.<goal>/) }]);
  });

  test('propensity.email and propensity.sms are channel scores, not learned ones', () => {
    expect(isLearnedScoreName('propensity.email')).toBe(false);
    expect(isLearnedScoreName('propensity.sms')).toBe(false);
    expect(isLearnedScoreName('propensity.purchase')).toBe(true);
    expect(isLearnedScoreName('churn')).toBe(true);
  });

  test('a score that is not text is refused at its path', () => {
    expect(ruleIssues({ and: [{ field: 'country', op: 'eq', value: 'GB' }, { score: 7, op: 'gt', value: 0 }] })).toEqual([{ path: 'rule.and[1].score', message: expect.stringMatching(/^must be one of /) }]);
    expect(ruleIssues({ score: undefined, op: 'gt', value: 0 })).toEqual([{ path: 'rule.score', message: 'is required' }]);
  });

  test('learnedScoresIn lists the learned scores the rule compares, at their paths', () => {
    const rule: RuleNode = {
      and: [
        { score: 'propensity.purchase', op: 'gte', value: 0.1 },
        { score: 'engagement', op: 'gt', value: 0.2 },
        { not: { or: [{ score: 'churn', op: 'gt', value: 0.5 }, { field: 'country', op: 'eq', value: 'GB' }] } },
        { score: 'propensity.email', op: 'gt', value: 0.2 },
        { segment: 'seg-1' },
      ],
    };
    expect(learnedScoresIn(rule)).toEqual([
      { path: 'rule.and[0].score', score: 'propensity.purchase' },
      { path: 'rule.and[2].not.or[0].score', score: 'churn' },
    ]);
    expect(learnedScoresIn({ score: 'value.expected90d', op: 'gt', value: 1 })).toEqual([{ path: 'rule.score', score: 'value.expected90d' }]);
    expect(learnedScoresIn({ field: 'country', op: 'eq', value: 'GB' })).toEqual([]);
  });
});

describe('reachability and consent', () => {
  test.each<[string, Partial<EvalContact>, boolean]>([
    ['address, confirmed, not suppressed', {}, true],
    ['suppressed', { suppressed: { email: true, sms: false } }, false],
    ['consent pending', { consent: { email: 'pending' } }, false],
    ['consent withdrawn', { consent: { email: 'withdrawn' } }, false],
    ['no consent', { consent: {} }, false],
    ['no address', { email: undefined }, false],
  ])('reachable email: %s', (_, overrides, expected) => {
    expect(matches({ reachable: 'email' }, contact(overrides))).toBe(expected);
  });

  test('reachable sms needs confirmed SMS consent', () => {
    expect(matches({ reachable: 'sms' })).toBe(false);
    expect(matches({ reachable: 'sms' }, contact({ consent: { sms: 'confirmed' } }))).toBe(true);
  });

  test.each<[string, RuleNode, boolean]>([
    ['email confirmed', { consent: { channel: 'email', status: 'confirmed' } }, true],
    ['email pending', { consent: { channel: 'email', status: 'pending' } }, false],
    ['sms pending', { consent: { channel: 'sms', status: 'pending' } }, true],
    ['sms none', { consent: { channel: 'sms', status: 'none' } }, false],
    ['suppressed email', { suppressed: 'email' }, false],
    ['hasAddress email', { hasAddress: 'email' }, true],
    ['hasAddress sms', { hasAddress: 'sms' }, true],
  ])('%s', (_, rule, expected) => {
    expect(matches(rule)).toBe(expected);
  });

  test('status none, suppressed and hasAddress on another contact', () => {
    const c = contact({ phone: undefined, consent: { email: 'withdrawn' }, suppressed: { email: false, sms: true } });
    expect(matches({ consent: { channel: 'sms', status: 'none' } }, c)).toBe(true);
    expect(matches({ consent: { channel: 'email', status: 'withdrawn' } }, c)).toBe(true);
    expect(matches({ suppressed: 'sms' }, c)).toBe(true);
    expect(matches({ hasAddress: 'sms' }, c)).toBe(false);
  });

  test('usesReachability: reachable, consent and suppressed; not addresses or fields', () => {
    expect(compile({ reachable: 'email' }).usesReachability).toBe(true);
    expect(compile({ or: [{ field: 'country', op: 'eq', value: 'GB' }, { consent: { channel: 'sms', status: 'confirmed' } }] }).usesReachability).toBe(true);
    expect(compile({ not: { suppressed: 'sms' } }).usesReachability).toBe(true);
    expect(compile({ hasAddress: 'email' }).usesReachability).toBe(false);
    expect(compile({ field: 'email', op: 'exists', value: true }).usesReachability).toBe(false);
  });
});

describe('segment references', () => {
  const vip = compile({ field: 'tags', op: 'contains', value: 'vip' });
  const engaged = compile({ behaviour: { type: 'opened' } });
  const reachableEmail = compile({ reachable: 'email' });
  const known: Record<string, CompiledRule> = { vip, engaged, reachable: reachableEmail };
  const resolveSegment = (id: string) => known[id];

  test('membership of another segment is its compiled test', () => {
    expect(matches({ segment: 'vip' }, contact(), { resolveSegment })).toBe(true);
    expect(matches({ segment: 'vip' }, contact({ tags: [] }), { resolveSegment })).toBe(false);
    expect(matches({ and: [{ segment: 'vip' }, { not: { segment: 'engaged' } }] }, contact(), { resolveSegment })).toBe(true);
  });

  test('flags and direct references carry over', () => {
    const compiled = compile({ or: [{ segment: 'engaged' }, { and: [{ segment: 'reachable' }, { segment: 'engaged' }] }] }, { resolveSegment });
    expect(compiled.referencedSegments).toEqual(['engaged', 'reachable']);
    expect(compiled.usesBehaviour).toBe(true);
    expect(compiled.usesReachability).toBe(true);
    expect(compile({ segment: 'vip' }, { resolveSegment }).usesBehaviour).toBe(false);
  });

  test('an unknown segment is a ValidationError at its path, every one of them', () => {
    const error = compileError(() => compile({ and: [{ segment: 'vip' }, { segment: 'gone' }, { not: { segment: 'lost' } }] }, { resolveSegment }));
    expect(error.issues).toEqual([
      { path: 'rule.and[1].segment', message: 'refers to segment gone, which does not exist' },
      { path: 'rule.and[2].not.segment', message: 'refers to segment lost, which does not exist' },
    ]);
  });

  test('without a resolver every reference is unknown', () => {
    expect(compileError(() => compile({ segment: 'vip' })).issues).toEqual([{ path: 'rule.segment', message: 'refers to segment vip, which does not exist' }]);
  });

  test('referencedSegments lists direct references once, in order, for any shape', () => {
    expect(referencedSegments({ and: [{ segment: 'B' }, { or: [{ not: { segment: 'C' } }, { segment: 'B' }] }, { field: 'country', op: 'eq', value: 'GB' }] })).toEqual(['B', 'C']);
    expect(referencedSegments({ field: 'country', op: 'eq', value: 'GB' })).toEqual([]);
    expect(referencedSegments({ and: [] } as unknown as RuleNode)).toEqual([]);
  });
});

describe('findCycle', () => {
  const graph = (edges: Record<string, string[]>) => (id: string) => edges[id] ?? [];

  test('A → B → C → A', () => {
    expect(findCycle('A', graph({ A: ['B'], B: ['C'], C: ['A'] }))).toEqual(['A', 'B', 'C', 'A']);
  });

  test('no cycle, also through a diamond', () => {
    expect(findCycle('A', graph({ A: ['B', 'C'], B: ['D'], C: ['D'], D: [] }))).toBeUndefined();
    expect(findCycle('A', graph({}))).toBeUndefined();
  });

  test('a segment referring to itself', () => {
    expect(findCycle('A', graph({ A: ['A'] }))).toEqual(['A', 'A']);
  });

  test('a cycle further on is reported from where it closes', () => {
    expect(findCycle('A', graph({ A: ['D', 'B'], B: ['C'], C: ['B'], D: [] }))).toEqual(['B', 'C', 'B']);
  });
});

describe('validation', () => {
  const leaf = { field: 'attributes.plan', op: 'eq', value: 'pro' };

  test('a valid rule parses to itself (no defaults written into it)', () => {
    const rule = { and: [leaf, { behaviour: { type: 'clicked', within: { amount: 30, unit: 'days' } } }, { score: 'lead', op: 'between', values: [1, 2] }] };
    expect(Rule.parse(rule)).toEqual(rule);
  });

  test.each<[string, unknown, { path: string; message: string }[]]>([
    ['missing value', { and: [leaf, { field: 'attributes.plan', op: 'eq' }] }, [{ path: 'rule.and[1].value', message: 'is required with op "eq"' }]],
    [
      'unknown op',
      { or: [leaf, { field: 'country', op: 'equals', value: 'GB' }] },
      [{ path: 'rule.or[1].op', message: 'must be one of eq, neq, in, contains, startsWith, gt, gte, lt, lte, between, exists, withinLast, moreThanAgo' }],
    ],
    ['bad unit', { not: { field: 'createdAt', op: 'withinLast', amount: 2, unit: 'fortnights' } }, [{ path: 'rule.not.unit', message: 'must be one of hours, days, weeks, months' }]],
    ['bad behaviour unit', { behaviour: { type: 'opened', within: { amount: 2, unit: 'years' } } }, [{ path: 'rule.behaviour.within.unit', message: 'must be one of hours, days, weeks, months' }]],
    ['empty and', { and: [] }, [{ path: 'rule.and', message: 'must hold at least one rule' }]],
    ['empty or inside', { and: [leaf, { or: [] }] }, [{ path: 'rule.and[1].or', message: 'must hold at least one rule' }]],
    ['51 children', { or: Array.from({ length: 51 }, () => leaf) }, [{ path: 'rule.or', message: 'must hold at most 50 rules (group them in nested "or")' }]],
    ['unknown key', { field: 'country', op: 'eq', value: 'GB', valeu: 'x' }, [{ path: 'rule.valeu', message: 'is not a known field' }]],
    ['values with eq', { field: 'country', op: 'eq', values: ['GB'] }, [
      { path: 'rule.value', message: 'is required with op "eq"' },
      { path: 'rule.values', message: 'is not used with op "eq", which takes "value"' },
    ]],
    ['unknown field', { field: 'name', op: 'eq', value: 'Ada' }, [{ path: 'rule.field', message: 'must be email, phone, country, timezone, tags, createdAt, updatedAt or attributes.<name>' }]],
    ['op that does not fit the field', { field: 'email', op: 'gt', value: 3 }, [{ path: 'rule.op', message: '"gt" does not apply to email (a text field): use one of eq, neq, in, contains, startsWith, exists' }]],
    ['text compared with a date field', { field: 'createdAt', op: 'gt', value: '2026-01-01' }, [{ path: 'rule.value', message: 'must be a date such as { "date": "2026-01-31" }' }]],
    ['a date that is not a calendar day', { field: 'createdAt', op: 'gt', value: { date: '2026-02-30' } }, [
      { path: 'rule.value.date', message: 'must be a date such as 2026-01-31 or an instant with an offset such as 2026-01-31T09:00:00Z' },
    ]],
    ['an instant without offset', { field: 'attributes.lastOrder', op: 'lt', value: { date: '2026-01-31T09:00:00' } }, [
      { path: 'rule.value.date', message: 'must be a date such as 2026-01-31 or an instant with an offset such as 2026-01-31T09:00:00Z' },
    ]],
    ['empty text', { field: 'country', op: 'eq', value: '' }, [{ path: 'rule.value', message: 'must not be empty (use "exists": false for a missing value)' }]],
    ['in with a bad value', { field: 'attributes.plan', op: 'in', values: ['a', { x: 1 }] }, [{ path: 'rule.values[1]', message: 'must be a text value, a number, true or false' }]],
    ['in with 501 values', { field: 'country', op: 'in', values: Array.from({ length: 501 }, (_, i) => `C${i}`) }, [{ path: 'rule.values', message: 'must hold 1 to 500 values' }]],
    ['between reversed', { field: 'attributes.age', op: 'between', values: [40, 30] }, [{ path: 'rule.values', message: 'the low value must not be above the high value' }]],
    ['between number and date', { field: 'attributes.age', op: 'between', values: [1, { date: '2026-01-01' }] }, [{ path: 'rule.values', message: 'must be two numbers or two dates' }]],
    ['exists with text', { field: 'country', op: 'exists', value: 'yes' }, [{ path: 'rule.value', message: 'must be true or false' }]],
    ['withinLast amount 0', { field: 'createdAt', op: 'withinLast', amount: 0, unit: 'days' }, [{ path: 'rule.amount', message: 'must be a whole number of days from 1 to 36500' }]],
    ['tags with eq', { field: 'tags', op: 'eq', value: 'vip' }, [{ path: 'rule.op', message: '"eq" does not apply to tags: use one of contains, in, exists' }]],
    ['no field', { op: 'eq', value: 'GB' }, [{ path: 'rule.field', message: 'is required' }]],
    ['no kind key', { plan: 'pro' }, [{ path: 'rule', message: 'must have one of the keys and, or, not, field, behaviour, score, reachable, consent, suppressed, hasAddress, segment' }]],
    ['two kind keys', { and: [leaf], not: leaf }, [{ path: 'rule', message: 'combines "and" and "not": a rule has exactly one of them (combine rules with "and" or "or")' }]],
    ['not an object', { and: ['pro'] }, [{ path: 'rule.and[0]', message: 'must be a rule: an object such as { "field": "attributes.plan", "op": "eq", "value": "pro" }' }]],
    ['behaviour window too long', { behaviour: { type: 'opened', within: { amount: 14, unit: 'months' } } }, [
      { path: 'rule.behaviour.within.amount', message: 'must be at most 13 months: behaviour counters are kept for 400 days' },
    ]],
    ['behaviour type', { behaviour: { type: 'Clicked!' } }, [{ path: 'rule.behaviour.type', message: 'must be an interaction type such as clicked, opened or converted (a-z and _, at most 40)' }]],
    ['behaviour channel and campaign', { behaviour: { type: 'clicked', channel: 'email', campaignId: 'cmp-1' } }, [
      { path: 'rule.behaviour.channel', message: 'cannot be combined with campaignId: campaign counters are not split by channel' },
    ]],
    ['behaviour count without value', { behaviour: { type: 'clicked', count: { op: 'gte' } } }, [{ path: 'rule.behaviour.count.value', message: 'is required' }]],
    ['unknown score', { score: 'speed', op: 'gte', value: 0.1 }, [
      {
        path: 'rule.score',
        message:
          'must be one of engagement, lead, propensity.email, propensity.sms, value.monetary, value.frequency, value.recency, value.expectedValue, bestHour, or a learned score: propensity.<goal>, uplift.<goal>, churn, value.expected90d (a goal is 1–100 of A-Z a-z 0-9 _ . : -)',
      },
    ]],
    ['score between with value', { score: 'lead', op: 'between', value: 3 }, [
      { path: 'rule.value', message: 'is not used with op "between", which takes "values"' },
      { path: 'rule.values', message: 'is required with op "between"' },
    ]],
    ['score value text', { score: 'lead', op: 'gt', value: '3' }, [{ path: 'rule.value', message: 'must be a number' }]],
    ['reachable channel', { reachable: 'push' }, [{ path: 'rule.reachable', message: 'must be "email" or "sms"' }]],
    ['consent status', { consent: { channel: 'email', status: 'yes' } }, [{ path: 'rule.consent.status', message: 'must be one of pending, confirmed, withdrawn, none' }]],
    ['empty segment id', { segment: '' }, [{ path: 'rule.segment', message: 'must be a segment id' }]],
  ])('%s', (_, input, expected) => {
    expect(ruleIssues(input)).toEqual(expected);
  });

  test('nesting deeper than 10 levels is refused at the 11th level', () => {
    let ten: unknown = leaf;
    for (let i = 0; i < 10; i++) ten = i % 2 ? { not: ten } : { and: [leaf, ten] };
    expect(Rule.safeParse(ten).success).toBe(true);
    let tenNots: unknown = leaf;
    for (let i = 0; i < 10; i++) tenNots = { not: tenNots };
    expect(Rule.safeParse(tenNots).success).toBe(true);
    expect(ruleIssues({ not: tenNots })).toEqual([{ path: `rule${'.not'.repeat(10)}`, message: 'nests and/or/not more than 10 levels deep' }]);
    let eleven: unknown = leaf;
    for (let i = 0; i < 11; i++) eleven = { or: [leaf, eleven] };
    expect(ruleIssues(eleven)).toEqual([{ path: 'rule.or[1].or[1].or[1].or[1].or[1].or[1].or[1].or[1].or[1].or[1]', message: 'nests and/or/not more than 10 levels deep' }]);
  });

  test('a hostile depth is refused without exhausting the stack', () => {
    let deep: unknown = leaf;
    for (let i = 0; i < 100_000; i++) deep = { not: deep };
    expect(Rule.safeParse(deep).success).toBe(false);
  });

  test('every problem at once, at its own path', () => {
    const issues = ruleIssues({ and: [{ field: 'country', op: 'eq' }, leaf, { score: 'lead', op: 'gt' }, { reachable: 'fax' }] });
    expect(issues.map((i) => i.path)).toEqual(['rule.and[0].value', 'rule.and[2].value', 'rule.and[3].reachable']);
  });

  test('time zone: IANA names only', () => {
    expect(SegmentRuleDefinition.parse({ rule: leaf })).toEqual({ rule: leaf, timezone: 'UTC' });
    expect(SegmentRuleDefinition.parse({ rule: leaf, timezone: 'Europe/Berlin' }).timezone).toBe('Europe/Berlin');
    for (const timezone of ['Mars/Olympus', '+02:00', '', 'Europe/Berlin ']) {
      const result = SegmentRuleDefinition.safeParse({ rule: leaf, timezone });
      expect(result.success ? [] : issuesFromZod(result.error.issues)).toEqual([{ path: 'timezone', message: 'must be an IANA time zone such as Europe/Berlin' }]);
    }
  });

  test('compileRule refuses a bad time zone and an invalid rule with ValidationErrors', () => {
    expect(compileError(() => compileRule(leaf as RuleNode, { now: NOW, timezone: 'Mars/Olympus' })).issues).toEqual([
      { path: 'timezone', message: 'must be an IANA time zone such as Europe/Berlin' },
    ]);
    expect(compileError(() => compileRule({ and: [] }, { now: NOW })).issues).toEqual([{ path: 'rule.and', message: 'must hold at least one rule' }]);
    expect(() => compileRule(leaf as RuleNode, { now: new Date(NaN) })).toThrow(TypeError);
  });

  test('the schema nests in a larger definition with its paths', () => {
    const Definition = z.strictObject({ name: z.string(), rule: Rule });
    const result = Definition.safeParse({ name: 'x', rule: { and: [leaf, { field: 'attributes.plan', op: 'in', values: 'pro' }] } });
    expect(result.success ? [] : issuesFromZod(result.error.issues)).toEqual([{ path: 'rule.and[1].values', message: 'must be a list' }]);
  });
});
