import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  BTYD_THRESHOLDS,
  BtydDataError,
  bgNbdKey,
  bgNbdLogLikelihood,
  bgNbdRowsFromCounts,
  bgNbdTotalLogLikelihood,
  btydGate,
  btydScores,
  churn,
  expectedPurchases,
  expectedSpend,
  fitBgNbd,
  fitGammaGamma,
  gammaGammaLogLikelihood,
  gammaGammaRowOf,
  gammaGammaTotalLogLikelihood,
  hyp2f1,
  lbeta,
  lgamma,
  nelderMead,
  pAlive,
  type BgNbdParams,
  type BgNbdRow,
  type GammaGammaParams,
  type GammaGammaRow,
} from '../../shared/learning/btyd.ts';
import { aggregateRows, btydReferenceData, simulateCustomers } from '../helpers/btyd-simulate.ts';

/**
 * References: expected-btyd.json, written by test/fixtures/learning/btyd_reference.py with scipy
 * (gammaln, betaln, hyp2f1 cross-checked against mpmath; scipy.optimize Nelder–Mead then BFGS) from
 * btyd-data.json, which btyd-data.ts writes from the seeded simulator in test/helpers.
 */
const fixture = (name: string) => JSON.parse(readFileSync(path.join(import.meta.dirname, '../fixtures/learning', name), 'utf8'));
const data = fixture('btyd-data.json') as ReturnType<typeof btydReferenceData>;
const expected = fixture('expected-btyd.json') as {
  bgNbdFit: BgNbdParams & { logLikelihood: number };
  gammaGammaFit: GammaGammaParams & { logLikelihood: number };
  bgNbdParamSets: Record<string, [number, number, number, number]>;
  gammaGammaParamSets: Record<string, [number, number, number]>;
  bgNbdPoints: { params: string; x: number; tx: number; T: number; logLikelihood: number; pAlive: number; expectedPurchases: Record<string, number> }[];
  gammaGammaPoints: { params: string; x: number; meanSpend: number; logLikelihood: number; expectedSpend: number }[];
  lgamma: [number, number][];
  hyp2f1: [number, number, number, number, number][];
};
const bgRows = (): BgNbdRow[] => data.bgNbdRows.map(([x, tx, T, n]) => ({ x: x!, tx: tx!, T: T!, n: n! }));
const ggRows = (): GammaGammaRow[] => data.gammaGammaRows.map(([x, meanSpend]) => ({ x: x!, meanSpend: meanSpend! }));
const bgParams = (name: string): BgNbdParams => {
  const [r, alpha, a, b] = expected.bgNbdParamSets[name]!;
  return { r, alpha, a, b };
};
const ggParams = (name: string): GammaGammaParams => {
  const [p, q, v] = expected.gammaGammaParamSets[name]!;
  return { p, q, v };
};

/** |actual − expected| ≤ tolerance × max(1, |expected|): relative for large values, absolute near 0. */
function expectClose(actual: number, reference: number, tolerance: number, label = ''): void {
  expect(Math.abs(actual - reference), `${label}: ${actual} vs ${reference}`).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(reference)));
}
const relativeError = (actual: number, reference: number) => Math.abs(actual / reference - 1);

