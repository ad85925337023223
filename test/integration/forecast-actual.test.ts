/**
 * recordForecastActuals against DynamoDB Local: the models table and the reports table created
 * from the topology's definitions, reports stored and read through AttributionStore, the items
 * written and read through ModelStore.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTables } from '../../infra/local/tables.ts';
import { topology } from '../../infra/topology.ts';
import { AttributionStore, type AttributionTables, type CampaignReport } from '../../shared/attribution/run.ts';
import type { Campaign } from '../../shared/campaigns/model.ts';
import { launchForecastOf, recordForecastActuals } from '../../shared/learning/forecast-actual.ts';
import { ModelStore, type ForecastActual } from '../../shared/learning/store.ts';
import { startFileDynamoDb } from '../helpers/dynamodb.ts';

const prefix = `fva-${randomBytes(4).toString('hex')}-`;
const dynamodb = await startFileDynamoDb();
const client = new DynamoDBClient({ endpoint: dynamodb.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
const db = DynamoDBDocumentClient.from(client);
const models = new ModelStore(`${prefix}models`, db);
const attribution = new AttributionStore({ reports: `${prefix}reports` } as AttributionTables, db);

beforeAll(async () => {
  await createTables(client, { models: topology.tables.models, reports: topology.tables.reports }, (name) => `${prefix}${name}`);
}, 60_000);
afterAll(async () => {
  client.destroy();
  await dynamodb.stop();
});

const DAY = 86_400_000;
const NOW = new Date('2026-11-20T03:00:00.000Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY).toISOString();

type CampaignPatch = Partial<Campaign> & { forecastSums?: Record<string, number> };
/** A launch forecast with the goal model's forecast of converters. */
const withGoal = (expectedConverters: number, low: number, high: number, version = 3): CampaignPatch => ({
  forecastModel: `propensity.purchase@v${version}`,
  forecast: { email: { expectedResponses: 30, low: 20, high: 40 }, sms: { expectedResponses: 10, low: 4, high: 16 }, audience: 500, computedAt: daysAgo(10), goal: { model: `propensity.purchase@v${version}`, event: 'purchase', expectedConverters, low, high, expectedRevenue: expectedConverters * 30, scored: 500 } },
});

/** A campaign as the campaigns table holds it, launched `launchedDaysAgo` days before NOW with a 7-day purchase window. */
function campaign(id: string, launchedDaysAgo: number | undefined, patch: CampaignPatch = {}): Campaign {
  return {
    id,
    name: `Campaign ${id}`,
    status: launchedDaysAgo === undefined ? 'draft' : 'running',
    segmentId: '0b9e2f3c-5a41-4c7e-9d1a-3f6b8c2e7a10',
    channels: ['email', 'sms'],
    variants: [{ name: 'A', weight: 1, templates: { email: '6f1d2c3b-4a59-4e8f-b7a6-5d4c3b2a1f09' } }],
    holdoutPercent: 10,
    schedule: { type: 'immediate' },
    limits: { quietHours: {}, sendRatePerSecond: {} },
    goal: { event: 'purchase', attributionWindowDays: 7, model: 'last_touch' },
    costPerMessage: {},
    marketing: true,
    createdAt: daysAgo(30),
    updatedAt: daysAgo(1),
    version: 3,
    counters: { targeted: 0, queued: 0, sent: 0, holdout: 0, deferred: 0, failed: 0, cancelled: 0, suppressed: {} },
    spent: 0,
    ...(launchedDaysAgo === undefined ? {} : { launchedAt: daysAgo(launchedDaysAgo) }),
    forecastSums: { email_sum: 30, email_variance: 27, email_count: 400, sms_sum: 10, sms_variance: 9, sms_count: 100 },
    ...patch,
  } as Campaign;
}

/** An attribution report of `campaignId` whose conversions run up to `to`, with the given variants' members and converters. */
function report(campaignId: string, to: string, variants: Array<[members: number, converters: number]>): CampaignReport {
  const responses = { delivered: 0, opened: 0, clicked: 0, unsubscribed: 0, bounced: 0, complained: 0 };
  return {
    campaignId,
    name: `Campaign ${campaignId}`,
    computedAt: to,
    runId: 'run-night',
    range: { from: new Date(Date.parse(to) - DAY).toISOString(), to },
    goal: { event: 'purchase', attributionWindowDays: 7, model: 'last_touch' },
    funnel: { targeted: 0, holdout: 50, sent: 0, converted: 0, ...responses },
    revenue: 0,
    cost: 0,
    roi: null,
    variants: variants.map(([members, converters], i) => ({ variant: `V${i}`, members, converters, revenue: converters * 30, attributedConversions: converters, attributedRevenue: converters * 30, lift: null, ...responses })),
    channels: [],
    lift: null,
    holdout: { members: 50, converters: 2, revenue: 60 },
    forecastVsActual: { email: { forecast: null, low: null, high: null, actual: 0, error: null }, sms: { forecast: null, low: null, high: null, actual: 0, error: null } },
  } as unknown as CampaignReport;
}

