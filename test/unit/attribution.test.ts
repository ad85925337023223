import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  aggregateCredits,
  attributeConversion,
  DAY_MS,
  outcomeKey,
  type AttributionModel,
  type CampaignGoal,
  type Conversion,
  type Credit,
  type Touch,
} from '../../shared/attribution/attribute.ts';
import { RESPONSE_DAYS, updateScores } from '../../shared/attribution/contact-pass.ts';
import { defaultScores } from '../../shared/scoring/model.ts';

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const HOUR_MS = 3_600_000;
const CONVERSION: Conversion = { id: 'conv-1', contactId: 'contact-1', at: T0, value: 100, name: 'purchase' };

function goal(campaignId: string, model: AttributionModel, windowDays: number, extra: Partial<CampaignGoal> = {}): CampaignGoal {
  return { campaignId, event: 'purchase', windowDays, model, ...extra };
}
const GOALS = new Map<string, CampaignGoal>(
  [
    goal('c-last', 'last_touch', 7),
    goal('c-first', 'first_touch', 7),
    goal('c-linear', 'linear', 7),
    goal('c-decay', 'time_decay', 14, { halfLifeDays: 2 }),
    goal('c-decay-default', 'time_decay', 30),
    goal('c-signup', 'last_touch', 7, { event: 'signup' }),
  ].map((g) => [g.campaignId, g]),
);

/** A 'sent' touch `daysBefore` days before T0. */
const sent = (campaignId: string, sendId: string, daysBefore: number, extra: Partial<Touch> = {}): Touch => ({
  campaignId,
  sendId,
  at: T0 - daysBefore * DAY_MS,
  kind: 'sent',
  ...extra,
});

/** credit per sendId, for compact assertions. */
const shares = (credits: Credit[]): Record<string, number> => Object.fromEntries(credits.map((c) => [c.sendId ?? c.campaignId, c.credit]));
const total = (credits: Credit[]): number => credits.reduce((sum, c) => sum + c.credit, 0);

describe('attributeConversion: models', () => {
  test('last_touch: the most recent send gets all the credit and the revenue', () => {
    // Prepare / Act
    const credits = attributeConversion(CONVERSION, [sent('c-last', 's1', 3), sent('c-last', 's3', 2 / 24), sent('c-last', 's2', 1)], GOALS);
    // Assess
    expect(credits).toEqual([{ conversionId: 'conv-1', campaignId: 'c-last', sendId: 's3', credit: 1, revenue: 100 }]);
  });

  test('first_touch: the earliest qualifying send gets all the credit', () => {
    const credits = attributeConversion(CONVERSION, [sent('c-first', 's2', 1), sent('c-first', 's1', 6)], GOALS);
    expect(credits).toEqual([{ conversionId: 'conv-1', campaignId: 'c-first', sendId: 's1', credit: 1, revenue: 100 }]);
  });

  test('linear: equal shares (1/3 each, revenue 100/3), in chronological order', () => {
    const credits = attributeConversion(CONVERSION, [sent('c-linear', 's2', 2), sent('c-linear', 's3', 1), sent('c-linear', 's1', 5)], GOALS);
    expect(credits.map((c) => c.sendId)).toEqual(['s1', 's2', 's3']);
    for (const c of credits) {
      expect(c.credit).toBeCloseTo(1 / 3, 15);
      expect(c.revenue).toBeCloseTo(100 / 3, 12);
    }
    expect(total(credits)).toBeCloseTo(1, 15);
  });

  test('time_decay with a 2-day half-life: Δt = 1, 3, 5 days weigh 2^-0.5 : 2^-1.5 : 2^-2.5 = 4 : 2 : 1 → 4/7, 2/7, 1/7', () => {
    const credits = attributeConversion(CONVERSION, [sent('c-decay', 's5', 5), sent('c-decay', 's1', 1), sent('c-decay', 's3', 3)], GOALS);
    const s = shares(credits);
    expect(s.s1).toBeCloseTo(4 / 7, 15);
    expect(s.s3).toBeCloseTo(2 / 7, 15);
    expect(s.s5).toBeCloseTo(1 / 7, 15);
    expect(credits.find((c) => c.sendId === 's1')?.revenue).toBeCloseTo(400 / 7, 12);
  });

  test('time_decay without halfLifeDays uses 7 days: Δt = 7 and 14 days weigh 1/2 : 1/4 → 2/3, 1/3', () => {
    const credits = attributeConversion(CONVERSION, [sent('c-decay-default', 'old', 14), sent('c-decay-default', 'new', 7)], GOALS);
    expect(shares(credits).new).toBeCloseTo(2 / 3, 15);
    expect(shares(credits).old).toBeCloseTo(1 / 3, 15);
  });

  test('time_decay does not underflow with a tiny half-life: the newest send takes (almost) everything', () => {
    const goals = new Map([['c', goal('c', 'time_decay', 90, { halfLifeDays: 0.001 })]]);
    const credits = attributeConversion(CONVERSION, [sent('c', 'a', 80), sent('c', 'b', 60)], goals);
    expect(shares(credits)).toEqual({ a: 0, b: 1 });
  });

  test('no touches, or no qualifying touch → no credits; a zero-value conversion still gets credits with revenue 0', () => {
    expect(attributeConversion(CONVERSION, [], GOALS)).toEqual([]);
    expect(attributeConversion(CONVERSION, [sent('c-last', 's1', 30)], GOALS)).toEqual([]);
    expect(attributeConversion({ ...CONVERSION, value: 0 }, [sent('c-last', 's1', 1)], GOALS)).toEqual([
      { conversionId: 'conv-1', campaignId: 'c-last', sendId: 's1', credit: 1, revenue: 0 },
    ]);
  });
});

