import { describe, expect, test } from 'vitest';
import { indexActivity } from '../../shared/activity/activity.ts';
import { liftReport } from '../../shared/attribution/lift.ts';
import { targetingParagraph } from '../../shared/attribution/report-html.ts';
import { modelReport } from '../../shared/attribution/report-view.ts';
import { chooseChannel } from '../../shared/campaigns/decisions.ts';
import { forecastOf } from '../../shared/campaigns/forecast.ts';
import { GoalModelSource, ModelNotActiveError } from '../../shared/campaigns/goal-model-source.ts';
import { expectedGoalValue, goalProbability, predictedUplift, propensityOf, upliftOf, upliftThreshold, type GoalModels } from '../../shared/campaigns/goal-models.ts';
import { planPage } from '../../shared/campaigns/launch.ts';
import { CampaignInput, emptyCounters, type Campaign } from '../../shared/campaigns/model.ts';
import type { Channel } from '../../shared/contacts/model.ts';
import { issuesFromZod } from '../../shared/errors.ts';
import { JourneyDefinition } from '../../shared/journeys/definition.ts';
import { entryChannel, entryTargetingRefusal, firstSendStep } from '../../shared/journeys/targeting.ts';
import { expectedSpend } from '../../shared/learning/btyd.ts';
import type { ModelBody, ModelHead, StoredVersion } from '../../shared/learning/store.ts';
import { UPLIFT_HISTOGRAM_BINS } from '../../shared/learning/train.ts';
import { defaultScores, type Scores } from '../../shared/scoring/model.ts';
import type { AudienceMember } from '../../shared/segments/audience.ts';
import type { EvalContact } from '../../shared/segments/contact-view.ts';
import { btydVersion, column, knownSpec, logit, propensityVersion, sigmoid, storedModel, upliftVersion } from '../helpers/goal-model-fixtures.ts';

const NOW = new Date('2026-06-10T12:30:00.000Z');
const BASE = 0.05;
/** The treatment model's extra log-odds for free-plan contacts: their uplift is UPLIFT_FREE, everyone else's 0. */
const FREE_WEIGHT = 1.2;
const UPLIFT_FREE = sigmoid(logit(BASE) + FREE_WEIGHT) - BASE;

function contact(id: string, spec: { plan?: string; scores?: Partial<Scores>; consent?: Partial<Record<Channel, 'confirmed'>>; createdAt?: string } = {}): EvalContact {
  return {
    id,
    email: `${id}@example.com`,
    phone: '+447400123456',
    tags: [],
    createdAt: spec.createdAt ?? '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    attributes: spec.plan ? { plan: spec.plan } : {},
    consent: spec.consent ?? { email: 'confirmed', sms: 'confirmed' },
    suppressed: { email: false, sms: false },
    scores: { ...defaultScores(), ...spec.scores },
    activity: indexActivity({}, NOW.getTime()),
  };
}
const member = (c: EvalContact): AudienceMember => ({ contact: c, item: { id: c.id } as AudienceMember['item'] });

const stored = (body: ModelBody, version = 1): StoredVersion => ({ modelId: body.modelId, version, trainedAt: NOW.toISOString(), runId: 'r1', spec: body.kind === 'btyd' ? null : knownSpec(), body });

/** Uplift model: treatment = control + FREE_WEIGHT on plan=free; 30 % of the training weight is free-plan. */
const upliftStored = stored(
  upliftVersion('purchase', storedModel(logit(BASE), { [column.attribute('plan', 'free')]: FREE_WEIGHT }), storedModel(logit(BASE)), [
    [UPLIFT_FREE, 30],
    [0, 70],
  ]),
);

function campaign(extra: Partial<Campaign> = {}): Campaign {
  const input = CampaignInput.parse({
    name: 'Goal',
    segmentId: '11111111-1111-4111-8111-111111111111',
    channels: 'best',
    variants: [{ name: 'A', weight: 1, templates: { email: '22222222-2222-4222-8222-222222222222', sms: '33333333-3333-4333-8333-333333333333' } }],
    holdoutPercent: 20,
    schedule: { type: 'immediate' },
    limits: { quietHours: { sms: null } },
  });
  return { ...input, id: 'camp-goal', status: 'running', createdAt: NOW.toISOString(), updatedAt: NOW.toISOString(), version: 1, counters: emptyCounters(), spent: 0, ...extra };
}

