/**
 * Learned scores in segments, through the local runtime (DynamoDB Local): rules comparing
 * `scores.models` (written here straight onto the contacts, as the nightly scoring pass would),
 * warnings on save and preview for learned scores whose model is not active, and the preview's
 * goal forecast (`?goal=`) summed from the stored propensity scores.
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import { newContact } from '../../shared/contacts/contact-store.ts';
import type { Contact } from '../../shared/contacts/model.ts';
import { ModelStore } from '../../shared/learning/store.ts';
import type { GateThresholds, ModelStatus, PropensityVersion, UpliftVersion } from '../../shared/learning/train.ts';
import type { GoalForecast } from '../../shared/segments/preview.ts';
import type { SegmentWarning } from '../../shared/segments/segment-service.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
let models: ModelStore;
beforeAll(async () => {
  t = await startTestRuntime();
  models = new ModelStore(t.runtime.tableNames.models!);
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

const Z95 = 1.959963984540054;
const NOW = new Date();

/** A trained version's body as the trainer returns it, reduced to what the store and the head read. */
function version(kind: 'propensity' | 'uplift', goal: string, status: ModelStatus, reason: string): PropensityVersion | UpliftVersion {
  const base = {
    modelId: `${kind}.${goal}`,
    goal,
    status,
    reason,
    codeVersion: 'test',
    dataHash: randomUUID(),
    counts: { 'fold0|1': 40, 'fold0|0': 900 },
    thresholds: {} as GateThresholds,
    strata: [],
    lambda: null,
    candidates: [],
    explanations: [],
    metrics: null,
  };
  return kind === 'propensity' ? { ...base, kind, model: null } : { ...base, kind, treatment: null, control: null, upliftHistogram: null };
}

interface Seeded {
  id: string;
  reachable: boolean;
  purchase?: number;
}