describe('attributeConversion: which touches qualify', () => {
  test('a send exactly windowDays × 24 h before the conversion counts; one millisecond earlier does not', () => {
    const atEdge: Touch = { campaignId: 'c-last', sendId: 'edge', at: T0 - 7 * DAY_MS, kind: 'sent' };
    const beyond: Touch = { ...atEdge, sendId: 'beyond', at: T0 - 7 * DAY_MS - 1 };
    expect(attributeConversion(CONVERSION, [atEdge], GOALS).map((c) => c.sendId)).toEqual(['edge']);
    expect(attributeConversion(CONVERSION, [beyond], GOALS)).toEqual([]);
    // With both, the one beyond the edge is simply ignored (first touch would otherwise pick it).
    const goals = new Map([['c-last', goal('c-last', 'first_touch', 7)]]);
    expect(attributeConversion(CONVERSION, [beyond, atEdge], goals).map((c) => c.sendId)).toEqual(['edge']);
  });

  test('a send at the conversion instant or after it does not count; one millisecond before does', () => {
    const at = (sendId: string, ms: number): Touch => ({ campaignId: 'c-linear', sendId, at: ms, kind: 'sent' });
    expect(attributeConversion(CONVERSION, [at('same', T0), at('after', T0 + 1)], GOALS)).toEqual([]);
    expect(attributeConversion(CONVERSION, [at('same', T0), at('after', T0 + 1), at('before', T0 - 1)], GOALS).map((c) => [c.sendId, c.credit])).toEqual([
      ['before', 1],
    ]);
  });

  test('each send is judged by its own campaign window', () => {
    // 10 days back: inside c-decay's 14-day window, outside c-linear's 7-day one.
    const credits = attributeConversion(CONVERSION, [sent('c-decay', 'd', 10), sent('c-linear', 'l', 10), sent('c-linear', 'l2', 6)], GOALS);
    expect(credits.map((c) => c.sendId)).toEqual(['d', 'l2']);
  });

  test('only campaigns whose goal event is the conversion name count; campaigns without a goal never do', () => {
    const touches = [sent('c-signup', 'sig', 1), sent('unknown-campaign', 'unk', 1)];
    expect(attributeConversion(CONVERSION, touches, GOALS)).toEqual([]);
    expect(attributeConversion({ ...CONVERSION, name: 'signup' }, touches, GOALS).map((c) => c.sendId)).toEqual(['sig']);
    // Mixed: the mismatching campaign's more recent send does not steal last touch.
    expect(attributeConversion(CONVERSION, [...touches, sent('c-last', 'buy', 3)], GOALS).map((c) => c.sendId)).toEqual(['buy']);
  });
});

