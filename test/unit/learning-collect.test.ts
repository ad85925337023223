/**
 * The contact pass's learning collector (shared/learning/collect.ts, parts.ts) and the scorer's
 * pure parts (score.ts): which exposures become examples and with which labels, the BTYD summary,
 * the part's merge, and when a score counts as moved.
 */
import { describe, expect, test } from 'vitest';
import type { Contact } from '../../shared/contacts/model.ts';
import type { Interaction } from '../../shared/contacts/timeline.ts';
import { btydCustomerOf, collectContact, conversionSummary, holdoutShareOf, localHourOf, MIN_HOLDOUT_SHARE, type LearningCampaign } from '../../shared/learning/collect.ts';
import { decodePart } from '../../shared/learning/sample.ts';
import { featureColumns, HOUR_BUCKETS, NUMERIC_NAMES, scanSpec } from '../../shared/learning/features.ts';
import { bucketNamesOf, LearningCollector } from '../../shared/learning/parts.ts';
import { bestModelHour, scoresMoved } from '../../shared/learning/score.ts';
import { defaultScores } from '../../shared/scoring/model.ts';
import { toEvalContact } from '../../shared/segments/contact-view.ts';

const DAY = 86_400_000;
const now = Date.parse('2026-12-06T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
let seq = 0;
const entry = (type: string, at: number, extra: Partial<Interaction> = {}): Interaction => ({ contactId: 'c1', sk: `${iso(at)}#${++seq}`, id: `i${seq}`, type, occurredAt: iso(at), recordedAt: iso(at), ...extra }) as Interaction;
const contact: Contact = {
  id: 'c1',
  email: 'a@example.com',
  timezone: 'Europe/Paris',
  attributes: { plan: 'pro', seats: 12, trial: true },
  tags: [],
  consent: { email: { status: 'confirmed', updatedAt: iso(now - 200 * DAY), source: 'api' } },
  scores: defaultScores(),
  suppressed: {},
  activity: {},
  createdAt: iso(now - 400 * DAY),
  updatedAt: iso(now),
  version: 1,
} as unknown as Contact;
const campaign = (launchedAt: number, holdout: string[] = [], windowDays = 7, event = 'purchase'): LearningCampaign => ({
  goal: { event, windowDays },
  launchedAt,
  holdout: new Set(holdout),
  enrolled: { groups: { A: 90, '#holdout': 10 } },
});
const window = { historyStart: now - 90 * DAY, now };

describe('collectContact', () => {
  test('a treated exposure is the first send, labelled by the goal within its window, with its channel and local hour', () => {
    const sentAt = Date.parse('2026-10-01T06:30:00Z'); // 08:30 in Paris (summer time)
    const timeline = [
      entry('sent', sentAt, { campaignId: 'k1', channel: 'email' }),
      entry('sent', sentAt + DAY, { campaignId: 'k1', channel: 'email' }), // a second send: not a second example
      entry('converted', sentAt + 3 * DAY, { data: { name: 'purchase', value: 40 } }),
      entry('converted', sentAt + 8 * DAY, { data: { name: 'purchase', value: 99 } }), // after the window
      entry('converted', sentAt + 2 * DAY, { data: { name: 'signup', value: 5 } }), // another goal
    ];
    const result = collectContact('c1', timeline, toEvalContact(contact, now), new Map([['k1', campaign(sentAt)]]), scanSpec(), window);
    expect(result.examples).toHaveLength(1);
    const [example] = result.examples;
    expect(example).toMatchObject({ goal: 'purchase', campaignId: 'k1', treated: 1, label: 1, revenue: 40, exposedAt: sentAt, holdoutShare: 0.1 });
    const columns = example!.vector.indices as number[];
    expect(columns).toContain(NUMERIC_NAMES.indexOf('channel=email'));
    expect(columns).toContain(NUMERIC_NAMES.indexOf('hour=8-11'));
    expect(localHourOf(sentAt, 'Europe/Paris')).toBe(8);
    expect(result.conversions).toEqual({ first: iso(sentAt + 2 * DAY), last: iso(sentAt + 8 * DAY), count: 3, revenue: 144 });
  });

  test('a holdout member is a control exposed at the launch, with no channel or hour; unlabelled conversions before it do not count', () => {
    const launchedAt = now - 40 * DAY;
    const timeline = [entry('converted', launchedAt - DAY, { data: { name: 'purchase', value: 10 } }), entry('converted', launchedAt + 6 * DAY, { data: { name: 'purchase' } })];
    const [example] = collectContact('c1', timeline, toEvalContact(contact, now), new Map([['k1', campaign(launchedAt, ['c1'])]]), scanSpec(), window).examples;
    expect(example).toMatchObject({ treated: 0, label: 1, revenue: 0, exposedAt: launchedAt });
    const columns = example!.vector.indices as number[];
    expect(columns.filter((j) => NUMERIC_NAMES[j]?.startsWith('channel=') || NUMERIC_NAMES[j]?.startsWith('hour='))).toEqual([]);
  });

  test('no example without a whole history before it, an open window after it, a learnable goal or an exposure at all', () => {
    const facts = toEvalContact(contact, now);
    const sent = (at: number) => [entry('sent', at, { campaignId: 'k1', channel: 'email' })];
    const examples = (timeline: Interaction[], c: LearningCampaign) => collectContact('c1', timeline, facts, new Map([['k1', c]]), scanSpec(), window).examples;
    expect(examples(sent(now - 95 * DAY), campaign(now - 95 * DAY))).toEqual([]); // before the history start
    expect(examples(sent(now - 5 * DAY), campaign(now - 5 * DAY))).toEqual([]); // the 7-day window is still open
    expect(examples(sent(now - 8 * DAY), campaign(now - 8 * DAY))).toHaveLength(1);
    expect(examples(sent(now - 30 * DAY), campaign(now - 30 * DAY, [], 7, 'email'))).toEqual([]); // reserved goal name
    expect(examples(sent(now - 30 * DAY), campaign(now - 30 * DAY, [], 7, 'a goal with spaces'))).toEqual([]);
    expect(examples([], campaign(now - 30 * DAY))).toEqual([]); // neither sent nor held out
    expect(examples([entry('sent', now - 30 * DAY, { campaignId: 'k1', channel: 'push' as never })], campaign(now - 30 * DAY))).toEqual([]); // a channel the models do not know
  });
});

describe('summaries', () => {
  test('holdout share: from the enrolment, kept inside (0, 1) for campaigns without a holdout', () => {
    expect(holdoutShareOf(campaign(now))).toBe(0.1);
    expect(holdoutShareOf({ ...campaign(now), enrolled: { groups: { A: 50 } } })).toBe(MIN_HOLDOUT_SHARE);
    expect(holdoutShareOf({ goal: { event: 'x', windowDays: 7 }, holdout: new Set(['a', 'b']) })).toBe(1 - MIN_HOLDOUT_SHARE);
  });

  test("BTYD's summary in whole days: x repeats, tₓ first to last, T first to now, mean spend of all", () => {
    const summary = conversionSummary([entry('converted', now - 30 * DAY, { data: { value: 10 } }), entry('converted', now - 10.5 * DAY, { data: { value: 30 } }), entry('sent', now - DAY)])!;
    expect(btydCustomerOf(summary, now)).toEqual({ x: 1, tx: 19, T: 30, meanSpend: 20 });
    expect(btydCustomerOf({ first: iso(now - 3 * DAY), last: iso(now - 3 * DAY), count: 1, revenue: 0 }, now)).toEqual({ x: 0, tx: 0, T: 3, meanSpend: 0 });
    expect(conversionSummary([entry('sent', now)])).toBeNull();
  });
});

describe('LearningCollector', () => {
  test("a part's sample decodes to the examples collected; BTYD counts, buyers and tokens come with it", () => {
    const collector = new LearningCollector(scanSpec(), now, now - 180 * DAY, 1000);
    const launchedAt = now - 30 * DAY;
    const campaigns = new Map([['k1', campaign(launchedAt, ['c2'])]]);
    for (let i = 0; i < 20; i++) {
      const id = `c${i}`;
      const timeline = [
        ...(i === 2 ? [] : [entry('sent', launchedAt + i * 60_000, { contactId: id, campaignId: 'k1', channel: 'email' })]),
        ...(i % 3 === 0 ? [entry('converted', launchedAt + DAY, { contactId: id, data: { name: 'purchase', value: 20 + i } })] : []),
        ...(i % 6 === 0 ? [entry('converted', launchedAt + 5 * DAY, { contactId: id, data: { name: 'purchase', value: 10 } })] : []),
      ];
      collector.add(toEvalContact({ ...contact, id, attributes: { plan: i % 2 ? 'pro' : 'free' } } as Contact, now), timeline, campaigns);
    }
    const { sample, facts } = collector.finish();
    const part = decodePart(sample);
    expect(part.columns).toBe(featureColumns());
    const count = (treated: 0 | 1, label: 0 | 1) => part.strata.find((s) => s.treated === treated && s.label === label)?.total ?? 0;
    // 19 sent (c2 is held out); converters are i = 0, 3, …, 18; c2 does not convert.
    expect([count(1, 1), count(1, 0), count(0, 1), count(0, 0)]).toEqual([7, 12, 0, 1]);
    expect(facts.goals).toEqual({ purchase: 20 });
    expect(Object.values(facts.bgNbd).reduce((s, n) => s + n, 0)).toBe(7); // buyers: i = 0, 3, …, 18
    expect(facts.buyers).toHaveLength(7);
    expect(facts.tokens).toEqual({ 'attributes.plan=free': 10, 'attributes.plan=pro': 10 });
    const names = bucketNamesOf(new Map(Object.entries(facts.tokens)));
    expect(names.filter((n) => n.startsWith('attributes.'))).toEqual(expect.arrayContaining(['attributes.plan=free', 'attributes.plan=pro']));
  });
});

describe('scoring', () => {
  test('a score moves when it appears, retires or changes beyond its threshold', () => {
    expect(scoresMoved(undefined, {})).toBe(false);
    expect(scoresMoved({}, { 'propensity.purchase': 0.1 })).toBe(true);
    expect(scoresMoved({ churn: 0.5 }, {})).toBe(true);
    expect(scoresMoved({ 'propensity.purchase': 0.1 }, { 'propensity.purchase': 0.104 })).toBe(false);
    expect(scoresMoved({ 'propensity.purchase': 0.1 }, { 'propensity.purchase': 0.111 })).toBe(true);
    expect(scoresMoved({ 'uplift.purchase': 0.01 }, { 'uplift.purchase': 0.0115 })).toBe(false);
    expect(scoresMoved({ 'uplift.purchase': 0.01 }, { 'uplift.purchase': 0.0121 })).toBe(true);
    expect(scoresMoved({ churn: 0.3 }, { churn: 0.31 })).toBe(false);
    expect(scoresMoved({ 'value.expected90d': 100 }, { 'value.expected90d': 109 })).toBe(false);
    expect(scoresMoved({ 'value.expected90d': 100 }, { 'value.expected90d': 111 })).toBe(true);
  });

  test("the best hour is the model's best among the hours it saw sends at", () => {
    const weights = new Array<number>(featureColumns()).fill(0);
    const hour0 = NUMERIC_NAMES.indexOf('hour=0-3');
    weights[hour0] = 3; // a bucket with almost no sends: noise
    weights[hour0 + 2] = 0.5;
    weights[hour0 + 3] = 0.2;
    const model = { intercept: 0, weights };
    expect(bestModelHour(model)).toBe(2);
    const shares = Array.from({ length: HOUR_BUCKETS }, (_, b) => (b === 0 ? 0.01 : b === 2 ? 0.5 : b === 3 ? 0.49 : 0));
    expect(bestModelHour(model, shares)).toBe(10);
  });
});
