import { describe, expect, test } from 'vitest';
import expected from '../fixtures/learning/expected-logistic.json' with { type: 'json' };
import { chooseLambda, denseToSparse, fitLogistic, predict, predictOne, sigmoid, sparseRows, type Examples, type SparseRows } from '../../shared/learning/logistic.ts';
import { auc, calibration } from '../../shared/learning/metrics.ts';
import { mulberry32 } from '../../shared/learning/random.ts';

/**
 * The weighted L2 logistic fit against scipy's L-BFGS-B (test/fixtures/learning/reference.py,
 * which regenerates the same data from the same mulberry32 seed), on synthetic data from a known
 * logistic model, and on the degenerate inputs the module documents.
 */

/** The reference data set, built exactly as reference.py's `logistic_data` (34 draws a row). */
function referenceData(): { dense: number[][]; weight: Float64Array; y: Uint8Array } {
  const { seed, rows, dense: denseColumns, sparse } = expected.data;
  const coefficients = expected.data.labelCoefficients;
  const draw = mulberry32(seed);
  const columns = denseColumns + sparse;
  const dense: number[][] = [];
  const weight = new Float64Array(rows);
  const y = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = new Array<number>(columns).fill(0);
    for (let j = 0; j < denseColumns; j++) {
      const a = draw();
      const b = draw();
      const c = draw();
      row[j] = (a + b + c - 1.5) * (1 + j / 4);
    }
    for (let j = denseColumns; j < columns; j++) {
      const present = draw();
      const level = draw();
      if (present < 0.15) row[j] = j < denseColumns + 2 ? 1 : Math.floor(level * 5) + 1;
    }
    weight[r] = 0.25 + 2 * draw();
    let eta = expected.data.labelIntercept;
    for (let j = 0; j < columns; j++) eta = eta + coefficients[j]! * row[j]!;
    const p = 0.5 + (0.5 * eta) / (1 + Math.abs(eta));
    y[r] = draw() < p ? 1 : 0;
    dense.push(row);
  }
  return { dense, weight, y };
}

const sum = (values: Iterable<number>) => {
  let total = 0;
  for (const v of values) total += v;
  return total;
};

/** Byte-for-byte equality of two Float64Arrays (distinguishes −0 and NaN payloads, unlike toEqual). */
const sameBytes = (a: Float64Array, b: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('the fit against scipy L-BFGS-B (reference.py)', () => {
  const { dense, weight, y } = referenceData();
  const x = denseToSparse(dense, dense[0]!.length);

  test('the test regenerates the reference data bit for bit', () => {
    const { checksums } = expected.data;
    expect(sum(dense.flat())).toBe(checksums.values);
    expect(sum(weight)).toBe(checksums.weights);
    expect(sum(y)).toBe(checksums.positives);
    expect(x.values.length).toBe(checksums.nonZeros);
  });

  test('the reference itself is at the optimum: its remaining Newton step is far below the tolerance', () => {
    for (const fit of Object.values(expected.fits)) expect(fit.lbfgsb.remainingNewtonStep).toBeLessThan(1e-7);
  });

  const cases: [keyof typeof expected.fits, Examples][] = [
    ['weighted-lambda-1', { x, y, weight }],
    ['weighted-lambda-30-prior', { x, y, weight }],
    ['unweighted-lambda-0', { x, y }],
  ];
  test.each(cases)('%s: intercept and weights within 1e-5, objective within 1e-9 relative', (name, data) => {
    const reference = expected.fits[name];
    const model = fitLogistic(data, { lambda: reference.lambda, ...(reference.prior ? { prior: reference.prior } : {}) });
    expect(model.converged).toBe(true);
    expect(model.iterations).toBeLessThanOrEqual(10);
    expect(model.jitter).toBe(0);
    const differences = [model.intercept - reference.intercept, ...Array.from(model.weights, (w, j) => w - reference.weights[j]!)].map(Math.abs);
    expect(Math.max(...differences)).toBeLessThan(1e-5);
    // Newton reaches the optimum to ≈ 1e-12; the reference is ≈ 1e-9 from it (its remaining Newton step).
    expect(Math.max(...differences)).toBeLessThan(10 * reference.lbfgsb.remainingNewtonStep + 1e-9);
    expect(Math.abs(model.objective - reference.objective)).toBeLessThan(1e-9 * reference.objective);
  });

  test('the prior centre pulls the weights: the λ = 30 fits with and without it differ', () => {
    const withPrior = fitLogistic({ x, y, weight }, { lambda: 30, prior: expected.fits['weighted-lambda-30-prior'].prior! });
    const withoutPrior = fitLogistic({ x, y, weight }, { lambda: 30 });
    const gap = Math.max(...Array.from(withPrior.weights, (w, j) => Math.abs(w - withoutPrior.weights[j]!)));
    expect(gap).toBeGreaterThan(0.01);
  });
});

/**
 * A population drawn from a known logistic model (base rate ≈ 9 %): 4 standard-normal-ish
 * numerics, a region one-hot (10), a plan one-hot (3), and 6 sparse behaviour counts.
 */
function knownModel(seed: number, rows: number): { x: SparseRows; y: Uint8Array; truth: Float64Array } {
  const draw = mulberry32(seed);
  const columns = 4 + 10 + 3 + 6;
  const coefficients = [0.6, -0.4, 0.3, 0, ...[-0.3, -0.2, -0.1, 0, 0, 0.1, 0.2, 0.3, 0.4, 0.5], 0, 0.5, 1.0, 0.4, 0.3, -0.5, 0.2, 0, 0.1];
  const intercept = -3.2;
  const vectors = [];
  const y = new Uint8Array(rows);
  const truth = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const indices: number[] = [];
    const values: number[] = [];
    for (let j = 0; j < 4; j++) {
      indices.push(j);
      values.push((draw() + draw() + draw() + draw() - 2) * 1.7);
    }
    indices.push(4 + Math.floor(draw() * 10));
    values.push(1);
    const plan = draw();
    indices.push(14 + (plan < 0.6 ? 0 : plan < 0.9 ? 1 : 2));
    values.push(1);
    for (let j = 0; j < 6; j++) {
      if (draw() < 0.25) {
        indices.push(17 + j);
        values.push(Math.log1p(Math.floor(draw() * 8)));
      }
    }
    let eta = intercept;
    indices.forEach((j, k) => (eta += coefficients[j]! * values[k]!));
    truth[r] = sigmoid(eta);
    y[r] = draw() < truth[r]! ? 1 : 0;
    vectors.push({ indices, values });
  }
  return { x: sparseRows(vectors, columns), y, truth };
}

