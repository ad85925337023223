import { describe, expect, test } from 'vitest';
import expected from '../fixtures/learning/expected-metrics.json' with { type: 'json' };
import { auc, aucSummary, bootstrapQini, brier, brierSkill, calibration, logLoss, qini, topFeatures, LOG_LOSS_EPSILON, type UpliftExamples } from '../../shared/learning/metrics.ts';
import { mulberry32 } from '../../shared/learning/random.ts';

/**
 * The evaluation metrics against test/fixtures/learning/reference.py (scipy's Mann–Whitney U, a
 * direct pairwise weighted AUC, vectorised numpy calibration and Qini, the same bootstrap draws),
 * on data both sides rebuild from one mulberry32 seed; then their documented properties.
 */

/** The reference data, built exactly as reference.py's `metrics_data` (8 draws a row). */
function referenceData() {
  const { seed, rows, contacts } = expected.data;
  const draw = mulberry32(seed);
  const columns = { score: new Float64Array(rows), label: new Uint8Array(rows), weight: new Float64Array(rows), uplift: new Float64Array(rows), treated: new Uint8Array(rows), outcome: new Uint8Array(rows), contact: new Float64Array(rows) };
  for (let r = 0; r < rows; r++) {
    const score = Math.floor(draw() * 50) / 50;
    columns.score[r] = score;
    columns.label[r] = draw() < 0.1 + 0.8 * score ? 1 : 0;
    const zero = draw();
    const weight = zero < 0.03 ? 0 : 0.5 + 1.5 * draw();
    if (zero < 0.03) draw();
    columns.weight[r] = weight;
    const uplift = Math.floor(draw() * 30) / 50 - 0.2;
    columns.uplift[r] = uplift;
    const treated = draw() < 0.7 ? 1 : 0;
    columns.treated[r] = treated;
    const effect = treated === 1 && uplift > 0 ? uplift : 0;
    columns.outcome[r] = draw() < 0.1 + effect ? 1 : 0;
    columns.contact[r] = Math.floor(draw() * contacts);
  }
  return columns;
}

const sum = (values: Iterable<number>) => {
  let total = 0;
  for (const v of values) total += v;
  return total;
};

/** |actual − expected| ≤ 1e-9 × max(1, |expected|), for every pair. */
function expectClose(actual: number, reference: number, tolerance = 1e-9): void {
  expect(Math.abs(actual - reference), `${actual} vs ${reference}`).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(reference)));
}

