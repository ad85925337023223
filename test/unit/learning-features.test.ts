import { describe, expect, test } from 'vitest';
import type { Interaction } from '../../shared/contacts/timeline.ts';
import type { Contact, Channel } from '../../shared/contacts/model.ts';
import { activityKeys, hourOf } from '../../shared/activity/activity.ts';
import { activityMonthOf, mergeActivity } from '../../shared/activity/activity-store.ts';
import { passContact } from '../../shared/attribution/contact-pass.ts';
import { LOOKBACK_DAYS } from '../../shared/attribution/run.ts';
import { defaultScores } from '../../shared/scoring/model.ts';
import { reachable, toEvalContact, type EvalContact } from '../../shared/segments/contact-view.ts';
import {
  bucketOf,
  CLIP,
  COUNT_NAMES,
  encode,
  featureColumns,
  featureNames,
  fitFeatureSpec,
  fnv1a,
  HASH_BUCKETS,
  inputAtExposure,
  inputNow,
  NUMERIC_COLUMNS,
  NUMERIC_NAMES,
  RFM_LOOKBACK_DAYS,
  STANDARDISED_NAMES,
  type CountName,
  type FeatureInput,
} from '../../shared/learning/features.ts';
import { fitLogistic, predict, sparseRows } from '../../shared/learning/logistic.ts';
import { auc } from '../../shared/learning/metrics.ts';
import { mulberry32 } from '../../shared/learning/random.ts';
import { syntheticExamples, UPLIFT_LOW_ENGAGEMENT_FREE, UPLIFT_RECENT_BUYER } from '../helpers/learning-synthetic.ts';

/**
 * The feature encoder and its two input builders (docs/learning-design.md, section 2). The first
 * block is the train/serve parity test: one contact built from its timeline (training) and from
 * its stored counters and scores (scoring) at one instant must give the same vector.
 */

const DAY = 86_400_000;
const HOUR = 3_600_000;
const column = (name: string) => NUMERIC_NAMES.indexOf(name);

/** A dense copy of a sparse vector, featureColumns() wide. */
function dense(v: { indices: ArrayLike<number>; values: ArrayLike<number> }): number[] {
  const row = new Array<number>(featureColumns()).fill(0);
  for (let k = 0; k < v.indices.length; k++) row[v.indices[k]!] = v.values[k]!;
  return row;
}

// ---------------------------------------------------------------------------------------------
// Train/serve parity

const TIMEZONES = ['UTC', 'America/New_York', 'Asia/Tokyo', 'Pacific/Auckland'];

interface World {
  contact: Contact;
  timeline: Interaction[];
  at: number;
}

/**
 * A contact with a random timeline over [at − 220 d, at + 3 d]: marketing and transactional
 * sends on both channels, responses, unsubscribes, conversions (some without a value), visits,
 * custom events; plus entries on the edges: exactly at `at`, in `at`'s hour before it, and at
 * the first hour of each count window.
 */
