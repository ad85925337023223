/**
 * Launches scored by the learned models, through the local runtime and DynamoDB Local: models
 * with known weights are recorded in the models table (ModelStore.record, as the nightly trainer
 * does), then campaigns and a journey are launched through the API.
 *
 * The uplift model moves free-plan contacts only (treatment = control + 1.2 log-odds on
 * plan=free), and 30 % of its training weight is free-plan: the top 30 % is exactly them.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import { ModelStore } from '../../shared/learning/store.ts';
import type { SendRecord } from '../../shared/campaigns/send-store.ts';
import { column, knownSpec, logit, propensityVersion, sigmoid, storedModel, upliftVersion } from '../helpers/goal-model-fixtures.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

const P_EMAIL = 0.1;
const BASE = 0.05;
const FREE_WEIGHT = 1.2;
const UPLIFT_FREE = sigmoid(logit(BASE) + FREE_WEIGHT) - BASE;
const CONTACTS = 30;
const isFree = (i: number) => i % 3 === 0;

let t: TestRuntime;
let segmentId: string;
let emailTemplate: string;
const contactIds = new Map<string, boolean>();

interface CampaignView {
  id: string;
  status: string;
  forecastModel?: string;
  targetingApplied?: { goal: string; upliftTopPercent: number; modelId: string; modelVersion: number; threshold: number | null };
  counters: { sent: number; holdout: number; targeted: number; suppressed: Record<string, number> };
  forecast: { audience: number; goal?: { model: string; expectedConverters: number; low: number; high: number; expectedRevenue: number; scored: number } } | null;
}

beforeAll(async () => {
  t = await startTestRuntime();
  const models = new ModelStore(t.runtime.tableNames.models!, documentClient);
  const now = new Date();
  // Propensity: P(purchase) = 0.1 on email whatever the contact.
  await models.record(propensityVersion('purchase', storedModel(logit(P_EMAIL))), knownSpec(), 'seed', now);
  await models.record(
    upliftVersion('purchase', storedModel(logit(BASE), { [column.attribute('plan', 'free')]: FREE_WEIGHT }), storedModel(logit(BASE)), [
      [UPLIFT_FREE, 30],
      [0, 70],
    ]),
    knownSpec(),
    'seed',
    now,
  );
  // An uplift model for another goal that failed its gate: never active.
  await models.record({ ...upliftVersion('trial', storedModel(0), storedModel(0), [[0, 1]]), status: 'no_signal', reason: 'no signal: Qini lower bound -0.0010', treatment: null, control: null, upliftHistogram: null }, knownSpec(), 'seed', now);

  const template = await t.api<{ template: { id: string } }>('POST', '/v1/templates', { body: { channel: 'email', name: 'Offer', subject: 'Offer', html: '<p>Offer</p>', text: 'Offer' } });
  emailTemplate = template.body.template.id;
  await Promise.all(
    Array.from({ length: CONTACTS }, async (_, i) => {
      const body = { email: `lm${i}@example.com`, tags: ['lm'], attributes: { plan: isFree(i) ? 'free' : 'pro' }, consent: { email: { status: 'confirmed', wordingVersion: 'v1' } } };
      const created = await t.api<{ contact: { id: string } }>('POST', '/v1/contacts', { body });
      expect(created.status, created.text).toBeLessThan(300);
      contactIds.set(created.body.contact.id, isFree(i));
    }),
  );
  const segment = await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name: 'lm', rule: { field: 'tags', op: 'contains', value: 'lm' } } });
  segmentId = segment.body.segment.id;
}, 120_000);
afterAll(async () => {
  await t?.stop();
});

const campaignBody = (extra: Record<string, unknown> = {}) => ({
  name: 'Models',
  segmentId,
  channels: ['email'],
  variants: [{ name: 'A', weight: 1, templates: { email: emailTemplate } }],
  holdoutPercent: 0,
  schedule: { type: 'immediate' },
  limits: { sendRatePerSecond: { email: 1000 } },
  ...extra,
});

async function create(body: Record<string, unknown>): Promise<string> {
  const created = await t.api<{ campaign: { id: string } }>('POST', '/v1/campaigns', { body });
  expect(created.status, created.text).toBe(201);
  return created.body.campaign.id;
}
async function launchAndSettle(body: Record<string, unknown>): Promise<CampaignView> {
  const id = await create(body);
  const launched = await t.api('POST', `/v1/campaigns/${id}/launch`);
  expect(launched.status, launched.text).toBe(202);
  await t.runtime.idle(60_000);
  return (await t.api<{ campaign: CampaignView }>('GET', `/v1/campaigns/${id}`)).body.campaign;
}
async function sendRecords(campaignId: string): Promise<SendRecord[]> {
  const page = await documentClient.send(new QueryCommand({ TableName: t.runtime.tableNames.sends, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `${campaignId}#1` } }));
  return (page.Items ?? []) as SendRecord[];
}

describe('a launch with the goal model active', () => {
  test('stores forecastModel and the goal forecast (Σp ± 1.96σ) beside the per-channel forecast', async () => {
    const campaign = await launchAndSettle(campaignBody({ goal: { event: 'purchase' } }));
    expect(campaign.status).toBe('completed');
    expect(campaign.counters.sent).toBe(CONTACTS);
    expect(campaign.forecastModel).toBe('propensity.purchase@v1');
    const sd = Math.sqrt(CONTACTS * P_EMAIL * (1 - P_EMAIL));
    expect(campaign.forecast?.goal).toMatchObject({ model: 'propensity.purchase@v1', expectedConverters: CONTACTS * P_EMAIL, scored: CONTACTS });
    // 3 − 1.96·1.64 < 0: the interval's low end is clamped at 0.
    expect(campaign.forecast!.goal!.low).toBe(Math.max(0, Math.round((CONTACTS * P_EMAIL - 1.959963984540054 * sd) * 100) / 100));
    expect(campaign.forecast!.goal!.high).toBeCloseTo(CONTACTS * P_EMAIL + 1.96 * sd, 1);
    // E[value] without a btyd model: scores.value.expectedValue (the prior, 50).
    expect(campaign.forecast!.goal!.expectedRevenue).toBeCloseTo(CONTACTS * P_EMAIL * 50, 6);
    expect(campaign.forecast!.audience).toBe(CONTACTS);
    expect((await sendRecords(campaign.id)).every((r) => Math.abs(r.goalPropensity! - P_EMAIL) < 1e-12)).toBe(true);

    const report = await t.api<{ report: { model: { forecastModel: string; goalForecast: { expectedConverters: number }; measuredConverters: null; targeting: null } } }>('GET', `/v1/campaigns/${campaign.id}/report`);
    expect(report.status, report.text).toBe(200);
    expect(report.body.report.model).toMatchObject({ forecastModel: 'propensity.purchase@v1', goalForecast: { expectedConverters: 3 }, measuredConverters: null, targeting: null });
  }, 90_000);

  test('a goal without a model keeps the channel forecast: forecastModel beta and no goal forecast', async () => {
    const campaign = await launchAndSettle(campaignBody({ name: 'No model', goal: { event: 'newsletter_signup' } }));
    expect(campaign.forecastModel).toBe('beta');
    expect(campaign.forecast?.goal).toBeUndefined();
    expect(campaign.counters.sent).toBe(CONTACTS);
  }, 90_000);
});

describe('uplift targeting', () => {
  test('the top 30 %: only contacts above the threshold are sent or held out, the rest skipped below_uplift', async () => {
    const campaign = await launchAndSettle(campaignBody({ name: 'Targeted', holdoutPercent: 40, goal: { event: 'purchase' }, targeting: { upliftTopPercent: 30 } }));
    const free = [...contactIds.values()].filter(Boolean).length;
    expect(campaign.targetingApplied).toEqual({ goal: 'purchase', upliftTopPercent: 30, modelId: 'uplift.purchase', modelVersion: 1, threshold: expect.any(Number) });
    expect(campaign.targetingApplied!.threshold!).toBeLessThanOrEqual(UPLIFT_FREE);
    expect(campaign.targetingApplied!.threshold!).toBeGreaterThan(0);
    expect(campaign.counters.suppressed).toEqual({ below_uplift: CONTACTS - free });
    expect(campaign.counters.sent + campaign.counters.holdout).toBe(free);
    expect(campaign.counters.holdout).toBeGreaterThan(0);

    const records = await sendRecords(campaign.id);
    const inGroups = records.filter((r) => r.status === 'sent' || r.status === 'holdout');
    // Holdout and treated are drawn from the same top share: every one of them is free-plan.
    expect(inGroups.every((r) => contactIds.get(r.contactId) === true)).toBe(true);
    expect(records.filter((r) => r.status === 'skipped').every((r) => r.reason === 'below_uplift' && contactIds.get(r.contactId) === false)).toBe(true);

    const report = await t.api<{ report: { model: { targeting: { upliftTopPercent: number; threshold: number; modelVersion: number; predictedIncremental: number; measuredIncremental: null } } } }>('GET', `/v1/campaigns/${campaign.id}/report`);
    expect(report.body.report.model.targeting).toMatchObject({ upliftTopPercent: 30, modelVersion: 1, measuredIncremental: null });
    expect(report.body.report.model.targeting.predictedIncremental).toBeCloseTo(campaign.counters.sent * UPLIFT_FREE, 2);
    const page = await t.api('GET', `/v1/campaigns/${campaign.id}/report.html`);
    expect(page.text).toMatch(/Sent only to the 30 % of the segment the uplift model \(uplift\.purchase v1\) predicts the message moves most \(predicted uplift ≥ [\d.]+ points\); the holdout was drawn from the same 30 %/);
  }, 90_000);

  test('no active uplift model: the launch is a 409 model_not_active naming the model and its status, and the campaign stays a draft', async () => {
    const missing = await create(campaignBody({ name: 'No uplift', goal: { event: 'signup' }, targeting: { upliftTopPercent: 20 } }));
    const refused = await t.api<{ error: { code: string; message: string } }>('POST', `/v1/campaigns/${missing}/launch`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('model_not_active');
    expect(refused.body.error.message).toMatch(/uplift\.signup is not active \(status missing/);

    const failed = await create(campaignBody({ name: 'Weak uplift', targeting: { upliftTopPercent: 20, goal: 'trial' } }));
    const weak = await t.api<{ error: { code: string; message: string } }>('POST', `/v1/campaigns/${failed}/launch`);
    expect(weak.status).toBe(409);
    expect(weak.body.error.message).toMatch(/uplift\.trial is not active \(status no_signal: no signal: Qini lower bound/);
    expect((await t.api<{ campaign: CampaignView }>('GET', `/v1/campaigns/${failed}`)).body.campaign.status).toBe('draft');
  }, 30_000);

  test('hostile targeting is a 400 at its field path', async () => {
    const response = await t.api<{ error: { issues: Array<{ path: string }> } }>('POST', '/v1/campaigns', { body: campaignBody({ targeting: { upliftTopPercent: 0, goal: 'sms' } }) });
    expect(response.status).toBe(400);
    expect(response.body.error.issues.map((i) => i.path).sort()).toEqual(['targeting.goal', 'targeting.upliftTopPercent']);
  });

  test('a journey with targeting lets in only the contacts above the threshold and counts the rest as refused', async () => {
    const body = {
      name: 'Targeted journey',
      entry: { type: 'segment_audience', segmentId, schedule: { type: 'immediate' } },
      holdoutPercent: 0,
      targeting: { upliftTopPercent: 30 },
      start: 'hello',
      steps: { hello: { type: 'send', channels: ['email'], templates: { email: emailTemplate } } },
    };
    const created = await t.api<{ journey: { id: string } }>('POST', '/v1/journeys', { body });
    expect(created.status, created.text).toBe(201);
    const started = await t.api('POST', `/v1/journeys/${created.body.journey.id}/start`);
    expect(started.status, started.text).toBe(202);
    await t.runtime.idle(60_000);
    const report = await t.api<{ report: { totals: { entries: number; refused: Record<string, number> }; targeting: { upliftTopPercent: number } } }>('GET', `/v1/journeys/${created.body.journey.id}/report`);
    const free = [...contactIds.values()].filter(Boolean).length;
    expect(report.body.report.totals.entries).toBe(free);
    expect(report.body.report.totals.refused).toEqual({ below_uplift: CONTACTS - free });
    expect(report.body.report.targeting).toMatchObject({ upliftTopPercent: 30 });
    for (const [id, isFreePlan] of contactIds) {
      const journeys = await t.api<{ items: Array<{ journeyId: string }> }>('GET', `/v1/contacts/${id}/journeys`);
      expect(journeys.body.items.some((j) => j.journeyId === created.body.journey.id)).toBe(isFreePlan);
    }

    // Without an active uplift model the journey does not start.
    const weak = await t.api<{ journey: { id: string } }>('POST', '/v1/journeys', { body: { ...body, name: 'Weak', targeting: { upliftTopPercent: 30, goal: 'trial' } } });
    const refused = await t.api<{ error: { code: string } }>('POST', `/v1/journeys/${weak.body.journey.id}/start`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('model_not_active');
  }, 90_000);
});