describe('synthetic data from a known logistic model (40,000 train, 20,000 test)', () => {
  const train = knownModel(1, 40_000);
  const testRows = knownModel(2, 20_000);
  const model = fitLogistic(train, { lambda: 3 });

  test('the base rate is about 9 % (6–10 %)', () => {
    expect(sum(train.y) / train.y.length).toBeGreaterThan(0.06);
    expect(sum(train.y) / train.y.length).toBeLessThan(0.1);
  });

  test("the test AUC is within 0.02 of the true model's on the same rows, and the test ECE ≤ 0.02", () => {
    expect(model.converged).toBe(true);
    const predicted = predict(model, testRows.x);
    const fitted = auc(predicted, testRows.y);
    const best = auc(testRows.truth, testRows.y);
    expect(best).toBeGreaterThan(0.65); // the comparison needs a signal to recover
    expect(fitted).toBeGreaterThanOrEqual(best - 0.02);
    expect(calibration(predicted, testRows.y).ece).toBeLessThanOrEqual(0.02);
  });

  test('two fits of the same data are bitwise equal', () => {
    const again = fitLogistic(train, { lambda: 3 });
    expect(sameBytes(again.weights, model.weights)).toBe(true);
    expect(Object.is(again.intercept, model.intercept)).toBe(true);
    expect(again.iterations).toBe(model.iterations);
  });

  test('compact storage (Float32Array values, Uint16Array indices) gives the same fit', () => {
    const small = knownModel(5, 3_000);
    // log1p of small integers is not exact in float32: round the values first so both hold the same numbers.
    const values = Float32Array.from(small.x.values);
    const wide = { ...small.x, values: Float64Array.from(values) };
    const compact = { ...small.x, values, indices: Uint16Array.from(small.x.indices), rowStart: Uint32Array.from(small.x.rowStart) };
    const a = fitLogistic({ x: wide, y: small.y }, { lambda: 3 });
    const b = fitLogistic({ x: compact, y: small.y }, { lambda: 3 });
    expect(sameBytes(a.weights, b.weights)).toBe(true);
  });
});