describe('special functions', () => {
  test('lgamma at integers is ln((n−1)!) and at halves ln(√π·(2n)!/(4ⁿ n!))', () => {
    let logFactorial = 0; // ln((n−1)!)
    for (let n = 1; n <= 170; n++) {
      if (n > 1) logFactorial += Math.log(n - 1);
      expectClose(lgamma(n), logFactorial, 2e-15, `lgamma(${n})`);
    }
    let logHalf = 0.5 * Math.log(Math.PI); // ln Γ(n + ½), Γ(n + 3/2) = (n + ½)·Γ(n + ½)
    for (let n = 0; n <= 100; n++) {
      expectClose(lgamma(n + 0.5), logHalf, 2e-15, `lgamma(${n + 0.5})`);
      logHalf += Math.log(n + 0.5);
    }
  });

  test('lgamma matches scipy.special.gammaln from 1e-6 to 1e5, through the reflection below ½', () => {
    for (const [x, reference] of expected.lgamma) expectClose(lgamma(x), reference, 2e-15, `lgamma(${x})`);
  });

  test('lgamma refuses x ≤ 0 and NaN instead of answering NaN; lbeta follows from it', () => {
    for (const bad of [0, -1, -0.5, Number.NaN]) expect(() => lgamma(bad)).toThrow(RangeError);
    expect(lgamma(Infinity)).toBe(Infinity);
    expectClose(lbeta(0.5, 0.5), Math.log(Math.PI), 1e-15);
    expectClose(lbeta(1, 7.5), -Math.log(7.5), 4e-15);
    expect(lbeta(2.5, 0.3)).toBe(lbeta(0.3, 2.5));
    expect(() => lbeta(1, 0)).toThrow(RangeError);
  });

  test('₂F₁ satisfies closed forms: −ln(1−z)/z, (1−z)^−a, arcsin, ln(1+z)/z, and terminates for a = −n', () => {
    for (const z of [0.01, 0.3, 0.7, 0.95, 0.999]) {
      expectClose(hyp2f1(1, 1, 2, z), -Math.log1p(-z) / z, 1e-14, `₂F₁(1,1;2;${z})`);
      expectClose(hyp2f1(2.7, 1.3, 1.3, z), Math.pow(1 - z, -2.7), 1e-13, `₂F₁(2.7,b;b;${z})`);
      expectClose(hyp2f1(0.5, 0.5, 1.5, z * z) / (Math.asin(z) / z), 1, 1e-14, `arcsin ${z}`);
      expectClose(hyp2f1(1, 1, 2, -z), Math.log1p(z) / z, 1e-14, `₂F₁(1,1;2;−${z})`);
    }
    expect(hyp2f1(0.3, 5, 2, 0)).toBe(1);
    // ₂F₁(−2, b; c; z) = 1 − 2bz/c + b(b+1)z²/(c(c+1)).
    expectClose(hyp2f1(-2, 3, 5, 0.4), 1 - (2 * 3 * 0.4) / 5 + (3 * 4 * 0.16) / 30, 1e-15);
  });

  test('₂F₁ matches scipy (and mpmath) where its terms grow first, past the Euler switch, and for z < 0', () => {
    for (const [a, b, c, z, reference] of expected.hyp2f1) expect(relativeError(hyp2f1(a, b, c, z), reference), `₂F₁(${a},${b};${c};${z})`).toBeLessThan(1e-12);
  });

  test('₂F₁ refuses what its series cannot do: z ≥ 1, c a non-positive integer, NaN, too slow a convergence', () => {
    expect(() => hyp2f1(1, 1, 2, 1)).toThrow(RangeError);
    expect(() => hyp2f1(1, 1, 0, 0.5)).toThrow(/non-positive integer/);
    expect(() => hyp2f1(1, Number.NaN, 2, 0.5)).toThrow(RangeError);
    expect(() => hyp2f1(0.3, 0.4, 2, 1 - 1e-9)).toThrow(/did not converge/);
  });
});

describe('nelderMead', () => {
  const rosenbrock = ([x, y]: number[]) => 100 * (y! - x! * x!) ** 2 + (1 - x!) ** 2;

  test('finds the Rosenbrock minimum, deterministically', () => {
    const first = nelderMead(rosenbrock, [-1.2, 1], { xTolerance: 1e-10, fTolerance: 1e-14 });
    expect(first.converged).toBe(true);
    expect(Math.abs(first.x[0]! - 1)).toBeLessThan(1e-6);
    expect(Math.abs(first.x[1]! - 1)).toBeLessThan(1e-6);
    expect(nelderMead(rosenbrock, [-1.2, 1], { xTolerance: 1e-10, fTolerance: 1e-14 })).toEqual(first);
  });

  test('backs away from NaN and ∞, and says when the budget ran out', () => {
    const walled = ([x]: number[]) => (x! < 0.5 ? Number.NaN : (x! - 0.7) ** 2);
    expect(Math.abs(nelderMead(walled, [2])['x'][0]! - 0.7)).toBeLessThan(1e-6);
    const short = nelderMead(rosenbrock, [-1.2, 1], { maxIterations: 10 });
    expect(short.converged).toBe(false);
    expect(short.iterations).toBe(10);
  });
});