describe('attributeConversion: engagement collapses into its send', () => {
  test('opened/clicked touches of a send count once, at the send time', () => {
    // s1 sent 3 days back, opened 1 day back, clicked 2 h back; s2 sent 2 days back.
    const touches: Touch[] = [
      sent('c-last', 's1', 3),
      { campaignId: 'c-last', sendId: 's1', at: T0 - DAY_MS, kind: 'opened' },
      { campaignId: 'c-last', sendId: 's1', at: T0 - 2 * HOUR_MS, kind: 'clicked' },
      sent('c-last', 's2', 2),
    ];
    // Last touch is s2 (2 days) — the click at −2 h belongs to s1, which happened 3 days back.
    expect(attributeConversion(CONVERSION, touches, GOALS).map((c) => c.sendId)).toEqual(['s2']);
    // Linear over the same touches: two sends, 1/2 each (not four touches at 1/4).
    const linear = new Map([['c-last', goal('c-last', 'linear', 7)]]);
    expect(shares(attributeConversion(CONVERSION, touches, linear))).toEqual({ s1: 0.5, s2: 0.5 });
  });

  test('a send seen only through engagement takes its earliest engagement time', () => {
    const touches: Touch[] = [
      { campaignId: 'c-last', sendId: 's3', at: T0 - 1 * DAY_MS, kind: 'clicked' },
      { campaignId: 'c-last', sendId: 's3', at: T0 - 2 * DAY_MS, kind: 'opened' },
      sent('c-last', 's4', 1.5),
    ];
    // s3 is at −2 days (its open), so s4 at −1.5 days is the last touch; were the click used, s3 would win.
    expect(attributeConversion(CONVERSION, touches, GOALS).map((c) => c.sendId)).toEqual(['s4']);
  });

  test('the send time decides the window: a send outside it does not qualify through a recent click', () => {
    const touches: Touch[] = [sent('c-last', 's1', 8), { campaignId: 'c-last', sendId: 's1', at: T0 - DAY_MS, kind: 'clicked' }];
    expect(attributeConversion(CONVERSION, touches, GOALS)).toEqual([]);
  });

  test('engagement after the conversion does not undo a send before it', () => {
    const touches: Touch[] = [sent('c-last', 's1', 1), { campaignId: 'c-last', sendId: 's1', at: T0 + HOUR_MS, kind: 'clicked' }];
    expect(attributeConversion(CONVERSION, touches, GOALS).map((c) => [c.sendId, c.credit])).toEqual([['s1', 1]]);
  });

  test("variant and channel come from the 'sent' touch, filled in from engagement when it lacks them", () => {
    const touches: Touch[] = [
      { campaignId: 'c-last', sendId: 's1', at: T0 - DAY_MS / 2, kind: 'opened', variant: 'X', channel: 'sms' },
      sent('c-last', 's1', 1, { variant: 'B' }),
    ];
    expect(attributeConversion(CONVERSION, touches, GOALS)).toEqual([
      { conversionId: 'conv-1', campaignId: 'c-last', sendId: 's1', variant: 'B', channel: 'sms', credit: 1, revenue: 100 },
    ]);
  });

  test('without a sendId, touches of one campaign at one instant are one send; other instants are sends of their own', () => {
    const touches: Touch[] = [
      { campaignId: 'c-linear', at: T0 - 2 * DAY_MS, kind: 'sent', variant: 'A' },
      { campaignId: 'c-linear', at: T0 - 2 * DAY_MS, kind: 'delivered' },
      { campaignId: 'c-linear', at: T0 - DAY_MS, kind: 'opened' },
    ];
    const credits = attributeConversion(CONVERSION, touches, GOALS);
    expect(credits.map((c) => [c.sendId, c.variant, c.credit])).toEqual([
      [undefined, 'A', 0.5],
      [undefined, undefined, 0.5],
    ]);
  });
});