describe('the uplift threshold from the training histogram', () => {
  const bins = (entries: Record<number, number>) => Array.from({ length: UPLIFT_HISTOGRAM_BINS }, (_, i) => entries[i] ?? 0);
  // Bin 200 is uplift 0; bin 230 is +0.03, bin 210 +0.01.
  const h = bins({ 200: 70, 210: 20, 230: 10 });

  test('is the lower edge of the bin where the top share is reached (so at least N % is at or above it)', () => {
    expect(upliftThreshold(h, 10)).toBe(0.0295);
    expect(upliftThreshold(h, 30)).toBe(0.0095);
    // 31 % needs part of the uplift-0 bin: all of it counts as above.
    expect(upliftThreshold(h, 31)).toBe(-0.0005);
    expect(upliftThreshold(h, 5)).toBe(0.0295);
  });

  test('100 %, or a share reaching the open-ended bottom bin, has no threshold', () => {
    expect(upliftThreshold(h, 100)).toBeNull();
    expect(upliftThreshold(bins({ 0: 50, 400: 50 }), 60)).toBeNull();
    expect(upliftThreshold(bins({ 0: 50, 400: 50 }), 50)).toBe(0.1995);
  });

  test('refuses a share outside (0, 100] and a histogram that is not one', () => {
    for (const bad of [0, -5, 100.5, Number.NaN]) expect(() => upliftThreshold(h, bad)).toThrow(RangeError);
    expect(() => upliftThreshold(h.slice(1), 10)).toThrow(/401 bins/);
    expect(() => upliftThreshold(bins({ 3: -1, 200: 5 }), 10)).toThrow(/finite number ≥ 0/);
    expect(() => upliftThreshold(bins({}), 10)).toThrow(/empty/);
  });

  test('the known model: the top 30 % is exactly the free-plan contacts', () => {
    const uplift = upliftOf(upliftStored)!;
    const threshold = upliftThreshold(uplift.histogram, 30)!;
    const free = predictedUplift(uplift, contact('f', { plan: 'free' }), 'email', 10, NOW.getTime())!;
    const pro = predictedUplift(uplift, contact('p', { plan: 'pro' }), 'email', 10, NOW.getTime())!;
    expect(free).toBeCloseTo(UPLIFT_FREE, 12);
    expect(Math.abs(pro)).toBeLessThan(1e-12);
    expect(free).toBeGreaterThanOrEqual(threshold);
    expect(pro).toBeLessThan(threshold);
  });

  test('a contact the encoder cannot read (a creation date that is not an instant) has no score, not an exception', () => {
    expect(predictedUplift(upliftOf(upliftStored)!, contact('bad', { createdAt: 'yesterday' }), 'email', 10, NOW.getTime())).toBeUndefined();
  });
});

describe("'best' channel by the goal model", () => {
  // The goal model: SMS converts better (channel=sms +1.5 log-odds).
  const propensity = propensityOf(stored(propensityVersion('purchase', storedModel(logit(0.02), { [column.channel('sms')]: 1.5 }))))!;
  // The channel Betas say the opposite: email responds far more.
  const scores: Partial<Scores> = { propensity: { email: { alpha: 9, beta: 1, mean: 0.9, n: 10 }, sms: { alpha: 1, beta: 9, mean: 0.1, n: 10 } } as Scores['propensity'] };

  test('a contact whose model probability is higher on SMS but whose Beta is higher on email gets SMS when the model is active', () => {
    const c = contact('c1', { scores });
    const goal = { probability: (ch: Channel) => goalProbability(propensity, c, ch, 10, NOW.getTime()), value: 50 };
    expect(goal.probability('sms')!).toBeGreaterThan(goal.probability('email')!);
    expect(chooseChannel(c, 'best', { now: NOW, costPerMessage: {} })).toEqual({ channel: 'email' });
    expect(chooseChannel(c, 'best', { now: NOW, costPerMessage: {}, goal })).toEqual({ channel: 'sms' });
  });

  test('the cost counts: p·E[value] − cost, so a dear SMS loses to email', () => {
    const c = contact('c2', { scores });
    const goal = { probability: (ch: Channel) => goalProbability(propensity, c, ch, 10, NOW.getTime()), value: 10 };
    expect(chooseChannel(c, 'best', { now: NOW, costPerMessage: { sms: 1 }, goal })).toEqual({ channel: 'email' });
  });

  test('a channel the model cannot score falls back to the channel scores for that contact; an ordered list ignores the model', () => {
    const c = contact('c3', { scores });
    expect(chooseChannel(c, 'best', { now: NOW, costPerMessage: {}, goal: { probability: (ch) => (ch === 'sms' ? 0.9 : undefined), value: 50 } })).toEqual({ channel: 'email' });
    expect(chooseChannel(c, ['email', 'sms'], { now: NOW, costPerMessage: {}, goal: { probability: () => 0.5, value: 50 } })).toEqual({ channel: 'email' });
  });
});