describe('BG/NBD against the scipy reference', () => {
  test('the committed data is what the seeded simulator produces', () => {
    expect(btydReferenceData()).toEqual(data);
  });

  test('log-likelihood at scipy’s parameters: the total within 1e-9 relative, each point within 1e-9', () => {
    const total = bgNbdTotalLogLikelihood(expected.bgNbdFit, bgRows());
    expect(Math.abs(total - expected.bgNbdFit.logLikelihood)).toBeLessThanOrEqual(1e-9 * Math.abs(expected.bgNbdFit.logLikelihood));
    for (const point of expected.bgNbdPoints) {
      expectClose(bgNbdLogLikelihood(bgParams(point.params), point.x, point.tx, point.T), point.logLikelihood, 1e-9, `ln L ${JSON.stringify(point)}`);
    }
  });

  test('P(alive) and E[Y(t) | x, tₓ, T] within 1e-9 of the papers’ formulas, for a < 1 and a > 1', () => {
    expect(expected.bgNbdParamSets['aBelowOne']![2]).toBeLessThan(1);
    expect(expected.bgNbdParamSets['aAboveOne']![2]).toBeGreaterThan(1);
    for (const point of expected.bgNbdPoints) {
      const params = bgParams(point.params);
      expectClose(pAlive(params, point.x, point.tx, point.T), point.pAlive, 1e-9, `P(alive) ${JSON.stringify(point)}`);
      expectClose(churn(params, point.x, point.tx, point.T), 1 - point.pAlive, 1e-9, `churn ${JSON.stringify(point)}`);
      for (const [t, value] of Object.entries(point.expectedPurchases)) {
        expectClose(expectedPurchases(params, Number(t), point.x, point.tx, point.T), value, 1e-9, `E[Y(${t})] ${JSON.stringify(point)}`);
      }
    }
  });

  test('the fit matches scipy’s parameters within 1 % and reaches its log-likelihood', () => {
    const fit = fitBgNbd(bgRows());
    expect(fit.converged).toBe(true);
    expect(fitBgNbd(bgRows())).toEqual(fit); // the same rows give bitwise the same model
    for (const name of ['r', 'alpha', 'a', 'b'] as const) expect(relativeError(fit[name], expected.bgNbdFit[name]), name).toBeLessThan(0.01);
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(expected.bgNbdFit.logLikelihood - 1e-6);
    expectClose(fit.logLikelihood, bgNbdTotalLogLikelihood(fit, bgRows()), 1e-12);
  });
});

describe('Gamma–Gamma against the scipy reference', () => {
  test('log-likelihood and expected spend at given points within 1e-9; the total within 1e-9 relative', () => {
    for (const point of expected.gammaGammaPoints) {
      const params = ggParams(point.params);
      expectClose(gammaGammaLogLikelihood(params, point.x, point.meanSpend), point.logLikelihood, 1e-9, `ln f ${JSON.stringify(point)}`);
      expectClose(expectedSpend(params, point.x, point.meanSpend), point.expectedSpend, 1e-9, `E[spend] ${JSON.stringify(point)}`);
    }
    const total = gammaGammaTotalLogLikelihood(expected.gammaGammaFit, ggRows());
    expect(Math.abs(total - expected.gammaGammaFit.logLikelihood)).toBeLessThanOrEqual(1e-9 * Math.abs(expected.gammaGammaFit.logLikelihood));
  });

  test('the fit matches scipy’s parameters within 1 %', () => {
    const fit = fitGammaGamma(ggRows());
    expect(fit.converged).toBe(true);
    for (const name of ['p', 'q', 'v'] as const) expect(relativeError(fit[name], expected.gammaGammaFit[name]), name).toBeLessThan(0.01);
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(expected.gammaGammaFit.logLikelihood - 1e-6);
  });
});

