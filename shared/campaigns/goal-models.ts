/**
 * The learned models as a launch uses them (docs/learning-design.md §5 "Launch", "Uplift
 * targeting"): the goal's propensity model for the forecast and the 'best' channel, its uplift
 * model for targeting the top N %, and the Gamma–Gamma fit for the value of a conversion.
 *
 * Pure: the versions come from the models table (goal-model-source.ts reads and caches them);
 * everything here scores one contact, or turns a histogram into a threshold.
 */
import type { Channel } from '../contacts/model.ts';
import type { GammaGammaParams } from '../learning/btyd.ts';
import { expectedSpend, MAX_REPEAT_CONVERSIONS } from '../learning/btyd.ts';
import type { FeatureSpec } from '../learning/features.ts';
import { probabilityAt, type LinearModel } from '../learning/score.ts';
import type { BtydVersion, StoredVersion } from '../learning/store.ts';
import type { PropensityVersion, StoredModel, UpliftVersion } from '../learning/train.ts';
import { UPLIFT_HISTOGRAM_BINS, UPLIFT_HISTOGRAM_STEP } from '../learning/train.ts';
import type { EvalContact } from '../segments/contact-view.ts';
import { InvalidTimeZoneError, wallClockOf } from '../schedule-expression.ts';

/** `propensity.purchase@v7`: a model id and the version a launch used. */
export const modelRef = (modelId: string, version: number): string => `${modelId}@v${version}`;

type Scorer = LinearModel;
const scorerOf = (model: StoredModel): Scorer => ({ intercept: model.intercept, weights: Float64Array.from(model.weights) });

/** An active propensity version, ready to score. */
export interface GoalPropensity {
  readonly modelId: string;
  readonly version: number;
  readonly spec: FeatureSpec;
  readonly model: Scorer;
}

/** An active uplift version, ready to score: both arms' models and the training histogram. */
export interface GoalUplift {
  readonly modelId: string;
  readonly version: number;
  readonly spec: FeatureSpec;
  readonly treatment: Scorer;
  readonly control: Scorer;
  readonly histogram: readonly number[];
}

/** Everything a launch may score a contact with; each part absent when its model is not active. */
export interface GoalModels {
  readonly goal: string;
  readonly propensity?: GoalPropensity;
  readonly uplift?: GoalUplift;
  /** The Gamma–Gamma fit of the active `btyd` version (value of a conversion). */
  readonly spend?: GammaGammaParams;
}

/** A stored propensity version as a scorer; undefined when it holds no model (a version that failed its gates early). */
export function propensityOf(stored: StoredVersion): GoalPropensity | undefined {
  const body = stored.body as PropensityVersion;
  if (body.kind !== 'propensity' || !body.model || !stored.spec) return undefined;
  return { modelId: stored.modelId, version: stored.version, spec: stored.spec, model: scorerOf(body.model) };
}

/** A stored uplift version as a scorer; undefined without both models and a histogram. */
export function upliftOf(stored: StoredVersion): GoalUplift | undefined {
  const body = stored.body as UpliftVersion;
  if (body.kind !== 'uplift' || !body.treatment || !body.control || !body.upliftHistogram || !stored.spec) return undefined;
  return { modelId: stored.modelId, version: stored.version, spec: stored.spec, treatment: scorerOf(body.treatment), control: scorerOf(body.control), histogram: body.upliftHistogram };
}

/** The Gamma–Gamma parameters of a stored btyd version, when it has them. */
export function spendOf(stored: StoredVersion): GammaGammaParams | undefined {
  const body = stored.body as BtydVersion;
  return body.kind === 'btyd' && body.gammaGamma ? { p: body.gammaGamma.p, q: body.gammaGamma.q, v: body.gammaGamma.v } : undefined;
}

/**
 * Scores one contact with one model, or undefined when the contact cannot be scored (its stored
 * fields make a malformed input: the encoder's RangeError, e.g. a creation date that is not an
 * instant). Anything else is a bug and throws.
 */