/** Contacts tagged `tag`, reachable by email or not, with `scores.models` as given. */
async function seed(tag: string, people: Array<{ reachable: boolean; models?: Record<string, number> }>): Promise<Seeded[]> {
  const now = NOW.toISOString();
  const items: Contact[] = people.map(({ reachable, models: scores }) => {
    const c = newContact(randomUUID(), now);
    c.email = `${c.id}@example.com`;
    c.tags = [tag];
    c.consent = { email: { status: reachable ? 'confirmed' : 'pending', updatedAt: now, source: 'test' } };
    if (scores) c.scores = { ...c.scores, models: scores, modelsAt: now };
    return c;
  });
  for (let i = 0; i < items.length; i += 25) {
    await documentClient.send(new BatchWriteCommand({ RequestItems: { [t.runtime.tableNames.contacts!]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
  }
  return items.map((c, i) => ({ id: c.id, reachable: people[i]!.reachable, purchase: people[i]!.models?.['propensity.purchase'] }));
}

interface PreviewBody {
  count: number;
  forecast: { email: unknown; sms: unknown; goal?: GoalForecast };
  warnings: SegmentWarning[];
}
interface Issues {
  error: { issues: Array<{ path: string; message: string }> };
}

describe('learned scores in segment rules', () => {
  const tag = `learned-${randomUUID().slice(0, 8)}`;
  beforeAll(async () => {
    // purchase: active (v1); uplift.purchase: trained, never active; btyd (churn): never trained; propensity.old: active, then stale.
    await models.record(version('propensity', 'purchase', 'active', 'AUC 0.71 (lower bound 0.68) on 2,000 held-out examples'), null, 'run-1', NOW);
    await models.record(version('uplift', 'purchase', 'insufficient_history', '120 holdout examples, 500 needed'), null, 'run-1', NOW);
    await models.record(version('propensity', 'old', 'active', 'AUC 0.66'), null, 'run-0', new Date(NOW.getTime() - 40 * 86_400_000));
    expect(await models.markStale('propensity.old', NOW)).toBe(true);
    await seed(tag, [
      { reachable: true, models: { 'propensity.purchase': 0.4, 'uplift.purchase': 0.05 } },
      { reachable: true, models: { 'propensity.purchase': 0.1 } },
      { reachable: true, models: {} },
      { reachable: true },
    ]);
  });

  const inTag = { field: 'tags', op: 'contains', value: tag };

  test('a rule on a learned score counts the contacts whose stored score matches; those without one match no comparison', async () => {
    const gte = await t.api<PreviewBody>('POST', '/v1/segments/preview', { body: { rule: { and: [inTag, { score: 'propensity.purchase', op: 'gte', value: 0.1 }] } } });
    expect(gte.status, gte.text).toBe(200);
    expect(gte.body.count).toBe(2);
    expect(gte.body.warnings).toEqual([]);
    const neq = await t.api<PreviewBody>('POST', '/v1/segments/preview', { body: { rule: { and: [inTag, { score: 'propensity.purchase', op: 'neq', value: 0.4 }] } } });
    expect(neq.body.count).toBe(1);
    const negated = await t.api<PreviewBody>('POST', '/v1/segments/preview', { body: { rule: { and: [inTag, { not: { score: 'propensity.purchase', op: 'gte', value: 0.1 } }] } } });
    expect(negated.body.count).toBe(2);
  });

  test('saving and previewing a rule on scores whose model is not active succeed with a warning per score, naming the model, its status and reason', async () => {
    // Prepare
    const rule = {
      and: [
        inTag,
        { score: 'propensity.purchase', op: 'gte', value: 0.1 },
        { or: [{ score: 'uplift.purchase', op: 'gt', value: 0 }, { score: 'churn', op: 'lt', value: 0.5 }] },
        { not: { score: 'propensity.old', op: 'lt', value: 0.2 } },
        { score: 'value.expected90d', op: 'gt', value: 10 },
      ],
    };
    const expected = [
      { path: 'rule.and[2].or[0].score', model: 'uplift.purchase', status: 'insufficient_history', message: expect.stringContaining('model uplift.purchase is not active (status insufficient_history: 120 holdout examples, 500 needed)') },
      { path: 'rule.and[2].or[1].score', model: 'btyd', status: 'missing', message: expect.stringContaining('no such model yet: btyd') },
      { path: 'rule.and[3].not.score', model: 'propensity.old', status: 'stale', message: expect.stringContaining('model propensity.old is not active (status stale: not retrained for 30 days') },
      { path: 'rule.and[4].score', model: 'btyd', status: 'missing', message: expect.stringContaining('no such model yet: btyd') },
    ];

    // Act
    const created = await t.api<{ segment: { id: string; version: number }; warnings: SegmentWarning[] }>('POST', '/v1/segments', { body: { name: 'Learned', rule } });
    const id = created.body.segment.id;
    const preview = await t.api<PreviewBody & { segmentId: string }>('POST', `/v1/segments/${id}/preview`);
    const inline = await t.api<PreviewBody>('POST', '/v1/segments/preview', { body: { rule } });
    const put = await t.api<{ segment: { version: number }; warnings: SegmentWarning[] }>('PUT', `/v1/segments/${id}`, { body: { name: 'Learned', rule: { and: [inTag, { score: 'propensity.purchase', op: 'gt', value: 0.2 }] } } });

    // Assess
    expect(created.status, created.text).toBe(201);
    expect(created.body.warnings).toEqual(expected);
    expect(created.body.warnings[0]!.message).toContain('no contact has the score uplift.purchase');
    expect((await t.api('GET', `/v1/segments/${id}`)).status).toBe(200);
    expect(preview.status, preview.text).toBe(200);
    expect(preview.body.warnings).toEqual(expected);
    // Only the first contact has propensity.purchase ≥ 0.1 and uplift.purchase > 0; no one has value.expected90d.
    expect(preview.body.count).toBe(0);
    expect(inline.body.warnings).toEqual(expected);
    expect([put.status, put.body.segment.version, put.body.warnings]).toEqual([200, 2, []]);
  });

  test('a rule naming 50 untrained models, one of them twice, previews with one warning per comparison', async () => {
    const or = Array.from({ length: 50 }, (_, i) => ({ score: `uplift.g${i}`, op: 'gt', value: 0 }));
    const res = await t.api<PreviewBody>('POST', '/v1/segments/preview', { body: { rule: { and: [inTag, { or }, { score: 'uplift.g7', op: 'lt', value: 1 }] } } });
    expect(res.status, res.text).toBe(200);
    expect(res.body.count).toBe(0);
    expect(res.body.warnings).toHaveLength(51);
    expect(res.body.warnings[50]).toMatchObject({ path: 'rule.and[2].score', model: 'uplift.g7', status: 'missing' });
    expect(new Set(res.body.warnings.map((w) => w.status))).toEqual(new Set(['missing']));
  });

  test('a learned score name that is not one is refused at its path, and nothing is saved', async () => {
    const before = (await t.api<{ items: unknown[] }>('GET', '/v1/segments')).body.items.length;
    for (const [score, path] of [
      ['propensity.', 'rule.and[1].score'],
      ['uplift.x y', 'rule.and[1].score'],
      ['uplift.email', 'rule.and[1].score'],
    ] as const) {
      const res = await t.api<Issues>('POST', '/v1/segments', { body: { name: 'Bad', rule: { and: [inTag, { score, op: 'gt', value: 0 }] } } });
      expect(res.status, res.text).toBe(400);
      expect(res.body.error.issues).toEqual([{ path, message: expect.stringContaining('or a learned score: propensity.<goal>') }]);
    }
    expect((await t.api<{ items: unknown[] }>('GET', '/v1/segments')).body.items).toHaveLength(before);
  });
});

describe('preview forecast by goal', () => {
  const tag = `goal-${randomUUID().slice(0, 8)}`;
  let people: Seeded[];
  beforeAll(async () => {
    await models.record(version('propensity', 'purchase', 'active', 'AUC 0.71'), null, 'run-2', NOW);
    await models.record(version('propensity', 'trial', 'not_better', 'AUC 0.52 is not above 0.55'), null, 'run-2', NOW);
    await models.record(version('propensity', 'newsletter', 'active', 'AUC 0.61'), null, 'run-2', NOW);
    const ps = [0.9, 0.5, 0.25, 0.12, 0.05, 0.6, 0.33];
    people = await seed(tag, [
      ...ps.map((p) => ({ reachable: true, models: { 'propensity.purchase': p, churn: 0.2 } })),
      // Not reachable: a score that must not count.
      { reachable: false, models: { 'propensity.purchase': 0.99 } },
      // Reachable without a score (scored before the model, or never).
      { reachable: true },
      { reachable: true, models: { 'propensity.sign_up': 0.7 } },
    ]);
  });
  const rule = { field: 'tags', op: 'contains', value: tag };

  test('?goal= adds the expected converters over the reachable members with a score, with a 95 % interval and the counts', async () => {
    // Prepare: the independent sum.
    const scored = people.filter((p) => p.reachable && p.purchase !== undefined).map((p) => p.purchase!);
    const expected = scored.reduce((s, p) => s + p, 0);
    const sd = Math.sqrt(scored.reduce((s, p) => s + p * (1 - p), 0));
    const head = await models.head('propensity.purchase');

    // Act
    const res = await t.api<PreviewBody>('POST', '/v1/segments/preview?goal=purchase', { body: { rule } });

    // Assess
    expect(res.status, res.text).toBe(200);
    expect(res.body.count).toBe(10);
    expect(res.body.forecast.goal).toEqual({
      goal: 'purchase',
      model: `propensity.purchase@v${head!.activeVersion}`,
      expectedConverters: Math.round(expected * 100) / 100,
      low: Math.round((expected - Z95 * sd) * 100) / 100,
      high: Math.round((expected + Z95 * sd) * 100) / 100,
      reachable: 9,
      scored: 7,
      reason: null,
    });
    // Without the parameter the forecast is as before.
    const plain = await t.api<PreviewBody>('POST', '/v1/segments/preview', { body: { rule } });
    expect(plain.body.forecast).not.toHaveProperty('goal');
  });

  test('a saved segment previews by goal too', async () => {
    const created = await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name: 'Goal', rule } });
    const res = await t.api<PreviewBody>('POST', `/v1/segments/${created.body.segment.id}/preview?goal=purchase`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.forecast.goal).toMatchObject({ goal: 'purchase', scored: 7, reachable: 9, reason: null });
  });

  test.each([
    // One member still carries a propensity.sign_up score: without an active model it is not used.
    ['no model of that goal (a leftover score is not used)', 'sign_up', 1, null, 'no such model yet: propensity.sign_up has not been trained'],
    ['a model that is not active', 'trial', 0, null, 'model propensity.trial is not active (status not_better: AUC 0.52 is not above 0.55), so its scores are not used'],
    ['an active model that has scored no member yet', 'newsletter', 0, 'propensity.newsletter@v1', 'no reachable member has a propensity.newsletter score yet'],
  ])('without usable scores the goal forecast is null and says why: %s', async (_, goal, scored, model, reason) => {
    const res = await t.api<PreviewBody>('POST', `/v1/segments/preview?goal=${goal}`, { body: { rule } });
    expect(res.status, res.text).toBe(200);
    expect(res.body.forecast.goal).toEqual({ goal, model, expectedConverters: null, low: null, high: null, reachable: 9, scored, reason: expect.stringContaining(reason) });
  });

  test('a goal that is not a learnable goal name is refused at query.goal; the saved segment gets no statistics from it', async () => {
    const created = await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name: 'Hostile', rule } });
    const id = created.body.segment.id;
    for (const goal of ['email', 'sms', '', 'a%20b', 'x'.repeat(101), '%C3%A9', 'purchase%00']) {
      for (const path of [`/v1/segments/preview?goal=${goal}`, `/v1/segments/${id}/preview?goal=${goal}`]) {
        const res = await t.api<Issues>('POST', path, { body: path.includes(id) ? undefined : { rule } });
        expect(res.status, `${path}: ${res.text}`).toBe(400);
        expect(res.body.error.issues, path).toEqual([{ path: 'query.goal', message: expect.stringContaining('must be a conversion event') }]);
      }
    }
    expect((await t.api<{ stats: unknown }>('GET', `/v1/segments/${id}`)).body.stats).toBeNull();
  });
});