describe('parameter recovery from simulated customers', () => {
  // 20,000 customers over 180 days, tₓ in fractional days. At 5,000 customers the sampling spread
  // of a, b and v is itself ≈ 10–15 % (measured over seeds), so a 10 % test there would test luck.
  const truth = { bgNbd: { r: 0.25, alpha: 4, a: 0.8, b: 2.5 }, gammaGamma: { p: 6, q: 4, v: 15 } };
  const customers = simulateCustomers(2026, 20_000, truth.bgNbd, truth.gammaGamma, { wholeDays: false });

  test('BG/NBD recovers r, α, a, b within 10 %', () => {
    const fit = fitBgNbd(aggregateRows(customers));
    for (const name of ['r', 'alpha', 'a', 'b'] as const) expect(relativeError(fit[name], truth.bgNbd[name]), name).toBeLessThan(0.1);
  });

  test('Gamma–Gamma recovers p, q, v within 10 % from (x + 1 conversions, mean spend)', () => {
    const rows = customers.map((c) => gammaGammaRowOf({ x: c.x, tx: c.tx, T: c.T, meanSpend: c.spends.reduce((s, v) => s + v, 0) / c.spends.length }));
    expect(rows.map((row) => row.x)).toEqual(customers.map((c) => Math.min(c.x, 50) + 1));
    const fit = fitGammaGamma(rows);
    for (const name of ['p', 'q', 'v'] as const) expect(relativeError(fit[name], truth.gammaGamma[name]), name).toBeLessThan(0.1);
  });
});

describe('the scores against the generative story (Monte Carlo, true parameters)', () => {
  // By the law of total expectation, the mean of P(alive | x, tₓ, T) over customers equals the
  // share still alive at T, and the mean of E[Y(90) | x, tₓ, T] the mean conversions in the next 90
  // days; both hold within any group chosen by (x, tₓ, T). Checked to 4 standard errors (measured:
  // |z| ≤ 1.7). A check of meaning, coarse by nature (it misses a 10 % error in the horizon); the
  // precision checks are the scipy references above.
  const truth = { r: 0.25, alpha: 4, a: 0.8, b: 2.5 };
  const customers = simulateCustomers(4242, 20_000, truth, { p: 6, q: 4, v: 15 }, { wholeDays: false, horizonDays: 90 });

  function expectMatches(group: typeof customers, predicted: (c: (typeof customers)[number]) => number, observed: (c: (typeof customers)[number]) => number) {
    const residuals = group.map((c) => observed(c) - predicted(c));
    const mean = residuals.reduce((s, v) => s + v, 0) / residuals.length;
    const sd = Math.sqrt(residuals.reduce((s, v) => s + (v - mean) ** 2, 0) / (residuals.length - 1));
    expect(Math.abs(mean)).toBeLessThan((4 * sd) / Math.sqrt(residuals.length));
  }

  test('P(alive) matches the share alive, overall and among frequent buyers who went quiet', () => {
    expect(customers.some((c) => c.alive === false)).toBe(true);
    const alive = (c: (typeof customers)[number]) => (c.alive ? 1 : 0);
    expectMatches(customers, (c) => pAlive(truth, c.x, c.tx, c.T), alive);
    const quiet = customers.filter((c) => c.x >= 3 && c.T - c.tx >= 60);
    expect(quiet.length).toBeGreaterThan(300);
    expectMatches(quiet, (c) => pAlive(truth, c.x, c.tx, c.T), alive);
  });

  test('E[Y(90) | x, tₓ, T] matches the conversions of the next 90 days, overall and among repeat buyers', () => {
    const future = (c: (typeof customers)[number]) => c.futureConversions!;
    expectMatches(customers, (c) => expectedPurchases(truth, 90, c.x, c.tx, c.T), future);
    expectMatches(customers.filter((c) => c.x >= 5), (c) => expectedPurchases(truth, 90, c.x, c.tx, c.T), future);
  });
});