function world(seed: number): World {
  const draw = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(draw() * items.length)]!;
  const at = Date.UTC(2026, 10, 1) + Math.floor(draw() * 60 * DAY);
  const timeline: Interaction[] = [];
  const add = (type: string, t: number, extra: Partial<Interaction> = {}) => {
    const occurredAt = new Date(t).toISOString();
    const id = `e${timeline.length}`;
    timeline.push({ contactId: 'c1', sk: `${occurredAt}#${id}`, id, type, occurredAt, recordedAt: occurredAt, ...extra });
  };
  const random = (type: string, t: number) => {
    const channel = pick<Channel>(['email', 'sms']);
    switch (type) {
      case 'sent':
        return add('sent', t, { channel, campaignId: draw() < 0.7 ? `k${Math.floor(draw() * 5)}` : undefined, data: draw() < 0.2 ? { transactional: true } : undefined });
      case 'converted':
        return add('converted', t, { data: draw() < 0.8 ? { name: 'purchase', value: Math.round(draw() * 20000) / 100 } : { name: 'signup' } });
      case 'visited':
      case 'form_submitted':
        return add(type, t);
      case 'custom':
        return add('custom', t, { data: { name: 'added_to_cart' } });
      default:
        return add(type, t, { channel, campaignId: `k${Math.floor(draw() * 5)}` });
    }
  };
  const types = ['sent', 'sent', 'sent', 'delivered', 'opened', 'opened', 'clicked', 'unsubscribed', 'converted', 'converted', 'visited', 'custom', 'form_submitted'];
  const n = 40 + Math.floor(draw() * 80);
  for (let k = 0; k < n; k++) random(pick(types), at - 220 * DAY + Math.floor(draw() * 223 * DAY));
  // The edges: at `at` (excluded), earlier in at's hour (included), the first and last hour of each window.
  const edges = draw() < 0.5; // half the contacts (edges put a conversion in at's hour: recency 0)
  for (const type of ['sent', 'opened', 'converted', 'visited']) {
    random(type, at);
    if (!edges) continue;
    random(type, hourOf(at) * HOUR + Math.floor((at - hourOf(at) * HOUR) * draw()));
    for (const d of [7, 30, 90]) {
      random(type, (hourOf(at) - 24 * d) * HOUR); // the first hour inside the window
      random(type, (hourOf(at) - 24 * d) * HOUR - 1); // the last millisecond before it
    }
  }
  random('converted', at - RFM_LOOKBACK_DAYS * DAY); // the first instant of the RFM window
  random('converted', at - RFM_LOOKBACK_DAYS * DAY - 1);
  timeline.sort((a, b) => (a.sk < b.sk ? -1 : 1));
  const created = at - Math.floor(draw() * 900 * DAY) + 5 * DAY; // sometimes after `at` (an import)
  const contact: Contact = {
    id: 'c1',
    email: draw() < 0.9 ? 'ada@example.com' : undefined,
    phone: draw() < 0.6 ? '+447700900123' : undefined,
    country: draw() < 0.8 ? pick(['GB', 'US', 'JP']) : undefined,
    timezone: pick(TIMEZONES),
    attributes: { plan: pick(['free', 'pro']), seats: Math.floor(draw() * 40), vip: draw() < 0.5, note: null },
    tags: [],
    consent: {
      email: { status: pick(['confirmed', 'pending', 'withdrawn'] as const), updatedAt: new Date(at).toISOString(), source: 'api' },
      sms: { status: pick(['confirmed', 'withdrawn'] as const), updatedAt: new Date(at).toISOString(), source: 'api' },
    },
    scores: defaultScores(Math.floor(draw() * 50) - 10),
    suppressed: draw() < 0.2 ? { email: ['bounced'] } : {},
    createdAt: new Date(created).toISOString(),
    updatedAt: new Date(at).toISOString(),
    version: 1,
  };
  return { contact, timeline, at };
}

/**
 * The contact as scoring sees it at `at`, built the way production builds it: the counters each
 * recorded interaction bumped (activityKeys) in its month item, merged and indexed
 * (mergeActivity, toEvalContact), and the scores the nightly pass (passContact) computed at `at`
 * from the run's lookback of the timeline.
 */
function servedContact({ contact, timeline, at }: World): EvalContact {
  const recorded = timeline.filter((i) => Date.parse(i.occurredAt) < at);
  const months = new Map<string, Record<string, unknown>>();
  for (const interaction of recorded) {
    const month = activityMonthOf(interaction.occurredAt);
    const item = months.get(month) ?? { contactId: contact.id, month, expiresAt: 0 };
    months.set(month, item);
    for (const key of activityKeys(interaction)) item[key] = ((item[key] as number | undefined) ?? 0) + 1;
  }
  const lookback = recorded.filter((i) => Date.parse(i.occurredAt) >= at - LOOKBACK_DAYS * DAY);
  const { scores } = passContact(contact.id, lookback, new Map(), { from: at - DAY, to: at }, new Map(), contact.scores, at, contact.timezone);
  return toEvalContact({ ...contact, scores, activity: mergeActivity(undefined, [...months.values()]) }, at);
}