describe('attributeConversion: mixed models — the campaign with the most recent qualifying send decides', () => {
  test('latest send is last_touch → it takes everything', () => {
    const touches = [sent('c-first', 'f', 5), sent('c-linear', 'l', 3), sent('c-last', 'x', 1)];
    expect(shares(attributeConversion(CONVERSION, touches, GOALS))).toEqual({ x: 1 });
  });

  test('latest send is linear → every qualifying send of every campaign gets 1/3', () => {
    const credits = attributeConversion(CONVERSION, [sent('c-first', 'f', 5), sent('c-last', 'x', 3), sent('c-linear', 'l', 1)], GOALS);
    expect(credits.map((c) => c.campaignId)).toEqual(['c-first', 'c-last', 'c-linear']);
    for (const c of credits) expect(c.credit).toBeCloseTo(1 / 3, 15);
  });

  test('latest send is first_touch → the earliest send (of another campaign) takes everything', () => {
    const touches = [sent('c-last', 'x', 5), sent('c-linear', 'l', 3), sent('c-first', 'f', 1)];
    expect(attributeConversion(CONVERSION, touches, GOALS).map((c) => [c.campaignId, c.credit])).toEqual([['c-last', 1]]);
  });

  test("latest send is time_decay → its half-life (2 days) weighs all sends: Δt 3 d and 1 d → 2^-1.5 : 2^-0.5 = 1/3 : 2/3", () => {
    const s = shares(attributeConversion(CONVERSION, [sent('c-last', 'x', 3), sent('c-decay', 'd', 1)], GOALS));
    expect(s.x).toBeCloseTo(1 / 3, 15);
    expect(s.d).toBeCloseTo(2 / 3, 15);
  });

  test("the decider's window does not widen other campaigns' windows", () => {
    // c-decay (14 days) owns the latest send; c-last's send 10 days back is outside c-last's 7.
    expect(shares(attributeConversion(CONVERSION, [sent('c-last', 'x', 10), sent('c-decay', 'd', 1)], GOALS))).toEqual({ d: 1 });
  });
});

/**
 * A deliberately naive re-statement of the rules (group, pick, filter, sort, split), used as the
 * oracle for the property test below.
 */