describe('weights', () => {
  const base = knownModel(3, 400);
  const vectorOf = (x: SparseRows, r: number) => ({ indices: x.indices.slice(x.rowStart[r], x.rowStart[r + 1]), values: x.values.slice(x.rowStart[r], x.rowStart[r + 1]) });
  const vectors = Array.from({ length: base.x.rows }, (_, r) => vectorOf(base.x, r));
  const positive = base.y.indexOf(1);

  test('duplicating a row is the same as giving it weight 2', () => {
    const duplicated = fitLogistic({ x: sparseRows([...vectors, vectors[positive]!], base.x.columns), y: Uint8Array.from([...base.y, 1]) }, { lambda: 1 });
    const weight = new Float64Array(base.x.rows).fill(1);
    weight[positive] = 2;
    const weighted = fitLogistic({ x: base.x, y: base.y, weight }, { lambda: 1 });
    const unweighted = fitLogistic({ x: base.x, y: base.y }, { lambda: 1 });
    const gap = (a: Float64Array, b: Float64Array) => Math.max(...Array.from(a, (v, j) => Math.abs(v - b[j]!)));
    expect(gap(duplicated.weights, weighted.weights)).toBeLessThan(1e-10);
    expect(Math.abs(duplicated.intercept - weighted.intercept)).toBeLessThan(1e-10);
    expect(gap(weighted.weights, unweighted.weights)).toBeGreaterThan(1e-3); // and the weight did change the fit
  });

  test('a zero weight removes a row', () => {
    const weight = new Float64Array(base.x.rows).fill(1);
    weight[positive] = 0;
    const zeroed = fitLogistic({ x: base.x, y: base.y, weight }, { lambda: 1 });
    const keep = vectors.filter((_, r) => r !== positive);
    const removed = fitLogistic({ x: sparseRows(keep, base.x.columns), y: base.y.filter((_, r) => r !== positive) }, { lambda: 1 });
    expect(Math.max(...Array.from(zeroed.weights, (v, j) => Math.abs(v - removed.weights[j]!)))).toBeLessThan(1e-10);
  });
});

describe('choosing λ by validation log-loss', () => {
  /** Few rows, many columns, a weak signal in 2 of them: a case that needs strong regularisation. */
  function noisy(seed: number, rows: number) {
    const draw = mulberry32(seed);
    const columns = 80;
    const dense = Array.from({ length: rows }, () => Array.from({ length: columns }, () => draw() + draw() + draw() - 1.5));
    const y = Uint8Array.from(dense, (row) => (draw() < sigmoid(-0.5 + 0.4 * row[0]! - 0.4 * row[1]!) ? 1 : 0));
    return { x: denseToSparse(dense, columns), y };
  }

  test('80 columns of noise and 150 training rows: the strongest penalty, 30, wins', () => {
    const choice = chooseLambda(noisy(11, 150), noisy(12, 2_000));
    expect(choice.candidates.map((c) => c.lambda)).toEqual([0.3, 3, 30]);
    expect(choice.lambda).toBe(30);
    const losses = choice.candidates.map((c) => c.validationLogLoss);
    expect(losses[0]).toBeGreaterThan(losses[1]!);
    expect(losses[1]).toBeGreaterThan(losses[2]!);
    expect(choice.model.lambda).toBe(30);
  });

  test('a strong signal in few columns and few rows: the weakest penalty, 0.3, wins', () => {
    const strong = (seed: number, rows: number) => {
      const draw = mulberry32(seed);
      const dense = Array.from({ length: rows }, () => Array.from({ length: 3 }, () => draw() + draw() + draw() - 1.5));
      const y = Uint8Array.from(dense, (row) => (draw() < sigmoid(-0.5 + 4 * row[0]! - 4 * row[1]! + 3 * row[2]!) ? 1 : 0));
      return { x: denseToSparse(dense, 3), y };
    };
    const choice = chooseLambda(strong(31, 200), strong(32, 5_000));
    expect(choice.lambda).toBe(0.3);
    const losses = choice.candidates.map((c) => c.validationLogLoss);
    expect(losses[2]).toBeGreaterThan(Math.min(losses[0]!, losses[1]!) + 0.005);
    expect(choice.candidates.every((c) => c.converged)).toBe(true);
  });

  test('no candidate is an error', () => {
    const data = knownModel(23, 500);
    expect(() => chooseLambda(data, data, [])).toThrow(/no λ/);
  });
});