describe('against the reference (reference.py)', () => {
  const d = referenceData();
  const uplift: UpliftExamples = { uplift: d.uplift, y: d.outcome, treated: d.treated, weight: d.weight, contact: d.contact };

  test('the test regenerates the reference data bit for bit', () => {
    const c = expected.data.checksums;
    expect(sum(d.score)).toBe(c.score);
    expect(sum(d.weight)).toBe(c.weight);
    expect(sum(d.uplift)).toBe(c.uplift);
    expect(sum(d.label)).toBe(c.labels);
    expect(sum(d.treated)).toBe(c.treated);
    expect(sum(d.outcome)).toBe(c.outcomes);
    expect(sum(d.contact)).toBe(c.contact);
    expect(d.weight.filter((w) => w === 0).length).toBeGreaterThan(50); // zero weights are exercised
  });

  test('AUC: unweighted = scipy mannwhitneyu U / (n₁n₀), weighted = the pairwise sum, with ties at mid-rank', () => {
    expectClose(auc(d.score, d.label), expected.auc.unweightedMannWhitney);
    expectClose(auc(d.score, d.label), expected.auc.unweightedPairs);
    expectClose(auc(d.score, d.label, d.weight), expected.auc.weightedPairs);
    expect(Math.abs(expected.auc.weightedPairs - expected.auc.unweightedPairs)).toBeGreaterThan(1e-4); // the weights matter here
  });

  test('Hanley–McNeil standard error and lower bound, with counts or Kish effective sizes', () => {
    for (const [summary, reference] of [
      [aucSummary(d.score, d.label), expected.auc.unweighted],
      [aucSummary(d.score, d.label, d.weight), expected.auc.weighted],
    ] as const) {
      expectClose(summary.auc, reference.auc);
      expectClose(summary.standardError, reference.standardError);
      expectClose(summary.lower95, reference.lower95);
      expectClose(summary.effectivePositives, reference.effectivePositives);
      expectClose(summary.effectiveNegatives, reference.effectiveNegatives);
    }
  });

  test('Brier score and skill, log-loss (predictions of exactly 0 are clipped)', () => {
    expectClose(brier(d.score, d.label), expected.brier.unweighted);
    const skill = brierSkill(d.score, d.label, d.weight);
    expectClose(skill.brier, expected.brier.weighted);
    expectClose(skill.reference, expected.brier.reference);
    expectClose(skill.skill, expected.brier.skill);
    expectClose(logLoss(d.score, d.label), expected.logLoss.unweighted);
    expectClose(logLoss(d.score, d.label, d.weight), expected.logLoss.weighted);
  });

  test('the 10-bin equal-weight calibration table and ECE', () => {
    for (const [table, reference] of [
      [calibration(d.score, d.label), expected.calibration.unweighted],
      [calibration(d.score, d.label, d.weight), expected.calibration.weighted],
    ] as const) {
      expect(table.bins).toHaveLength(reference.bins.length);
      table.bins.forEach((bin, b) => {
        expectClose(bin.predicted, reference.bins[b]!.predicted);
        expectClose(bin.observed, reference.bins[b]!.observed);
        expectClose(bin.weight, reference.bins[b]!.weight);
      });
      expectClose(table.ece, reference.ece);
    }
  });

  test('the Qini curve (20 points) and coefficient, weighted and not', () => {
    const curve = qini(uplift);
    expect(curve.points).toHaveLength(20);
    curve.points.forEach((point, k) => {
      expect(point.x).toBe(expected.qini.weighted.points[k]!.x);
      expectClose(point.q, expected.qini.weighted.points[k]!.q);
    });
    expectClose(curve.coefficient, expected.qini.weighted.coefficient);
    expectClose(curve.treatedWeight, expected.qini.weighted.treatedWeight);
    expectClose(qini({ ...uplift, weight: undefined }).coefficient, expected.qini.unweightedCoefficient);
  });

  test('the bootstrap by contact: the same draws give the same resampled coefficients and percentiles', () => {
    const reference = expected.qini.bootstrap;
    const result = bootstrapQini(uplift, { seed: reference.seed, resamples: reference.resamples });
    expectClose(result.coefficient, expected.qini.weighted.coefficient);
    reference.first.forEach((q, k) => expectClose(result.samples[k]!, q));
    expectClose(result.lower, reference.lower);
    expectClose(result.upper, reference.upper);
    expect(result.lower).toBeLessThan(result.coefficient);
    expect(result.upper).toBeGreaterThan(result.coefficient);
  });
});

