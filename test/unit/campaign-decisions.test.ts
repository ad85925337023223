import { describe, expect, test, vi } from 'vitest';
import {
  assignmentHash,
  checkEligibility,
  chooseChannel,
  chooseVariant,
  earliestInstantAnywhere,
  instantAtLocalTime,
  isHoldout,
  nextAllowedTime,
  parseClock,
  sentInLast,
  TokenBucket,
  type QuietHours,
} from '../../shared/campaigns/decisions.ts';
import { scheduleStartIssues } from '../../shared/campaigns/scheduling.ts';
import type { Channel, ConsentStatus } from '../../shared/contacts/model.ts';
import { BadRequestError } from '../../shared/errors.ts';
import { beta, defaultScores, type Scores } from '../../shared/scoring/model.ts';
import { hourOf, indexActivity } from '../../shared/activity/activity.ts';
import type { EvalContact } from '../../shared/segments/contact-view.ts';

const NOW = new Date('2026-06-10T12:30:00.000Z');
const HOUR = hourOf(NOW.getTime());

interface ContactSpec {
  email?: string | undefined;
  phone?: string | undefined;
  consent?: Partial<Record<Channel, ConsentStatus>>;
  suppressed?: Partial<Record<Channel, boolean>>;
  /** Stored activity counters, e.g. { 'sent|email|<hour>': 2 }. */
  activity?: Record<string, number>;
  scores?: Partial<Scores>;
}

/** A contact reachable on both channels with prior scores, unless the spec says otherwise. */
function contact(spec: ContactSpec = {}): EvalContact {
  return {
    id: 'contact-1',
    email: 'email' in spec ? spec.email : 'ada@example.com',
    phone: 'phone' in spec ? spec.phone : '+447400123456',
    tags: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    attributes: {},
    consent: spec.consent ?? { email: 'confirmed', sms: 'confirmed' },
    suppressed: { email: false, sms: false, ...spec.suppressed },
    scores: { ...defaultScores(), ...spec.scores },
    activity: indexActivity(spec.activity, NOW.getTime()),
  };
}

const sent = (channel: Channel, hour: number, count = 1): Record<string, number> => ({ [`sent|${channel}|${hour}`]: count });

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `contact-${i}`);