describe('degenerate inputs behave as documented', () => {
  const data = knownModel(4, 2_000);
  const withColumn = (value: number | undefined): SparseRows => {
    // Append column `columns` holding `value` in every row (or nothing when undefined).
    const vectors = Array.from({ length: data.x.rows }, (_, r) => {
      const indices = Array.from(data.x.indices.slice(data.x.rowStart[r], data.x.rowStart[r + 1]));
      const values = Array.from(data.x.values.slice(data.x.rowStart[r], data.x.rowStart[r + 1]));
      return value === undefined ? { indices, values } : { indices: [...indices, data.x.columns], values: [...values, value] };
    });
    return sparseRows(vectors, data.x.columns + 1);
  };
  const plain = fitLogistic(data, { lambda: 3 });
  const largestGap = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

  test('all negatives, all positives, a single example: a RangeError (both classes needed)', () => {
    expect(() => fitLogistic({ x: data.x, y: new Uint8Array(data.x.rows) }, { lambda: 3 })).toThrow(/label 0: a logistic model needs both classes/);
    expect(() => fitLogistic({ x: data.x, y: new Uint8Array(data.x.rows).fill(1) }, { lambda: 3 })).toThrow(/label 1/);
    expect(() => fitLogistic({ x: sparseRows([{ indices: [0], values: [1] }], 2), y: [1] }, { lambda: 3 })).toThrow(/both classes/);
    // Positives that carry no weight do not count.
    const weight = Float64Array.from(data.y, (label) => (label === 1 ? 0 : 1));
    expect(() => fitLogistic({ x: data.x, y: data.y, weight }, { lambda: 3 })).toThrow(/both classes/);
  });

  test('no rows, or no weight: a RangeError', () => {
    expect(() => fitLogistic({ x: sparseRows([], 3), y: [] }, { lambda: 3 })).toThrow(/no examples with a positive weight/);
    expect(() => fitLogistic({ x: data.x, y: data.y, weight: new Float64Array(data.x.rows) }, { lambda: 3 })).toThrow(/no examples with a positive weight/);
  });

  test('two examples, one of each class: a finite model', () => {
    const model = fitLogistic({ x: sparseRows([{ indices: [0], values: [1] }, { indices: [1], values: [1] }], 2), y: [1, 0] }, { lambda: 1 });
    expect(model.converged).toBe(true);
    expect(model.weights[0]!).toBeGreaterThan(model.weights[1]!);
    expect(Number.isFinite(model.intercept)).toBe(true);
  });

  test('a constant column (collinear with the intercept) gets weight 0 under λ > 0, and the predictions are unchanged', () => {
    const model = fitLogistic({ x: withColumn(2), y: data.y }, { lambda: 3 });
    expect(model.jitter).toBe(0);
    expect(Math.abs(model.weights[data.x.columns]!)).toBeLessThan(1e-9);
    expect(largestGap(predict(model, withColumn(2)), predict(plain, data.x))).toBeLessThan(1e-9);
  });

  test('with λ = 0 a constant column makes the Hessian singular: a ridge jitter is added and reported, and the fit is still right', () => {
    // The reference data have no one-hot block (whose columns sum to the intercept's), so without the constant column nothing is singular.
    const { dense, y } = referenceData();
    const columns = dense[0]!.length;
    const unpenalised = fitLogistic({ x: denseToSparse(dense, columns), y }, { lambda: 0 });
    const withConstant = denseToSparse(dense.map((row) => [...row, 1]), columns + 1);
    const model = fitLogistic({ x: withConstant, y }, { lambda: 0 });
    expect(unpenalised.jitter).toBe(0);
    expect(model.jitter).toBeGreaterThan(0);
    expect(model.converged).toBe(true);
    expect(largestGap(predict(model, withConstant), predict(unpenalised, denseToSparse(dense, columns)))).toBeLessThan(1e-6);
  });

  test('a full one-hot block is collinear with the intercept too: λ = 0 needs the jitter, λ > 0 does not', () => {
    expect(fitLogistic(data, { lambda: 0 }).jitter).toBeGreaterThan(0);
    expect(plain.jitter).toBe(0);
  });

  test('an empty column keeps its prior centre exactly', () => {
    const prior = new Float64Array(data.x.columns + 1);
    prior[data.x.columns] = 0.7;
    const model = fitLogistic({ x: withColumn(undefined), y: data.y }, { lambda: 3, prior });
    expect(model.weights[data.x.columns]).toBe(0.7);
    expect(largestGap(model.weights.subarray(0, data.x.columns), plain.weights)).toBeLessThan(1e-9);
  });

  test('a huge λ pins the weights to the prior centre; the intercept stays free', () => {
    const prior = Float64Array.from({ length: data.x.columns }, (_, j) => (j % 3) / 10);
    const model = fitLogistic(data, { lambda: 1e9, prior });
    expect(largestGap(model.weights, prior)).toBeLessThan(1e-5);
  });

  test('separable data without a penalty: the weights grow until the iteration cap, reported as not converged', () => {
    const rows = Array.from({ length: 40 }, (_, r) => ({ indices: [0], values: [r < 20 ? -1 - r / 20 : 1 + r / 20] }));
    const model = fitLogistic({ x: sparseRows(rows, 1), y: rows.map((_, r) => (r < 20 ? 0 : 1)) }, { lambda: 0 });
    expect(model.converged).toBe(false);
    expect(model.iterations).toBe(30);
    expect(model.weights[0]!).toBeGreaterThan(10);
    expect(Number.isFinite(model.objective)).toBe(true);
  });

  test('malformed rows, labels, weights and options throw a RangeError naming the problem', () => {
    const one = (indices: number[], values: number[], columns = 3) => ({ x: sparseRows([{ indices, values }], columns), y: [1] });
    expect(() => one([0], [Number.NaN])).toThrow(/value NaN is not finite/);
    expect(() => one([1, 0], [1, 1])).toThrow(/not strictly increasing/);
    expect(() => one([1, 1], [1, 1])).toThrow(/not strictly increasing/);
    expect(() => one([3], [1])).toThrow(/out of range/);
    expect(() => fitLogistic({ x: data.x, y: Uint8Array.from(data.y, (v, r) => (r === 5 ? 2 : v)) }, { lambda: 1 })).toThrow(/row 5: label 2/);
    expect(() => fitLogistic({ x: data.x, y: data.y, weight: Float64Array.from(data.y, (_, r) => (r === 7 ? -1 : 1)) }, { lambda: 1 })).toThrow(/row 7: weight -1/);
    expect(() => fitLogistic({ x: data.x, y: data.y, weight: Float64Array.from(data.y, (_, r) => (r === 7 ? Number.NaN : 1)) }, { lambda: 1 })).toThrow(/row 7: weight NaN/);
    expect(() => fitLogistic({ x: data.x, y: data.y.subarray(1) }, { lambda: 1 })).toThrow(/labels for/);
    expect(() => fitLogistic(data, { lambda: -1 })).toThrow(/lambda/);
    expect(() => fitLogistic(data, { lambda: Number.NaN })).toThrow(/lambda/);
    expect(() => fitLogistic(data, { lambda: 1, prior: [1] })).toThrow(/prior has 1 entries/);
    expect(() => fitLogistic(data, { lambda: 1, prior: new Float64Array(data.x.columns).fill(Number.NaN) })).toThrow(/prior\[0\]/);
  });
});

