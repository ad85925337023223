import { describe, expect, test } from 'vitest';
import { liftReport, normalCdf, rateLift, normalQuantile, studentTCdf, studentTQuantile, type GroupStats, type LiftReport } from '../../shared/attribution/lift.ts';

/**
 * Reference values: mpmath at 40 digits (ncdf, erfinv, betainc — P(T ≤ t) = 1 − ½·I_{ν/(ν+t²)}(ν/2, ½)
 * for t > 0), cross-checked against scipy.stats where it has the function; rounded to 17 digits.
 */

/** |actual − expected| ≤ tolerance × |expected|. */
function expectRelative(actual: number, expected: number, tolerance: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance * Math.abs(expected));
}

describe('normalCdf', () => {
  test('textbook values', () => {
    expect(normalCdf(0)).toBe(0.5);
    expectRelative(normalCdf(1.96), 0.9750021048517795, 2e-16);
    expectRelative(normalCdf(-1), 0.15865525393145705, 1e-15);
    expectRelative(normalCdf(3.5), 0.9997673709209645, 1e-15);
  });

  test('the lower tail keeps its relative precision far out (no 1 − Φ cancellation)', () => {
    expectRelative(normalCdf(-5), 2.866515718791939e-7, 1e-14);
    expectRelative(normalCdf(-10), 7.619853024160525e-24, 1e-14);
    expectRelative(normalCdf(-37), 5.725571222524577e-300, 1e-13);
    expect(normalCdf(-50)).toBe(0);
    expect(normalCdf(50)).toBe(1);
  });

  test('symmetry Φ(−z) + Φ(z) = 1 and monotonicity across the approximation regions', () => {
    let previous = 0;
    for (let z = -8; z <= 8; z += 0.01) {
      expect(Math.abs(normalCdf(-z) + normalCdf(z) - 1)).toBeLessThan(2e-16);
      const p = normalCdf(z);
      expect(p).toBeGreaterThanOrEqual(previous);
      previous = p;
    }
    expect(normalCdf(Number.NaN)).toBeNaN();
  });
});

describe('normalQuantile', () => {
  test('textbook values', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 15);
    expect(normalQuantile(0.5)).toBe(0);
    expectRelative(normalQuantile(0.001), -3.0902323061678136, 1e-15);
    expectRelative(normalQuantile(1e-10), -6.361340902404057, 1e-15);
    expectRelative(normalQuantile(0.8), 0.8416212335729144, 1e-15);
    expectRelative(normalQuantile(0.999999), 4.753424308817087, 1e-15); // solved as −Φ⁻¹(1 − p), 1 − p exact
  });

  test('inverts normalCdf to within an ulp or two of z across (0, 1), tails included', () => {
    for (const p of [1e-300, 1e-50, 1e-12, 1e-5, 0.01, 0.02425, 0.0243, 0.1, 0.3, 0.49, 0.51, 0.7, 0.97575, 0.99]) {
      const z = normalQuantile(p);
      // dp/p = z·dz·(1 + o(1)) in the tail: an ulp of z is worth about z² ulps of p there.
      expectRelative(normalCdf(z), p, 4e-16 * Math.max(4, z * z));
    }
  });

  test('edges: ±Infinity at 0 and 1, NaN outside [0, 1]', () => {
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(normalQuantile(-0.1)).toBeNaN();
    expect(normalQuantile(1.1)).toBeNaN();
    expect(normalQuantile(Number.NaN)).toBeNaN();
  });
});