describe('assignment', () => {
  test('assignmentHash is SHA-256 of salt:campaign:contact, read as 48 bits (stable across processes)', () => {
    // Golden value: changing the formula would reshuffle the groups of running campaigns.
    expect(assignmentHash('camp-1', 'contact-1', 'holdout')).toBe(0.6422856046068617);
    expect(assignmentHash('camp-1', 'contact-1', 'variant')).toBe(0.13266174945460918);
  });

  test('hashes are in [0, 1) and depend on campaign, contact and salt', () => {
    const values = ids(2000).map((id) => assignmentHash('camp-1', id, 'holdout'));
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(values).size).toBe(values.length);
    expect(assignmentHash('camp-2', 'contact-1', 'holdout')).not.toBe(assignmentHash('camp-1', 'contact-1', 'holdout'));
    expect(assignmentHash('camp-1', 'contact-2', 'holdout')).not.toBe(assignmentHash('camp-1', 'contact-1', 'holdout'));
  });

  test('a re-run assigns the same holdout and variant', () => {
    const variants = [
      { name: 'A', weight: 50 },
      { name: 'B', weight: 30 },
      { name: 'C', weight: 20 },
    ];
    const first = ids(500).map((id) => [isHoldout('camp-1', id, 25), chooseVariant('camp-1', id, variants).name]);
    // Fresh copies of the inputs: nothing may depend on object identity or call history.
    const second = ids(500).map((id) => [isHoldout('camp-1', id, 25), chooseVariant('camp-1', id, variants.map((v) => ({ ...v }))).name]);
    expect(second).toEqual(first);
  });

  test.each([10, 25])('holdout share on 10,000 contacts is within ±1.5 points of %i %%', (percent) => {
    const share = (ids(10_000).filter((id) => isHoldout('camp-holdout', id, percent)).length / 10_000) * 100;
    expect(Math.abs(share - percent)).toBeLessThanOrEqual(1.5);
  });

  test('holdout 0 % holds out nobody and 100 % everybody; out-of-range percents throw', () => {
    expect(ids(1000).some((id) => isHoldout('camp-1', id, 0))).toBe(false);
    expect(ids(1000).every((id) => isHoldout('camp-1', id, 100))).toBe(true);
    expect(() => isHoldout('camp-1', 'c', -1)).toThrow(RangeError);
    expect(() => isHoldout('camp-1', 'c', 101)).toThrow(RangeError);
  });

  test('variant split follows weights 50/30/20 within ±2 points', () => {
    const variants = [
      { name: 'A', weight: 50 },
      { name: 'B', weight: 30 },
      { name: 'C', weight: 20 },
    ];
    const counts = { A: 0, B: 0, C: 0 } as Record<string, number>;
    for (const id of ids(10_000)) counts[chooseVariant('camp-split', id, variants).name]! += 1;
    expect(Math.abs(counts['A']! / 100 - 50)).toBeLessThanOrEqual(2);
    expect(Math.abs(counts['B']! / 100 - 30)).toBeLessThanOrEqual(2);
    expect(Math.abs(counts['C']! / 100 - 20)).toBeLessThanOrEqual(2);
  });

  test('weights need not sum to 100 (5:3:2 splits like 50:30:20), and the chosen object is returned', () => {
    const variants = [
      { name: 'A', weight: 5, extra: 'a' },
      { name: 'B', weight: 3, extra: 'b' },
      { name: 'C', weight: 2, extra: 'c' },
    ];
    const scaled = variants.map((v) => ({ ...v, weight: v.weight * 10 }));
    for (const id of ids(1000)) {
      const chosen = chooseVariant('camp-1', id, variants);
      expect(variants).toContain(chosen);
      expect(chosen.name).toBe(chooseVariant('camp-1', id, scaled).name);
    }
  });

  test('a single variant always wins; no variants or non-positive weights throw', () => {
    const only = { name: 'only', weight: 1 };
    expect(ids(100).every((id) => chooseVariant('camp-1', id, [only]) === only)).toBe(true);
    expect(() => chooseVariant('camp-1', 'c', [])).toThrow(RangeError);
    expect(() => chooseVariant('camp-1', 'c', [{ name: 'A', weight: 0 }])).toThrow(RangeError);
    expect(() => chooseVariant('camp-1', 'c', [{ name: 'A', weight: -1 }])).toThrow(RangeError);
  });

  test('holdout and variant are independent: variant shares among non-holdout contacts match the weights', () => {
    const variants = [
      { name: 'A', weight: 50 },
      { name: 'B', weight: 30 },
      { name: 'C', weight: 20 },
    ];
    const kept = ids(10_000).filter((id) => !isHoldout('camp-indep', id, 25));
    const counts = { A: 0, B: 0, C: 0 } as Record<string, number>;
    for (const id of kept) counts[chooseVariant('camp-indep', id, variants).name]! += 1;
    for (const v of variants) expect(Math.abs((counts[v.name]! / kept.length) * 100 - v.weight)).toBeLessThanOrEqual(2);
    // And the other way round: each variant is held out at about the holdout rate.
    for (const v of variants) {
      const inVariant = ids(10_000).filter((id) => chooseVariant('camp-indep', id, variants).name === v.name);
      const heldOut = inVariant.filter((id) => isHoldout('camp-indep', id, 25)).length;
      expect(Math.abs((heldOut / inVariant.length) * 100 - 25)).toBeLessThanOrEqual(2.5);
    }
  });
});

describe('parseClock', () => {
  test.each([
    ['00:00', 0],
    ['08:00', 480],
    ['21:00', 1260],
    ['23:59', 1439],
    ['12:05', 725],
  ])('%s → %i', (clock, minutes) => {
    expect(parseClock(clock)).toBe(minutes);
  });

  test.each(['24:00', '12:60', '8:00', '1200', 'noon', '', '12:00:00', ' 12:00'])('%j throws', (clock) => {
    expect(() => parseClock(clock)).toThrow(BadRequestError);
  });
});

