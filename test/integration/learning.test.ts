/**
 * The learning run end to end in the local runtime (issue 16, docs/learning-design.md): 1,200
 * contacts created through the API with a plan and a region, four past campaigns imported as
 * history (4,800 sends, half held out) whose purchases follow a known model — pro
 * contacts buy often whether sent or not, free contacts buy only when sent — and renewals drawn
 * from a known BG/NBD, then an attribution run with
 * `learn: true`. It must go through its phases to completion, train, gate and store
 * `propensity.purchase`, `uplift.purchase` and `btyd`, score every contact (`scores.models`), and
 * rank as the model was drawn: pro above free on propensity, free above pro on uplift. A second
 * run over the same data writes no new version and rewrites no score. The gates are lowered
 * (environment) to fit 1,200 contacts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { scanAll, documentClient } from '../../shared/aws/dynamodb.ts';
import { forEachLimit } from '../../shared/concurrency.ts';
import { mulberry32 } from '../../shared/learning/random.ts';
import { simulateCustomers } from '../helpers/btyd-simulate.ts';
import { ModelStore } from '../../shared/learning/store.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

const CONTACTS = 1200;
const DAY = 86_400_000;
const now = Date.now();
let t: TestRuntime;
let models: ModelStore;

/** Contact i's plan and region. */
const planOf = (i: number) => (i % 3 === 0 ? 'pro' : 'free');
/**
 * P(purchase within the window) by plan and arm: pro buys more, sent or not; free buys only when
 * sent (+70 points). The effects are large so that 1,200 contacts, whose ids (and so folds) differ
 * every run, carry them well past the gates every time: a +25-point uplift left the Qini bootstrap's
 * lower bound below 0 in one CI run of three.
 */
const P = { pro: { sent: 0.95, held: 0.95 }, free: { sent: 0.7, held: 0 } } as const;
const CAMPAIGN_DAYS_AGO = [75, 62, 50, 38];

interface RunView {
  run: { status: string; phase?: string; modelsTotal?: number; modelsDone?: number; scoreSegmentsTotal?: number; scoreSegmentsDone?: number; scored?: number; scoreWrites?: number };
}

async function waitForRun(runId: string) {
  for (let i = 0; i < 600; i++) {
    const r = await t.api<RunView>('GET', `/v1/attribution/runs/${runId}`);
    if (r.body.run.status === 'completed') return r.body.run;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`run ${runId} did not complete: ${t.logs.slice(-20).join('\n')}`);
}

async function learningRun() {
  const started = await t.api<RunView & { run: { runId: string } }>('POST', '/v1/attribution/runs', { body: { from: new Date(now - DAY).toISOString(), to: new Date(now).toISOString(), learn: true } });
  expect(started.status, started.text).toBe(202);
  return waitForRun(started.body.run.runId);
}

interface StoredContact {
  id: string;
  attributes?: { plan?: string };
  scores?: { models?: Record<string, number>; conversions?: { count: number } };
}
const contacts = async () => {
  const out: StoredContact[] = [];
  for await (const item of scanAll(documentClient, { TableName: t.runtime.tableNames.contacts! })) out.push(item as unknown as StoredContact);
  return out;
};
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

