/**
 * Scoring a contact with the active models (docs/learning-design.md §4 "Scoring"). Pure: the
 * learning worker loads the models once per invocation and calls `scoreContact` per contact.
 *
 * - `propensity.<goal>`: P(goal within the window | sent now), on the contact's best reachable
 *   channel (the one the model rates highest; email when none is reachable) at its best hour
 *   (`scores.bestHour`, else the hour bucket the model rates highest).
 * - `uplift.<goal>`: the uplift version's treatment model at that channel and hour minus its
 *   control model without a message (no channel, no hour).
 * - `churn` = 1 − P(alive) and `value.expected90d` (BG/NBD × Gamma–Gamma), for a contact with a
 *   conversion in the lookback (`scores.conversions`); none otherwise.
 */
import type { Channel } from '../contacts/model.ts';
import type { EvalContact } from '../segments/contact-view.ts';
import { btydScores, type BgNbdParams, type GammaGammaParams } from './btyd.ts';
import { btydCustomerOf } from './collect.ts';
import { encode, HOUR_BUCKET_HOURS, HOUR_BUCKETS, inputNow, LEARNING_CHANNELS, NUMERIC_NAMES, type FeatureSpec } from './features.ts';
import { sigmoid } from './logistic.ts';
import { CHURN_SCORE, propensityId, upliftId, VALUE_SCORE } from './names.ts';
import type { StoredModel } from './train.ts';

export interface ActivePropensity {
  version: number;
  spec: FeatureSpec;
  model: StoredModel;
}
export interface ActiveUplift {
  version: number;
  spec: FeatureSpec;
  treatment: StoredModel;
  control: StoredModel;
}
export interface ActiveBtyd {
  version: number;
  bgNbd: BgNbdParams;
  gammaGamma: GammaGammaParams;
}

/** The models in use, by goal. */
export interface ActiveModels {
  propensity: ReadonlyMap<string, ActivePropensity>;
  uplift: ReadonlyMap<string, ActiveUplift>;
  btyd?: ActiveBtyd;
}

const HOUR_COLUMN = NUMERIC_NAMES.findIndex((n) => n.startsWith('hour='));

/** x·β + b of a stored model for a sparse vector (columns beyond the model's are an error). */
/** What scoring needs of a logistic model: its intercept and one weight per column (stored arrays or typed ones). */
export interface LinearModel {
  readonly intercept: number;
  readonly weights: ArrayLike<number>;
}

export function linear(model: LinearModel, vector: { indices: ArrayLike<number>; values: ArrayLike<number> }): number {
  let eta = model.intercept;
  for (let k = 0; k < vector.indices.length; k++) {
    const j = vector.indices[k]!;
    const w = j < model.weights.length ? model.weights[j] : undefined;
    if (w === undefined) throw new RangeError(`column ${vector.indices[k]} is beyond the model's ${model.weights.length}`);
    eta += vector.values[k]! * w;
  }
  return eta;
}

/** Buckets holding less than this share of the training sends are not chosen as a best hour (their weights are noise). */
export const MIN_HOUR_SHARE = 0.05;

/**
 * The local hour a model rates best: the middle of the hour bucket with the largest weight among
 * those holding at least MIN_HOUR_SHARE of its training sends (`spec.hourShares`; any bucket when
 * the spec has none), so a bucket seen a handful of times cannot win on noise.
 */
export function bestModelHour(model: StoredModel, hourShares?: readonly number[]): number {
  let best = -1;
  for (let b = 0; b < HOUR_BUCKETS; b++) {
    if (hourShares && !(hourShares[b]! >= MIN_HOUR_SHARE)) continue;
    if (best < 0 || model.weights[HOUR_COLUMN + b]! > model.weights[HOUR_COLUMN + best]!) best = b;
  }
  if (best < 0) best = hourShares ? hourShares.indexOf(Math.max(...hourShares)) : 0;
  return best * HOUR_BUCKET_HOURS + HOUR_BUCKET_HOURS / 2;
}