describe('nextAllowedTime', () => {
  const NIGHT: QuietHours = { start: '21:00', end: '08:00' };
  const at = (iso: string) => new Date(iso);
  const next = (iso: string, quiet: QuietHours | undefined, zone: string) => nextAllowedTime(at(iso), quiet, zone).toISOString();

  test('outside quiet hours: `at` itself', () => {
    const when = at('2026-06-10T12:00:00.000Z');
    expect(nextAllowedTime(when, NIGHT, 'UTC')).toBe(when);
    expect(next('2026-06-10T20:59:59.999Z', NIGHT, 'UTC')).toBe('2026-06-10T20:59:59.999Z');
  });

  test('no quiet hours, or start === end: `at` itself even at night', () => {
    expect(next('2026-06-10T23:00:00.000Z', undefined, 'UTC')).toBe('2026-06-10T23:00:00.000Z');
    expect(next('2026-06-10T23:00:00.000Z', { start: '22:00', end: '22:00' }, 'UTC')).toBe('2026-06-10T23:00:00.000Z');
  });

  test('wrapping window, inside before midnight: the end on the next day', () => {
    expect(next('2026-06-10T22:30:00.000Z', NIGHT, 'UTC')).toBe('2026-06-11T08:00:00.000Z');
    expect(next('2026-06-10T21:00:00.000Z', NIGHT, 'UTC')).toBe('2026-06-11T08:00:00.000Z'); // start is inside
  });

  test('wrapping window, inside after midnight: the end the same day', () => {
    expect(next('2026-06-11T03:00:00.000Z', NIGHT, 'UTC')).toBe('2026-06-11T08:00:00.000Z');
    expect(next('2026-06-11T07:59:59.500Z', NIGHT, 'UTC')).toBe('2026-06-11T08:00:00.000Z');
    expect(next('2026-06-11T08:00:00.000Z', NIGHT, 'UTC')).toBe('2026-06-11T08:00:00.000Z'); // end is outside
  });

  test('wrapping across a month and year end', () => {
    expect(next('2026-12-31T23:00:00.000Z', NIGHT, 'UTC')).toBe('2027-01-01T08:00:00.000Z');
  });

  test('non-wrapping window 12:00–14:00', () => {
    const lunch = { start: '12:00', end: '14:00' };
    expect(next('2026-06-10T13:00:00.000Z', lunch, 'UTC')).toBe('2026-06-10T14:00:00.000Z');
    expect(next('2026-06-10T12:00:00.000Z', lunch, 'UTC')).toBe('2026-06-10T14:00:00.000Z');
    expect(next('2026-06-10T11:59:00.000Z', lunch, 'UTC')).toBe('2026-06-10T11:59:00.000Z');
    expect(next('2026-06-10T14:00:00.000Z', lunch, 'UTC')).toBe('2026-06-10T14:00:00.000Z');
    expect(next('2026-06-10T23:00:00.000Z', lunch, 'UTC')).toBe('2026-06-10T23:00:00.000Z');
  });

  test("quiet hours are read in the contact's zone (New York, summer)", () => {
    // 02:00Z = 22:00 EDT on 9 June → 08:00 EDT on 10 June.
    expect(next('2026-06-10T02:00:00.000Z', NIGHT, 'America/New_York')).toBe('2026-06-10T12:00:00.000Z');
    // 22:00Z = 18:00 EDT: quiet in UTC but not in New York.
    expect(next('2026-06-10T22:00:00.000Z', NIGHT, 'America/New_York')).toBe('2026-06-10T22:00:00.000Z');
  });

  test('New York spring forward (2026-03-08): the night is an hour shorter', () => {
    // 23:00 EST on 7 March → 08:00 EDT on 8 March (12:00Z, not 13:00Z).
    expect(next('2026-03-08T04:00:00.000Z', NIGHT, 'America/New_York')).toBe('2026-03-08T12:00:00.000Z');
  });

  test('New York spring forward: an end time inside the gap means the instant the gap ends', () => {
    // Quiet 01:00–02:30; 02:30 does not exist that night, the clock jumps 02:00 EST → 03:00 EDT at 07:00Z.
    const gap = { start: '01:00', end: '02:30' };
    expect(next('2026-03-08T06:30:00.000Z', gap, 'America/New_York')).toBe('2026-03-08T07:00:00.000Z'); // 01:30 EST
    expect(next('2026-03-08T06:59:59.000Z', gap, 'America/New_York')).toBe('2026-03-08T07:00:00.000Z');
    // 03:00 EDT and later are outside.
    expect(next('2026-03-08T07:00:00.000Z', gap, 'America/New_York')).toBe('2026-03-08T07:00:00.000Z');
  });

  test('New York fall back (2026-11-01): the night is an hour longer', () => {
    // 22:00 EDT on 31 October → 08:00 EST on 1 November (13:00Z).
    expect(next('2026-11-01T02:00:00.000Z', NIGHT, 'America/New_York')).toBe('2026-11-01T13:00:00.000Z');
  });

  test('New York fall back: an end time in the repeated hour means its first occurrence after `at`', () => {
    // 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST).
    const overlap = { start: '00:00', end: '01:30' };
    expect(next('2026-11-01T04:45:00.000Z', overlap, 'America/New_York')).toBe('2026-11-01T05:30:00.000Z'); // 00:45 EDT
    expect(next('2026-11-01T05:10:00.000Z', overlap, 'America/New_York')).toBe('2026-11-01T05:30:00.000Z'); // 01:10 EDT
    // 01:10 EST, in the second pass: the first 01:30 is already past, the next is the second one.
    expect(next('2026-11-01T06:10:00.000Z', overlap, 'America/New_York')).toBe('2026-11-01T06:30:00.000Z');
    // 01:40 EDT reads outside the window.
    expect(next('2026-11-01T05:40:00.000Z', overlap, 'America/New_York')).toBe('2026-11-01T05:40:00.000Z');
  });

  test('Asia/Kolkata (UTC+05:30)', () => {
    // 16:00Z = 21:30 IST → 08:00 IST next day = 02:30Z.
    expect(next('2026-06-10T16:00:00.000Z', NIGHT, 'Asia/Kolkata')).toBe('2026-06-11T02:30:00.000Z');
    // 15:29Z = 20:59 IST: not yet quiet.
    expect(next('2026-06-10T15:29:00.000Z', NIGHT, 'Asia/Kolkata')).toBe('2026-06-10T15:29:00.000Z');
    // 02:29Z = 07:59 IST → 02:30Z.
    expect(next('2026-06-11T02:29:00.000Z', NIGHT, 'Asia/Kolkata')).toBe('2026-06-11T02:30:00.000Z');
  });

  test('bad quiet hours or time zone throw', () => {
    expect(() => nextAllowedTime(NOW, { start: '9pm', end: '08:00' }, 'UTC')).toThrow(BadRequestError);
    expect(() => nextAllowedTime(NOW, NIGHT, 'Mars/Base')).toThrow(BadRequestError);
  });
});