describe('behaviour of the scores', () => {
  const params: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };

  test('CDNOW sanity: a frequent buyer’s P(alive) falls as the last conversion ages; a one-time buyer stays alive', () => {
    let previous = Infinity;
    for (let tx = 180; tx >= 0; tx -= 10) {
      const p = pAlive(params, 12, tx, 180);
      expect(p).toBeLessThan(previous);
      previous = p;
    }
    expect(pAlive(params, 12, 180, 180)).toBeGreaterThan(0.9);
    expect(pAlive(params, 12, 30, 180)).toBeLessThan(0.01);
    // Same silence, lower frequency: less evidence of leaving.
    expect(pAlive(params, 2, 30, 180)).toBeGreaterThan(pAlive(params, 12, 30, 180));
    expect(pAlive(params, 0, 0, 180)).toBe(1);
  });

  test('E[Y(t)] grows with the horizon, is 0 at t = 0, and is continuous through a = 1 (where the formula is 0/0)', () => {
    expect(expectedPurchases(params, 0, 3, 50, 100)).toBe(0);
    let previous = 0;
    for (const t of [1, 7, 30, 90, 365, 3650]) {
      const value = expectedPurchases(params, t, 3, 50, 100);
      expect(value).toBeGreaterThan(previous);
      previous = value;
    }
    const near = (a: number) => expectedPurchases({ ...params, a }, 90, 3, 50, 100);
    expect(Number.isFinite(near(1))).toBe(true);
    expect(Math.abs(near(1) - near(1 + 1e-4))).toBeLessThan(1e-4 * near(1));
    expect(Math.abs(near(1) - near(1 - 1e-4))).toBeLessThan(1e-4 * near(1));
    // The value at a = 1 is the midpoint of its neighbours to second order, and the interpolation band's edges do not jump.
    expect(Math.abs(near(1) - (near(1 - 1e-3) + near(1 + 1e-3)) / 2)).toBeLessThan(1e-6 * near(1));
    for (const edge of [1 - 1e-5, 1 + 1e-5]) expect(Math.abs(near(edge * (1 - 1e-12)) - near(edge * (1 + 1e-12)))).toBeLessThan(1e-9);
  });

  test('btydScores: churn = 1 − P(alive), value = E[conversions in 90 d] × E[spend]; x is clipped at 50', () => {
    const gg: GammaGammaParams = { p: 6.25, q: 3.74, v: 15.44 };
    const customer = { x: 4, tx: 120, T: 170, meanSpend: 42 };
    const scores = btydScores(params, gg, customer);
    expect(scores.churn).toBeCloseTo(1 - pAlive(params, 4, 120, 170), 15);
    expect(scores.expectedPurchases90d).toBe(expectedPurchases(params, 90, 4, 120, 170));
    expect(scores.expectedSpend).toBe(expectedSpend(gg, 5, 42));
    expect(scores.expectedValue90d).toBe(scores.expectedPurchases90d * scores.expectedSpend);
    expect(btydScores(params, gg, { ...customer, x: 80 })).toEqual(btydScores(params, gg, { ...customer, x: 50 }));
  });

  test('expected spend shrinks a customer’s own mean towards the population mean, less so with more conversions', () => {
    const gg: GammaGammaParams = { p: 6.25, q: 3.74, v: 15.44 };
    const population = (gg.p * gg.v) / (gg.q - 1);
    const one = expectedSpend(gg, 1, 200);
    const ten = expectedSpend(gg, 10, 200);
    expect(one).toBeGreaterThan(population);
    expect(one).toBeLessThan(ten);
    expect(ten).toBeLessThan(200);
    expect(() => expectedSpend({ p: 0.1, q: 0.5, v: 1 }, 1, 10)).toThrow(/infinite/);
  });
});

