/**
 * The learned models as the API shows them (docs/learning-design.md §5 "API"): the list of model
 * heads, one model with its active version and version list, one version, and the campaigns'
 * forecasts against their actuals with a summary. Read-only views over the models table
 * (store.ts); the handler only parses and maps.
 *
 * A version is shown in full except for its weights: a model's 300-odd weights and its feature
 * spec's means, sds and bucket names are what the scorer encodes with, not what a reader can
 * judge a model by; they are summarised (intercept, column count, non-zero weights, the
 * attributes used) and the explanations name the features that matter, with their signed
 * weights. The uplift histogram is given as its non-empty bins.
 *
 * The console imports these types only (type imports carry no AWS SDK into the browser).
 */
import * as z from 'zod';
import { BTYD_ID, LEARNABLE_GOAL } from './names.ts';
import { headlineOf, type BtydVersion, type ForecastActual, type Headline, type ModelHead, type ModelKind, type ModelStore, type StoredVersion } from './store.ts';
import { UPLIFT_HISTOGRAM_STEP, type LambdaCandidate, type PropensityMetrics, type StoredModel, type StratumCount, type UpliftMetrics } from './train.ts';
import type { Explanation } from './metrics.ts';

/** What the views read from the models table (ModelStore, or anything shaped like it). */
export type ModelReader = Pick<ModelStore, 'heads' | 'head' | 'version' | 'versions' | 'forecastActuals'>;

/**
 * The kind and goal a model id names: `propensity.<goal>`, `uplift.<goal>` or `btyd`, the goal
 * spelt as a learnable goal (names.ts). Reserved goals (`email`, `sms`) are still model ids: the
 * trainer records their heads as `reserved_name` so the page can say why they have no model.
 */
export function parseModelId(id: string): { kind: ModelKind; goal?: string } | undefined {
  if (id === BTYD_ID) return { kind: 'btyd' };
  const match = /^(propensity|uplift)\.(.+)$/.exec(id);
  if (!match || !LEARNABLE_GOAL.test(match[2]!)) return undefined;
  return { kind: match[1] as 'propensity' | 'uplift', goal: match[2]! };
}

/** A model id path parameter. */
export const ModelIdParam = z.string().refine((id) => parseModelId(id) !== undefined, {
  message: 'must be a model id: propensity.<goal>, uplift.<goal> or btyd, the goal made of letters, digits and _ . : - (1–100 characters)',
});

/** A version number path parameter: a positive integer, written without sign, exponent or leading zeros. */
export const VersionParam = z
  .string()
  .regex(/^[1-9][0-9]{0,8}$/, 'must be a positive integer (a version number)')
  .transform(Number);

/** `?limit=` of the forecast-accuracy list: 1–100, default 20. */
export const ForecastLimitQuery = z.coerce.number().int('must be a whole number').min(1).max(100).default(20);

/** One model in the list: its head (status and why, versions in use and latest, when trained, headline metrics). */
export type ModelSummary = ModelHead;

/** A stored logistic model, summarised: the weights themselves stay in the table. */
export interface WeightsSummary {
  intercept: number;
  columns: number;
  nonZeroWeights: number;
}

/** The feature encoding a version was trained with, summarised. */
export interface FeaturesSummary {
  /** Encoded columns (numeric block plus hash buckets). */
  columns: number;
  /** Contact attributes entering the hashed block, and those excluded as leaks. */
  attributes: readonly string[];
  excludeAttributes: readonly string[];
}

interface VersionViewBase {
  modelId: string;
  version: number;
  trainedAt: string;
  runId: string;
  status: string;
  reason: string;
  dataHash: string;
  headline: Headline;
}

export interface LogisticVersionView extends VersionViewBase {
  kind: 'propensity' | 'uplift';
  goal: string;
  codeVersion: string;
  counts: Readonly<Record<string, number>>;
  thresholds: Readonly<Record<string, number>>;
  strata: readonly StratumCount[];
  lambda: number | null;
  candidates: readonly LambdaCandidate[];
  /** The top features by |β|·sd with their signed weights (uplift: βₜ − β꜀). */
  explanations: readonly Explanation[];
  features: FeaturesSummary | null;
  /** Propensity: its model. Uplift: the treatment and control models. */
  model?: WeightsSummary | null;
  treatment?: WeightsSummary | null;
  control?: WeightsSummary | null;
  metrics: PropensityMetrics | UpliftMetrics | null;
  /** Uplift: predicted uplift of the sampled treated exposures, non-empty bins only. */
  upliftHistogram?: { step: number; bins: Array<{ uplift: number; exposures: number }> } | null;
}