beforeAll(async () => {
  t = await startTestRuntime({
    environment: {
      LEARNING_MIN_EXAMPLES: '500',
      LEARNING_MIN_POSITIVES: '50',
      LEARNING_MIN_CONTROL_EXAMPLES: '300',
      LEARNING_MIN_CONTROL_POSITIVES: '20',
      LEARNING_MIN_BUYERS: '200',
      LEARNING_MIN_REPEAT_BUYERS: '50',
    },
  });
  models = new ModelStore(t.runtime.tableNames.models!);
  // Contacts through the API, 16 at a time (as a form or CRM sync would create them).
  await forEachLimit(
    Array.from({ length: CONTACTS }, (_, i) => i),
    16,
    async (i) => {
      const created = await t.api('POST', '/v1/contacts', { body: { email: `learner${i}@example.com`, attributes: { plan: planOf(i), region: `r${i % 5}` }, consent: { email: { status: 'confirmed', wordingVersion: 'v1' } } } });
      expect(created.status, created.text).toBeLessThan(300);
    },
  );
  // Three campaigns, each to every contact; purchases drawn from P with a seeded generator.
  const random = mulberry32(2026);
  for (const [c, daysAgo] of CAMPAIGN_DAYS_AGO.entries()) {
    const launchedAt = now - daysAgo * DAY;
    const sends = [];
    const conversions = [];
    for (let i = 0; i < CONTACTS; i++) {
      // Half held out (alternating contacts from one campaign to the next).
      const holdout = (i + c) % 2 === 1;
      const sentAt = new Date(launchedAt + (i % 600) * 60_000).toISOString();
      sends.push({ contact: { email: `learner${i}@example.com` }, channel: 'email', sentAt, holdout });
      if (random() < P[planOf(i)][holdout ? 'held' : 'sent']) {
        conversions.push({ contact: { email: `learner${i}@example.com` }, name: 'purchase', value: 40 + (i % 7) * 10 + c * 5, occurredAt: new Date(Date.parse(sentAt) + 2 * DAY).toISOString(), idempotencyKey: `p-${c}-${i}` });
      }
    }
    // Other purchases over the half year (renewals, not any campaign's goal), drawn from a known
    // BG/NBD and Gamma–Gamma: BTYD needs customers whose rates and lifetimes vary.
    if (c === 0) {
      const customers = simulateCustomers(7, CONTACTS, { r: 0.3, alpha: 6, a: 0.8, b: 2.5 }, { p: 6, q: 4, v: 15 }, { windowDays: 160 });
      customers.forEach((customer, i) => {
        if (i % 2) return; // half the contacts renew
        const first = now - (customer.T + 1) * DAY;
        const times = [first, ...Array.from({ length: customer.x }, (_, k) => first + (k === customer.x - 1 ? customer.tx : random() * customer.tx) * DAY)];
        times.forEach((at, k) => conversions.push({ contact: { email: `learner${i}@example.com` }, name: 'renewal', value: Math.round(customer.spends[k]! * 100) / 100, occurredAt: new Date(at).toISOString(), idempotencyKey: `r-${i}-${k}` }));
      });
    }
    const body = { campaign: { externalId: `learning-${c}`, name: `Past campaign ${c}`, launchedAt: new Date(launchedAt).toISOString(), goal: { event: 'purchase', attributionWindowDays: 7, model: 'last_touch' } }, sends, conversions };
    const result = await t.api('POST', '/v1/campaigns/import', { body });
    expect(result.status, `${result.text}\n${t.logs.slice(-8).join("\n").slice(0, 3000)}`).toBeLessThan(300);
  }
}, 600_000);

afterAll(async () => {
  await t?.stop();
});

