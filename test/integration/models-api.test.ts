import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BTYD_THRESHOLDS, btydGate, fitBgNbd, fitGammaGamma } from '../../shared/learning/btyd.ts';
import { encode, featureColumns, featureNames, fitFeatureSpec, type FeatureSpec } from '../../shared/learning/features.ts';
import type { LogisticVersionView, ModelDetail, ModelSummary } from '../../shared/learning/model-views.ts';
import { SampleBuilder } from '../../shared/learning/sample.ts';
import { ModelStore, type BtydVersion, type ForecastActual } from '../../shared/learning/store.ts';
import { DEFAULT_THRESHOLDS, trainPropensity, trainUplift, type PropensityVersion, type UpliftVersion } from '../../shared/learning/train.ts';
import { aggregateRows, simulateCustomers } from '../helpers/btyd-simulate.ts';
import { syntheticExamples } from '../helpers/learning-synthetic.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

/**
 * The models API against the local runtime (DynamoDB Local): the models table seeded through
 * ModelStore.record with versions trained on synthetic data (propensity and uplift for
 * `purchase`, BTYD fitted on simulated buyers), then every route's JSON, the HTML page's charts,
 * hostile ids and numbers (400 with the field path), unknown ones (404), and the empty state.
 */

let t: TestRuntime;
let store: ModelStore;
let spec: FeatureSpec;
let propensity: PropensityVersion;
let uplift: UpliftVersion;
let btyd: BtydVersion;

const LOWERED = { minTrainExamples: 1000, minTrainPositives: 100, minControlExamples: 300, minControlPositives: 20, bootstrapResamples: 20 };
const NOW = new Date('2026-12-06T03:00:00.000Z');

/**
 * Propensity and uplift for `purchase`, trained on 8,000 synthetic exposures (20 % holdouts, a true
 * uplift of 6 points: too few exposures to detect it, so the uplift model is `no_signal`).
 */
function trainPurchase(): void {
  const examples = syntheticExamples({ seed: 16, contacts: 8000, uplift: 'true', holdoutShare: 0.2 });
  spec = fitFeatureSpec(examples.map((e) => e.input));
  const builder = new SampleBuilder(featureColumns(), 100_000);
  examples.forEach((e, i) =>
    builder.add({
      goal: 'purchase',
      campaignId: `campaign-${i % 3}`,
      contactId: e.contactId,
      label: e.label,
      treated: e.arm === 'treated' ? 1 : 0,
      holdoutShare: 0.2,
      exposedAt: 1_780_000_000_000 + i * 1000,
      revenue: e.label ? 40 : 0,
      vector: encode(e.input, spec),
    }),
  );
  const sample = builder.finish();
  const config = { goal: 'purchase', featureNames: featureNames(spec), thresholds: LOWERED };
  propensity = trainPropensity(sample, config);
  uplift = trainUplift(sample, propensity, config);
}

/** BG/NBD and Gamma–Gamma fitted on 2,000 simulated buyers. */
function fitBtyd(): BtydVersion {
  const customers = simulateCustomers(7, 2000, { r: 0.5, alpha: 20, a: 0.8, b: 3 }, { p: 6, q: 4, v: 15 });
  const rows = aggregateRows(customers);
  const gate = btydGate(rows, BTYD_THRESHOLDS);
  const spenders = customers.filter((c) => c.x > 0).map((c) => ({ x: c.x + 1, meanSpend: c.spends.reduce((a, b) => a + b, 0) / c.spends.length }));
  return { kind: 'btyd', modelId: 'btyd', status: gate.status, reason: gate.reason, dataHash: 'btyd-hash-1', gate, bgNbd: fitBgNbd(rows), gammaGamma: fitGammaGamma(spenders), gammaGammaRows: spenders.length };
}

const forecast = (n: number, overrides: Partial<ForecastActual>): ForecastActual => ({
  campaignId: `0000000${n}-0000-4000-8000-000000000000`,
  name: `Campaign <${n}>`,
  launchedAt: `2026-11-0${n}T09:00:00.000Z`,
  goal: 'purchase',
  forecastModel: 'propensity.purchase@v1',
  forecast: 100,
  low: 80,
  high: 120,
  actual: 100,
  treated: 2000,
  computedAt: '2026-11-20T02:00:00.000Z',
  ...overrides,
});

