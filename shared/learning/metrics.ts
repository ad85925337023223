/**
 * Evaluation metrics for the learned models (docs/learning-design.md, "Metrics" and "Gates"),
 * weighted throughout: an example's weight is the number of examples it stands for (the sample
 * keeps a bottom-k per stratum and weights each kept example by total/kept), so every metric is
 * the one the whole, unsampled population would give in expectation.
 *
 * Inputs are parallel arrays (predictions, 0/1 labels, optional non-negative weights). Malformed
 * input (different lengths, NaN, a label other than 0/1, a negative weight) and metrics that are
 * undefined on the data (an AUC without positives, a Qini curve without a control group) throw a
 * RangeError naming the problem: the trainer checks its gates first, and a silent NaN would read
 * as a number in a report.
 */
import { mulberry32 } from './random.ts';

/** The log-loss floors the probability given to the observed outcome at ε, so a confident miss costs log(1e15) ≈ 34.5, not ∞. */
export const LOG_LOSS_EPSILON = 1e-15;

/** The number of standard errors in a two-sided 95 % interval. */
const Z_95 = 1.959963984540054;

interface Checked {
  readonly n: number;
  readonly weight: Float64Array;
  readonly total: number;
  readonly positive: number;
}

/** Validates parallel score/label/weight arrays; returns the weights (default 1) and their totals. */
function check(scores: ArrayLike<number>, labels: ArrayLike<number>, weights: ArrayLike<number> | undefined, what: string, probability: boolean): Checked {
  const n = scores.length;
  if (labels.length !== n) throw new RangeError(`${what}: ${n} predictions but ${labels.length} labels`);
  if (weights && weights.length !== n) throw new RangeError(`${what}: ${n} predictions but ${weights.length} weights`);
  const weight = new Float64Array(n);
  let total = 0;
  let positive = 0;
  for (let i = 0; i < n; i++) {
    const s = scores[i]!;
    if (probability ? !(s >= 0 && s <= 1) : !Number.isFinite(s)) throw new RangeError(`${what}: prediction ${i} = ${s} is not ${probability ? 'a probability' : 'finite'}`);
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new RangeError(`${what}: label ${i} = ${y} is not 0 or 1`);
    const w = weights ? weights[i]! : 1;
    if (!(Number.isFinite(w) && w >= 0)) throw new RangeError(`${what}: weight ${i} = ${w} is not a finite number ≥ 0`);
    weight[i] = w;
    total += w;
    if (y === 1) positive += w;
  }
  if (!(total > 0)) throw new RangeError(`${what}: no examples with a positive weight`);
  return { n, weight, total, positive };
}

/** Indices 0…n−1 sorted by `key` ascending, ties kept in index order (a stable, deterministic order). */
function sortedOrder(key: ArrayLike<number>): Uint32Array {
  const order = new Uint32Array(key.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => key[a]! - key[b]! || a - b);
}

export interface AucSummary {
  /** P(score of a positive > score of a negative) + ½·P(equal), pairs weighted by wᵢ·wⱼ. */
  readonly auc: number;
  /** Hanley & McNeil (1982) standard error, with the effective sizes below. */
  readonly standardError: number;
  /** auc − 1.96 · standardError: the gate requires it above 0.5. */
  readonly lower95: number;
  /** Kish effective sizes (Σw)² / Σw² of the positives and the negatives: the counts when unweighted. */
  readonly effectivePositives: number;
  readonly effectiveNegatives: number;
}

/**
 * The weighted AUC (the Mann–Whitney statistic over W₁·W₀, ties at mid-rank): sorted by score,
 * each group of tied scores adds P_g·(N_below + N_g/2), P and N being positive and negative
 * weight. O(n log n). Throws when either class has no weight.
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>): number {
  return aucSummary(scores, labels, weights).auc;
}

/**
 * The AUC with its Hanley–McNeil standard error
 *   SE² = [A(1 − A) + (n₁ − 1)(Q₁ − A²) + (n₀ − 1)(Q₂ − A²)] / (n₁·n₀),  Q₁ = A/(2 − A), Q₂ = 2A²/(1 + A),
 * and the one-sided lower bound A − 1.96·SE. Weights are expansion factors, not information, so
 * n₁ and n₀ are Kish effective sizes rather than weight totals (unweighted, they are the counts).
 */