describe('AUC properties', () => {
  const draw = mulberry32(3);
  const scores = Float64Array.from({ length: 500 }, () => Math.floor(draw() * 20));
  const labels = Uint8Array.from(scores, (s) => (draw() < s / 25 ? 1 : 0));
  const weights = Float64Array.from(scores, () => 1 + Math.floor(draw() * 3));

  test('perfect, reversed, all tied', () => {
    expect(auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
    expect(auc([0.5, 0.5, 0.5], [0, 1, 1])).toBe(0.5);
    const reversed = Float64Array.from(scores, (s) => -s);
    expect(auc(reversed, labels, weights)).toBeCloseTo(1 - auc(scores, labels, weights), 14);
  });

  test('integer weights are duplicated rows; a common factor changes nothing; zero weight drops a row', () => {
    const expandedScores: number[] = [];
    const expandedLabels: number[] = [];
    scores.forEach((s, i) => {
      for (let k = 0; k < weights[i]!; k++) {
        expandedScores.push(s);
        expandedLabels.push(labels[i]!);
      }
    });
    expect(auc(scores, labels, weights)).toBeCloseTo(auc(expandedScores, expandedLabels), 14);
    expect(auc(scores, labels, weights.map((w) => w * 7.5))).toBeCloseTo(auc(scores, labels, weights), 14);
    expect(auc([0.1, 0.2, 0.9, 0.3], [0, 1, 0, 1], [1, 1, 0, 1])).toBe(1);
  });

  test('the lower bound tightens with more data and is below 0.5 for a coin flip', () => {
    const few = aucSummary(scores.subarray(0, 100), labels.subarray(0, 100));
    const many = aucSummary(scores, labels);
    expect(many.standardError).toBeLessThan(few.standardError);
    const noise = mulberry32(4);
    const flips = Float64Array.from({ length: 400 }, () => noise());
    const coin = aucSummary(flips, Uint8Array.from(flips, () => (noise() < 0.3 ? 1 : 0)));
    expect(coin.lower95).toBeLessThan(0.5);
    expect(coin.standardError).toBeGreaterThan(0);
  });

  test('one class, no weight, NaN or mismatched lengths: a RangeError', () => {
    expect(() => auc([0.1, 0.2], [0, 0])).toThrow(/needs positives and negatives/);
    expect(() => auc([0.1, 0.2], [0, 1], [0, 1])).toThrow(/needs positives and negatives/);
    expect(() => auc([], [])).toThrow(/no examples with a positive weight/);
    expect(() => auc([0.1, Number.NaN], [0, 1])).toThrow(/prediction 1 = NaN is not finite/);
    expect(() => auc([0.1, 0.2], [0, 1, 1])).toThrow(/2 predictions but 3 labels/);
    expect(() => auc([0.1, 0.2], [0, 1], [1])).toThrow(/2 predictions but 1 weights/);
    expect(() => auc([0.1, 0.2], [0, 0.5])).toThrow(/label 1 = 0.5/);
    expect(() => auc([0.1, 0.2], [0, 1], [1, -1])).toThrow(/weight 1 = -1/);
  });
});

describe('Brier, log-loss and calibration properties', () => {
  /** Labels drawn from the predictions themselves: perfectly calibrated in expectation. */
  const draw = mulberry32(8);
  const p = Float64Array.from({ length: 20_000 }, () => draw() * draw());
  const y = Uint8Array.from(p, (q) => (draw() < q ? 1 : 0));

  test('calibrated predictions: small ECE, ten bins of equal weight in increasing order; doubled odds: large ECE', () => {
    const table = calibration(p, y);
    expect(table.bins).toHaveLength(10);
    for (const bin of table.bins) expect(bin.weight).toBe(2_000);
    for (let b = 1; b < 10; b++) expect(table.bins[b]!.predicted).toBeGreaterThan(table.bins[b - 1]!.predicted);
    expect(table.ece).toBeLessThan(0.01);
    const overconfident = p.map((q) => (2 * q) / (1 + q));
    expect(calibration(overconfident, y).ece).toBeGreaterThan(0.1);
  });

  test('a single example heavier than a bin leaves bins empty, which the table omits', () => {
    const table = calibration([0.1, 0.2, 0.3, 0.9], [0, 0, 1, 1], [1, 1, 1, 97]);
    // Weight midpoints 0.5, 1.5, 2.5 (of 100) all fall in the first tenth; the heavy example's, 51.5, in the sixth.
    expect(table.bins.map((b) => b.weight)).toEqual([3, 97]);
    expect(table.bins[0]!.predicted).toBeCloseTo(0.2, 15);
    expect(table.ece).toBeCloseTo((3 * Math.abs(0.2 - 1 / 3) + 97 * 0.1) / 100, 14);
  });

  test('Brier skill is positive for informative predictions and 0 for the base rate itself', () => {
    expect(brierSkill(p, y).skill).toBeGreaterThan(0.05);
    const rate = sum(y) / y.length;
    expect(brierSkill(new Float64Array(y.length).fill(rate), y).skill).toBeCloseTo(0, 12);
    expect(() => brierSkill([0.2, 0.3], [1, 1])).toThrow(/skill is undefined/);
  });

  test('log-loss clips certainty: a confident miss costs −log(1e-15) either way, not ∞; probabilities outside [0, 1] throw', () => {
    expect(logLoss([0], [1])).toBe(-Math.log(LOG_LOSS_EPSILON));
    expect(logLoss([1], [0])).toBe(-Math.log(LOG_LOSS_EPSILON));
    expect(logLoss([1, 0], [1, 0])).toBeLessThan(1e-14);
    expect(logLoss([0.5], [1])).toBeCloseTo(Math.LN2, 15);
    expect(() => logLoss([1.2], [1])).toThrow(/not a probability/);
    expect(() => brier([Number.NaN], [1])).toThrow(/not a probability/);
    expect(() => calibration([0.5], [1], undefined, 0)).toThrow(/binCount/);
  });
});

describe('Qini', () => {
  /**
   * 20,000 contacts, 80 % treated; base rate 10 %; a true uplift of +10 points for the 30 % in
   * segment A and none elsewhere.
   */
  function population(seed: number) {
    const draw = mulberry32(seed);
    const n = 20_000;
    const trueUplift = new Float64Array(n);
    const treated = new Uint8Array(n);
    const y = new Uint8Array(n);
    const random = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      trueUplift[i] = draw() < 0.3 ? 0.1 : 0;
      treated[i] = draw() < 0.8 ? 1 : 0;
      y[i] = draw() < 0.1 + (treated[i] === 1 ? trueUplift[i]! : 0) ? 1 : 0;
      random[i] = draw();
    }
    return { trueUplift, treated, y, random };
  }
  const data = population(5);

  test('a perfect uplift ranking: a positive coefficient whose bootstrap lower bound is above 0', () => {
    const input = { uplift: data.trueUplift, y: data.y, treated: data.treated };
    const curve = qini(input);
    expect(curve.coefficient).toBeGreaterThan(0.005);
    // Q rises while the uplifted 30 % are targeted, then flattens: the curve bulges above the diagonal.
    expect(curve.points[5]!.q).toBeGreaterThan(0.3 * curve.points[19]!.q + 100);
    expect(bootstrapQini(input, { seed: 1 }).lower).toBeGreaterThan(0);
  });

  test('a random ranking: a coefficient near 0 whose bootstrap lower bound is ≤ 0', () => {
    const input = { uplift: data.random, y: data.y, treated: data.treated };
    const perfect = qini({ ...input, uplift: data.trueUplift }).coefficient;
    const random = qini(input);
    expect(Math.abs(random.coefficient)).toBeLessThan(perfect / 4);
    expect(bootstrapQini(input, { seed: 1 }).lower).toBeLessThanOrEqual(0);
  });

  test('the inverse ranking: a negative coefficient', () => {
    expect(qini({ uplift: data.trueUplift.map((u) => -u), y: data.y, treated: data.treated }).coefficient).toBeLessThan(0);
  });

  test('all predictions tied: one group, the straight line, coefficient 0', () => {
    const curve = qini({ uplift: new Float64Array(data.y.length), y: data.y, treated: data.treated });
    expect(curve.coefficient).toBeCloseTo(0, 12);
    curve.points.forEach((point, k) => expect(point.q).toBeCloseTo(((k + 1) / 20) * curve.points[19]!.q, 8));
  });

  test("the order of tied predictions does not matter; Q(1) is the arms' difference scaled to the treated weight", () => {
    const n = data.y.length;
    const reversed = <T extends Float64Array | Uint8Array>(a: T) => a.slice().reverse() as T;
    const forward = qini({ uplift: data.trueUplift, y: data.y, treated: data.treated });
    const backward = qini({ uplift: reversed(data.trueUplift), y: reversed(data.y), treated: reversed(data.treated) });
    expect(backward.coefficient).toBeCloseTo(forward.coefficient, 12);
    let t = 0;
    let t1 = 0;
    let c = 0;
    let c1 = 0;
    for (let i = 0; i < n; i++) {
      if (data.treated[i] === 1) [t, t1] = [t + 1, t1 + data.y[i]!];
      else [c, c1] = [c + 1, c1 + data.y[i]!];
    }
    expect(forward.points[19]!.q).toBeCloseTo(t1 - (c1 * t) / c, 8);
    expect(forward.treatedWeight).toBe(t);
  });

  test('the bootstrap resamples contacts, not examples: a contact counted 8 times is still one draw', () => {
    // 2,500 contacts with 8 identical examples each: by example, the bootstrap would see 20,000 independent units.
    const copies = <T extends Float64Array | Uint8Array>(a: T) => a.map((_, i) => a[Math.floor(i / 8)]!) as T;
    const input = { uplift: copies(data.trueUplift), y: copies(data.y), treated: copies(data.treated) };
    const byExample = bootstrapQini(input, { seed: 2 });
    const byContact = bootstrapQini({ ...input, contact: Float64Array.from(data.y, (_, i) => Math.floor(i / 8)) }, { seed: 2 });
    expect(byContact.coefficient).toBe(byExample.coefficient);
    expect(byContact.upper - byContact.lower).toBeGreaterThan(2 * (byExample.upper - byExample.lower));
    const again = bootstrapQini(input, { seed: 2 });
    expect(again.samples).toEqual(byExample.samples);
    expect(bootstrapQini(input, { seed: 3 }).samples).not.toEqual(byExample.samples);
  });

  test('no control, no treated, a bad arm or bad options: a RangeError', () => {
    expect(() => qini({ uplift: [0.1, 0.2], y: [0, 1], treated: [1, 1] })).toThrow(/needs treated and control/);
    expect(() => qini({ uplift: [0.1, 0.2], y: [0, 1], treated: [1, 0], weight: [1, 0] })).toThrow(/needs treated and control/);
    expect(() => qini({ uplift: [0.1, 0.2], y: [0, 1], treated: [1, 2] })).toThrow(/arm 1 = 2/);
    expect(() => qini({ uplift: [0.1, Number.NaN], y: [0, 1], treated: [1, 0] })).toThrow(/not finite/);
    expect(() => qini({ uplift: [0.1, 0.2], y: [0, 1], treated: [1, 0] }, 0)).toThrow(/points/);
    expect(() => bootstrapQini({ uplift: [0.1, 0.2], y: [0, 1], treated: [1, 0] }, { seed: 1, resamples: 0 })).toThrow(/resamples/);
  });

  test('two contacts, one per arm: most resamples lack an arm, and the bootstrap says so rather than inventing a value', () => {
    expect(() => bootstrapQini({ uplift: [0.1, 0.2], y: [0, 1], treated: [1, 0] }, { seed: 3, resamples: 50 })).toThrow(/lacked a treated or control example/);
  });
});