describe('studentTCdf', () => {
  test('closed forms: ν = 1 (Cauchy) F = ½ + atan(t)/π; ν = 2: F = ½ + t / (2√(t² + 2))', () => {
    // Lower tails written without the cancelling ½ − …: for t < 0, ½ + atan(t)/π = atan(1/|t|)/π and
    // ½ + t/(2√(t²+2)) = 1 / (√(t²+2)·(√(t²+2) + |t|)).
    for (const t of [-30, -2.5, -0.3]) {
      const r = Math.sqrt(t * t + 2);
      expectRelative(studentTCdf(t, 1), Math.atan(-1 / t) / Math.PI, 1e-14);
      expectRelative(studentTCdf(t, 2), 1 / (r * (r - t)), 1e-14);
    }
    for (const t of [0, 0.7, 4, 100]) {
      expectRelative(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-15);
      expectRelative(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(t * t + 2)), 1e-15);
    }
  });

  test('reference values (mpmath betainc; scipy.stats.t.cdf agrees)', () => {
    expectRelative(studentTCdf(2, 5), 0.9490302605850708, 1e-15);
    expectRelative(studentTCdf(-1.5, 12.5), 0.07922129349482493, 1e-14);
    expectRelative(studentTCdf(3, 30), 0.9973050179671741, 1e-15);
    expectRelative(studentTCdf(0.5, 0.5), 0.6213409635352817, 1e-15); // ν < 1
    expectRelative(studentTCdf(-4, 3), 0.014004228005073083, 1e-14);
    expectRelative(studentTCdf(-8, 20), 5.828314135744261e-8, 1e-13); // deep tail, full relative precision
    expectRelative(studentTCdf(2.5, 1e6), 0.9937902552489184, 1e-15); // large ν: Fisher's expansion
    expect(studentTCdf(0, 7)).toBe(0.5);
  });

  test('approaches the normal as ν grows, and handles ν = Infinity, huge |t| and invalid ν', () => {
    expect(studentTCdf(1.96, Infinity)).toBe(normalCdf(1.96));
    // F_ν(t) − Φ(t) ≈ −φ(t)(t³ + t)/(4ν) (heavier tails): +1.35e-13 at t = −2, ν = 10¹²; 1.35e-17 at 10¹⁶.
    expectRelative(studentTCdf(-2, 1e12) - normalCdf(-2), 0.05399096651318806 * (10 / 4) * 1e-12, 1e-3);
    expect(Math.abs(studentTCdf(-2, 1e16) - normalCdf(-2))).toBeLessThan(1e-16);
    expect(studentTCdf(1e200, 3)).toBe(1);
    expect(studentTCdf(-Infinity, 3)).toBe(0);
    expect(studentTCdf(1, 0)).toBeNaN();
    expect(studentTCdf(1, -2)).toBeNaN();
    expect(studentTCdf(Number.NaN, 2)).toBeNaN();
  });
});

describe('studentTQuantile', () => {
  test('textbook critical values', () => {
    // (The brief quoted 2.2281388519649385 for ν = 10; the correct value, by mpmath and scipy, is
    // 2.2281388519862742 — they differ from the 11th digit on.)
    expectRelative(studentTQuantile(0.975, 10), 2.2281388519862744, 1e-15);
    expectRelative(studentTQuantile(0.975, 1), 12.706204736174694, 1e-15); // tan(0.475π)
    expectRelative(studentTQuantile(0.975, 30), 2.0422724563012378, 1e-15);
    expectRelative(studentTQuantile(0.995, 4.5), 4.272823993011292, 1e-14);
    expectRelative(studentTQuantile(0.05, 7.3), -1.8829300179564317, 1e-14);
    expectRelative(studentTQuantile(0.975, 1e5), 1.9599877075346093, 1e-15);
  });

  test('ν < 1: heavy tails, quantiles far out', () => {
    expectRelative(studentTQuantile(0.9, 0.5), 10.27032441023451, 1e-14);
    expectRelative(studentTCdf(studentTQuantile(0.999, 0.2), 0.2), 0.999, 1e-14);
  });

  test('inverts studentTCdf', () => {
    for (const df of [0.7, 1, 2, 3, 7.5, 29, 250, 5000, 2e6]) {
      for (const p of [1e-8, 0.001, 0.025, 0.2, 0.5, 0.6, 0.975, 0.9999]) {
        const t = studentTQuantile(p, df);
        // Compare in the smaller tail, where p carries its full precision.
        if (p <= 0.5) expectRelative(studentTCdf(t, df), p, 1e-13);
        else expectRelative(studentTCdf(-t, df), 1 - p, 1e-12);
      }
    }
  });

  test('edges', () => {
    expect(studentTQuantile(0, 5)).toBe(-Infinity);
    expect(studentTQuantile(1, 5)).toBe(Infinity);
    expect(studentTQuantile(0.5, 5)).toBe(0);
    expect(studentTQuantile(0.975, Infinity)).toBe(-normalQuantile(0.025000000000000022));
    expect(studentTQuantile(1.5, 5)).toBeNaN();
    expect(studentTQuantile(0.9, 0)).toBeNaN();
  });
});