describe('local wall-clock scheduling', () => {
  test.each([
    ['2026-06-01T09:00', 'UTC', '2026-06-01T09:00:00.000Z'],
    ['2026-06-01T09:00', 'Europe/Berlin', '2026-06-01T07:00:00.000Z'],
    ['2026-01-15T09:00', 'Europe/Berlin', '2026-01-15T08:00:00.000Z'],
    ['2026-06-01T09:00', 'America/New_York', '2026-06-01T13:00:00.000Z'],
    ['2026-06-01T09:00', 'Asia/Kolkata', '2026-06-01T03:30:00.000Z'],
    ['2026-06-01T09:00', 'Australia/Sydney', '2026-05-31T23:00:00.000Z'],
    ['2026-06-01T09:00:30', 'Asia/Tokyo', '2026-06-01T00:00:30.000Z'],
    // DST days: 09:00 is after the change, so the new offset applies.
    ['2026-03-08T09:00', 'America/New_York', '2026-03-08T13:00:00.000Z'],
    ['2026-11-01T09:00', 'America/New_York', '2026-11-01T14:00:00.000Z'],
    ['2026-03-29T09:00', 'Europe/London', '2026-03-29T08:00:00.000Z'],
    ['2026-10-04T09:00', 'Australia/Sydney', '2026-10-03T22:00:00.000Z'],
    // As at(...) schedules: a time in the gap moves forward by the gap; a repeated time is the first.
    ['2026-03-08T02:30', 'America/New_York', '2026-03-08T07:30:00.000Z'],
    ['2026-11-01T01:30', 'America/New_York', '2026-11-01T05:30:00.000Z'],
  ])('instantAtLocalTime(%s, %s) = %s', (wall, zone, expected) => {
    expect(instantAtLocalTime(wall, zone).toISOString()).toBe(expected);
  });

  test.each(['2026-02-30T09:00', '2026-06-01 09:00', '2026-06-01T24:00', '2026-06-01T09:00Z', '2026-06-01T09:00+02:00', '2026-06-01'])('instantAtLocalTime(%j) throws', (wall) => {
    expect(() => instantAtLocalTime(wall, 'UTC')).toThrow(BadRequestError);
  });

  test('instantAtLocalTime rejects an unknown zone', () => {
    expect(() => instantAtLocalTime('2026-06-01T09:00', 'Mars/Base')).toThrow(BadRequestError);
  });

  test('earliestInstantAnywhere is the wall-clock time read in UTC+14 (UTC − 14 h)', () => {
    expect(earliestInstantAnywhere('2026-06-01T09:00').toISOString()).toBe('2026-05-31T19:00:00.000Z');
    expect(earliestInstantAnywhere('2026-01-01T00:00:15').toISOString()).toBe('2025-12-31T10:00:15.000Z');
    expect(earliestInstantAnywhere('2026-06-01T09:00').getTime()).toBe(instantAtLocalTime('2026-06-01T09:00', 'Pacific/Kiritimati').getTime());
  });

  test('no zone reaches the wall-clock time before earliestInstantAnywhere', () => {
    const zones = ['Pacific/Kiritimati', 'Pacific/Auckland', 'Pacific/Tongatapu', 'Asia/Tokyo', 'Asia/Kolkata', 'Europe/Berlin', 'UTC', 'America/New_York', 'Pacific/Pago_Pago'];
    for (const wall of ['2026-06-01T09:00', '2026-12-24T18:00']) {
      const earliest = earliestInstantAnywhere(wall).getTime();
      for (const zone of zones) expect(instantAtLocalTime(wall, zone).getTime()).toBeGreaterThanOrEqual(earliest);
    }
  });
});