export function aucSummary(scores: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>): AucSummary {
  const { n, weight, total, positive } = check(scores, labels, weights, 'auc', false);
  const negative = total - positive;
  if (!(positive > 0) || !(negative > 0)) throw new RangeError(`auc: needs positives and negatives (positive weight ${positive}, negative weight ${negative})`);
  const order = sortedOrder(scores);
  let below = 0; // negative weight with a lower score
  let sum = 0;
  for (let start = 0; start < n; ) {
    const score = scores[order[start]!]!;
    let groupPositive = 0;
    let groupNegative = 0;
    let end = start;
    for (; end < n && scores[order[end]!] === score; end++) {
      const i = order[end]!;
      if (labels[i] === 1) groupPositive += weight[i]!;
      else groupNegative += weight[i]!;
    }
    sum += groupPositive * (below + groupNegative / 2);
    below += groupNegative;
    start = end;
  }
  const a = sum / (positive * negative);
  let squaredPositive = 0;
  let squaredNegative = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] === 1) squaredPositive += weight[i]! * weight[i]!;
    else squaredNegative += weight[i]! * weight[i]!;
  }
  const n1 = (positive * positive) / squaredPositive;
  const n0 = (negative * negative) / squaredNegative;
  const q1 = a / (2 - a);
  const q2 = (2 * a * a) / (1 + a);
  const variance = (a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0);
  const standardError = Math.sqrt(Math.max(0, variance));
  return { auc: a, standardError, lower95: a - Z_95 * standardError, effectivePositives: n1, effectiveNegatives: n0 };
}

/** The weighted mean squared error Σw(p − y)² / Σw of probabilities p. */
export function brier(probabilities: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>): number {
  const { n, weight, total } = check(probabilities, labels, weights, 'brier', true);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = probabilities[i]! - labels[i]!;
    sum += weight[i]! * e * e;
  }
  return sum / total;
}

export interface BrierSkill {
  readonly brier: number;
  /** The Brier score of always predicting the weighted base rate ȳ: ȳ(1 − ȳ). */
  readonly reference: number;
  /** 1 − brier / reference: > 0 when the model beats the base rate. */
  readonly skill: number;
}

/** The Brier score against the base-rate forecast on the same examples. Throws on a single class (reference 0). */
export function brierSkill(probabilities: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>): BrierSkill {
  const { total, positive } = check(probabilities, labels, weights, 'brierSkill', true);
  const rate = positive / total;
  const reference = rate * (1 - rate);
  if (!(reference > 0)) throw new RangeError(`brierSkill: all examples have label ${rate === 0 ? 0 : 1}, so the base rate is a perfect forecast and skill is undefined`);
  const score = brier(probabilities, labels, weights);
  return { brier: score, reference, skill: 1 - score / reference };
}

/**
 * The weighted mean log-loss −Σw[y·log p + (1 − y)·log(1 − p)] / Σw, the probability of the
 * observed outcome (p or 1 − p) floored at LOG_LOSS_EPSILON. (Flooring 1 − p rather than capping p
 * at 1 − ε keeps the two kinds of miss symmetric: 1 − ε is not exact in double precision.)
 */
export function logLoss(probabilities: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>): number {
  const { n, weight, total } = check(probabilities, labels, weights, 'logLoss', true);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = probabilities[i]!;
    sum -= weight[i]! * Math.log(Math.max(labels[i] === 1 ? p : 1 - p, LOG_LOSS_EPSILON));
  }
  return sum / total;
}

export interface CalibrationBin {
  /** Weighted mean prediction in the bin. */
  readonly predicted: number;
  /** Weighted share of positives in the bin. */
  readonly observed: number;
  /** The bin's total weight. */
  readonly weight: number;
}

export interface Calibration {
  /** Non-empty bins in increasing order of prediction. */
  readonly bins: readonly CalibrationBin[];
  /** Expected calibration error Σ (W_b / W)·|predicted_b − observed_b|. */
  readonly ece: number;
}

/**
 * A calibration table of `binCount` equal-weight bins (default 10). Examples are sorted by
 * prediction (ties in input order) and example i, whose weight starts at cumulative weight Cᵢ,
 * goes to bin ⌊binCount·(Cᵢ + wᵢ/2) / W⌋ (its weight's midpoint), capped at binCount − 1: an
 * example is never split. Bins left empty (possible when single examples outweigh a bin) are
 * omitted from the table.
 */