describe('E[value] of a goal conversion', () => {
  const gg = { p: 6, q: 4, v: 15 };
  test('Gamma–Gamma expected spend for a contact with revenue, the population mean p·v/(q − 1) without, scores.value without a fit', () => {
    const buyer = contact('b', { scores: { value: { recency: 3, frequency: 4, monetary: 200, expectedValue: 50 } } });
    expect(expectedGoalValue(buyer, gg)).toBeCloseTo(expectedSpend(gg, 4, 50), 12);
    expect(expectedGoalValue(contact('n'), gg)).toBeCloseTo(30, 12);
    expect(expectedGoalValue(buyer, undefined)).toBe(50);
    // q ≤ 1: the population mean is infinite; the channel rule's value stands in.
    expect(expectedGoalValue(contact('n2'), { p: 1, q: 0.5, v: 10 })).toBe(defaultScores().value.expectedValue);
  });
});

describe('planPage with the goal models', () => {
  const P = 0.1;
  const models = (extra: Partial<GoalModels> = {}): GoalModels => ({ goal: 'purchase', propensity: propensityOf(stored(propensityVersion('purchase', storedModel(logit(P)))))!, ...extra });

  test('the goal forecast sums Σp, Σp(1 − p) and Σp·E[value] over the treated, beside the channel sums', () => {
    const members = Array.from({ length: 200 }, (_, i) => member(contact(`c${i}`)));
    const c = campaign({ forecastModel: 'propensity.purchase@v1' });
    const plan = planPage(c, members, { now: NOW, runId: '1', alreadyTargeted: 0, alreadyCommittedCost: 0, models: models({ spend: { p: 6, q: 4, v: 15 } }) });
    const treated = plan.records.filter((r) => r.status === 'queued' || r.status === 'deferred');
    expect(treated.length).toBe(200 - plan.deltas.holdout!);
    const g = plan.deltas.goalForecast!;
    expect(g.count).toBe(treated.length);
    expect(g.sum).toBeCloseTo(treated.length * P, 9);
    expect(g.variance).toBeCloseTo(treated.length * P * (1 - P), 9);
    expect(g.revenue).toBeCloseTo(treated.length * P * 30, 6);
    expect(treated.every((r) => r.goalPropensity !== undefined && Math.abs(r.goalPropensity - P) < 1e-12 && r.goalValue === 30)).toBe(true);

    const sums = { goal_sum: g.sum, goal_variance: g.variance, goal_count: g.count, revenue_sum: g.revenue };
    const forecast = forecastOf({ ...c, forecastSums: sums })!;
    const sd = Math.sqrt(g.variance);
    expect(forecast.goal).toEqual({
      model: 'propensity.purchase@v1',
      event: 'purchase',
      expectedConverters: Math.round(g.sum * 100) / 100,
      low: Math.round((g.sum - 1.959963984540054 * sd) * 100) / 100,
      high: Math.round((g.sum + 1.959963984540054 * sd) * 100) / 100,
      expectedRevenue: Math.round(g.revenue * 100) / 100,
      scored: g.count,
    });
  });

  test('without a model: no goal fields, no goal sums, and the forecast stays per channel', () => {
    const plan = planPage(campaign(), [member(contact('a')), member(contact('b'))], { now: NOW, runId: '1', alreadyTargeted: 0, alreadyCommittedCost: 0 });
    expect(plan.deltas.goalForecast).toBeUndefined();
    expect(plan.records.some((r) => r.goalPropensity !== undefined || r.uplift !== undefined)).toBe(false);
    expect(forecastOf({ ...campaign({ forecastModel: 'beta' }), forecastSums: { email_sum: 1, email_variance: 0.2, email_count: 2 } })!.goal).toBeUndefined();
  });

  test('targeting: below the threshold is skipped before the holdout draw, so holdouts come only from the targeted', () => {
    const uplift = upliftOf(upliftStored)!;
    const threshold = upliftThreshold(uplift.histogram, 30);
    const c = campaign({ targetingApplied: { goal: 'purchase', upliftTopPercent: 30, modelId: 'uplift.purchase', modelVersion: 1, threshold } });
    const members = Array.from({ length: 300 }, (_, i) => member(contact(`t${i}`, { plan: i % 3 === 0 ? 'free' : 'pro' })));
    const plan = planPage(c, members, { now: NOW, runId: '1', alreadyTargeted: 0, alreadyCommittedCost: 0, models: models({ uplift }) });
    const byStatus = (s: string) => plan.records.filter((r) => r.status === s);
    const isFree = (id: string) => Number(id.slice(1)) % 3 === 0;
    expect(byStatus('skipped').every((r) => r.reason === 'below_uplift' && !isFree(r.contactId))).toBe(true);
    expect(byStatus('skipped')).toHaveLength(200);
    expect(byStatus('holdout').length).toBeGreaterThan(0);
    expect([...byStatus('holdout'), ...byStatus('queued')].every((r) => isFree(r.contactId) && Math.abs(r.uplift! - UPLIFT_FREE) < 1e-12)).toBe(true);
    expect(plan.deltas.suppressed).toEqual({ below_uplift: 200 });
    // Σ predicted uplift of the treated: the incremental conversions the model expects.
    expect(plan.deltas.goalForecast!.uplift).toBeCloseTo(byStatus('queued').length * UPLIFT_FREE, 9);
  });

  test('targeting without a loaded uplift model skips everyone as no_score (nothing is sent untargeted)', () => {
    const c = campaign({ targetingApplied: { goal: 'purchase', upliftTopPercent: 30, modelId: 'uplift.purchase', modelVersion: 1, threshold: 0.01 } });
    const plan = planPage(c, [member(contact('a')), member(contact('b'))], { now: NOW, runId: '1', alreadyTargeted: 0, alreadyCommittedCost: 0 });
    expect(plan.records.map((r) => [r.status, r.reason])).toEqual([
      ['skipped', 'no_score'],
      ['skipped', 'no_score'],
    ]);
  });
});