const reachableOn = (c: EvalContact, channel: Channel) => Boolean(channel === 'email' ? c.email : c.phone) && c.consent[channel] === 'confirmed' && !c.suppressed[channel];

/** P(goal) on one channel at one local hour, with a model and its spec. */
export function probabilityAt(contact: EvalContact, spec: FeatureSpec, model: LinearModel, channel: Channel | null, hour: number | null, now: number): number {
  return sigmoid(linear(model, encode(inputNow(contact, channel, hour, now), spec)));
}

/** The channel (reachable, else email) and hour a goal's model rates best for a contact, and the probability there. */
export function bestSend(contact: EvalContact, spec: FeatureSpec, model: StoredModel, now: number): { channel: Channel; hour: number; p: number } {
  // The contact's own best hour, unless the model hardly saw sends at that hour.
  const own = contact.scores.bestHour;
  const seen = own !== null && (!spec.hourShares || spec.hourShares[Math.floor(own / HOUR_BUCKET_HOURS)]! >= MIN_HOUR_SHARE);
  const hour = seen ? own : bestModelHour(model, spec.hourShares);
  const candidates = LEARNING_CHANNELS.filter((c) => reachableOn(contact, c));
  let best: { channel: Channel; hour: number; p: number } | undefined;
  for (const channel of candidates.length ? candidates : (['email'] as Channel[])) {
    const p = probabilityAt(contact, spec, model, channel, hour, now);
    if (!best || p > best.p) best = { channel, hour, p };
  }
  return best!;
}

const round = (v: number, places: number) => Math.round(v * 10 ** places) / 10 ** places;

/** A contact's learned scores by name (absent: no active model, or no score for this contact). */
export function scoreContact(contact: EvalContact, models: ActiveModels, now: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [goal, m] of models.propensity) {
    const send = bestSend(contact, m.spec, m.model, now);
    out[propensityId(goal)] = round(send.p, 5);
    const u = models.uplift.get(goal);
    if (u) {
      const treated = probabilityAt(contact, u.spec, u.treatment, send.channel, send.hour, now);
      const control = probabilityAt(contact, u.spec, u.control, null, null, now);
      out[upliftId(goal)] = round(treated - control, 5);
    }
  }
  const conversions = contact.scores.conversions;
  if (models.btyd && conversions && conversions.count > 0) {
    const s = btydScores(models.btyd.bgNbd, models.btyd.gammaGamma, btydCustomerOf(conversions, now));
    if (Number.isFinite(s.churn)) out[CHURN_SCORE] = round(s.churn, 4);
    if (Number.isFinite(s.expectedValue90d)) out[VALUE_SCORE] = round(s.expectedValue90d, 2);
  }
  return out;
}

/**
 * Whether new scores differ enough from the stored ones to be written (design §4: write only
 * changes): a score appears or retires, a propensity moves by ≥ max(0.005, 10 %), an uplift by
 * ≥ 0.002, churn by ≥ 0.02, expected value by ≥ max(1, 10 %).
 */
export function scoresMoved(old: Readonly<Record<string, number>> | undefined, next: Readonly<Record<string, number>>): boolean {
  const before = old ?? {};
  const keys = new Set([...Object.keys(before), ...Object.keys(next)]);
  for (const key of keys) {
    const a = before[key];
    const b = next[key];
    if (a === undefined || b === undefined) return true;
    const delta = Math.abs(a - b);
    if (key.startsWith('propensity.') && delta >= Math.max(0.005, 0.1 * Math.abs(a))) return true;
    if (key.startsWith('uplift.') && delta >= 0.002) return true;
    if (key === CHURN_SCORE && delta >= 0.02) return true;
    if (key === VALUE_SCORE && delta >= Math.max(1, 0.1 * Math.abs(a))) return true;
  }
  return false;
}