describe('sentInLast', () => {
  test('counts the channel’s sends whose hour is in [now − hours, now]', () => {
    const c = contact({ activity: { ...sent('email', HOUR, 1), ...sent('email', HOUR - 24, 2), ...sent('email', HOUR - 25, 4), ...sent('sms', HOUR, 8) } });
    expect(sentInLast(c, 'email', 24, NOW)).toBe(3);
    expect(sentInLast(c, 'email', 25, NOW)).toBe(7);
    expect(sentInLast(c, 'sms', 24, NOW)).toBe(8);
  });

  test('counters after `now` and campaign-scoped keys are not counted again', () => {
    const c = contact({ activity: { ...sent('email', HOUR - 1), ...sent('email', HOUR + 1, 5), [`sent|c:camp-1|${HOUR - 1}`]: 1 } });
    expect(sentInLast(c, 'email', 24, NOW)).toBe(1);
  });

  test('no activity: 0', () => {
    expect(sentInLast(contact(), 'sms', 24 * 7, NOW)).toBe(0);
  });
});

describe('checkEligibility', () => {
  test('a reachable contact is eligible on both channels', () => {
    expect(checkEligibility(contact(), 'email', NOW)).toEqual({ eligible: true });
    expect(checkEligibility(contact(), 'sms', NOW)).toEqual({ eligible: true });
  });

  test.each<[string, ContactSpec, Channel, string]>([
    ['no email address', { email: undefined }, 'email', 'no_address'],
    ['no phone', { phone: undefined }, 'sms', 'no_address'],
    ['empty email', { email: '' }, 'email', 'no_address'],
    ['no consent record', { consent: { email: 'confirmed' } }, 'sms', 'no_consent'],
    ['pending double opt-in', { consent: { email: 'pending', sms: 'confirmed' } }, 'email', 'pending_confirmation'],
    ['withdrawn', { consent: { email: 'confirmed', sms: 'withdrawn' } }, 'sms', 'consent_withdrawn'],
    ['suppressed', { suppressed: { email: true } }, 'email', 'suppressed'],
  ])('%s → %s', (_label, spec, channel, reason) => {
    expect(checkEligibility(contact(spec), channel, NOW)).toEqual({ eligible: false, reason });
  });

  test('other channel’s problems do not matter', () => {
    const c = contact({ phone: undefined, consent: { email: 'confirmed', sms: 'withdrawn' }, suppressed: { sms: true }, activity: sent('sms', HOUR, 9) });
    expect(checkEligibility(c, 'email', NOW, { perDay: 1 })).toEqual({ eligible: true });
  });

  test('checks run in order: address, consent, suppression, cap', () => {
    const cap = { perDay: 1 };
    const capped = sent('email', HOUR);
    expect(checkEligibility(contact({ email: undefined, consent: {}, suppressed: { email: true }, activity: capped }), 'email', NOW, cap)).toEqual({ eligible: false, reason: 'no_address' });
    expect(checkEligibility(contact({ consent: { email: 'withdrawn' }, suppressed: { email: true }, activity: capped }), 'email', NOW, cap)).toEqual({ eligible: false, reason: 'consent_withdrawn' });
    expect(checkEligibility(contact({ suppressed: { email: true }, activity: capped }), 'email', NOW, cap)).toEqual({ eligible: false, reason: 'suppressed' });
    expect(checkEligibility(contact({ activity: capped }), 'email', NOW, cap)).toEqual({ eligible: false, reason: 'frequency_cap' });
  });

  test('per-day cap at the boundary: exactly cap → capped, cap − 1 → eligible', () => {
    const cap = { perDay: 3 };
    // Two sends in the hour that holds now − 24 h (inside the window) and one now.
    const atCap = contact({ activity: { ...sent('email', HOUR - 24, 2), ...sent('email', HOUR, 1) } });
    const belowCap = contact({ activity: { ...sent('email', HOUR - 24, 1), ...sent('email', HOUR, 1), ...sent('email', HOUR - 25, 5) } });
    expect(checkEligibility(atCap, 'email', NOW, cap)).toEqual({ eligible: false, reason: 'frequency_cap' });
    expect(checkEligibility(belowCap, 'email', NOW, cap)).toEqual({ eligible: true });
  });

  test('per-week cap at the boundary, counting 7 × 24 h', () => {
    const cap = { perWeek: 4 };
    const atCap = contact({ activity: { ...sent('sms', HOUR - 7 * 24, 1), ...sent('sms', HOUR - 100, 2), ...sent('sms', HOUR - 2, 1) } });
    const belowCap = contact({ activity: { ...sent('sms', HOUR - 7 * 24 - 1, 1), ...sent('sms', HOUR - 100, 2), ...sent('sms', HOUR - 2, 1) } });
    expect(checkEligibility(atCap, 'sms', NOW, cap)).toEqual({ eligible: false, reason: 'frequency_cap' });
    expect(checkEligibility(belowCap, 'sms', NOW, cap)).toEqual({ eligible: true });
    // Sends older than a day count for the week but not for the day.
    expect(checkEligibility(atCap, 'sms', NOW, { perDay: 2 })).toEqual({ eligible: true });
  });

  test('caps count only the given channel', () => {
    const c = contact({ activity: { ...sent('sms', HOUR, 5), ...sent('email', HOUR, 1) } });
    expect(checkEligibility(c, 'email', NOW, { perDay: 2, perWeek: 2 })).toEqual({ eligible: true });
    expect(checkEligibility(c, 'sms', NOW, { perDay: 2 })).toEqual({ eligible: false, reason: 'frequency_cap' });
    expect(checkEligibility(c, 'email', NOW, { perDay: 1 })).toEqual({ eligible: false, reason: 'frequency_cap' });
  });
});