const group = (members: number, converters: number, revenue = 0, revenueSquares = 0): GroupStats => ({ members, converters, revenue, revenueSquares });

/** Σx and Σx² of n values with mean m and sample standard deviation s: Σx² = (n−1)s² + n·m². */
const fromMoments = (n: number, converters: number, mean: number, sd: number): GroupStats => group(n, converters, n * mean, (n - 1) * sd * sd + n * mean * mean);

describe('liftReport: conversion rate (two proportions)', () => {
  test('worked example: 120/1000 vs 90/1000', () => {
    // pT = 0.12, pH = 0.09, d = 0.03.
    // Unpooled SE = √(0.12·0.88/1000 + 0.09·0.91/1000) = √(0.0001056 + 0.0000819) = √0.0001875
    //            = 0.013693063937629153; z₀.₉₇₅ = 1.9599639845400542
    // CI = 0.03 ± 0.026837912155757358 = [0.0031620878442426398, 0.056837912155757358].
    // Pooled p̄ = 210/2000 = 0.105; SE₀ = √(0.105·0.895·2/1000) = √0.00018795 = 0.013709485767161364;
    // z = 0.03/SE₀ = 2.1882658846227236; p = 2Φ(−z) = 0.028650240398448451.
    // Relative: 0.12/0.09 − 1 = 1/3; SE(ln ratio) = √(0.88/120 + 0.91/90) = √0.017444… = 0.13207741837439300;
    // CI = exp(ln(4/3) ± 1.9599639845400542·0.132077…) − 1 = [0.029234260416685806, 0.72728196694311740].
    const report = liftReport(group(1000, 120), group(1000, 90));
    expect(report.treatment.rate).toBe(0.12);
    expect(report.holdout.rate).toBe(0.09);
    const { absolute, relative, pValue } = report.conversionRate;
    expect(absolute.estimate).toBeCloseTo(0.03, 15);
    expectRelative(absolute.low, 0.00316208784424264, 1e-12);
    expectRelative(absolute.high, 0.056837912155757356, 1e-14);
    expectRelative(pValue!, 0.028650240398448452, 1e-13);
    expectRelative(relative!.estimate, 1 / 3, 1e-14);
    expectRelative(relative!.low, 0.029234260416685805, 1e-12);
    expectRelative(relative!.high, 0.7272819669431174, 1e-14);
  });

  test('another confidence level: 90 % uses z = 1.6448536269514727', () => {
    const report = liftReport(group(1000, 120), group(1000, 90), 0.9);
    expectRelative(report.conversionRate.absolute.high, 0.03 + 1.6448536269514726 * 0.013693063937629153, 1e-14);
    // The p-value does not depend on the confidence level.
    expectRelative(report.conversionRate.pValue!, 0.028650240398448452, 1e-13);
  });

  test('no difference → estimate 0, p = 1; relative 0 with a symmetric log interval', () => {
    const report = liftReport(group(500, 50), group(500, 50));
    expect(report.conversionRate.absolute.estimate).toBe(0);
    expect(report.conversionRate.pValue).toBe(1);
    expect(report.conversionRate.relative!.estimate).toBe(0);
    const { low, high } = report.conversionRate.relative!;
    expect(Math.log1p(low) + Math.log1p(high)).toBeCloseTo(0, 14);
  });

  test('zero variance: 0 % vs 0 % → degenerate interval at 0, p = 1, relative null (holdout rate 0)', () => {
    const { conversionRate } = liftReport(group(100, 0), group(100, 0));
    expect(conversionRate).toEqual({ absolute: { estimate: 0, low: 0, high: 0 }, relative: null, pValue: 1 });
    expect(liftReport(group(100, 100), group(50, 50)).conversionRate).toEqual({
      absolute: { estimate: 0, low: 0, high: 0 },
      relative: { estimate: 0, low: 0, high: 0 },
      pValue: 1,
    });
  });

  test('everyone vs no one (n = 10 each): Wald CI collapses, the pooled test does not; relative null', () => {
    // p̄ = 0.5, SE₀ = √(0.25·0.2) = 0.2236…, z = 4.4721…, p = 2Φ(−4.4721) = 7.744216431044088e-6.
    const { conversionRate } = liftReport(group(10, 10), group(10, 0));
    expect(conversionRate.absolute).toEqual({ estimate: 1, low: 1, high: 1 });
    expectRelative(conversionRate.pValue!, 7.744216431044088e-6, 1e-12);
    expect(conversionRate.relative).toBeNull();
  });

  test('treatment rate 0 with a positive holdout rate: relative is null (no log ratio)', () => {
    const { conversionRate } = liftReport(group(100, 0), group(100, 5));
    expect(conversionRate.absolute.estimate).toBeCloseTo(-0.05, 15);
    expect(conversionRate.relative).toBeNull();
    expect(conversionRate.pValue).toBeGreaterThan(0);
  });
});