describe('targeting in the campaign and journey schemas', () => {
  const valid = {
    name: 'x',
    segmentId: '11111111-1111-4111-8111-111111111111',
    channels: ['email'],
    variants: [{ name: 'A', weight: 1, templates: { email: '22222222-2222-4222-8222-222222222222' } }],
    schedule: { type: 'immediate' },
  };
  const issues = (targeting: unknown) => {
    const parsed = CampaignInput.safeParse({ ...valid, targeting });
    return parsed.success ? [] : issuesFromZod(parsed.error.issues);
  };

  test('accepts 1–100 and a learnable goal; the goal is optional', () => {
    expect(issues({ upliftTopPercent: 20 })).toEqual([]);
    expect(issues({ upliftTopPercent: 100, goal: 'signup' })).toEqual([]);
  });

  test('hostile values are 400s at their field path', () => {
    expect(issues({ upliftTopPercent: 0 }).map((i) => i.path)).toEqual(['targeting.upliftTopPercent']);
    expect(issues({ upliftTopPercent: 101 }).map((i) => i.path)).toEqual(['targeting.upliftTopPercent']);
    expect(issues({ upliftTopPercent: '20' }).map((i) => i.path)).toEqual(['targeting.upliftTopPercent']);
    expect(issues({ upliftTopPercent: 20, goal: 'email' }).map((i) => i.path)).toEqual(['targeting.goal']);
    expect(issues({ upliftTopPercent: 20, goal: 'a b' }).map((i) => i.path)).toEqual(['targeting.goal']);
    expect(issues({ upliftTopPercent: 20, extra: true })).toEqual([{ path: 'targeting.extra', message: 'is not a known field' }]);
    expect(issues({}).map((i) => i.path)).toEqual(['targeting.upliftTopPercent']);
  });

  test('a journey takes the same option, checked at the same paths', () => {
    const journey = {
      name: 'j',
      entry: { type: 'event', trigger: { event: 'conversion', name: 'signup' } },
      start: 'hello',
      steps: { hello: { type: 'send', channels: ['sms', 'email'], templates: { email: '22222222-2222-4222-8222-222222222222', sms: '33333333-3333-4333-8333-333333333333' } } },
    };
    expect(JourneyDefinition.safeParse({ ...journey, targeting: { upliftTopPercent: 25 } }).success).toBe(true);
    const bad = JourneyDefinition.safeParse({ ...journey, targeting: { upliftTopPercent: 0 } });
    expect(bad.success ? [] : issuesFromZod(bad.error.issues).map((i) => i.path)).toEqual(['targeting.upliftTopPercent']);
  });
});