describe('the learning run', () => {
  let first: RunView['run'];
  test('goes through training and scoring to completion, and trains, gates and stores each model', async () => {
      first = await learningRun();
    expect(first).toMatchObject({ status: 'completed', phase: 'completed', modelsTotal: 2, modelsDone: 2, scoreSegmentsDone: first.scoreSegmentsTotal });
    expect(first.scored).toBe(CONTACTS);

    const propensity = await models.head('propensity.purchase');
    expect(propensity, JSON.stringify(propensity)).toMatchObject({ status: 'active', activeVersion: 1, latestVersion: 1, goal: 'purchase' });
    const version = (await models.version('propensity.purchase', 1))!;
    expect(version.body.kind).toBe('propensity');
    if (version.body.kind !== 'propensity') return;
    // Plan is the signal the data were drawn with: the test AUC is above chance, and the explanations name the plan.
    expect(version.body.metrics!.aucLower95).toBeGreaterThan(0.5);
    expect(version.body.explanations.map((e) => e.feature), JSON.stringify(version.body.explanations)).toEqual(expect.arrayContaining([expect.stringMatching(/^attributes\.plan=/)]));
    expect(version.spec!.bucketNames.filter((n) => n.startsWith('attributes.plan='))).toHaveLength(2);

    const uplift = await models.head('uplift.purchase');
    expect(uplift, JSON.stringify(uplift)).toMatchObject({ status: 'active', activeVersion: 1 });
    const btyd = await models.head('btyd');
    expect(btyd?.status, JSON.stringify(btyd)).toBe('active');
  }, 300_000);

  test('scores every contact as the data were drawn: pro above free on propensity, free above pro on uplift', async () => {
    const all = await contacts();
    expect(all).toHaveLength(CONTACTS);
    const scored = all.filter((c) => c.scores?.models?.['propensity.purchase'] !== undefined);
    expect(scored).toHaveLength(CONTACTS);
    expect(all.filter((c) => c.scores?.models?.['uplift.purchase'] !== undefined), JSON.stringify(await models.heads())).toHaveLength(CONTACTS);
    const byPlan = (plan: string, key: string) => mean(all.filter((c) => c.attributes?.plan === plan).map((c) => c.scores!.models![key]!));
    expect(byPlan('pro', 'propensity.purchase')).toBeGreaterThan(byPlan('free', 'propensity.purchase') + 0.05);
    expect(byPlan('free', 'uplift.purchase')).toBeGreaterThan(byPlan('pro', 'uplift.purchase') + 0.03);
    // Churn and expected value exist exactly for contacts with a purchase in the lookback.
    const btyd = JSON.stringify(await models.head('btyd'));
    for (const c of all) {
      const bought = (c.scores?.conversions?.count ?? 0) > 0;
      expect(c.scores?.models?.churn !== undefined, `${c.id} ${JSON.stringify(c.scores)} ${btyd}`).toBe(bought);
      expect(c.scores?.models?.['value.expected90d'] !== undefined, c.id).toBe(bought);
    }
  });

  test('a second run over the same data writes no new version and rewrites no score', async () => {
    const before = await models.heads();
    const scoresBefore = new Map((await contacts()).map((c) => [c.id, c.scores?.models]));
    const second = await learningRun();
    const moved = (await contacts()).filter((c) => JSON.stringify(c.scores?.models) !== JSON.stringify(scoresBefore.get(c.id))).slice(0, 3);
    expect(second.scoreWrites, JSON.stringify({ moved: moved.map((c) => [scoresBefore.get(c.id), c.scores?.models]), heads: (await models.heads()).map((h) => [h.modelId, h.latestVersion, h.status]) })).toBe(0);
    const after = await models.heads();
    expect(after.map((h) => [h.modelId, h.latestVersion, h.activeVersion, h.dataHash])).toEqual(before.map((h) => [h.modelId, h.latestVersion, h.activeVersion, h.dataHash]));
    expect(after.every((h, i) => h.trainedAt > before[i]!.trainedAt)).toBe(true);
  }, 300_000);
  test('the scores flow into a segment rule, its goal forecast, the models API and a launch forecast', async () => {
    // A segment on the learned score: the pro contacts (and no free one) clear 0.3.
    const all = await contacts();
    const high = all.filter((c) => c.scores!.models!['propensity.purchase']! >= 0.3);
    expect(high.length).toBeGreaterThan(0);
    const rule = { and: [{ score: 'propensity.purchase', op: 'gte', value: 0.3 }, { field: 'attributes.region', op: 'eq', value: 'r0' }] };
    const preview = await t.api<{ count: number; warnings: unknown[]; forecast: { goal: { model: string; expectedConverters: number; scored: number } } }>('POST', '/v1/segments/preview?goal=purchase', { body: { rule } });
    expect(preview.status, preview.text).toBe(200);
    const members = high.filter((c) => (c as { attributes?: { region?: string } }).attributes?.region === 'r0');
    expect(preview.body.count).toBe(members.length);
    expect(preview.body.warnings).toEqual([]);
    expect(preview.body.forecast.goal).toMatchObject({ model: 'propensity.purchase@v1', scored: members.length });
    expect(preview.body.forecast.goal.expectedConverters).toBeCloseTo(members.reduce((sum, c) => sum + c.scores!.models!['propensity.purchase']!, 0), 1);

    const listed = await t.api<{ items: Array<{ modelId: string; status: string }> }>('GET', '/v1/models');
    expect(listed.body.items.map((m) => [m.modelId, m.status])).toEqual([
      ['btyd', 'active'],
      ['propensity.purchase', 'active'],
      ['uplift.purchase', 'active'],
    ]);

    // A launch to that segment forecasts the goal with the model.
    const segment = await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name: 'Likely buyers in r0', rule } });
    const template = await t.api<{ template: { id: string } }>('POST', '/v1/templates', { body: { channel: 'email', name: 'Offer', subject: 'Offer', html: '<p>Offer</p>', text: 'Offer' } });
    const created = await t.api<{ campaign: { id: string } }>('POST', '/v1/campaigns', {
      body: { name: 'Likely buyers', segmentId: segment.body.segment.id, channels: ['email'], variants: [{ name: 'A', weight: 1, templates: { email: template.body.template.id } }], holdoutPercent: 10, schedule: { type: 'immediate' }, limits: { sendRatePerSecond: { email: 1000 } }, goal: { event: 'purchase' } },
    });
    expect(created.status, created.text).toBe(201);
    expect((await t.api('POST', `/v1/campaigns/${created.body.campaign.id}/launch`)).status).toBe(202);
    await t.runtime.idle(120_000);
    const campaign = (await t.api<{ campaign: { forecastModel: string; counters: { sent: number }; forecast: { goal: { model: string; expectedConverters: number; scored: number } } } }>('GET', `/v1/campaigns/${created.body.campaign.id}`)).body.campaign;
    expect(campaign.forecastModel).toBe('propensity.purchase@v1');
    expect(campaign.forecast.goal.scored).toBe(campaign.counters.sent);
    expect(campaign.forecast.goal.expectedConverters).toBeGreaterThan(0.3 * campaign.counters.sent);
  }, 300_000);
});