export function calibration(probabilities: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>, binCount = 10): Calibration {
  if (!(Number.isInteger(binCount) && binCount >= 1)) throw new RangeError(`calibration: binCount must be an integer ≥ 1, got ${binCount}`);
  const { n, weight, total } = check(probabilities, labels, weights, 'calibration', true);
  const order = sortedOrder(probabilities);
  const binWeight = new Float64Array(binCount);
  const binPredicted = new Float64Array(binCount);
  const binPositive = new Float64Array(binCount);
  let cumulative = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    const w = weight[i]!;
    const bin = Math.min(binCount - 1, Math.floor((binCount * (cumulative + w / 2)) / total));
    cumulative += w;
    binWeight[bin] = binWeight[bin]! + w;
    binPredicted[bin] = binPredicted[bin]! + w * probabilities[i]!;
    if (labels[i] === 1) binPositive[bin] = binPositive[bin]! + w;
  }
  const bins: CalibrationBin[] = [];
  let ece = 0;
  for (let b = 0; b < binCount; b++) {
    const w = binWeight[b]!;
    if (!(w > 0)) continue;
    const bin = { predicted: binPredicted[b]! / w, observed: binPositive[b]! / w, weight: w };
    bins.push(bin);
    ece += (w / total) * Math.abs(bin.predicted - bin.observed);
  }
  return { bins, ece };
}

/** Examples for the Qini curve: predicted uplift, outcome, arm, and optional weights and contacts. */
export interface UpliftExamples {
  /** Predicted uplift σ(x·βₜ) − σ(x·β꜀) (any finite score: only its order matters). */
  readonly uplift: ArrayLike<number>;
  /** 1 if the goal happened in the window, else 0. */
  readonly y: ArrayLike<number>;
  /** 1 for a treated (sent) example, 0 for a holdout (control). */
  readonly treated: ArrayLike<number>;
  /** Arm-balancing weights (1/(1 − h) treated, 1/h control) times sampling weights; default 1. */
  readonly weight?: ArrayLike<number>;
  /** The contact of each example, for the bootstrap by contact; default each example its own. */
  readonly contact?: ArrayLike<number>;
}

export interface QiniCurve {
  /** Q at x = 1/points, 2/points, …, 1 (the share of total weight targeted, best uplift first). */
  readonly points: readonly { x: number; q: number }[];
  /** q = ∫₀¹ (Q(x) − x·Q(1)) dx / Wₜ: incremental conversions per treated contact over random targeting. */
  readonly coefficient: number;
  /** Wₜ, the total treated weight. */
  readonly treatedWeight: number;
}

/**
 * The examples in descending order of predicted uplift (ties in input order), as flat arrays so
 * that the bootstrap's 200 passes read memory sequentially, with the tie groups' boundaries.
 */
interface QiniOrder {
  /** order[k] is the input index of the k-th example. */
  readonly order: Uint32Array;
  /** Group g covers positions [groupEnd[g − 1], groupEnd[g]) (groupEnd[−1] = 0). */
  readonly groupEnd: Uint32Array;
  /** Per position: 1 treated / 0 control, and the outcome. */
  readonly treated: Uint8Array;
  readonly y: Uint8Array;
}

function qiniOrder(data: UpliftExamples): QiniOrder {
  const n = data.uplift.length;
  const negated = new Float64Array(n);
  for (let i = 0; i < n; i++) negated[i] = -data.uplift[i]!;
  const order = sortedOrder(negated);
  const ends: number[] = [];
  for (let k = 1; k <= n; k++) if (k === n || negated[order[k]!] !== negated[order[k - 1]!]) ends.push(k);
  const treated = new Uint8Array(n);
  const y = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    treated[k] = data.treated[order[k]!] === 1 ? 1 : 0;
    y[k] = data.y[order[k]!] === 1 ? 1 : 0;
  }
  return { order, groupEnd: Uint32Array.from(ends), treated, y };
}

/** The weights in the sorted order. */
function permute(weight: Float64Array, order: Uint32Array): Float64Array {
  const out = new Float64Array(order.length);
  for (let k = 0; k < order.length; k++) out[k] = weight[order[k]!]!;
  return out;
}

/**
 * The piecewise-linear Qini curve through the tie-group boundaries, (x_g, Q_g) with (0, 0) first:
 * x_g is the share of total weight in the groups so far; Q_g = Wₜ₁ − W꜀₁·Wₜ/W꜀ over those groups,
 * the control term taken as 0 while W꜀ = 0 (as scikit-uplift does). Tied predictions form one
 * group, so the curve does not depend on their input order. `weight` is in the sorted order.
 */