describe('chooseChannel', () => {
  const costs = { email: 0.001, sms: 0.05 };
  const base = { now: NOW, costPerMessage: costs };
  /** Email response rate 10 % (EV 5) beats SMS at the 4 % prior (EV 2). */
  const emailLover = { propensity: { email: beta(5, 45), sms: beta(0.8, 19.2) } };

  test('ordered list: the first eligible channel in the campaign’s order', () => {
    expect(chooseChannel(contact(), ['sms', 'email'], base)).toEqual({ channel: 'sms' });
    expect(chooseChannel(contact(), ['email', 'sms'], base)).toEqual({ channel: 'email' });
  });

  test('ordered list: falls back when the preferred channel is refused', () => {
    expect(chooseChannel(contact({ consent: { email: 'confirmed', sms: 'withdrawn' } }), ['sms', 'email'], base)).toEqual({ channel: 'email' });
    expect(chooseChannel(contact({ activity: sent('sms', HOUR, 2) }), ['sms', 'email'], { ...base, cap: { perDay: 2 } })).toEqual({ channel: 'email' });
  });

  test('ordered list: none eligible → the reason of the first channel in the list', () => {
    const c = contact({ phone: undefined, consent: { email: 'pending' } });
    expect(chooseChannel(c, ['sms', 'email'], base)).toEqual({ channel: null, reason: 'no_address', triedChannel: 'sms' });
    expect(chooseChannel(c, ['email', 'sms'], base)).toEqual({ channel: null, reason: 'pending_confirmation', triedChannel: 'email' });
    expect(chooseChannel(c, ['email'], base)).toEqual({ channel: null, reason: 'pending_confirmation', triedChannel: 'email' });
  });

  test('ordered list: channels without a template in the variant are skipped', () => {
    expect(chooseChannel(contact(), ['sms', 'email'], { ...base, allowedChannels: ['email'] })).toEqual({ channel: 'email' });
    const noEmail = contact({ email: undefined });
    expect(chooseChannel(noEmail, ['sms', 'email'], { ...base, allowedChannels: ['email'] })).toEqual({ channel: null, reason: 'no_address', triedChannel: 'email' });
  });

  test("'best': SMS wins on expected value with prior scores (0.04 × 50 − 0.05 > 0.02 × 50 − 0.001)", () => {
    expect(chooseChannel(contact(), 'best', base)).toEqual({ channel: 'sms' });
  });

  test("'best': email wins for a contact who responds to email", () => {
    expect(chooseChannel(contact({ scores: emailLover }), 'best', base)).toEqual({ channel: 'email' });
  });

  test("'best': cost counts — an expensive SMS loses", () => {
    expect(chooseChannel(contact(), 'best', { ...base, costPerMessage: { email: 0.001, sms: 1.5 } })).toEqual({ channel: 'email' });
    // A missing cost is free.
    expect(chooseChannel(contact({ scores: emailLover }), 'best', { ...base, costPerMessage: { email: 3.5 } })).toEqual({ channel: 'sms' });
  });

  test("'best': the conversion value scales the response probability", () => {
    // At 1 per conversion SMS earns 0.04 − 0.05 < 0.02 − 0.001: email.
    const cheap = { value: { ...defaultScores().value, expectedValue: 1 } };
    expect(chooseChannel(contact({ scores: cheap }), 'best', base)).toEqual({ channel: 'email' });
  });

  test("'best': a tie goes to email", () => {
    const same = { propensity: { email: beta(1, 9), sms: beta(1, 9) } };
    expect(chooseChannel(contact({ scores: same }), 'best', { ...base, costPerMessage: { email: 0.01, sms: 0.01 } })).toEqual({ channel: 'email' });
  });

  test("'best': only eligible channels compete", () => {
    expect(chooseChannel(contact({ suppressed: { sms: true } }), 'best', base)).toEqual({ channel: 'email' });
    expect(chooseChannel(contact({ scores: emailLover, consent: { sms: 'confirmed' } }), 'best', base)).toEqual({ channel: 'sms' });
  });

  test("'best': allowedChannels limits the candidates", () => {
    expect(chooseChannel(contact(), 'best', { ...base, allowedChannels: ['email'] })).toEqual({ channel: 'email' });
    expect(chooseChannel(contact({ scores: emailLover }), 'best', { ...base, allowedChannels: ['sms'] })).toEqual({ channel: 'sms' });
  });

  test("'best': none eligible → the reason of email, or of the first allowed channel", () => {
    const c = contact({ email: undefined, consent: { email: 'confirmed', sms: 'withdrawn' } });
    expect(chooseChannel(c, 'best', base)).toEqual({ channel: null, reason: 'no_address', triedChannel: 'email' });
    expect(chooseChannel(c, 'best', { ...base, allowedChannels: ['sms'] })).toEqual({ channel: null, reason: 'consent_withdrawn', triedChannel: 'sms' });
  });

  test('no channel left to choose from is a configuration error', () => {
    expect(() => chooseChannel(contact(), ['sms'], { ...base, allowedChannels: ['email'] })).toThrow(RangeError);
    expect(() => chooseChannel(contact(), 'best', { ...base, allowedChannels: [] })).toThrow(RangeError);
  });
});