export interface BtydVersionView extends VersionViewBase, Pick<BtydVersion, 'gate' | 'bgNbd' | 'gammaGamma' | 'gammaGammaRows'> {
  kind: 'btyd';
}

export type ModelVersionView = LogisticVersionView | BtydVersionView;

export interface ModelDetail {
  model: ModelSummary;
  /** The version in use, or null when none is (no version passed its gates, or it went stale). */
  active: ModelVersionView | null;
  versions: Array<{ version: number; status: string; reason: string; trainedAt: string; runId: string; headline: Headline }>;
}

/** The head's own fields only (an item read from the table may carry attributes the head does not define). */
export function modelSummary(head: ModelHead): ModelSummary {
  return {
    modelId: head.modelId,
    kind: head.kind,
    ...(head.goal !== undefined ? { goal: head.goal } : {}),
    status: head.status,
    reason: head.reason,
    activeVersion: head.activeVersion,
    latestVersion: head.latestVersion,
    dataHash: head.dataHash,
    trainedAt: head.trainedAt,
    runId: head.runId,
    ...(head.activeTrainedAt ? { activeTrainedAt: head.activeTrainedAt } : {}),
    headline: head.headline,
  };
}

const weightsSummary = (model: StoredModel | null): WeightsSummary | null =>
  model ? { intercept: model.intercept, columns: model.weights.length, nonZeroWeights: model.weights.reduce((n, w) => n + (w !== 0 ? 1 : 0), 0) } : null;

/** Histogram bins (see UpliftVersion.upliftHistogram) with exposures in them, as (uplift, exposures). */
function histogramBins(bins: readonly number[]): Array<{ uplift: number; exposures: number }> {
  const half = (bins.length - 1) / 2;
  const perUnit = Math.round(1 / UPLIFT_HISTOGRAM_STEP); // divide, not multiply: 9 / 1000 is 0.009, 9 × 0.001 is not
  const out: Array<{ uplift: number; exposures: number }> = [];
  bins.forEach((n, i) => n > 0 && out.push({ uplift: (i - half) / perUnit, exposures: n }));
  return out;
}

/** A stored version as the API shows it (weights and spec summarised). */
export function versionView(stored: StoredVersion): ModelVersionView {
  const body = stored.body;
  const base: VersionViewBase = {
    modelId: stored.modelId,
    version: stored.version,
    trainedAt: stored.trainedAt,
    runId: stored.runId,
    status: body.status,
    reason: body.reason,
    dataHash: body.dataHash,
    headline: headlineOf(body),
  };
  if (body.kind === 'btyd') return { ...base, kind: 'btyd', gate: body.gate, bgNbd: body.bgNbd, gammaGamma: body.gammaGamma, gammaGammaRows: body.gammaGammaRows };
  const spec = stored.spec;
  const common = {
    ...base,
    kind: body.kind,
    goal: body.goal,
    codeVersion: body.codeVersion,
    counts: body.counts,
    thresholds: { ...body.thresholds },
    strata: body.strata,
    lambda: body.lambda,
    candidates: body.candidates,
    explanations: body.explanations,
    features: spec ? { columns: spec.columnSds.length, attributes: spec.attributes, excludeAttributes: spec.excludeAttributes } : null,
    metrics: body.metrics,
  };
  if (body.kind === 'propensity') return { ...common, model: weightsSummary(body.model) };
  return {
    ...common,
    treatment: weightsSummary(body.treatment),
    control: weightsSummary(body.control),
    upliftHistogram: body.upliftHistogram ? { step: UPLIFT_HISTOGRAM_STEP, bins: histogramBins(body.upliftHistogram) } : null,
  };
}

/** Every model head, by model id. Empty when the nightly run has trained nothing yet. */
export async function listModels(store: ModelReader): Promise<ModelSummary[]> {
  return (await store.heads()).map(modelSummary);
}