describe('topFeatures', () => {
  const names = ['tenure', 'plan=pro', 'region=eu', 'opens_30d', 'unused'];

  test('ranks by |β|·sd with the sign, skips zero importance, keeps column order on ties', () => {
    const explanations = topFeatures([0.5, -2, 1, 0.25, 3], [2, 0.25, 1, 4, 0], names, 3);
    expect(explanations).toEqual([
      { feature: 'tenure', weight: 0.5, importance: 1, sign: 1 },
      { feature: 'region=eu', weight: 1, importance: 1, sign: 1 },
      { feature: 'opens_30d', weight: 0.25, importance: 1, sign: 1 },
    ]);
    const all = topFeatures([0.5, -2, 1, 0.25, 3], [2, 1, 1, 4, 0], names);
    expect(all.map((e) => [e.feature, e.sign])).toEqual([
      ['plan=pro', -1],
      ['tenure', 1],
      ['region=eu', 1],
      ['opens_30d', 1],
    ]);
  });

  test('uplift explanations rank the treatment-minus-control weights', () => {
    const treatment = [0.4, 0.1, -0.3];
    const control = [0.4, -0.5, -0.1];
    const difference = treatment.map((w, j) => w - control[j]!);
    expect(topFeatures(difference, [1, 1, 1], names.slice(0, 3)).map((e) => [e.feature, e.sign])).toEqual([
      ['plan=pro', 1],
      ['region=eu', -1],
    ]);
  });

  test('mismatched lengths, NaN weights or negative sds throw', () => {
    expect(() => topFeatures([1], [1, 2], ['a'])).toThrow(/1 weights, 2 sds and 1 names/);
    expect(() => topFeatures([Number.NaN], [1], ['a'])).toThrow(/feature a/);
    expect(() => topFeatures([1], [-1], ['a'])).toThrow(/feature a/);
  });
});