beforeAll(async () => {
  t = await startTestRuntime();
  store = new ModelStore(t.runtime.tableNames.models!);
  trainPurchase();
  btyd = fitBtyd();
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

describe('with no models', () => {
  test('the list is empty, the page says what the nightly run needs, the forecast summary has nothing to score', async () => {
    const list = await t.api<{ items: ModelSummary[] }>('GET', '/v1/models');
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ items: [] });

    const page = await t.api('GET', '/v1/models.html');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    expect(page.text).toContain(`No models yet: the nightly run trains one per goal once there is enough history — ${DEFAULT_THRESHOLDS.minTrainExamples.toLocaleString('en-US')} examples, ${DEFAULT_THRESHOLDS.minTrainPositives} positives`);
    expect(page.text).toContain('data-forecasts="none"');
    expect(page.text).not.toMatch(/<script/i);

    const accuracy = await t.api('GET', '/v1/forecast-accuracy');
    expect(accuracy.status).toBe(200);
    expect(accuracy.body).toMatchObject({ items: [], summary: { count: 0, coverage: null, mape: null, mapeItems: 0, byModel: [] } });
    expect(accuracy.body.note).toMatch(/Bernoulli noise only.*coverage under 95 % is expected/);

    expect((await t.api('GET', '/v1/models/propensity.purchase')).status).toBe(404);
  });
});

