import { describe, expect, test } from 'vitest';
import { forecastAccuracyOf, parseModelId, versionView, type ModelsPage } from '../../shared/learning/model-views.ts';
import { renderModelsHtml } from '../../shared/attribution/models-html.ts';
import type { ForecastActual, StoredVersion } from '../../shared/learning/store.ts';
import { DEFAULT_THRESHOLDS, type PropensityVersion } from '../../shared/learning/train.ts';

/**
 * The models views and page, pure: model id parsing, forecast scoring, and a page whose stored
 * strings are hostile (feature names carry contact attribute values, which public forms set;
 * campaign names and goals are the marketer's) renders them as text, never as markup.
 */

const HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>';

function propensityVersion(): PropensityVersion {
  return {
    kind: 'propensity',
    modelId: 'propensity.purchase',
    goal: 'purchase',
    status: 'active',
    reason: `test AUC 0.7 ${HOSTILE}`,
    codeVersion: 'touchloop-learning/1',
    dataHash: 'h',
    counts: { trainExamples: 3000, trainPositives: 300 },
    thresholds: DEFAULT_THRESHOLDS,
    strata: [{ treated: 1, label: 1, total: 300, kept: 300 }],
    lambda: 3,
    candidates: [{ lambda: 3, validationLogLoss: 0.3, iterations: 8, converged: true }],
    explanations: [
      { feature: `attributes.note=${HOSTILE}`, weight: 0.5, importance: 0.4, sign: 1 },
      { feature: 'recencyDays', weight: -0.3, importance: 0.2, sign: -1 },
    ],
    model: { intercept: -2, weights: [0.5, 0, -0.3] },
    metrics: {
      auc: 0.7,
      aucStandardError: 0.01,
      aucLower95: 0.68,
      brier: 0.08,
      brierReference: 0.09,
      brierSkill: 0.1,
      logLoss: 0.3,
      calibration: [
        { predicted: 0.05, observed: 0.04, weight: 100 },
        { predicted: 0.2, observed: 0.22, weight: 100 },
      ],
      ece: 0.015,
      activeAuc: null,
    },
  };
}

const forecast = (overrides: Partial<ForecastActual>): ForecastActual => ({
  campaignId: 'c1',
  name: 'Spring',
  launchedAt: '2026-11-01T09:00:00.000Z',
  goal: 'purchase',
  forecastModel: 'beta',
  forecast: 10,
  low: 5,
  high: 15,
  actual: 10,
  treated: 100,
  computedAt: '2026-11-10T00:00:00.000Z',
  ...overrides,
});

describe('parseModelId', () => {
  test('propensity.<goal>, uplift.<goal> and btyd; goals spelt as learnable goals (reserved ones included: their heads say why)', () => {
    expect(parseModelId('btyd')).toEqual({ kind: 'btyd' });
    expect(parseModelId('propensity.purchase')).toEqual({ kind: 'propensity', goal: 'purchase' });
    expect(parseModelId('uplift.order.completed')).toEqual({ kind: 'uplift', goal: 'order.completed' });
    expect(parseModelId('propensity.email')).toEqual({ kind: 'propensity', goal: 'email' });
    for (const id of ['', 'forecasts', 'churn', 'value.expected90d', 'propensity', 'propensity.', 'Propensity.x', 'uplift.a b', 'uplift.a/b', `uplift.${'g'.repeat(101)}`, 'btyd.x']) {
      expect(parseModelId(id), id).toBeUndefined();
    }
  });
});

describe('forecastAccuracyOf', () => {
  test('coverage counts the interval inclusively; MAPE skips forecasts of 0; per model, sorted', () => {
    const result = forecastAccuracyOf([
      forecast({ actual: 15, forecastModel: 'propensity.purchase@v2' }),
      forecast({ actual: 16 }),
      forecast({ forecast: 0, low: 0, high: 0, actual: 0, forecastModel: 'propensity.purchase@v2' }),
    ]);
    expect(result.items.map((i) => [i.inInterval, i.absolutePercentageError])).toEqual([
      [true, 0.5],
      [false, 0.6],
      [true, null],
    ]);
    expect(result.summary).toMatchObject({ count: 3, coverage: 2 / 3, mapeItems: 2 });
    expect(result.summary.mape).toBeCloseTo(0.55, 12);
    expect(result.summary.byModel.map((m) => [m.forecastModel, m.count, m.coverage, m.mape])).toEqual([
      ['beta', 1, 0, 0.6],
      ['propensity.purchase@v2', 2, 1, 0.5],
    ]);
    expect(forecastAccuracyOf([]).summary).toEqual({ count: 0, coverage: null, mape: null, mapeItems: 0, byModel: [] });
  });
});

describe('renderModelsHtml', () => {
  test('stored strings are text: a hostile feature name, reason, campaign name and goal make no markup', () => {
    const stored: StoredVersion = { modelId: 'propensity.purchase', version: 1, trainedAt: '2026-12-06T03:00:00.000Z', runId: 'r', spec: null, body: propensityVersion() };
    const view = versionView(stored);
    const page: ModelsPage = {
      models: [
        {
          model: { modelId: 'propensity.purchase', kind: 'propensity', goal: 'purchase', status: 'active', reason: view.reason, activeVersion: 1, latestVersion: 1, dataHash: 'h', trainedAt: stored.trainedAt, runId: 'r', headline: view.headline },
          shown: view,
          shownIs: 'active',
        },
      ],
      forecasts: forecastAccuracyOf([forecast({ name: HOSTILE, goal: HOSTILE, forecastModel: HOSTILE, campaignId: HOSTILE })]),
    };
    const html = renderModelsHtml(page);
    expect(html).not.toMatch(/<script|<img|onerror=alert\(2\)>/);
    expect(html).toContain('attributes.note=&quot;&gt;&lt;script&gt;');
    expect(html).toContain('data-chart="calibration"');
    expect(html.match(/<circle data-bin/g)).toHaveLength(2);
    expect(html).toContain('data-chart="features"');
    expect(html).toContain('data-chart="forecast"');
  });

  test('weights are summarised in the version view, not listed', () => {
    const view = versionView({ modelId: 'propensity.purchase', version: 1, trainedAt: 't', runId: 'r', spec: null, body: propensityVersion() });
    expect(view).toMatchObject({ kind: 'propensity', model: { intercept: -2, columns: 3, nonZeroWeights: 2 }, features: null });
    expect(JSON.stringify(view)).not.toContain('"weights"');
  });

  test('with no models and no forecasts the page says what the nightly run needs', () => {
    const html = renderModelsHtml({ models: [], forecasts: forecastAccuracyOf([]) });
    expect(html).toContain('No models yet: the nightly run trains one per goal once there is enough history — 2,000 examples, 200 positives');
    expect(html).toContain('data-forecasts="none"');
    expect(html).not.toContain('<svg');
  });
});