function qiniVertices(sorted: QiniOrder, weight: Float64Array): { x: Float64Array; q: Float64Array; treatedWeight: number } {
  const { groupEnd, treated: arm, y } = sorted;
  const x = new Float64Array(groupEnd.length + 1);
  const q = new Float64Array(groupEnd.length + 1);
  let all = 0;
  let treated = 0;
  let treatedPositive = 0;
  let control = 0;
  let controlPositive = 0;
  let start = 0;
  for (let g = 0; g < groupEnd.length; g++) {
    const end = groupEnd[g]!;
    for (let k = start; k < end; k++) {
      const w = weight[k]!;
      all += w;
      if (arm[k] === 1) {
        treated += w;
        if (y[k] === 1) treatedPositive += w;
      } else {
        control += w;
        if (y[k] === 1) controlPositive += w;
      }
    }
    x[g + 1] = all;
    q[g + 1] = treatedPositive - (control > 0 ? (controlPositive * treated) / control : 0);
    start = end;
  }
  for (let g = 1; g < x.length; g++) x[g] = x[g]! / all;
  return { x, q, treatedWeight: treated };
}

/** ∫₀¹ (Q(x) − x·Q(1)) dx / Wₜ by the trapezoid rule, exact for the piecewise-linear curve. */
function coefficientOf(x: Float64Array, q: Float64Array, treatedWeight: number): number {
  let area = 0;
  for (let g = 1; g < x.length; g++) area += ((x[g]! - x[g - 1]!) * (q[g]! + q[g - 1]!)) / 2;
  return (area - q[q.length - 1]! / 2) / treatedWeight;
}

/** Validates uplift examples; returns the weights (default 1). Throws without treated or control weight. */
function checkUplift(data: UpliftExamples): Float64Array {
  const n = data.uplift.length;
  if (data.treated.length !== n) throw new RangeError(`qini: ${n} uplift scores but ${data.treated.length} arms`);
  if (data.contact && data.contact.length !== n) throw new RangeError(`qini: ${n} uplift scores but ${data.contact.length} contacts`);
  const { weight } = check(data.uplift, data.y, data.weight, 'qini', false);
  let treated = 0;
  let control = 0;
  for (let i = 0; i < n; i++) {
    const arm = data.treated[i];
    if (arm !== 0 && arm !== 1) throw new RangeError(`qini: arm ${i} = ${arm} is not 0 (control) or 1 (treated)`);
    if (arm === 1) treated += weight[i]!;
    else control += weight[i]!;
    if (data.contact && !Number.isFinite(data.contact[i]!)) throw new RangeError(`qini: contact ${i} = ${data.contact[i]} is not a finite number`);
  }
  if (!(treated > 0) || !(control > 0)) throw new RangeError(`qini: needs treated and control examples (treated weight ${treated}, control weight ${control})`);
  return weight;
}

/** Q at `at` on the piecewise-linear curve through (x, q) (x non-decreasing from 0 to 1). */
function interpolate(x: Float64Array, q: Float64Array, at: number): number {
  let g = 1;
  while (g < x.length - 1 && x[g]! < at) g++;
  const span = x[g]! - x[g - 1]!;
  return span > 0 ? q[g - 1]! + ((q[g]! - q[g - 1]!) * (at - x[g - 1]!)) / span : q[g]!;
}

/**
 * The Qini curve (sorted by predicted uplift, descending) sampled at `points` (default 20) equal
 * steps of targeted weight share by linear interpolation between tie-group boundaries, and the
 * Qini coefficient integrated over the whole curve. Throws without treated or control weight.
 */
export function qini(data: UpliftExamples, points = 20): QiniCurve {
  if (!(Number.isInteger(points) && points >= 1)) throw new RangeError(`qini: points must be an integer ≥ 1, got ${points}`);
  const weight = checkUplift(data);
  const sorted = qiniOrder(data);
  const { x, q, treatedWeight } = qiniVertices(sorted, permute(weight, sorted.order));
  const sampled = Array.from({ length: points }, (_, k) => {
    const at = (k + 1) / points;
    return { x: at, q: k + 1 === points ? q[q.length - 1]! : interpolate(x, q, at) };
  });
  return { points: sampled, coefficient: coefficientOf(x, q, treatedWeight), treatedWeight };
}

export interface QiniBootstrap {
  /** The coefficient on the data as given. */
  readonly coefficient: number;
  /** The 2.5th percentile of the resampled coefficients (linear interpolation between order statistics). */
  readonly lower: number;
  /** The 97.5th percentile, likewise. */
  readonly upper: number;
  /** The resampled coefficients in the order drawn. */
  readonly samples: Float64Array;
}