describe('the gate', () => {
  const rows = (buyers: number, repeatBuyers: number): BgNbdRow[] => [
    { x: 0, tx: 0, T: 90, n: buyers - repeatBuyers },
    { x: 2, tx: 40, T: 90, n: repeatBuyers },
  ].filter((row) => row.n > 0);

  test('active from 500 buyers with 100 repeat buyers, with the counts', () => {
    expect(btydGate(rows(500, 100))).toEqual({
      status: 'active',
      reason: '500 buyers, 100 of them repeat buyers',
      counts: { buyers: 500, repeatBuyers: 100, minBuyers: 500, minRepeatBuyers: 100 },
    });
  });

  test('insufficient_history below either threshold, naming what is short', () => {
    expect(btydGate(rows(499, 200))).toMatchObject({ status: 'insufficient_history', reason: 'too little history: 499 buyers (need 500)' });
    expect(btydGate(rows(5000, 99))).toMatchObject({ status: 'insufficient_history', reason: 'too little history: 99 repeat buyers (need 100)' });
    expect(btydGate([]).reason).toBe('too little history: 0 buyers (need 500), 0 repeat buyers (need 100)');
    expect(btydGate(rows(50, 10), { minBuyers: 50, minRepeatBuyers: 10 }).status).toBe('active');
    expect(BTYD_THRESHOLDS).toEqual({ minBuyers: 500, minRepeatBuyers: 100 });
  });
});

describe('degenerate and invalid inputs', () => {
  test('nobody repeats: no BG/NBD fit (the likelihood has no maximum), and the gate says insufficient_history', () => {
    const rows: BgNbdRow[] = [{ x: 0, tx: 0, T: 30, n: 400 }, { x: 0, tx: 0, T: 170, n: 600 }];
    expect(() => fitBgNbd(rows)).toThrow(BtydDataError);
    expect(() => fitBgNbd(rows)).toThrow(/no customer converts again/);
    expect(btydGate(rows).status).toBe('insufficient_history');
    expect(() => fitBgNbd([])).toThrow(BtydDataError);
  });

  test('one customer: the maximum runs off to a boundary, so the fits throw BtydDataError instead of returning it', () => {
    expect(() => fitBgNbd([{ x: 3, tx: 20, T: 100, n: 1 }])).toThrow(/do not identify the model/);
    expect(() => fitGammaGamma([{ x: 3, meanSpend: 20 }])).toThrow(/do not identify the model/);
    expect(() => fitGammaGamma([])).toThrow(BtydDataError);
    expect(btydGate([{ x: 3, tx: 20, T: 100, n: 1 }]).status).toBe('insufficient_history');
  });

  test('NaN, negative or inconsistent summaries and parameters are refused with a RangeError, never a silent NaN', () => {
    const params: BgNbdParams = { r: 0.25, alpha: 4, a: 0.8, b: 2.5 };
    expect(() => pAlive(params, Number.NaN, 0, 10)).toThrow(RangeError);
    expect(() => pAlive(params, 2, 20, 10)).toThrow(/tx ≤ T/);
    expect(() => pAlive(params, 0, 5, 10)).toThrow(/tx = 0/);
    expect(() => pAlive(params, 1.5, 5, 10)).toThrow(/whole number/);
    expect(() => expectedPurchases(params, Number.NaN, 1, 5, 10)).toThrow(/horizon/);
    expect(() => expectedPurchases({ ...params, alpha: Number.NaN }, 90, 1, 5, 10)).toThrow(/alpha/);
    expect(() => fitBgNbd([{ x: 1, tx: 5, T: 10, n: 0 }])).toThrow(/count n/);
    expect(() => fitGammaGamma([{ x: 2, meanSpend: 0 }])).toThrow(/leave out customers without revenue/);
    expect(() => fitGammaGamma([{ x: 0, meanSpend: 10 }])).toThrow(/≥ 1/);
    expect(() => gammaGammaLogLikelihood({ p: 1, q: -1, v: 1 }, 1, 10)).toThrow(/q must be positive/);
  });
});

describe('aggregation keys', () => {
  test('x is clipped at 50 in the key, and counts read back as rows in key order', () => {
    expect(bgNbdKey(73, 150, 170)).toBe('50|150|170');
    const counts = new Map<string, number>();
    for (const [x, tx, T] of [[0, 0, 10], [73, 150, 170], [51, 150, 170], [2, 3.5, 10]] as const) {
      const key = bgNbdKey(x, tx, T);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(bgNbdRowsFromCounts(counts)).toEqual([
      { x: 0, tx: 0, T: 10, n: 1 },
      { x: 2, tx: 3.5, T: 10, n: 1 },
      { x: 50, tx: 150, T: 170, n: 2 },
    ]);
  });
});