describe('recordForecastActuals', () => {
  const tonight = daysAgo(0.125); // the nightly run's range ends at midnight UTC
  const campaigns = [
    // Closed windows with a report covering them: recorded.
    campaign('goal-a', 10, withGoal(40, 28.24, 51.76)),
    campaign('goal', 9, withGoal(12.5, 6, 19)),
    campaign('goal-b', 8, withGoal(25, 15.2, 34.8, 4)),
    // Passed over, each for its reason.
    campaign('open', 3, withGoal(9, 4, 14)),
    campaign('draft', undefined),
    campaign('no-report', 12, withGoal(9, 4, 14)),
    campaign('early-report', 7.5, withGoal(9, 4, 14)),
    campaign('journey-step', 11, { ...withGoal(9, 4, 14), journey: { id: 'j1', version: 1, stepId: 'send' } }),
    // A launch without a goal model forecast responses per channel only: not a forecast of converters.
    campaign('no-forecast', 13, { forecast: { email: { expectedResponses: 20, low: 12, high: 28 }, sms: { expectedResponses: 5, low: 0, high: 11 }, audience: 300, computedAt: daysAgo(13) } }),
    campaign('sent-nothing', 14, withGoal(9, 4, 14)),
  ];

  beforeAll(async () => {
    for (const id of ['goal-a', 'goal', 'goal-b', 'open', 'journey-step', 'no-forecast']) await attribution.saveReport(report(id, tonight, [[400, 25], [100, 5]]));
    // The window of early-report closes 12 h before NOW; this report's conversions end a day before NOW.
    await attribution.saveReport(report('early-report', daysAgo(1), [[400, 25]]));
    await attribution.saveReport(report('sent-nothing', tonight, []));
  });

  test('writes one item per launched campaign whose goal window closed, from its launch forecast and its report; the rest are counted by reason', async () => {
    // Act
    const result = await recordForecastActuals({ campaigns, report: (id) => attribution.report(id), store: models, now: NOW });

    // Assess
    const at = NOW.toISOString();
    const expected: ForecastActual[] = [
      { campaignId: 'goal-a', name: 'Campaign goal-a', launchedAt: daysAgo(10), goal: 'purchase', forecastModel: 'propensity.purchase@v3', forecast: 40, low: 28.24, high: 51.76, actual: 30, treated: 500, computedAt: at },
      { campaignId: 'goal', name: 'Campaign goal', launchedAt: daysAgo(9), goal: 'purchase', forecastModel: 'propensity.purchase@v3', forecast: 12.5, low: 6, high: 19, actual: 30, treated: 500, computedAt: at },
      { campaignId: 'goal-b', name: 'Campaign goal-b', launchedAt: daysAgo(8), goal: 'purchase', forecastModel: 'propensity.purchase@v4', forecast: 25, low: 15.2, high: 34.8, actual: 30, treated: 500, computedAt: at },
    ];
    expect(result.written).toEqual(expected);
    expect(result.skipped).toEqual({ not_launched: 1, journey_step: 1, window_open: 1, recorded: 0, report_pending: 2, no_forecast: 1, nothing_sent: 1 });
    // What the report reads back: newest launch first.
    expect(await models.forecastActuals(20)).toEqual([expected[2], expected[1], expected[0]]);
    for (const item of expected) expect(await models.hasForecastActual(item.launchedAt, item.campaignId)).toBe(true);
    expect(await models.hasForecastActual(daysAgo(12), 'no-report')).toBe(false);
  });

  test('a second call writes nothing (a later report does not rewrite a recorded item); a campaign whose report arrived is taken then', async () => {
    // Prepare: the next night, goal-a's report grew and no-report's arrived.
    const nextNight = new Date(NOW.getTime() + DAY);
    await attribution.saveReport(report('goal-a', NOW.toISOString(), [[400, 99]]));
    await attribution.saveReport(report('no-report', NOW.toISOString(), [[200, 7]]));
    const before = await models.forecastActuals(20);

    // Act
    const again = await recordForecastActuals({ campaigns, report: (id) => attribution.report(id), store: models, now: nextNight });
    const third = await recordForecastActuals({ campaigns, report: (id) => attribution.report(id), store: models, now: nextNight });

    // Assess
    expect(again.written.map((w) => [w.campaignId, w.actual, w.treated])).toEqual([['no-report', 7, 200]]);
    expect(again.skipped.recorded).toBe(3);
    expect(third.written).toEqual([]);
    expect(third.skipped.recorded).toBe(4);
    const after = await models.forecastActuals(20);
    expect(after).toHaveLength(4);
    expect(after.filter((a) => a.campaignId !== 'no-report')).toEqual(before);
  });
});

describe('launchForecastOf', () => {
  test('the goal forecast the launch stored, named by forecastModel; none without one or with a non-finite number', () => {
    expect(launchForecastOf(campaign('y', 10, withGoal(3, 1, 5)))).toEqual({ forecastModel: 'propensity.purchase@v3', forecast: 3, low: 1, high: 5 });
    const { forecastModel: _m, ...unnamed } = withGoal(3, 1, 5, 7);
    expect(launchForecastOf(campaign('u', 10, unnamed))).toMatchObject({ forecastModel: 'propensity.purchase@v7' });
    expect(launchForecastOf(campaign('x', 10, withGoal(Number.NaN, 0, 1)))).toBeUndefined();
    expect(launchForecastOf(campaign('z', 10))).toBeUndefined();
  });
});