describe('liftReport: revenue per member (Welch)', () => {
  test('worked example: n 50, mean 12, sd 6 vs n 30, mean 9, sd 4', () => {
    // vT = 36/50 = 0.72, vH = 16/30 = 0.5333…, SE = √(94/75) = 1.1195237082497777.
    // Welch–Satterthwaite ν = (94/75)² / ((0.72)²/49 + (8/15)²/29) = 3138989/40741 = 77.047421516408531.
    // t = 3 / SE = 2.6797110037893615; t₀.₉₇₅,ν = 1.9912348368261313;
    // CI = 3 ± 1.99123…·1.11952… = [0.77076539148026856, 5.2292346085197314];
    // p = I_{ν/(ν+t²)}(ν/2, ½) = 0.0090062733851713886 (scipy ttest_ind_from_stats, equal_var=False: 0.009006273385171385).
    // Relative: 12/9 − 1 = 1/3; log-ratio variance components a = 0.72/144 = 0.005, b = (8/15)/81;
    // their Satterthwaite ν = 66.925935149385121, t₀.₉₇₅ = 1.9960489589105857;
    // CI = exp(ln(4/3) ± 1.99605·√(a + b)) − 1 = [0.075564861608913773, 0.65287826074797496].
    const report = liftReport(fromMoments(50, 10, 12, 6), fromMoments(30, 3, 9, 4));
    expect(report.treatment.revenuePerMember).toBe(12);
    expect(report.holdout.revenuePerMember).toBe(9);
    const { absolute, relative, pValue } = report.revenuePerMember;
    expect(absolute.estimate).toBe(3);
    expectRelative(absolute.low, 0.7707653914802686, 1e-13);
    expectRelative(absolute.high, 5.2292346085197314, 1e-14);
    expectRelative(pValue!, 0.009006273385171388, 1e-12);
    expectRelative(relative!.estimate, 1 / 3, 1e-14);
    expectRelative(relative!.low, 0.07556486160891378, 1e-12);
    expectRelative(relative!.high, 0.652878260747975, 1e-13);
  });

  test('the Welch t quantile (not z) sets the width: with tiny groups the interval is much wider', () => {
    // n = 3 and 3, equal variances 1 → SE = √(2/3), ν = 4 (both groups' 2 df, equal weights), t₀.₉₇₅,₄ = 2.7764451051977934 (scipy).
    const report = liftReport(fromMoments(3, 1, 2, 1), fromMoments(3, 1, 1, 1));
    const half = report.revenuePerMember.absolute.high - 1;
    expectRelative(half, 2.7764451051977934 * Math.sqrt(2 / 3), 1e-14);
  });

  test('zero variance: identical constant groups → p = 1; different constants → p = 0; intervals degenerate', () => {
    const same = liftReport(group(10, 0, 50, 250), group(20, 0, 100, 500)).revenuePerMember; // everyone 5
    expect(same).toEqual({ absolute: { estimate: 0, low: 0, high: 0 }, relative: { estimate: 0, low: 0, high: 0 }, pValue: 1 });
    const differ = liftReport(group(10, 10, 50, 250), group(10, 0, 0, 0)).revenuePerMember; // 5 each vs 0 each
    expect(differ).toEqual({ absolute: { estimate: 5, low: 5, high: 5 }, relative: null, pValue: 0 });
    const none = liftReport(group(10, 0), group(10, 0)).revenuePerMember;
    expect(none).toEqual({ absolute: { estimate: 0, low: 0, high: 0 }, relative: null, pValue: 1 });
  });

  test('one member in a group: the estimate is reported but untested (no sample variance)', () => {
    const { revenuePerMember } = liftReport(group(1, 1, 30, 900), group(10, 2, 40, 800));
    expect(revenuePerMember).toEqual({ absolute: { estimate: 26, low: 26, high: 26 }, relative: null, pValue: null });
  });

  test('negative holdout mean (refunds): relative is null, the absolute comparison still works', () => {
    const report = liftReport(fromMoments(40, 5, 2, 3), fromMoments(40, 5, -1, 3));
    expect(report.revenuePerMember.relative).toBeNull();
    expect(report.revenuePerMember.pValue).toBeGreaterThan(0);
    expect(report.revenuePerMember.pValue).toBeLessThan(1);
  });
});