describe('journey entry targeting', () => {
  const def = JourneyDefinition.parse({
    name: 'j',
    entry: { type: 'event', trigger: { event: 'conversion', name: 'signup' } },
    targeting: { upliftTopPercent: 30 },
    start: 'pause',
    steps: {
      pause: { type: 'wait', duration: { amount: 1, unit: 'hours' }, next: 'hello' },
      hello: { type: 'send', channels: ['sms', 'email'], templates: { email: '22222222-2222-4222-8222-222222222222', sms: '33333333-3333-4333-8333-333333333333' } },
    },
  });
  const uplift = upliftOf(upliftStored)!;
  const threshold = upliftThreshold(uplift.histogram, 30);

  test('scores the first send step on its first open channel; keeps out below the threshold', () => {
    expect(firstSendStep(def)).toBe(def.steps.hello);
    expect(entryChannel(firstSendStep(def), contact('a'), NOW, undefined)).toBe('sms');
    expect(entryChannel(firstSendStep(def), contact('b', { consent: { email: 'confirmed' } }), NOW, undefined)).toBe('email');
    expect(entryTargetingRefusal(def, contact('free', { plan: 'free' }), uplift, threshold, NOW)).toBeUndefined();
    expect(entryTargetingRefusal(def, contact('pro', { plan: 'pro' }), uplift, threshold, NOW)).toBe('below_uplift');
    expect(entryTargetingRefusal(def, contact('free'), undefined, threshold, NOW)).toBe('no_score');
  });
});