/** One model: its head, its active version in full and its versions, newest first; undefined when unknown. */
export async function modelDetail(store: ModelReader, modelId: string): Promise<ModelDetail | undefined> {
  const head = await store.head(modelId);
  if (!head) return undefined;
  const usable = head.activeVersion !== null && head.status !== 'stale';
  const [active, versions] = await Promise.all([usable ? store.version(modelId, head.activeVersion!) : undefined, store.versions(modelId)]);
  return { model: modelSummary(head), active: active ? versionView(active) : null, versions };
}

/** One version in full; undefined when the model or the version is unknown (or pruned). */
export async function modelVersion(store: ModelReader, modelId: string, version: number): Promise<ModelVersionView | undefined> {
  const stored = await store.version(modelId, version);
  return stored ? versionView(stored) : undefined;
}

/** How a set of forecasts fared against their actuals. */
export interface ForecastScore {
  count: number;
  /** Share of actuals inside their forecast's 95 % interval; null without items. */
  coverage: number | null;
  /** Mean |actual − forecast| / forecast over the items with a forecast above 0; null without any. */
  mape: number | null;
  /** How many items the MAPE is over. */
  mapeItems: number;
}

export interface ForecastAccuracy {
  /** Newest launch first. */
  items: Array<ForecastActual & { inInterval: boolean; absolutePercentageError: number | null }>;
  summary: ForecastScore & { byModel: Array<ForecastScore & { forecastModel: string }> };
  note: string;
}

export const FORECAST_NOTE =
  'The 95 % interval holds Bernoulli noise only (which of the targeted contacts convert, given their predicted probabilities), not the error of the probabilities themselves, so coverage under 95 % is expected. MAPE is over the campaigns with a forecast above 0.';

const absolutePercentageError = (item: ForecastActual): number | null => (item.forecast > 0 ? Math.abs(item.actual - item.forecast) / item.forecast : null);
const inInterval = (item: ForecastActual): boolean => item.actual >= item.low && item.actual <= item.high;

/** Coverage and MAPE of some forecast-against-actual items (pure). */
export function scoreForecasts(items: readonly ForecastActual[]): ForecastScore {
  const errors = items.map(absolutePercentageError).filter((e): e is number => e !== null);
  return {
    count: items.length,
    coverage: items.length ? items.filter(inInterval).length / items.length : null,
    mape: errors.length ? errors.reduce((a, b) => a + b, 0) / errors.length : null,
    mapeItems: errors.length,
  };
}

/** The items with their interval verdict and error, and the summary overall and per forecast model (pure). */
export function forecastAccuracyOf(items: readonly ForecastActual[]): ForecastAccuracy {
  const models = [...new Set(items.map((i) => i.forecastModel))].sort();
  return {
    items: items.map((item) => ({ ...item, inInterval: inInterval(item), absolutePercentageError: absolutePercentageError(item) })),
    summary: { ...scoreForecasts(items), byModel: models.map((forecastModel) => ({ forecastModel, ...scoreForecasts(items.filter((i) => i.forecastModel === forecastModel)) })) },
    note: FORECAST_NOTE,
  };
}

/** The newest `limit` campaigns' forecasts against their actuals, scored. */
export async function forecastAccuracy(store: ModelReader, limit: number): Promise<ForecastAccuracy> {
  return forecastAccuracyOf(await store.forecastActuals(limit));
}

/** What the models page draws: each model with the version its charts come from. */
export interface ModelsPage {
  models: Array<{ model: ModelSummary; shown: ModelVersionView | null; shownIs: 'active' | 'latest' | null }>;
  forecasts: ForecastAccuracy;
}

/**
 * The models page's data: every head with the version in use, or, when none is, the latest
 * version (its numbers say why it is not used), and the newest 20 forecasts against actuals.
 */
export async function modelsPage(store: ModelReader): Promise<ModelsPage> {
  const [heads, forecasts] = await Promise.all([store.heads(), forecastAccuracy(store, 20)]);
  const models = await Promise.all(
    heads.map(async (head) => {
      const usable = head.activeVersion !== null && head.status !== 'stale';
      const number = usable ? head.activeVersion! : head.latestVersion;
      const stored = number >= 1 ? await store.version(head.modelId, number) : undefined;
      return { model: modelSummary(head), shown: stored ? versionView(stored) : null, shownIs: stored ? (usable ? ('active' as const) : ('latest' as const)) : null };
    }),
  );
  return { models, forecasts };
}