function referenceAttribution(conv: Conversion, touches: Touch[], goals: Map<string, CampaignGoal>): [string, string | undefined, number][] {
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const groups = new Map<string, Touch[]>();
  for (const t of touches) {
    if (goals.get(t.campaignId)?.event !== conv.name) continue;
    const key = t.sendId ?? `${t.campaignId}#${t.at}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  const sends = [...groups.values()]
    .map((ts) => [...ts].sort((a, b) => Number(b.kind === 'sent') - Number(a.kind === 'sent') || a.at - b.at || cmp(a.campaignId, b.campaignId))[0]!)
    .filter((rep) => conv.at - rep.at > 0 && conv.at - rep.at <= goals.get(rep.campaignId)!.windowDays * DAY_MS)
    .sort((a, b) => a.at - b.at || cmp(a.sendId ?? a.campaignId, b.sendId ?? b.campaignId) || Number(a.sendId !== undefined) - Number(b.sendId !== undefined));
  if (sends.length === 0) return [];
  const decider = goals.get(sends[sends.length - 1]!.campaignId)!;
  const row = (t: Touch, credit: number): [string, string | undefined, number] => [t.campaignId, t.sendId, credit];
  if (decider.model === 'last_touch') return [row(sends[sends.length - 1]!, 1)];
  if (decider.model === 'first_touch') return [row(sends[0]!, 1)];
  if (decider.model === 'linear') return sends.map((t) => row(t, 1 / sends.length));
  const h = (decider.halfLifeDays ?? 7) * DAY_MS;
  const w = sends.map((t) => 2 ** (-(conv.at - t.at) / h));
  const sum = w.reduce((a, b) => a + b, 0);
  return sends.map((t, i) => row(t, w[i]! / sum));
}

describe('attributeConversion: ties and determinism', () => {
  test('equal send times: last touch goes to the larger sendId, first touch to the smaller, whatever the listing order', () => {
    const a = sent('c-last', 'send-a', 1);
    const b = sent('c-last', 'send-b', 1);
    expect(attributeConversion(CONVERSION, [a, b], GOALS).map((c) => c.sendId)).toEqual(['send-b']);
    expect(attributeConversion(CONVERSION, [b, a], GOALS).map((c) => c.sendId)).toEqual(['send-b']);
    const first = new Map([['c-last', goal('c-last', 'first_touch', 7)]]);
    expect(attributeConversion(CONVERSION, [a, b], first).map((c) => c.sendId)).toEqual(['send-a']);
    expect(attributeConversion(CONVERSION, [b, a], first).map((c) => c.sendId)).toEqual(['send-a']);
  });

  test('a tie across campaigns: the larger sendId is the most recent send, so its campaign decides the model', () => {
    // 'send-b' (c-first) outranks 'send-a' (c-last) → first_touch → 'send-a' (the earlier in the order) takes it.
    const touches = [sent('c-first', 'send-b', 1), sent('c-last', 'send-a', 1)];
    expect(attributeConversion(CONVERSION, touches, GOALS).map((c) => [c.campaignId, c.sendId])).toEqual([['c-last', 'send-a']]);
  });

  test('the same input gives the same output, and the listing order of the touches does not matter, and the credits match a naive re-statement of the rules (property)', () => {
    const campaigns = ['c-last', 'c-first', 'c-linear', 'c-decay', 'c-decay-default', 'c-signup', 'nope'];
    const touchArb = fc.record({
      campaignId: fc.constantFrom(...campaigns),
      sendId: fc.option(fc.constantFrom('s1', 's2', 's3', 's4', 's5', 's6'), { nil: undefined }),
      at: fc.integer({ min: T0 - 20 * DAY_MS, max: T0 + DAY_MS }).map((ms) => (ms % 3 === 0 ? T0 + Math.round((ms - T0) / DAY_MS) * DAY_MS : ms)), // whole days: ties, window edges,
      kind: fc.constantFrom<Touch['kind']>('sent', 'delivered', 'opened', 'clicked'),
      variant: fc.option(fc.constantFrom('A', 'B'), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.array(touchArb, { maxLength: 12 }).chain((touches) =>
          fc.tuple(fc.constant(touches), fc.shuffledSubarray(touches, { minLength: touches.length, maxLength: touches.length })),
        ),
        ([touches, shuffled]) => {
          // Drop undefined optional keys so the arbitrary's objects look like real ones.
          const clean = (ts: Touch[]): Touch[] => ts.map((t) => JSON.parse(JSON.stringify(t)) as Touch);
          const credits = attributeConversion(CONVERSION, clean(touches), GOALS);
          expect(attributeConversion(CONVERSION, clean(touches), GOALS)).toEqual(credits);
          expect(attributeConversion(CONVERSION, clean(shuffled), GOALS)).toEqual(credits);
          if (credits.length > 0) expect(total(credits)).toBeCloseTo(1, 12);
          const expected = referenceAttribution(CONVERSION, clean(touches), GOALS);
          expect(credits.map((c) => [c.campaignId, c.sendId])).toEqual(expected.map(([campaignId, sendId]) => [campaignId, sendId]));
          credits.forEach((c, i) => expect(c.credit).toBeCloseTo(expected[i]![2], 12));
          for (const c of credits) {
            expect(c.credit).toBeGreaterThanOrEqual(0);
            expect(c.credit).toBeLessThanOrEqual(1);
            expect(c.revenue).toBeCloseTo(c.credit * CONVERSION.value, 10);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test('many touches (the hashed collapse path) give the same credits as a few', () => {
    const touches: Touch[] = [
      sent('c-linear', 's1', 3),
      { campaignId: 'c-linear', sendId: 's1', at: T0 - DAY_MS, kind: 'clicked' },
      sent('c-linear', 's2', 2, { variant: 'B' }),
      { campaignId: 'c-linear', at: T0 - 4 * DAY_MS, kind: 'sent' },
      { campaignId: 'c-linear', at: T0 - 4 * DAY_MS, kind: 'opened' },
    ];
    // 100 irrelevant touches push the call past 64 touches.
    const noise = Array.from({ length: 100 }, (_, i): Touch => ({ campaignId: 'no-goal', sendId: `n${i}`, at: T0 - i * HOUR_MS, kind: 'sent' }));
    const few = attributeConversion(CONVERSION, touches, GOALS);
    expect(few).toHaveLength(3);
    expect(attributeConversion(CONVERSION, [...noise.slice(0, 50), ...touches, ...noise.slice(50)], GOALS)).toEqual(few);
  });
});

describe('aggregateCredits', () => {
  test('sums fractional conversions and revenue per campaign and variant', () => {
    // Prepare: conversion 1 (value 90) split linearly over A, A, B; conversion 2 (value 40) last touch on A;
    // conversion 3 (value 10) on a campaign without variants.
    const conv = (id: string, value: number): Conversion => ({ ...CONVERSION, id, value });
    const credits = [
      ...attributeConversion(
        conv('k1', 90),
        [sent('c-linear', 'a1', 3, { variant: 'A' }), sent('c-linear', 'a2', 2, { variant: 'A' }), sent('c-linear', 'b1', 1, { variant: 'B' })],
        GOALS,
      ),
      ...attributeConversion(conv('k2', 40), [sent('c-linear', 'a3', 6, { variant: 'A' }), sent('c-last', 'z', 1, { variant: 'A' })], GOALS),
      ...attributeConversion(conv('k3', 10), [sent('c-first', 'f', 1)], GOALS),
    ];
    // Act
    const outcomes = aggregateCredits(credits);
    // Assess: k2's latest send is c-last → last touch → all of k2 to c-last|A.
    expect([...outcomes.keys()].sort()).toEqual(['c-first|', 'c-last|A', 'c-linear|A', 'c-linear|B']);
    const linearA = outcomes.get(outcomeKey('c-linear', 'A'))!;
    expect(linearA.conversions).toBeCloseTo(2 / 3, 15);
    expect(linearA.revenue).toBeCloseTo(60, 12);
    expect(outcomes.get(outcomeKey('c-linear', 'B'))!.conversions).toBeCloseTo(1 / 3, 15);
    expect(outcomes.get(outcomeKey('c-linear', 'B'))!.revenue).toBeCloseTo(30, 12);
    expect(outcomes.get('c-last|A')).toEqual({ campaignId: 'c-last', variant: 'A', conversions: 1, revenue: 40 });
    expect(outcomes.get('c-first|')).toEqual({ campaignId: 'c-first', variant: undefined, conversions: 1, revenue: 10 });
    // Every conversion with a qualifying send counts once in total.
    const sum = [...outcomes.values()].reduce((s, o) => s + o.conversions, 0);
    expect(sum).toBeCloseTo(3, 14);
  });

  test('accepts any iterable and returns an empty map for no credits', () => {
    function* none(): Generator<Credit> {}
    expect(aggregateCredits(none()).size).toBe(0);
  });
});

describe('updateScores: a send is evidence only once its response window has passed', () => {
  const DAY = DAY_MS;
  const now = Date.parse('2026-12-05T12:00:00Z');
  const prior = defaultScores();
  const priorMean = prior.propensity.email.mean;

  test('an unanswered send of yesterday leaves the prior as it is; one of ten days ago lowers it', () => {
    const yesterday = updateScores(prior, [{ channel: 'email', at: now - DAY }], [], [], now, 'UTC');
    expect(yesterday.propensity.email.mean).toBeCloseTo(priorMean, 12);
    expect(yesterday.engagement).toBeCloseTo(prior.engagement, 12);
    const tenDaysAgo = updateScores(prior, [{ channel: 'email', at: now - 10 * DAY }], [], [], now, 'UTC');
    expect(tenDaysAgo.propensity.email.mean).toBeLessThan(priorMean);
    expect(tenDaysAgo.engagement).toBeLessThan(prior.engagement);
  });

  test('a send of yesterday that was answered already counts as answered', () => {
    const answered = updateScores(prior, [{ channel: 'email', at: now - DAY }], [{ type: 'clicked', at: now - DAY + 3_600_000 }], [], now, 'UTC');
    expect(answered.propensity.email.mean).toBeGreaterThan(priorMean);
  });

  test(`the window is ${RESPONSE_DAYS} days: a send just inside it is not yet evidence, one just past it is`, () => {
    const inside = updateScores(prior, [{ channel: 'sms', at: now - RESPONSE_DAYS * DAY + 60_000 }], [], [], now, 'UTC');
    expect(inside.propensity.sms.mean).toBeCloseTo(prior.propensity.sms.mean, 12);
    const past = updateScores(prior, [{ channel: 'sms', at: now - RESPONSE_DAYS * DAY - 60_000 }], [], [], now, 'UTC');
    expect(past.propensity.sms.mean).toBeLessThan(prior.propensity.sms.mean);
  });
});