describe('TokenBucket', () => {
  /** A clock that only moves when the bucket sleeps. */
  function fakeClock() {
    const clock = {
      t: 0,
      sleeps: [] as number[],
      now: () => clock.t,
      sleep: async (ms: number) => {
        clock.sleeps.push(ms);
        clock.t += ms;
      },
    };
    return clock;
  }

  /** Takes `count` single tokens one after another; returns the clock time each was granted. */
  async function grantTimes(bucket: TokenBucket, clock: { now: () => number }, count: number, n = 1): Promise<number[]> {
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      await bucket.take(n);
      times.push(clock.now());
    }
    return times;
  }

  test('rate 10/s: 10 at once (the burst), then one every 100 ms', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, undefined, clock.now, clock.sleep);
    const times = await grantTimes(bucket, clock, 13);
    expect(times).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 200, 300]);
  });

  test('rate 0.5/s: one at once, then one every 2 s', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(0.5, undefined, clock.now, clock.sleep);
    expect(await grantTimes(bucket, clock, 3)).toEqual([0, 2000, 4000]);
  });

  test('rate 2.5/s with burst 1: one every 400 ms', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(2.5, 1, clock.now, clock.sleep);
    expect(await grantTimes(bucket, clock, 4)).toEqual([0, 400, 800, 1200]);
  });

  test('idle time refills up to the burst, not beyond', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, 5, clock.now, clock.sleep);
    await grantTimes(bucket, clock, 5);
    clock.t = 60_000;
    expect(await grantTimes(bucket, clock, 6)).toEqual([60_000, 60_000, 60_000, 60_000, 60_000, 60_100]);
  });

  test('take(n) waits for n tokens', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, 5, clock.now, clock.sleep);
    expect(await grantTimes(bucket, clock, 3, 5)).toEqual([0, 500, 1000]);
  });

  test('tryTake never waits', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, 2, clock.now, clock.sleep);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, false]);
    clock.t = 99;
    expect(bucket.tryTake()).toBe(false);
    clock.t = 100;
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
    expect(clock.sleeps).toEqual([]);
  });

  test('concurrent takes are served in order, one interval apart', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(1, 1, clock.now, clock.sleep);
    const granted: Array<[number, number]> = [];
    await Promise.all([0, 1, 2, 3].map((i) => bucket.take().then(() => granted.push([i, clock.now()]))));
    expect(granted).toEqual([
      [0, 0],
      [1, 1000],
      [2, 2000],
      [3, 3000],
    ]);
  });

  test('tryTake does not jump ahead of a waiting take', async () => {
    const clock = fakeClock();
    let release: () => void = () => undefined;
    const bucket = new TokenBucket(1, 1, clock.now, (ms) => {
      clock.t += ms;
      return new Promise<void>((resolve) => (release = resolve));
    });
    expect(bucket.tryTake()).toBe(true);
    const waiting = bucket.take();
    await new Promise((resolve) => setTimeout(resolve, 0)); // let the take start sleeping
    expect(bucket.tryTake()).toBe(false); // a token is there, but it is the waiter's
    release();
    await waiting;
    expect(clock.t).toBe(1000);
  });

  test('invalid rates, bursts and amounts throw', async () => {
    expect(() => new TokenBucket(0)).toThrow(RangeError);
    expect(() => new TokenBucket(-1)).toThrow(RangeError);
    expect(() => new TokenBucket(Number.NaN)).toThrow(RangeError);
    expect(() => new TokenBucket(10, 0.5)).toThrow(RangeError);
    const bucket = new TokenBucket(10, 5);
    expect(() => bucket.take(6)).toThrow(RangeError);
    expect(() => bucket.take(0)).toThrow(RangeError);
    expect(() => bucket.tryTake(6)).toThrow(RangeError);
  });

  test('default clock and sleep: rate 50/s with burst 1 grants three takes 20 ms apart', async () => {
    vi.useFakeTimers();
    try {
      const bucket = new TokenBucket(50, 1);
      const started = performance.now();
      const granted: number[] = [];
      const takes = Array.from({ length: 3 }, () => bucket.take().then(() => granted.push(performance.now() - started)));
      await vi.advanceTimersByTimeAsync(19);
      expect(granted).toEqual([0]);
      await vi.advanceTimersByTimeAsync(30);
      await Promise.all(takes);
      expect(granted).toEqual([0, 20, 40]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('scheduleStartIssues: a launch whose start has passed', () => {
  const now = new Date('2026-12-05T08:30:00Z');
  const at = (wallClock: string, timezone = 'UTC', localTime = false) => scheduleStartIssues({ type: 'at', at: wallClock, timezone, localTime }, now).map((i) => i.path);

  test('compares the wall-clock time in its own zone, with the clock skew allowed', () => {
    expect(at('2026-12-05T09:00', 'Europe/Berlin')).toEqual(['schedule.at']); // 08:00 UTC
    expect(at('2026-12-05T09:00')).toEqual([]);
    expect(at('2026-12-05T04:00', 'America/New_York')).toEqual([]); // 09:00 UTC
    expect(at('2026-12-05T04:00', 'Asia/Tokyo')).toEqual(['schedule.at']); // 19:00 UTC the day before
    expect(at('2026-12-05T08:25')).toEqual([]); // five minutes ago: a slow client clock
    expect(at('2026-12-05T08:10')).toEqual(['schedule.at']);
  });

  test('a local-time schedule starts where its time comes first (UTC+14)', () => {
    expect(at('2026-12-05T20:00', 'UTC', true)).toEqual(['schedule.at']); // came at 06:00 UTC
    expect(at('2026-12-05T22:35', 'UTC', true)).toEqual([]); // comes at 08:35 UTC
  });

  test('immediate never, recurring only when its cron has no firing left', () => {
    expect(scheduleStartIssues({ type: 'immediate' }, now)).toEqual([]);
    expect(scheduleStartIssues({ type: 'recurring', cron: 'cron(0 9 ? * MON *)', timezone: 'Europe/Berlin' }, now)).toEqual([]);
    expect(scheduleStartIssues({ type: 'recurring', cron: 'cron(0 9 ? * MON 2026)', timezone: 'Europe/Berlin' }, now)).toEqual([]);
    expect(scheduleStartIssues({ type: 'recurring', cron: 'cron(0 9 1 DEC ? 2026)', timezone: 'Europe/Berlin' }, now).map((i) => i.path)).toEqual(['schedule.cron']);
  });
});
