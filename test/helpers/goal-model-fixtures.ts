/**
 * Model versions with known weights, for tests of the launch side (forecast, 'best' channel,
 * uplift targeting): an identity encoding (means 0, sds 1) and logistic models whose weights sit
 * on named columns, so a test knows each contact's probability and uplift in closed form.
 */
import { bucketOf, featureColumns, NUMERIC_COLUMNS, NUMERIC_NAMES, STANDARDISED_NAMES, type FeatureSpec } from '../../shared/learning/features.ts';
import { DEFAULT_THRESHOLDS, histogram, LEARNING_CODE_VERSION, type PropensityVersion, type StoredModel, type UpliftVersion } from '../../shared/learning/train.ts';
import type { BtydVersion } from '../../shared/learning/store.ts';

/** The encoding: standardised inputs unchanged (mean 0, sd 1), the attribute `plan` hashed. */
export function knownSpec(attributes: readonly string[] = ['plan']): FeatureSpec {
  return {
    version: 1,
    attributes: [...attributes].sort(),
    excludeAttributes: [],
    means: STANDARDISED_NAMES.map(() => 0),
    sds: STANDARDISED_NAMES.map(() => 1),
    bucketNames: Array.from({ length: featureColumns() - NUMERIC_COLUMNS }, (_, b) => `hash#${b}`),
    columnSds: Array.from({ length: featureColumns() }, () => 1),
  };
}

/** Columns of the encoding by meaning. */
export const column = {
  attribute: (name: string, value: string): number => NUMERIC_COLUMNS + bucketOf(`attributes.${name}=${value}`),
  channel: (channel: 'email' | 'sms'): number => NUMERIC_NAMES.indexOf(`channel=${channel}`),
};

export const logit = (p: number): number => Math.log(p / (1 - p));
export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** A stored logistic model: an intercept and weights on the given columns (0 elsewhere). */
export function storedModel(intercept: number, weights: Record<number, number> = {}): StoredModel {
  const all = new Array<number>(featureColumns()).fill(0);
  for (const [j, w] of Object.entries(weights)) all[Number(j)] = w;
  return { intercept, weights: all };
}

const base = (kind: 'propensity' | 'uplift', goal: string, dataHash: string) => ({
  modelId: `${kind}.${goal}`,
  goal,
  status: 'active' as const,
  reason: 'known weights (test fixture)',
  codeVersion: LEARNING_CODE_VERSION,
  dataHash,
  counts: {},
  thresholds: DEFAULT_THRESHOLDS,
  strata: [],
  lambda: 3,
  candidates: [],
  explanations: [],
});

export function propensityVersion(goal: string, model: StoredModel, dataHash = `p-${goal}`): PropensityVersion {
  return { ...base('propensity', goal, dataHash), kind: 'propensity', model, metrics: null };
}

/** An uplift version whose histogram holds `predicted` (uplift, weight) pairs, as training's treated examples would. */
export function upliftVersion(goal: string, treatment: StoredModel, control: StoredModel, predicted: Array<[number, number]>, dataHash = `u-${goal}`): UpliftVersion {
  return {
    ...base('uplift', goal, dataHash),
    kind: 'uplift',
    treatment,
    control,
    metrics: null,
    upliftHistogram: histogram(
      predicted.map(([u]) => u),
      predicted.map(([, w]) => w),
    ),
  };
}

/** A btyd version with a Gamma–Gamma fit only (the launch reads no more of it). */
export function btydVersion(gammaGamma: { p: number; q: number; v: number }, dataHash = 'btyd-1'): BtydVersion {
  return {
    kind: 'btyd',
    modelId: 'btyd',
    status: 'active',
    reason: 'known parameters (test fixture)',
    dataHash,
    gate: { status: 'active', reason: 'test', counts: { buyers: 500, repeatBuyers: 100, minBuyers: 500, minRepeatBuyers: 100 } },
    bgNbd: null,
    gammaGamma: { ...gammaGamma, logLikelihood: 0, iterations: 0, converged: true },
    gammaGammaRows: 500,
  };
}