describe('train/serve parity', () => {
  const worlds = Array.from({ length: 40 }, (_, k) => world(1000 + k));
  const cases = worlds.flatMap((w, k) => {
    const served = servedContact(w);
    const channel = ([null, 'email', 'sms'] as const)[k % 3]!;
    const hour = channel === null ? null : (k * 7) % 24;
    return [{ w, served, channel, hour, training: inputAtExposure(w.timeline, served, w.at, channel, hour), scoring: inputNow(served, channel, hour, w.at) }];
  });
  const spec = fitFeatureSpec(cases.flatMap((c) => [c.training, c.scoring]));

  test('the timeline at an exposure and the stored counters and scores at that instant give equal inputs and equal vectors', () => {
    for (const { training, scoring } of cases) {
      expect(training).toEqual(scoring);
      expect(encode(training, spec)).toEqual(encode(scoring, spec));
    }
  });

  test('the comparison is not vacuous: counts in every window and RFM vary across contacts', () => {
    const total = (name: CountName) => cases.reduce((sum, c) => sum + c.training.counts[name], 0);
    for (const name of COUNT_NAMES.filter((n) => !n.startsWith('unsubscribed'))) expect(total(name), name).toBeGreaterThan(0);
    expect(total('unsubscribed.email.90d') + total('unsubscribed.sms.90d')).toBeGreaterThan(0);
    expect(new Set(cases.map((c) => c.training.recencyDays)).size).toBeGreaterThan(10);
    expect(cases.some((c) => c.training.monetary > 0 && !Number.isInteger(c.training.monetary))).toBe(true);
    expect(new Set(cases.map((c) => c.training.weekend))).toEqual(new Set([true, false]));
    expect(new Set(cases.map((c) => JSON.stringify(c.training.reachable))).size).toBeGreaterThan(2);
  });

  test('entries at or after the exposure, or outside a window, do not count; transactional sends are not sends', () => {
    const { w, served } = cases[1]!;
    const before = inputAtExposure(w.timeline, served, w.at, 'email', 9);
    const later = (t: number, type: string, extra: Partial<Interaction> = {}): Interaction => ({ contactId: 'c1', sk: '', id: `x${t}`, type, occurredAt: new Date(t).toISOString(), recordedAt: '', channel: 'email', ...extra });
    const extra = [later(w.at, 'sent'), later(w.at + 1, 'converted', { data: { value: 99 } }), later((hourOf(w.at) - 24 * 90) * HOUR - 1, 'clicked'), later(w.at - HOUR, 'sent', { data: { transactional: true } })];
    expect(inputAtExposure([...w.timeline, ...extra], served, w.at, 'email', 9)).toEqual(before);
    const oneMore = inputAtExposure([...w.timeline, later(w.at - 1, 'sent')], served, w.at, 'email', 9);
    expect(oneMore.counts['sent.email.7d']).toBe(before.counts['sent.email.7d'] + 1);
    expect(oneMore.counts['sent.email.90d']).toBe(before.counts['sent.email.90d'] + 1);
    const purchase = inputAtExposure([...w.timeline.filter((i) => i.type !== 'converted'), later(w.at - 2 * DAY - 5, 'converted', { data: { value: 12.345 } })], served, w.at, null, null);
    expect(purchase.frequency).toBe(1);
    expect(purchase.monetary).toBe(12.35);
    expect(purchase.recencyDays).toBe(2);
  });

  test('the builders share the run lookback and the segment reachability rule', () => {
    expect(RFM_LOOKBACK_DAYS).toBe(LOOKBACK_DAYS);
    for (const { served, training } of cases) {
      expect(training.reachable).toEqual({ email: reachable(served, 'email'), sms: reachable(served, 'sms') });
    }
  });

  test('inputs: tenure is never negative, the hour is bucketed, a bad hour or channel throws', () => {
    const { w, served } = cases[0]!;
    const input = inputNow(served, 'sms', 23, w.at);
    expect(input.hourBucket).toBe(5);
    expect(input.tenureDays).toBeGreaterThanOrEqual(0);
    expect(inputNow({ ...served, createdAt: new Date(w.at + 3 * DAY).toISOString() }, null, null, w.at).tenureDays).toBe(0);
    expect(() => inputNow(served, 'email', 24, w.at)).toThrow(/hour/);
    expect(() => inputNow(served, 'email', 3.5, w.at)).toThrow(/hour/);
    expect(() => inputNow(served, 'fax' as Channel, 3, w.at)).toThrow(/channel/);
    expect(() => inputAtExposure(w.timeline, { ...served, createdAt: 'yesterday' }, w.at, null, null)).toThrow(/createdAt/);
  });

  test('weekend is the local day: Saturday 23:30 UTC is Sunday in Tokyo and Saturday in New York', () => {
    const { served } = cases[0]!;
    const saturdayNight = Date.UTC(2026, 11, 5, 23, 30);
    const mondayMorningTokyo = Date.UTC(2026, 11, 6, 23, 30); // Sunday 23:30 UTC = Monday 08:30 in Tokyo
    expect(inputNow({ ...served, timezone: 'Asia/Tokyo' }, null, null, saturdayNight).weekend).toBe(true);
    expect(inputNow({ ...served, timezone: 'America/New_York' }, null, null, saturdayNight).weekend).toBe(true);
    expect(inputNow({ ...served, timezone: 'Asia/Tokyo' }, null, null, mondayMorningTokyo).weekend).toBe(false);
    expect(inputNow({ ...served, timezone: 'UTC' }, null, null, mondayMorningTokyo).weekend).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// The encoder

function baseInput(overrides: Partial<FeatureInput> = {}): FeatureInput {
  const counts = Object.fromEntries(COUNT_NAMES.map((n) => [n, 0])) as Record<CountName, number>;
  return {
    attributes: {},
    country: null,
    tenureDays: 100,
    recencyDays: null,
    frequency: 0,
    monetary: 0,
    counts,
    lead: 0,
    reachable: { email: true, sms: false },
    channel: null,
    hourBucket: null,
    weekend: false,
    ...overrides,
  };
}

/** Inputs with varied counts and attributes (seeded). */
function variedInputs(n: number, seed: number): FeatureInput[] {
  const draw = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const counts = Object.fromEntries(COUNT_NAMES.map((name) => [name, Math.floor(draw() ** 3 * 20)])) as Record<CountName, number>;
    const frequency = Math.floor(draw() * 3);
    return baseInput({
      counts,
      attributes: { plan: ['free', 'basic', 'pro'][Math.floor(draw() * 3)]!, beta: draw() < 0.3, seats: Math.floor(draw() * 100) - 10, rare: draw() < 0.01 ? 'x' : null },
      country: draw() < 0.9 ? ['GB', 'US', 'FR'][Math.floor(draw() * 3)]! : null,
      tenureDays: Math.floor(draw() * 1000),
      recencyDays: frequency ? Math.floor(draw() * 180) : null,
      frequency,
      monetary: frequency * Math.round(draw() * 10000) / 100,
      lead: Math.floor(draw() * 60) - 20,
      channel: draw() < 0.5 ? 'email' : draw() < 0.8 ? 'sms' : null,
      hourBucket: Math.floor(draw() * 6),
      weekend: draw() < 0.3,
      reachable: { email: draw() < 0.9, sms: draw() < 0.4 },
    });
  });
}

describe('encode', () => {
  const inputs = variedInputs(500, 7);
  const spec = fitFeatureSpec(inputs);

  test('the layout: ≈ 60 numeric columns then 256 hashed, named, indices strictly increasing, no NaN', () => {
    expect(NUMERIC_COLUMNS).toBeGreaterThanOrEqual(50);
    expect(NUMERIC_COLUMNS).toBeLessThanOrEqual(64);
    expect(featureColumns()).toBe(NUMERIC_COLUMNS + HASH_BUCKETS);
    expect(featureNames(spec)).toHaveLength(featureColumns());
    expect(new Set(NUMERIC_NAMES).size).toBe(NUMERIC_COLUMNS);
    for (const input of inputs) {
      const { indices, values } = encode(input, spec);
      for (let k = 1; k < indices.length; k++) expect(indices[k]!).toBeGreaterThan(indices[k - 1]!);
      expect(values.every((v) => Number.isFinite(v) && v !== 0)).toBe(true);
      expect(indices.every((j) => j >= 0 && j < featureColumns())).toBe(true);
    }
  });

  test('every column of 500 varied inputs matches a reference encoder written from the column names', () => {
    const slog = (v: number) => Math.sign(v) * Math.log1p(Math.abs(v));
    const standard = (input: FeatureInput, name: string): number => {
      const j = STANDARDISED_NAMES.indexOf(name);
      const v = name.startsWith('count.') ? input.counts[name.slice(6) as CountName] : (input[name as 'tenureDays' | 'recencyDays' | 'frequency' | 'monetary' | 'lead'] as number | null);
      return v === null ? 0 : Math.min(CLIP, Math.max(-CLIP, (slog(v) - spec.means[j]!) / spec.sds[j]!));
    };
    for (const input of inputs) {
      const expected = NUMERIC_NAMES.map((name): number => {
        if (STANDARDISED_NAMES.includes(name)) return standard(input, name);
        if (name === 'recencyMissing') return input.recencyDays === null ? 1 : 0;
        if (name === 'weekend') return input.weekend ? 1 : 0;
        const cross = /^channel=(\w+)×(count\..+)$/.exec(name);
        if (cross) return input.channel === cross[1] ? standard(input, cross[2]!) : 0;
        const [key, value] = name.split('=') as [string, string];
        if (key === 'channel') return input.channel === value ? 1 : 0;
        if (key === 'hour') return input.hourBucket !== null && input.hourBucket * 4 === Number(value.split('-')[0]) ? 1 : 0;
        if (key.startsWith('reachable.')) return input.reachable[key.slice(10) as Channel] ? 1 : 0;
        throw new Error(`no reference for ${name}`);
      });
      const hashed = new Array<number>(HASH_BUCKETS).fill(0);
      if (input.country) hashed[bucketOf(`country=${input.country}`)]! += 1;
      for (const [name, v] of Object.entries(input.attributes)) {
        if (typeof v === 'string') hashed[bucketOf(`attributes.${name}=${v}`)]! += 1;
        else if (v === true) hashed[bucketOf(`attributes.${name}`)]! += 1;
        else if (typeof v === 'number') hashed[bucketOf(`attributes.${name}`)]! += slog(v);
      }
      const actual = dense(encode(input, spec));
      const reference = [...expected, ...hashed];
      expect(actual.flatMap((v, j) => (Math.abs(v - reference[j]!) > 1e-12 ? [`${featureNames(spec)[j]}: ${v} ≠ ${reference[j]}`] : []))).toEqual([]);
    }
  });

  test('standardised columns: (sign·log1p|v| − mean) / sd from the spec, clipped to ±5', () => {
    const input = inputs[3]!;
    const row = dense(encode(input, spec));
    const j = STANDARDISED_NAMES.indexOf('count.clicked.email.30d');
    expect(row[j]).toBeCloseTo((Math.log1p(input.counts['clicked.email.30d']) - spec.means[j]!) / spec.sds[j]!, 12);
    const lead = STANDARDISED_NAMES.indexOf('lead');
    const negative = dense(encode({ ...input, lead: -7 }, spec));
    expect(negative[lead]).toBeCloseTo((-Math.log1p(7) - spec.means[lead]!) / spec.sds[lead]!, 12);
    const huge = dense(encode({ ...input, monetary: 1e12, tenureDays: 0 }, spec));
    expect(huge[STANDARDISED_NAMES.indexOf('monetary')]).toBe(CLIP);
    expect(Math.abs(huge[STANDARDISED_NAMES.indexOf('tenureDays')]!)).toBeLessThanOrEqual(CLIP);
  });

  test('missing recency is 0 with the flag; a present one has no flag', () => {
    const none = dense(encode(baseInput(), spec));
    expect(none[column('recencyDays')]).toBe(0);
    expect(none[column('recencyMissing')]).toBe(1);
    const some = dense(encode(baseInput({ recencyDays: 3, frequency: 1, monetary: 10 }), spec));
    expect(some[column('recencyMissing')]).toBe(0);
    expect(some[column('recencyDays')]).toBeCloseTo((Math.log1p(3) - spec.means[column('recencyDays')]!) / spec.sds[column('recencyDays')]!, 12);
  });

  test("channel and hour one-hot; the crosses carry the send channel's own 30-day counts; a control has none", () => {
    const counts = { ...baseInput().counts, 'sent.sms.30d': 4, 'clicked.sms.30d': 1, 'sent.email.30d': 9 };
    const sms = dense(encode(baseInput({ counts, channel: 'sms', hourBucket: 2, weekend: true }), spec));
    expect(sms[column('channel=sms')]).toBe(1);
    expect(sms[column('channel=email')]).toBe(0);
    expect(sms[column('hour=8-11')]).toBe(1);
    expect(NUMERIC_NAMES.filter((n) => n.startsWith('hour=')).map((n) => sms[column(n)])).toEqual([0, 0, 1, 0, 0, 0]);
    expect(sms[column('weekend')]).toBe(1);
    expect(sms[column('channel=sms×count.sent.sms.30d')]).toBe(sms[column('count.sent.sms.30d')]);
    expect(sms[column('channel=sms×count.clicked.sms.30d')]).toBe(sms[column('count.clicked.sms.30d')]);
    expect(sms[column('channel=sms×count.clicked.sms.30d')]).not.toBe(0);
    expect(sms[column('channel=email×count.sent.email.30d')]).toBe(0);
    const control = dense(encode(baseInput({ counts }), spec));
    expect(NUMERIC_NAMES.filter((n) => n.startsWith('channel=') || n.startsWith('hour=')).map((n) => control[column(n)])).toEqual(new Array(14).fill(0));
  });

  test('hashed tokens: name=value for strings, name for booleans, sign·log1p|v| for numbers, country=XX', () => {
    const input = baseInput({ attributes: { plan: 'pro', beta: true, seats: -12, rare: null }, country: 'FR' });
    const row = dense(encode(input, spec));
    const expected = new Array<number>(HASH_BUCKETS).fill(0);
    expected[bucketOf('attributes.plan=pro')]! += 1;
    expected[bucketOf('attributes.beta')]! += 1;
    expected[bucketOf('attributes.seats')]! += -Math.log1p(12);
    expected[bucketOf('country=FR')]! += 1;
    expect(row.slice(NUMERIC_COLUMNS)).toEqual(expected);
    const off = dense(encode(baseInput({ attributes: { plan: '', beta: false, seats: 0 } }), spec));
    expect(off.slice(NUMERIC_COLUMNS).every((v) => v === 0)).toBe(true);
    // An attribute the spec did not keep is not encoded.
    const unknown = dense(encode(baseInput({ attributes: { favourite: 'blue' } }), spec));
    expect(unknown.slice(NUMERIC_COLUMNS).every((v) => v === 0)).toBe(true);
  });

  test('colliding tokens sum into one bucket, named after the heavier token', () => {
    const target = bucketOf('attributes.plan=pro');
    let name = '';
    for (let k = 0; !name; k++) if (bucketOf(`attributes.f${k}`) === target) name = `f${k}`;
    const spec = fitFeatureSpec([baseInput({ attributes: { plan: 'pro', [name]: true } }), baseInput({ attributes: { plan: 'pro' } })]);
    expect(spec.attributes).toEqual([name, 'plan'].sort());
    expect(spec.bucketNames[target]).toBe('attributes.plan=pro');
    expect(dense(encode(baseInput({ attributes: { plan: 'pro', [name]: 5 } }), spec))[NUMERIC_COLUMNS + target]).toBeCloseTo(1 + Math.log1p(5), 14);
    const heavier = fitFeatureSpec([baseInput({ attributes: { plan: 'pro', [name]: true } }), baseInput({ attributes: { [name]: true } })]);
    expect(heavier.bucketNames[target]).toBe(`attributes.${name}`);
  });

  test('malformed inputs throw, naming the field; nothing encodes to NaN', () => {
    expect(() => encode(baseInput({ tenureDays: Number.NaN }), spec)).toThrow(/tenureDays/);
    expect(() => encode(baseInput({ counts: { ...baseInput().counts, 'sent.email.7d': -1 } }), spec)).toThrow(/sent\.email\.7d/);
    expect(() => encode(baseInput({ monetary: Infinity }), spec)).toThrow(/monetary/);
    expect(() => encode(baseInput({ hourBucket: 6 }), spec)).toThrow(/hourBucket/);
    const { counts } = baseInput();
    delete (counts as Partial<Record<CountName, number>>)['visited.any.90d'];
    expect(() => encode(baseInput({ counts }), spec)).toThrow(/visited\.any\.90d/);
    // A non-finite attribute number is user data, not a programming error: it gives no token.
    const row = dense(encode(baseInput({ attributes: { seats: Number.NaN } }), spec));
    expect(row.every(Number.isFinite)).toBe(true);
  });
});

describe('fitFeatureSpec', () => {
  const inputs = variedInputs(400, 11);

  test('deterministic: the same inputs give the same bytes; a changed input changes them', () => {
    const a = JSON.stringify(fitFeatureSpec(inputs));
    expect(JSON.stringify(fitFeatureSpec(inputs.map((i) => structuredClone(i))))).toBe(a);
    const changed = inputs.slice();
    changed[0] = { ...changed[0]!, tenureDays: changed[0]!.tenureDays + 1 };
    expect(JSON.stringify(fitFeatureSpec(changed))).not.toBe(a);
  });

  test('weighted means and population sds of sign·log1p|v|, recency over those who have one', () => {
    const weights = inputs.map((_, i) => 1 + (i % 3));
    const spec = fitFeatureSpec(inputs, { weights });
    const check = (name: string, valueOf: (i: FeatureInput) => number | null) => {
      const pairs = inputs.map((input, i) => [valueOf(input), weights[i]!] as const).filter(([v]) => v !== null) as Array<[number, number]>;
      const sw = pairs.reduce((s, [, w]) => s + w, 0);
      const mean = pairs.reduce((s, [v, w]) => s + w * v, 0) / sw;
      const sd = Math.sqrt(pairs.reduce((s, [v, w]) => s + w * (v - mean) ** 2, 0) / sw);
      const j = STANDARDISED_NAMES.indexOf(name);
      expect(spec.means[j]).toBeCloseTo(mean, 12);
      expect(spec.sds[j]).toBeCloseTo(sd, 12);
    };
    check('count.opened.sms.90d', (i) => Math.log1p(i.counts['opened.sms.90d']));
    check('lead', (i) => Math.sign(i.lead) * Math.log1p(Math.abs(i.lead)));
    check('recencyDays', (i) => (i.recencyDays === null ? null : Math.log1p(i.recencyDays)));
    // Encoded standardised columns have sd ≈ 1 (exactly 1 unless clipped); one-hots sqrt(p(1 − p)).
    expect(spec.columnSds[column('count.sent.email.30d')]).toBeCloseTo(1, 6);
    const emailShare = inputs.reduce((s, i, k) => s + (i.channel === 'email' ? weights[k]! : 0), 0) / weights.reduce((s, w) => s + w, 0);
    expect(spec.columnSds[column('channel=email')]).toBeCloseTo(Math.sqrt(emailShare * (1 - emailShare)), 12);
  });

  test('bucket names: the most frequent token per bucket, else hash#i; explanations read them', () => {
    const spec = fitFeatureSpec(inputs);
    expect(spec.attributes).toEqual(['beta', 'plan', 'rare', 'seats']);
    expect(spec.bucketNames[bucketOf('attributes.plan=pro')]).toBe('attributes.plan=pro');
    expect(spec.bucketNames[bucketOf('country=GB')]).toBe('country=GB');
    const used = new Set(['attributes.plan=free', 'attributes.plan=basic', 'attributes.plan=pro', 'attributes.beta', 'attributes.seats', 'attributes.rare=x', 'country=GB', 'country=US', 'country=FR'].map(bucketOf));
    spec.bucketNames.forEach((name, b) => expect(name.startsWith('hash#')).toBe(!used.has(b)));
    expect(featureNames(spec)[NUMERIC_COLUMNS + bucketOf('attributes.plan=free')]).toBe('attributes.plan=free');
  });

  test('excludeAttributes drops leaks; at most maxAttributes, the most frequent, sorted by name', () => {
    const spec = fitFeatureSpec(inputs, { excludeAttributes: ['seats', 'beta'] });
    expect(spec.attributes).toEqual(['plan', 'rare']);
    expect(spec.excludeAttributes).toEqual(['beta', 'seats']);
    expect(dense(encode(baseInput({ attributes: { seats: 30 } }), spec)).slice(NUMERIC_COLUMNS).every((v) => v === 0)).toBe(true);
    expect(fitFeatureSpec(inputs, { maxAttributes: 2 }).attributes).toEqual(['plan', 'seats']);
    const many = [baseInput({ attributes: Object.fromEntries(Array.from({ length: 80 }, (_, k) => [`a${String(k).padStart(2, '0')}`, k + 1])) })];
    const wide = fitFeatureSpec([...many, baseInput({ attributes: { a79: 1, zz: 'y' } }), baseInput({ attributes: { zz: 'y' } })]);
    expect(wide.attributes).toHaveLength(50);
    expect(wide.attributes).toContain('a79');
    expect(wide.attributes).toContain('zz');
    expect(wide.attributes).toContain('a47'); // the rest tie at one input each: the first names win
    expect(wide.attributes).not.toContain('a48');
    expect(wide.attributes).toEqual([...wide.attributes].sort());
  });

  test('degenerate inputs: a single input encodes its standardised values as 0; no inputs or zero weights throw', () => {
    const one = fitFeatureSpec([inputs[0]!]);
    expect(one.sds.every((s) => s === 1)).toBe(true);
    const row = dense(encode(inputs[0]!, one));
    expect(row.slice(0, STANDARDISED_NAMES.length).every((v) => v === 0)).toBe(true);
    expect(row.every(Number.isFinite)).toBe(true);
    expect(one.columnSds.every((s) => s === 0)).toBe(true);
    expect(() => fitFeatureSpec([])).toThrow(/no inputs/);
    expect(() => fitFeatureSpec(inputs.slice(0, 2), { weights: [0, 0] })).toThrow(/sum to 0/);
    expect(() => fitFeatureSpec(inputs.slice(0, 2), { weights: [1, Number.NaN] })).toThrow(/weight 1/);
    expect(() => fitFeatureSpec(inputs.slice(0, 2), { weights: [1] })).toThrow(/1 weights for 2/);
    expect(() => fitFeatureSpec([baseInput({ lead: Number.NaN })])).toThrow(/lead/);
    expect(() => fitFeatureSpec(inputs, { maxAttributes: -1 })).toThrow(/maxAttributes/);
  });
});

describe('fnv1a', () => {
  /** An independent FNV-1a over TextEncoder's UTF-8 bytes, with BigInt arithmetic. */
  const reference = (text: string) => {
    let hash = 0x811c9dc5n;
    for (const byte of new TextEncoder().encode(text)) hash = ((hash ^ BigInt(byte)) * 0x01000193n) & 0xffffffffn;
    return Number(hash);
  };

  test('the published test vectors and a UTF-8 reference', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
    for (const text of ['attributes.plan=pro', 'country=DE', 'attributes.città=Zürich', 'attributes.emoji=🎉', 'lone\ud800surrogate', 'ü€𝄞']) expect(fnv1a(text), text).toBe(reference(text));
  });
});

// ---------------------------------------------------------------------------------------------
// The synthetic population

describe('synthetic data', () => {
  test('seeded, base rate ≈ 8 %, no uplift means equal arms, a true uplift has the stated size', () => {
    const none = syntheticExamples({ seed: 5, contacts: 20_000, uplift: 'none' });
    expect(syntheticExamples({ seed: 9, contacts: 300, uplift: 'true' })).toEqual(syntheticExamples({ seed: 9, contacts: 300, uplift: 'true' }));
    expect(syntheticExamples({ seed: 9, contacts: 300, uplift: 'true' })).not.toEqual(syntheticExamples({ seed: 10, contacts: 300, uplift: 'true' }));
    const mean = none.reduce((s, e) => s + e.pControl, 0) / none.length;
    expect(mean).toBeCloseTo(0.08, 6);
    const rate = none.reduce((s, e) => s + e.label, 0) / none.length;
    expect(Math.abs(rate - 0.08)).toBeLessThan(0.008);
    expect(none.every((e) => e.pTreated === e.pControl)).toBe(true);
    const controls = none.filter((e) => e.arm === 'control');
    expect(controls.length / none.length).toBeGreaterThan(0.08);
    expect(controls.length / none.length).toBeLessThan(0.12);
    expect(controls.every((e) => e.input.channel === null && e.input.hourBucket === null)).toBe(true);
    expect(none.filter((e) => e.arm === 'treated').every((e) => e.input.channel !== null && e.input.reachable[e.input.channel])).toBe(true);

    const uplift = syntheticExamples({ seed: 5, contacts: 20_000, uplift: 'true', holdoutShare: 0.5 });
    for (const e of uplift) {
      const shift = (e.lowEngagementFree ? UPLIFT_LOW_ENGAGEMENT_FREE : 0) + (e.recentBuyer ? UPLIFT_RECENT_BUYER : 0);
      expect(e.pTreated).toBeCloseTo(Math.min(1, Math.max(0, e.pControl + shift)), 12);
      expect(e.lowEngagementFree).toBe(e.input.attributes.plan === 'free' && e.input.counts['opened.email.30d'] + e.input.counts['clicked.email.30d'] + e.input.counts['clicked.sms.30d'] === 0);
    }
    const group = uplift.filter((e) => e.lowEngagementFree && !e.recentBuyer);
    expect(group.length).toBeGreaterThan(3000);
    const rateOf = (arm: string) => {
      const members = group.filter((e) => e.arm === arm);
      return members.reduce((s, e) => s + e.label, 0) / members.length;
    };
    expect(Math.abs(rateOf('treated') - rateOf('control') - UPLIFT_LOW_ENGAGEMENT_FREE)).toBeLessThan(0.025);
  });

  test('encoded and fitted with fitLogistic, the test AUC is within 0.02 of the true model’s on the same rows', () => {
    const examples = syntheticExamples({ seed: 42, contacts: 30_000, uplift: 'none' });
    const train = examples.slice(0, 20_000);
    const testRows = examples.slice(20_000);
    const spec = fitFeatureSpec(train.map((e) => e.input));
    const rows = (set: typeof examples) => sparseRows(set.map((e) => encode(e.input, spec)), featureColumns());
    const model = fitLogistic({ x: rows(train), y: train.map((e) => e.label) }, { lambda: 3 });
    expect(model.converged).toBe(true);
    const labels = testRows.map((e) => e.label);
    const fitted = auc(predict(model, rows(testRows)), labels);
    const truth = auc(testRows.map((e) => e.probability), labels);
    expect(truth).toBeGreaterThan(0.65);
    expect(Math.abs(fitted - truth)).toBeLessThanOrEqual(0.02);
    // Not vacuous: a model without the features is a coin toss.
    expect(auc(new Array(labels.length).fill(0.08), labels)).toBe(0.5);
  });
});