describe('with trained models', () => {
  beforeAll(async () => {
    // Version 1 of propensity: active. Version 2: trained on other data, failing its gate (kept, not used).
    await store.record(propensity, spec, 'run-1', new Date(NOW.getTime() - 86_400_000));
    await store.record({ ...propensity, dataHash: 'other-data', status: 'not_better', reason: 'not better: test AUC 0.6 against the active model’s 0.7' }, spec, 'run-2', NOW);
    await store.record(uplift, spec, 'run-2', NOW);
    // The same fit under another goal, marked active by hand: an uplift model in use, with its histogram.
    await store.record({ ...uplift, modelId: 'uplift.trial', goal: 'trial', status: 'active', reason: 'Qini coefficient above 0' }, spec, 'run-2', NOW);
    await store.record(btyd, null, 'run-2', NOW);
    await store.record(
      { ...propensity, modelId: 'propensity.signup', goal: 'signup', dataHash: 'thin', status: 'insufficient_history', reason: 'insufficient history for propensity.signup: 12 training examples (at least 2000 needed)', model: null, metrics: null, explanations: [], candidates: [], lambda: null },
      spec,
      'run-2',
      NOW,
    );
    await store.putForecastActual(forecast(1, { actual: 100 }));
    await store.putForecastActual(forecast(2, { actual: 150, forecastModel: 'beta' }));
    await store.putForecastActual(forecast(3, { actual: 90 }));
    await store.putForecastActual(forecast(4, { forecast: 0, low: 0, high: 0, actual: 3 }));
  });

  test('GET /v1/models lists every head with its status and headline metrics', async () => {
    const { status, body } = await t.api<{ items: ModelSummary[] }>('GET', '/v1/models');
    expect(status).toBe(200);
    expect(body.items.map((m) => m.modelId)).toEqual(['btyd', 'propensity.purchase', 'propensity.signup', 'uplift.purchase', 'uplift.trial']);
    const [b, p, s, u] = body.items as [ModelSummary, ModelSummary, ModelSummary, ModelSummary];
    expect(p).toMatchObject({ kind: 'propensity', goal: 'purchase', status: 'not_better', activeVersion: 1, latestVersion: 2, trainedAt: NOW.toISOString() });
    // The headline is the latest version's (2: the same fit, recorded as not better).
    expect(p.headline).toEqual({ examples: expect.any(Number), auc: propensity.metrics!.auc, aucLower95: propensity.metrics!.aucLower95, brierSkill: propensity.metrics!.brierSkill, ece: propensity.metrics!.ece });
    expect(p.headline.auc).toBeGreaterThan(0.55);
    expect(s).toMatchObject({ status: 'insufficient_history', activeVersion: null, latestVersion: 1 });
    expect(s.reason).toMatch(/12 training examples/);
    expect(uplift.status).toBe('no_signal');
    expect(u).toMatchObject({ kind: 'uplift', goal: 'purchase', status: 'no_signal', activeVersion: null, headline: { qiniCoefficient: uplift.metrics!.qiniCoefficient, qiniLower: uplift.metrics!.qiniLower } });
    expect(b).toMatchObject({ kind: 'btyd', status: 'active', activeVersion: 1, headline: { buyers: btyd.gate.counts.buyers, repeatBuyers: btyd.gate.counts.repeatBuyers } });
    expect(b).not.toHaveProperty('goal');
  });

  test('GET /v1/models/{id}: the head, the active version in full (weights summarised) and the versions newest first', async () => {
    const { status, body } = await t.api<ModelDetail>('GET', '/v1/models/propensity.purchase');
    expect(status).toBe(200);
    expect(body.model).toMatchObject({ modelId: 'propensity.purchase', status: 'not_better', activeVersion: 1 });
    const active = body.active as LogisticVersionView;
    expect(active).toMatchObject({ version: 1, kind: 'propensity', goal: 'purchase', status: propensity.status, runId: 'run-1', lambda: propensity.lambda });
    expect(active.metrics).toEqual(propensity.metrics);
    expect(active.candidates).toEqual(propensity.candidates);
    expect(active.strata).toEqual(propensity.strata);
    expect(active.explanations.map((e) => e.feature)).toEqual(propensity.explanations.map((e) => e.feature));
    expect(active.explanations.length).toBeGreaterThan(0);
    expect(active.model).toEqual({ intercept: propensity.model!.intercept, columns: featureColumns(), nonZeroWeights: propensity.model!.weights.filter((w) => w !== 0).length });
    expect(active.features).toEqual({ columns: featureColumns(), attributes: spec.attributes, excludeAttributes: spec.excludeAttributes });
    expect(JSON.stringify(body)).not.toContain('"weights"');
    expect(body.versions.map((v) => [v.version, v.status, v.runId])).toEqual([
      [2, 'not_better', 'run-2'],
      [1, propensity.status, 'run-1'],
    ]);

    expect((await t.api<ModelDetail>('GET', '/v1/models/uplift.purchase')).body.active).toBeNull();
    const trial = (await t.api<ModelDetail>('GET', '/v1/models/uplift.trial')).body.active as LogisticVersionView;
    expect(trial).toMatchObject({ kind: 'uplift', goal: 'trial', metrics: uplift.metrics, treatment: { columns: featureColumns() }, control: { intercept: uplift.control!.intercept } });
    const bins = trial.upliftHistogram!.bins;
    expect(bins.length).toBeGreaterThan(1);
    expect(bins.reduce((n, b) => n + b.exposures, 0)).toBe(uplift.upliftHistogram!.reduce((n, b) => n + b, 0));
    expect(bins.every((b) => b.exposures > 0 && b.uplift >= -0.2 && b.uplift <= 0.2 && Number(b.uplift.toFixed(3)) === b.uplift)).toBe(true);

    const thin = await t.api<ModelDetail>('GET', '/v1/models/propensity.signup');
    expect(thin.body.active).toBeNull();
    expect(thin.body.versions).toHaveLength(1);

    const b = await t.api<ModelDetail>('GET', '/v1/models/btyd');
    expect(b.body.active).toMatchObject({ kind: 'btyd', gate: btyd.gate, bgNbd: btyd.bgNbd, gammaGamma: btyd.gammaGamma, gammaGammaRows: btyd.gammaGammaRows });
  });

  test('GET /v1/models/{id}/versions/{n}: any stored version, active or not', async () => {
    const v2 = await t.api<{ version: LogisticVersionView }>('GET', '/v1/models/propensity.purchase/versions/2');
    expect(v2.status).toBe(200);
    expect(v2.body.version).toMatchObject({ version: 2, status: 'not_better', dataHash: 'other-data', runId: 'run-2' });
    const u1 = await t.api<{ version: LogisticVersionView }>('GET', '/v1/models/uplift.purchase/versions/1');
    expect(u1.body.version).toMatchObject({ kind: 'uplift', status: uplift.status, metrics: uplift.metrics });
    expect(u1.body.version.explanations).toEqual(uplift.explanations);
  });

  test('unknown models and versions are 404; ids and numbers that cannot be one are 400 at the parameter', async () => {
    for (const path of ['/v1/models/propensity.refund', '/v1/models/uplift.signup', '/v1/models/propensity.purchase/versions/3', '/v1/models/propensity.refund/versions/1']) {
      const response = await t.api('GET', path);
      expect(response.status, path).toBe(404);
      expect(response.body, path).toMatchObject({ error: { code: 'not_found' } });
    }
    for (const id of ['forecasts', 'churn', 'propensity.', 'propensity', 'PROPENSITY.purchase', 'uplift.a%20b', `propensity.${'x'.repeat(101)}`, 'btyd.x', '%3Cscript%3E']) {
      const response = await t.api<{ error: { code: string; issues: Array<{ path: string; message: string }> } }>('GET', `/v1/models/${id}`);
      expect(response.status, id).toBe(400);
      expect(response.body.error.issues, id).toEqual([{ path: 'params.id', message: expect.stringMatching(/must be a model id/) }]);
    }
    for (const n of ['0', '-1', '1.5', '1e3', '01', 'abc', '99999999999']) {
      const response = await t.api<{ error: { issues: Array<{ path: string; message: string }> } }>('GET', `/v1/models/propensity.purchase/versions/${n}`);
      expect(response.status, n).toBe(400);
      expect(response.body.error.issues, n).toEqual([{ path: 'params.n', message: 'must be a positive integer (a version number)' }]);
    }
    const both = await t.api<{ error: { issues: Array<{ path: string }> } }>('GET', '/v1/models/nope/versions/0');
    expect(both.body.error.issues.map((i) => i.path)).toEqual(['params.id', 'params.n']);
  });

  test('GET /v1/forecast-accuracy: newest first, coverage and MAPE overall and per forecast model, limit 1–100', async () => {
    const { status, body } = await t.api<{ items: Array<ForecastActual & { inInterval: boolean; absolutePercentageError: number | null }>; summary: Record<string, unknown> & { byModel: unknown[] }; note: string }>(
      'GET',
      '/v1/forecast-accuracy',
    );
    expect(status).toBe(200);
    expect(body.items.map((i) => i.launchedAt.slice(0, 10))).toEqual(['2026-11-04', '2026-11-03', '2026-11-02', '2026-11-01']);
    expect(body.items.map((i) => [i.inInterval, i.absolutePercentageError])).toEqual([
      [false, null],
      [true, 0.1],
      [false, 0.5],
      [true, 0],
    ]);
    // Two of four inside; MAPE over the three with a forecast: (0.1 + 0.5 + 0) / 3.
    expect(body.summary).toMatchObject({ count: 4, coverage: 0.5, mapeItems: 3 });
    expect(body.summary.mape).toBeCloseTo(0.2, 12);
    expect(body.summary.byModel).toEqual([
      { forecastModel: 'beta', count: 1, coverage: 0, mape: 0.5, mapeItems: 1 },
      { forecastModel: 'propensity.purchase@v1', count: 3, coverage: 2 / 3, mape: 0.05, mapeItems: 2 },
    ]);
    expect(body.note).toMatch(/Bernoulli noise only/);

    const two = await t.api<{ items: unknown[]; summary: { count: number } }>('GET', '/v1/forecast-accuracy?limit=2');
    expect(two.body.items).toHaveLength(2);
    expect(two.body.summary.count).toBe(2);
    for (const limit of ['0', '101', '1.5', 'x', '-3']) {
      const response = await t.api<{ error: { issues: Array<{ path: string }> } }>('GET', `/v1/forecast-accuracy?limit=${limit}`);
      expect(response.status, limit).toBe(400);
      expect(response.body.error.issues.map((i) => i.path), limit).toEqual(['query.limit']);
    }
  });

  test('GET /v1/models.html: calibration and Qini charts, the top features by name, BTYD parameters, forecast against actual; escaped, no scripts', async () => {
    const { status, text, headers } = await t.api('GET', '/v1/models.html');
    expect(status).toBe(200);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(text).not.toMatch(/<script/i);
    expect(text).not.toContain('No models yet');
    expect(text).toContain('<section data-model="propensity.purchase" data-status="not_better">');
    // The charts of the version in use (1), not of the failed version 2.
    expect(text).toMatch(/data-model="propensity.purchase"[\s\S]*Version 1 is in use/);
    expect(text.match(/<svg[^>]*data-chart="calibration"/g)).toHaveLength(1);
    expect(text.match(/<circle data-bin/g)).toHaveLength(propensity.metrics!.calibration.length);
    expect(text.match(/<svg[^>]*data-chart="qini"/g)).toHaveLength(2);
    expect(text).toMatch(/data-model="uplift.purchase"[\s\S]*No version is in use; the figures below are the latest version’s \(1\)/);
    expect(text).toContain('data-line="random"');
    expect(text).toContain('data-interval="Qini coefficient (bootstrap 95 % interval)"');
    for (const e of [...propensity.explanations, ...uplift.explanations]) expect(text).toContain(`data-feature="${e.feature.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`);
    expect(text).toContain('data-table="btyd"');
    expect(text).toContain(`Buyers<b>${btyd.gate.counts.buyers.toLocaleString('en-US')}</b>`);
    expect(text).toMatch(/data-model="propensity.signup"[\s\S]*12 training examples/);
    expect(text).toMatch(/<svg[^>]*data-chart="forecast"/);
    expect(text).toContain('Campaign &lt;1&gt;');
    expect(text).not.toContain('Campaign <1>');
    expect(text).toContain('Inside the 95 % interval<b>50.00 %</b>');
    expect(text).toMatch(/Bernoulli noise only/);
  });
});