function score(model: Scorer, spec: FeatureSpec, contact: EvalContact, channel: Channel | null, hour: number | null, nowMs: number): number | undefined {
  try {
    return probabilityAt(contact, spec, model, channel, hour, nowMs);
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
}

/** P(goal within its window | sent on `channel` at the local hour `hour`), or undefined when the contact cannot be scored. */
export function goalProbability(propensity: GoalPropensity, contact: EvalContact, channel: Channel, hour: number, nowMs: number): number | undefined {
  return score(propensity.model, propensity.spec, contact, channel, hour, nowMs);
}

/**
 * Predicted uplift σ(x·βₜ) − σ(x·β꜀): the treatment model at the send's channel and local hour,
 * the control model as the holdout examples it was fitted on saw the contact (no channel, no hour).
 * Undefined when the contact cannot be scored.
 */
export function predictedUplift(uplift: GoalUplift, contact: EvalContact, channel: Channel, hour: number, nowMs: number): number | undefined {
  const treated = score(uplift.treatment, uplift.spec, contact, channel, hour, nowMs);
  const control = score(uplift.control, uplift.spec, contact, null, null, nowMs);
  return treated === undefined || control === undefined ? undefined : treated - control;
}

/**
 * E[value of one goal conversion] for the contact. With a Gamma–Gamma fit: its expected spend per
 * conversion given the contact's conversions and mean revenue in the lookback (`scores.value`), and
 * for a contact without revenue the population mean p·v/(q − 1). Without one (or where the fit's
 * mean is infinite, q ≤ 1): `scores.value.expectedValue`, as the channel-score rule uses.
 */
export function expectedGoalValue(contact: EvalContact, spend: GammaGammaParams | undefined): number {
  const fallback = contact.scores.value.expectedValue;
  if (!spend) return fallback;
  const { frequency, monetary } = contact.scores.value;
  try {
    if (frequency >= 1 && monetary > 0) return expectedSpend(spend, Math.min(frequency, MAX_REPEAT_CONVERSIONS + 1), monetary / frequency);
    return spend.q > 1 ? (spend.p * spend.v) / (spend.q - 1) : fallback;
  } catch (error) {
    if (error instanceof RangeError) return fallback;
    throw error;
  }
}

/**
 * The uplift at or above which a contact is in the top `topPercent` % of the histogram's weight
 * (the version's treated examples), or null when that is everyone (no lower bound).
 *
 * Bin i holds the uplifts that round to −0.2 + i·0.001 (the end bins also hold everything beyond
 * ±0.2). Walking down from the top bin, the threshold is the LOWER EDGE (centre − 0.0005) of the
 * first bin at which the cumulative weight reaches topPercent % of the total: everything that fell
 * in that bin counts as above it, so at least N % of the training weight is targeted and at most
 * one bin's weight more. The bottom bin has no lower edge (it holds all of (−∞, −0.1995)): reaching
 * it, or asking for 100 %, means no threshold. Throws a RangeError for a percentage outside
 * (0, 100] or a histogram that is not 401 non-negative finite counts with a positive total.
 */
export function upliftThreshold(histogram: readonly number[], topPercent: number): number | null {
  if (!(Number.isFinite(topPercent) && topPercent > 0 && topPercent <= 100)) throw new RangeError(`topPercent must be in (0, 100], got ${topPercent}`);
  if (histogram.length !== UPLIFT_HISTOGRAM_BINS) throw new RangeError(`an uplift histogram has ${UPLIFT_HISTOGRAM_BINS} bins, got ${histogram.length}`);
  let total = 0;
  for (const n of histogram) {
    if (!(Number.isFinite(n) && n >= 0)) throw new RangeError(`an uplift histogram count must be a finite number ≥ 0, got ${n}`);
    total += n;
  }
  if (!(total > 0)) throw new RangeError('the uplift histogram is empty');
  if (topPercent === 100) return null;
  const wanted = (total * topPercent) / 100;
  const half = (UPLIFT_HISTOGRAM_BINS - 1) / 2;
  let cumulative = 0;
  for (let bin = UPLIFT_HISTOGRAM_BINS - 1; bin > 0; bin--) {
    cumulative += histogram[bin]!;
    // Rounded to the step's precision: −0.2 + i·0.001 − 0.0005 carries float noise otherwise (0.0125 not 0.012499999…).
    if (cumulative >= wanted) return Math.round(((bin - half) * UPLIFT_HISTOGRAM_STEP - UPLIFT_HISTOGRAM_STEP / 2) * 1e4) / 1e4;
  }
  return null;
}

/** Whether a predicted uplift clears the threshold (null: everyone scored does). */
export const clearsThreshold = (uplift: number, threshold: number | null): boolean => threshold === null || uplift >= threshold;

/** Local hour 0–23 of an instant in a time zone (an unknown zone reads as UTC, as the send then plans in UTC). */
export function localHourOf(instant: Date, timezone: string): number {
  try {
    return wallClockOf(instant.getTime(), timezone).hour;
  } catch (error) {
    if (error instanceof InvalidTimeZoneError) return instant.getUTCHours();
    throw error;
  }
}