describe('predict', () => {
  const data = knownModel(6, 1_000);
  const model = fitLogistic(data, { lambda: 3 });

  test('predictOne agrees with predict row by row, and both are σ(b + x·β)', () => {
    const all = predict(model, data.x);
    for (let r = 0; r < 50; r++) {
      const indices = data.x.indices.slice(data.x.rowStart[r], data.x.rowStart[r + 1]);
      const values = data.x.values.slice(data.x.rowStart[r], data.x.rowStart[r + 1]);
      expect(predictOne(model, { indices, values })).toBe(all[r]);
      let eta = model.intercept;
      indices.forEach((j, k) => (eta += values[k]! * model.weights[j]!));
      expect(all[r]).toBeCloseTo(1 / (1 + Math.exp(-eta)), 14);
    }
  });

  test('sigmoid neither overflows nor loses the tails', () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(800)).toBe(1);
    expect(sigmoid(-800)).toBe(0);
    expect(sigmoid(-40)).toBeCloseTo(4.248354255291589e-18, 30);
  });

  test('rows of another width, or a bad vector, throw', () => {
    expect(() => predict(model, sparseRows([{ indices: [0], values: [1] }], 2))).toThrow(/columns/);
    expect(() => predictOne(model, { indices: [data.x.columns], values: [1] })).toThrow(/not valid/);
    expect(() => predictOne(model, { indices: [0], values: [Number.POSITIVE_INFINITY] })).toThrow(/not valid/);
  });
});