/** The p-quantile of sorted values, interpolating linearly at rank p·(n − 1) (numpy's default). */
function quantileSorted(sorted: Float64Array, p: number): number {
  const rank = p * (sorted.length - 1);
  const below = Math.floor(rank);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (rank - below);
}

/**
 * A nonparametric bootstrap of the Qini coefficient by contact: each resample draws as many
 * contacts as there are, uniformly with replacement (contact ⌊u·m⌋ for u from mulberry32(seed)),
 * and an example's weight is multiplied by the number of times its contact was drawn, so a
 * contact's examples stay together. A resample without treated or control weight is drawn again
 * (its coefficient is undefined), at most `resamples` extra times before throwing. Contacts are
 * numbered in order of first appearance, so the result depends only on the data and the seed.
 */
export function bootstrapQini(data: UpliftExamples, options: { seed: number; resamples?: number }): QiniBootstrap {
  const resamples = options.resamples ?? 200;
  if (!(Number.isInteger(resamples) && resamples >= 1)) throw new RangeError(`bootstrapQini: resamples must be an integer ≥ 1, got ${resamples}`);
  const weight = checkUplift(data);
  const n = weight.length;
  const sorted = qiniOrder(data);
  const sortedWeight = permute(weight, sorted.order);
  const original = qiniVertices(sorted, sortedWeight);
  const coefficient = coefficientOf(original.x, original.q, original.treatedWeight);

  const group = new Uint32Array(n);
  const numbering = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const id = data.contact ? data.contact[i]! : i;
    let g = numbering.get(id);
    if (g === undefined) numbering.set(id, (g = numbering.size));
    group[i] = g;
  }
  const contacts = numbering.size;
  const sortedGroup = new Uint32Array(n);
  for (let k = 0; k < n; k++) sortedGroup[k] = group[sorted.order[k]!]!;
  const random = mulberry32(options.seed);
  const drawn = new Uint32Array(contacts);
  const resampled = new Float64Array(n);
  const samples = new Float64Array(resamples);
  let redraws = 0;
  for (let s = 0; s < resamples; ) {
    drawn.fill(0);
    for (let k = 0; k < contacts; k++) {
      const g = Math.floor(random() * contacts);
      drawn[g] = drawn[g]! + 1;
    }
    let treated = 0;
    let control = 0;
    for (let k = 0; k < n; k++) {
      const w = sortedWeight[k]! * drawn[sortedGroup[k]!]!;
      resampled[k] = w;
      if (sorted.treated[k] === 1) treated += w;
      else control += w;
    }
    if (!(treated > 0 && control > 0)) {
      if (++redraws > resamples) throw new RangeError(`bootstrapQini: ${redraws} resamples lacked a treated or control example; too few contacts (${contacts})`);
      continue;
    }
    const { x, q, treatedWeight } = qiniVertices(sorted, resampled);
    samples[s++] = coefficientOf(x, q, treatedWeight);
  }
  const ordered = samples.slice().sort();
  return { coefficient, lower: quantileSorted(ordered, 0.025), upper: quantileSorted(ordered, 0.975), samples };
}

export interface Explanation {
  readonly feature: string;
  readonly weight: number;
  /** |weight| · sd: the change in the log-odds from a one-sd change of the feature. */
  readonly importance: number;
  /** +1 when the feature raises the outcome's odds (or, for uplift, the effect of the message), −1 when it lowers them. */
  readonly sign: 1 | -1;
}

/**
 * The `k` features (default 10) with the largest |βⱼ|·sdⱼ, largest first (ties in column order),
 * skipping those whose importance is 0. For uplift, pass βₜ − β꜀: the features along which the
 * message moves the odds most. Non-finite weights or negative or non-finite sds throw.
 */
export function topFeatures(weights: ArrayLike<number>, sd: ArrayLike<number>, names: readonly string[], k = 10): Explanation[] {
  if (sd.length !== weights.length || names.length !== weights.length) {
    throw new RangeError(`topFeatures: ${weights.length} weights, ${sd.length} sds and ${names.length} names`);
  }
  const ranked: Explanation[] = [];
  for (let j = 0; j < weights.length; j++) {
    const w = weights[j]!;
    const s = sd[j]!;
    if (!Number.isFinite(w) || !(Number.isFinite(s) && s >= 0)) throw new RangeError(`topFeatures: feature ${names[j]} has weight ${w} and sd ${s}`);
    const importance = Math.abs(w) * s;
    if (importance > 0) ranked.push({ feature: names[j]!, weight: w, importance, sign: w > 0 ? 1 : -1 });
  }
  return ranked.sort((a, b) => b.importance - a.importance).slice(0, k);
}