describe('liftReport: empty groups, invalid input, no NaN', () => {
  test('an empty group: rates 0, every estimate 0, intervals degenerate, relative and pValue null', () => {
    const untested = { absolute: { estimate: 0, low: 0, high: 0 }, relative: null, pValue: null };
    const noHoldout = liftReport(group(100, 10, 500, 5000), group(0, 0));
    expect(noHoldout).toEqual({
      treatment: { rate: 0.1, revenuePerMember: 5 },
      holdout: { rate: 0, revenuePerMember: 0 },
      conversionRate: untested,
      revenuePerMember: untested,
    });
    expect(liftReport(group(0, 0), group(0, 0)).conversionRate).toEqual(untested);
  });

  test('invalid statistics or confidence throw RangeError', () => {
    expect(() => liftReport(group(10, 11), group(10, 1))).toThrow(RangeError);
    expect(() => liftReport(group(-1, 0), group(10, 1))).toThrow(RangeError);
    expect(() => liftReport(group(10, 1, Number.NaN), group(10, 1))).toThrow(RangeError);
    expect(() => liftReport(group(10, 1, 1, -1), group(10, 1))).toThrow(RangeError);
    expect(() => liftReport(group(10, 1), group(10, 1), 1)).toThrow(RangeError);
    expect(() => liftReport(group(10, 1), group(10, 1), 0)).toThrow(RangeError);
  });

  test('no NaN or Infinity anywhere over a grid of small and degenerate groups', () => {
    const groups: GroupStats[] = [];
    for (const n of [0, 1, 2, 3, 10]) {
      for (const x of [0, 1, n]) {
        if (x > n) continue;
        groups.push(group(n, x, x * 7, x * 49)); // converters spend 7 each
        groups.push(group(n, x, x * 7, x * 49 + 3)); // plus some spread
      }
    }
    const finite = (report: LiftReport): boolean => {
      const numbers: number[] = [];
      JSON.stringify(report, (_key, value: unknown) => {
        if (typeof value === 'number') numbers.push(value);
        return value;
      });
      return numbers.every(Number.isFinite);
    };
    for (const t of groups) for (const h of groups) expect(finite(liftReport(t, h))).toBe(true);
  });
});

describe('rateLift: any per-member rate by the conversion rate’s test', () => {
  test('equals the conversion-rate lift of the same counts, and refuses more successes than members', () => {
    const viaConversions = liftReport(group(200, 50), group(100, 10)).conversionRate;
    expect(rateLift({ members: 200, successes: 50 }, { members: 100, successes: 10 })).toEqual(viaConversions);
    expect(rateLift({ members: 0, successes: 0 }, { members: 100, successes: 10 })).toEqual({ absolute: { estimate: 0, low: 0, high: 0 }, relative: null, pValue: null });
    expect(() => rateLift({ members: 5, successes: 6 }, { members: 5, successes: 1 })).toThrow(RangeError);
    expect(() => rateLift({ members: 5, successes: 1 }, { members: 5, successes: 1 }, 1)).toThrow(RangeError);
  });
});