describe('GoalModelSource', () => {
  const head = (modelId: string, over: Partial<ModelHead> = {}): ModelHead => ({
    modelId,
    kind: 'uplift',
    goal: 'purchase',
    status: 'active',
    reason: 'ok',
    activeVersion: 1,
    latestVersion: 1,
    dataHash: 'h',
    trainedAt: NOW.toISOString(),
    runId: 'r',
    headline: {},
    ...over,
  });

  test('caches heads and versions for five minutes, then reads again', async () => {
    let reads = 0;
    let clock = 0;
    const source = new GoalModelSource(
      {
        head: async (id) => (reads++, head(id)),
        version: async () => (reads++, upliftStored),
      },
      300_000,
      () => clock,
    );
    const first = await source.targeting({ upliftTopPercent: 30 }, 'purchase');
    expect(first).toEqual({ goal: 'purchase', upliftTopPercent: 30, modelId: 'uplift.purchase', modelVersion: 1, threshold: upliftThreshold(upliftOf(upliftStored)!.histogram, 30) });
    await source.targeting({ upliftTopPercent: 10 }, 'purchase');
    expect(reads).toBe(2);
    clock = 300_000;
    await source.targeting({ upliftTopPercent: 10 }, 'purchase');
    expect(reads).toBe(4);
  });

  test('an uplift model that is not active is a 409 model_not_active naming its status and reason', async () => {
    const source = new GoalModelSource({ head: async (id) => head(id, { status: 'no_signal', reason: 'no signal: Qini lower bound −0.001', activeVersion: null }), version: async () => undefined });
    const error = await source.targeting({ upliftTopPercent: 30 }, 'purchase').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelNotActiveError);
    expect(error).toMatchObject({ status: 409, code: 'model_not_active', model: { id: 'uplift.purchase', status: 'no_signal' } });
    expect((error as Error).message).toMatch(/uplift\.purchase is not active \(status no_signal: no signal/);
    const missing = await new GoalModelSource({ head: async () => undefined, version: async () => undefined }).targeting({ upliftTopPercent: 30, goal: 'signup' }, 'purchase').catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'model_not_active', model: { id: 'uplift.signup', status: 'missing' } });
  });

  test('resolves the run: forecastModel from the active propensity version, beta without one', async () => {
    const versions: Record<string, StoredVersion> = {
      'propensity.purchase': stored(propensityVersion('purchase', storedModel(logit(0.1))), 7),
      btyd: stored(btydVersion({ p: 6, q: 4, v: 15 }), 2),
    };
    const source = new GoalModelSource({
      head: async (id) => (versions[id] ? head(id, { activeVersion: versions[id]!.version }) : undefined),
      version: async (id, n) => (versions[id]?.version === n ? versions[id] : undefined),
    });
    expect(await source.resolveLaunchModels('purchase', undefined)).toEqual({ forecastModel: 'propensity.purchase@v7', modelVersions: { propensity: 7, btyd: 2 } });
    expect(await source.resolveLaunchModels('signup', undefined)).toEqual({ forecastModel: 'beta', modelVersions: { propensity: null, btyd: 2 } });
    const loaded = await source.modelsForRun('purchase', { modelVersions: { propensity: 7, btyd: 2 } });
    expect(loaded.propensity?.version).toBe(7);
    expect(loaded.spend).toEqual({ p: 6, q: 4, v: 15 });
    expect(loaded.uplift).toBeUndefined();
  });
});

describe('the report model section', () => {
  const launched = campaign({
    forecastModel: 'propensity.purchase@v1',
    forecast: { email: { expectedResponses: 1, low: 0, high: 2 }, sms: { expectedResponses: 0, low: 0, high: 0 }, audience: 100, computedAt: NOW.toISOString(), goal: { model: 'propensity.purchase@v1', event: 'purchase', expectedConverters: 10, low: 4.12, high: 15.88, expectedRevenue: 500, scored: 100 } },
    targetingApplied: { goal: 'purchase', upliftTopPercent: 20, modelId: 'uplift.purchase', modelVersion: 3, threshold: 0.0125 },
  });
  const withSums = { ...launched, forecastSums: { uplift_sum: 2.345, uplift_count: 100 } } as Campaign;

  test('before a run: the forecast, the targeting and the predicted incremental; nothing measured', () => {
    expect(modelReport(withSums, undefined)).toEqual({
      forecastModel: 'propensity.purchase@v1',
      goalForecast: launched.forecast!.goal,
      measuredConverters: null,
      withinInterval: null,
      targeting: { goal: 'purchase', upliftTopPercent: 20, threshold: 0.0125, modelId: 'uplift.purchase', modelVersion: 3, predictedIncremental: 2.35, measuredIncremental: null },
    });
    const html = targetingParagraph(modelReport(withSums, undefined)!.targeting!);
    expect(html).toContain('Sent only to the 20 % of the segment the uplift model (uplift.purchase v3) predicts the message moves most (predicted uplift ≥ 1.25 points); the holdout was drawn from the same 20 %, so the lift below measures the effect on them.');
  });

  test('after a run: the treated converters against the interval, and the lift’s incremental conversions', () => {
    const lift = liftReport({ members: 100, converters: 12, revenue: 0, revenueSquares: 0 }, { members: 25, converters: 2, revenue: 0, revenueSquares: 0 });
    const measured = { variants: [{ members: 60, converters: 8 }, { members: 40, converters: 4 }], lift } as unknown as Parameters<typeof modelReport>[1];
    const section = modelReport(withSums, measured)!;
    expect(section.measuredConverters).toBe(12);
    expect(section.withinInterval).toBe(true);
    expect(section.targeting!.measuredIncremental).toBeCloseTo((0.12 - 0.08) * 100, 9);
    expect(modelReport(campaign(), measured)).toBeNull();
  });
});
