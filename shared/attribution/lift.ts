/**
 * Incremental lift of a campaign's treatment group over its holdout, with confidence intervals
 * and two-sided p-values, plus the distribution functions they need (written out here: the
 * project carries no statistics library). Pure and synchronous.
 *
 * Conversion rate (two independent proportions, p = converters / members):
 *   difference d = pT − pH;
 *   CI (Wald, unpooled):  d ± z·√(pT(1−pT)/nT + pH(1−pH)/nH),  z = Φ⁻¹(1 − α/2);
 *   p-value (z-test, pooled): z = d / √(p̄(1−p̄)(1/nT + 1/nH)), p̄ = (xT + xH)/(nT + nH),
 *   p = 2·Φ(−|z|);
 *   relative lift r = pT/pH − 1, CI by the delta method on the log ratio (Katz et al. 1978):
 *   Var(ln p̂) ≈ (1 − p)/(n·p), so exp(ln(pT/pH) ± z·√((1−pT)/(nT·pT) + (1−pH)/(nH·pH))) − 1.
 *
 * Revenue per member (Welch's unequal-variance t):
 *   sample variance s² = (Σx² − (Σx)²/n)/(n − 1) from the group's revenue and revenueSquares;
 *   d = x̄T − x̄H, SE = √(sT²/nT + sH²/nH);
 *   Welch–Satterthwaite df ν = (vT + vH)² / (vT²/(nT−1) + vH²/(nH−1)), v = s²/n;
 *   CI d ± t(1 − α/2, ν)·SE; p = 2·P(T_ν ≥ |d/SE|);
 *   relative lift x̄T/x̄H − 1: delta method on the log ratio, Var(ln x̄) ≈ s²/(n·x̄²), with the
 *   Satterthwaite df of those two variance components for the t quantile.
 *
 * Edge cases — the report never holds NaN or ±Infinity (it is stored and served as JSON):
 * - A group with 0 members has rate 0 and revenue per member 0. When either group is empty no
 *   comparison is possible: every estimate is 0, intervals are degenerate (low = high = 0),
 *   relative is null and pValue is null.
 * - `pValue: null` always means "no test possible"; the interval is then degenerate at the
 *   estimate and relative is null. Revenue needs ≥ 2 members per group (a sample variance),
 *   so with 1 member the estimate is reported but not tested.
 * - Zero standard error (e.g. 0 % vs 0 %, or every member's revenue identical within each
 *   group): the interval is degenerate at the estimate; the p-value is 1 when the estimate is
 *   0 and 0 when it is not (the limit of |t| → ∞). Wald intervals are not clipped to [−1, 1].
 * - Relative lift is null when the holdout's rate (or mean revenue) is 0 — lift over nothing is
 *   undefined — and also when the treatment's is ≤ 0, where the log ratio does not exist.
 * - Invalid input (negative or non-finite counts, converters > members, confidence outside
 *   (0, 1)) throws a RangeError: a programming error, not a statistical outcome.
 */

export interface GroupStats {
  members: number;
  /** Members who converted within the window after the send/launch. */
  converters: number;
  revenue: number;
  /** Σ (revenue per member)², for the variance. */
  revenueSquares: number;
}

export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

export interface MetricLift {
  absolute: Interval;
  relative: Interval | null;
  pValue: number | null;
}

export interface LiftReport {
  treatment: { rate: number; revenuePerMember: number };
  holdout: { rate: number; revenuePerMember: number };
  conversionRate: MetricLift;
  revenuePerMember: MetricLift;
}

export function liftReport(treatment: GroupStats, holdout: GroupStats, confidence = 0.95): LiftReport {
  checkGroup(treatment, 'treatment');
  checkGroup(holdout, 'holdout');
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be between 0 and 1 (exclusive), got ${confidence}`);
  // Upper-tail probability α/2; 1 − confidence is exact enough for every sensible level.
  const tail = (1 - confidence) / 2;
  return {
    treatment: { rate: rateOf(treatment), revenuePerMember: meanOf(treatment) },
    holdout: { rate: rateOf(holdout), revenuePerMember: meanOf(holdout) },
    conversionRate: proportionLift(treatment, holdout, tail),
    revenuePerMember: meanLift(treatment, holdout, tail),
  };
}

/** Members and how many of them did something at least once (visited the site, …). */
export interface RateGroup {
  members: number;
  successes: number;
}

/**
 * The lift of any other per-member rate — the share of members who visited the site within the
 * window — by the same test and intervals as the conversion rate (absolute Wald interval, pooled
 * z-test p-value, relative lift on the log ratio), with the same edge cases.
 */
export function rateLift(treatment: RateGroup, holdout: RateGroup, confidence = 0.95): MetricLift {
  const asGroup = (g: RateGroup, name: string): GroupStats => {
    const group = { members: g.members, converters: g.successes, revenue: 0, revenueSquares: 0 };
    checkGroup(group, name);
    return group;
  };
  const t = asGroup(treatment, 'treatment');
  const h = asGroup(holdout, 'holdout');
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be between 0 and 1 (exclusive), got ${confidence}`);
  return proportionLift(t, h, (1 - confidence) / 2);
}

function checkGroup(g: GroupStats, name: string): void {
  const ok =
    Number.isFinite(g.members) &&
    g.members >= 0 &&
    Number.isFinite(g.converters) &&
    g.converters >= 0 &&
    g.converters <= g.members &&
    Number.isFinite(g.revenue) &&
    Number.isFinite(g.revenueSquares) &&
    g.revenueSquares >= 0;
  if (!ok) throw new RangeError(`${name}: invalid group statistics ${JSON.stringify(g)}`);
}

const rateOf = (g: GroupStats): number => (g.members > 0 ? g.converters / g.members : 0);
const meanOf = (g: GroupStats): number => (g.members > 0 ? g.revenue / g.members : 0);
const point = (estimate: number): Interval => ({ estimate, low: estimate, high: estimate });
const untested = (estimate: number): MetricLift => ({ absolute: point(estimate), relative: null, pValue: null });

function proportionLift(t: GroupStats, h: GroupStats, tail: number): MetricLift {
  const nT = t.members;
  const nH = h.members;
  if (nT === 0 || nH === 0) return untested(0);
  const pT = t.converters / nT;
  const pH = h.converters / nH;
  const d = pT - pH;
  const z = -normalQuantile(tail);

  const se = Math.sqrt((pT * (1 - pT)) / nT + (pH * (1 - pH)) / nH);
  const absolute = { estimate: d, low: d - z * se, high: d + z * se };

  const pooled = (t.converters + h.converters) / (nT + nH);
  const sePooled = Math.sqrt(pooled * (1 - pooled) * (1 / nT + 1 / nH));
  // sePooled is 0 only when both groups are all-converters or all-not, so d is exactly 0.
  const pValue = sePooled > 0 ? 2 * normalCdf(-Math.abs(d) / sePooled) : 1;

  let relative: Interval | null = null;
  if (pH > 0 && pT > 0) {
    const logRatio = Math.log(pT / pH);
    const seLog = Math.sqrt((1 - pT) / (nT * pT) + (1 - pH) / (nH * pH));
    relative = { estimate: d / pH, low: Math.expm1(logRatio - z * seLog), high: Math.expm1(logRatio + z * seLog) };
  }
  return { absolute, relative, pValue: Math.min(1, pValue) };
}

/** Unbiased sample variance from Σx and Σx²; rounding can push a zero variance below 0. */
function sampleVariance(g: GroupStats): number {
  const n = g.members;
  return Math.max(0, (g.revenueSquares - (g.revenue * g.revenue) / n) / (n - 1));
}

/** Welch–Satterthwaite df for the sum of two variance components a (n1 − 1 df) and b (n2 − 1 df), in a form that cannot overflow. */
function satterthwaite(a: number, b: number, n1: number, n2: number): number {
  const r = a / (a + b);
  return 1 / ((r * r) / (n1 - 1) + ((1 - r) * (1 - r)) / (n2 - 1));
}

function meanLift(t: GroupStats, h: GroupStats, tail: number): MetricLift {
  const nT = t.members;
  const nH = h.members;
  if (nT === 0 || nH === 0) return untested(0);
  const mT = t.revenue / nT;
  const mH = h.revenue / nH;
  const d = mT - mH;
  if (nT < 2 || nH < 2) return untested(d);

  const vT = sampleVariance(t) / nT;
  const vH = sampleVariance(h) / nH;
  const se = Math.sqrt(vT + vH);
  const relativeEstimate = mT > 0 && mH > 0 ? d / mH : null;
  if (se === 0) {
    return { absolute: point(d), relative: relativeEstimate === null ? null : point(relativeEstimate), pValue: d === 0 ? 1 : 0 };
  }

  const df = satterthwaite(vT, vH, nT, nH);
  const q = studentTUpper(tail, df);
  const absolute = { estimate: d, low: d - q * se, high: d + q * se };
  const pValue = studentTTwoSided(d / se, df);

  let relative: Interval | null = null;
  if (relativeEstimate !== null) {
    const logRatio = Math.log(mT / mH);
    const a = vT / (mT * mT);
    const b = vH / (mH * mH);
    const seLog = Math.sqrt(a + b);
    const qLog = seLog > 0 ? studentTUpper(tail, satterthwaite(a, b, nT, nH)) : 0;
    relative = { estimate: relativeEstimate, low: Math.expm1(logRatio - qLog * seLog), high: Math.expm1(logRatio + qLog * seLog) };
  }
  return { absolute, relative, pValue };
}

// ---------------------------------------------------------------------------------------------
// Standard normal distribution
// ---------------------------------------------------------------------------------------------

const SQRT_2PI = 2.5066282746310002; // √(2π)
const INV_SQRT_2PI = 0.3989422804014327; // 1/√(2π)

// W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969),
// as implemented in R's pnorm (nmath/pnorm.c, ACM TOMS algorithm 715): relative error below
// 1e-15 over the whole line, including the far tails (the tail is computed directly, never as
// 1 − something). Coefficients as published, written as their nearest doubles.
const CODY_A = [2.2352520354606837, 161.02823106855587, 1067.6894854603709, 18154.98125334356, 0.06568233791820745];
const CODY_B = [47.202581904688245, 976.0985517377767, 10260.932208618979, 45507.78933502673];
const CODY_C = [
  0.39894151208813466, 8.883149794388377, 93.50665613217785, 597.2702763948002, 2494.5375852903726, 6848.190450536283,
  11602.65143764735, 9842.714838383978, 1.0765576773720192e-8,
];
const CODY_D = [
  22.266688044328117, 235.387901782625, 1519.3775994075547, 6485.558298266761, 18615.571640885097, 34900.95272114598,
  38912.00328609327, 19685.429676859992,
];
const CODY_P = [0.215898534057957, 0.12740116116024736, 0.022235277870649807, 0.0014216191932278934, 2.9112874951168793e-5, 0.023073441764940174];
const CODY_Q = [1.284260096144911, 0.4682382124808651, 0.06598813786892856, 0.0037823963320275824, 7.297515550839662e-5];

/** Φ(z) = P(Z ≤ z) for the standard normal. */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  const y = Math.abs(z);
  if (y <= 0.67448975) {
    // Φ(z) = 1/2 + z·R(z²) near the centre.
    let num = 0;
    let den = 0;
    if (y > 1.1e-16) {
      const zsq = z * z;
      num = CODY_A[4]! * zsq;
      den = zsq;
      for (let i = 0; i < 3; i++) {
        num = (num + CODY_A[i]!) * zsq;
        den = (den + CODY_B[i]!) * zsq;
      }
    }
    return 0.5 + (z * (num + CODY_A[3]!)) / (den + CODY_B[3]!);
  }
  let upper: number; // Φ(−|z|)
  if (y <= 5.656854249492381) {
    // √32
    let num = CODY_C[8]! * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + CODY_C[i]!) * y;
      den = (den + CODY_D[i]!) * y;
    }
    upper = gaussianTail(y, (num + CODY_C[7]!) / (den + CODY_D[7]!));
  } else if (y < 40) {
    const xsq = 1 / (z * z);
    let num = CODY_P[5]! * xsq;
    let den = xsq;
    for (let i = 0; i < 4; i++) {
      num = (num + CODY_P[i]!) * xsq;
      den = (den + CODY_Q[i]!) * xsq;
    }
    const r = (xsq * (num + CODY_P[4]!)) / (den + CODY_Q[4]!);
    upper = gaussianTail(y, (INV_SQRT_2PI - r) / y);
  } else {
    upper = 0; // Φ(−40) ≈ 3.7e-350 underflows
  }
  return z > 0 ? 1 - upper : upper;
}

/** exp(−y²/2)·r, with y split as y = s + δ (s a multiple of 1/16) so y² is exact enough in the exponent. */
function gaussianTail(y: number, r: number): number {
  const s = Math.trunc(y * 16) / 16;
  const del = (y - s) * (y + s);
  return Math.exp(-s * s * 0.5) * Math.exp(-del * 0.5) * r;
}

// P. J. Acklam's rational approximation of Φ⁻¹ (relative error < 1.15e-9), refined below by
// one Halley step on Φ, which triples the number of correct digits.
const ACKLAM_A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const ACKLAM_B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const ACKLAM_C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const ACKLAM_D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];

/** Φ⁻¹(p): the z with Φ(z) = p. ±Infinity at 0 and 1, NaN outside [0, 1]. */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) return Number.NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  // Solve in the lower half, where p carries full relative precision; 1 − p is exact for p ≥ 1/2.
  if (p > 0.5) return -normalQuantile(1 - p);
  let x: number;
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    const [c0, c1, c2, c3, c4, c5] = ACKLAM_C as [number, number, number, number, number, number];
    const [d0, d1, d2, d3] = ACKLAM_D as [number, number, number, number];
    x = (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  } else {
    const q = p - 0.5;
    const r = q * q;
    const [a0, a1, a2, a3, a4, a5] = ACKLAM_A as [number, number, number, number, number, number];
    const [b0, b1, b2, b3, b4] = ACKLAM_B as [number, number, number, number, number];
    x = ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
  }
  // Halley: with e = Φ(x) − p and u = e/φ(x), x ← x − u / (1 + x·u/2).
  const e = normalCdf(x) - p;
  const u = e * SQRT_2PI * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

// ---------------------------------------------------------------------------------------------
// Student's t distribution, via the regularized incomplete beta function
// ---------------------------------------------------------------------------------------------

const LN_SQRT_2PI = 0.9189385332046728; // ln √(2π)
// Lanczos approximation, g = 7, n = 9 (Godfrey's coefficients): ~1e-15 relative for x ≥ 1/2.
const LANCZOS = [
  0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.984369578019572e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
function logGamma(x: number): number {
  if (x < 0.5) return logGamma(x + 1) - Math.log(x); // Γ(x) = Γ(x + 1)/x
  if (x >= 15) return (x - 0.5) * Math.log(x) - x + LN_SQRT_2PI + stirlingCorrection(x);
  const y = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < 9; i++) sum += LANCZOS[i]! / (y + i);
  const t = y + 7.5;
  return LN_SQRT_2PI + (y + 0.5) * Math.log(t) - t + Math.log(sum);
}

/**
 * ln Γ(x) − [(x − ½)ln x − x + ln √(2π)]: the Stirling series Σ B₂ₖ / (2k(2k−1)x^(2k−1)),
 * 1/(12x) − 1/(360x³) + 1/(1260x⁵) − 1/(1680x⁷) + 1/(1188x⁹) − 691/(360360x¹¹); for x ≥ 15 the
 * next term is below 4e-18.
 */
function stirlingCorrection(x: number): number {
  const r = 1 / x;
  const r2 = r * r;
  return r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 * (1 / 1188 - (r2 * 691) / 360360)))));
}

/**
 * ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b). When the larger argument q is big, the difference
 * ln Γ(q) − ln Γ(p + q) is formed directly from Stirling's series,
 *   −(q − ½)·log1p(p/q) − p·ln(p + q) + p + S(q) − S(p + q),
 * instead of subtracting two huge, nearly equal logarithms (t with ν = 10⁶ has q = 5·10⁵).
 */
function logBeta(a: number, b: number): number {
  const p = Math.min(a, b);
  const q = Math.max(a, b);
  if (q < 15) return logGamma(p) + logGamma(q) - logGamma(p + q);
  const diff = -(q - 0.5) * Math.log1p(p / q) - p * Math.log(p + q) + p + stirlingCorrection(q) - stirlingCorrection(p + q);
  return logGamma(p) + diff;
}

/**
 * Continued fraction for I_x(a, b) (Numerical Recipes §6.4, betacf), evaluated with the modified
 * Lentz method: I_x(a,b) = x^a (1−x)^b / (a·B(a,b)) · 1/(1+ d₁/(1+ d₂/(1+ …))) with
 * d₂ₘ₊₁ = −(a+m)(a+b+m)x / ((a+2m)(a+2m+1)), d₂ₘ = m(b−m)x / ((a+2m−1)(a+2m)).
 * Converges quickly for x < (a+1)/(a+b+2), in O(√max(a,b)) terms at worst.
 */
function betaContinuedFraction(x: number, y: number, a: number, b: number): number {
  const TINY = 1e-300;
  const EPS = 1e-16;
  const maxIterations = 1000 + Math.ceil(20 * Math.sqrt(Math.max(a, b)));
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  // First term 1 − (a+b)x/(a+1); with x near 1 (large ν) that subtraction cancels, so for
  // b ≤ 1 use the equal ((1−b)x + (a+1)y)/(a+1), which has no cancellation.
  let d = b <= 1 ? ((1 - b) * x + qap * y) / qap : 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= maxIterations; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) <= EPS) break;
  }
  return h;
}

/**
 * Regularized incomplete beta I_x(a, b), given x and y = 1 − x separately so a y close to 0 (or
 * x close to 1) keeps its full precision. Uses I_x(a,b) = 1 − I_{1−x}(b,a) past the mean.
 */
function regularizedBeta(x: number, y: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  const lnX = x < 0.5 ? Math.log(x) : Math.log1p(-y);
  const lnY = y < 0.5 ? Math.log(y) : Math.log1p(-x);
  const front = Math.exp(a * lnX + b * lnY - logBeta(a, b));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, y, a, b)) / a;
  return 1 - (front * betaContinuedFraction(y, x, b, a)) / b;
}

/**
 * Fisher's (1925) asymptotic expansion of the t distribution in powers of 1/ν:
 *   P(T ≥ t) = Φ(−t) + φ(t)·Σₖ Gₖ(t)/νᵏ,  Gₖ(t) = t·Pₖ(t²),
 * G₁ = (t³ + t)/4, G₂ = (3t⁷ − 7t⁵ − 5t³ − 3t)/96, … (derived by expanding the density
 * (1 + t²/ν)^(−(ν+1)/2)·Γ((ν+1)/2)/(Γ(ν/2)√(νπ)) in 1/ν and integrating term by term; five
 * terms kept). Used for ν ≥ 10³ where t⁴ ≤ ν/20: there the truncation error is ≲ 1e-14
 * relative (checked against mpmath), while the beta continued fraction, with x = ν/(ν+t²)
 * next to 1, loses digits as ν grows (≈1e-11 at ν = 10⁵, 1e-8 at 10⁹). Over ν from 0.3 to
 * 10⁹ and |t| ≤ 50 the tail P(T ≤ −|t|) is then within 4e-12 relative of mpmath (3e-13 for
 * |t| ≤ 10).
 */
const FISHER: readonly (readonly number[])[] = [
  [1 / 4, 1 / 4],
  [-1 / 32, -5 / 96, -7 / 96, 1 / 32],
  [-5 / 128, -1 / 128, 1 / 64, 7 / 192, -11 / 384, 1 / 384],
  [21 / 2048, 61 / 6144, -71 / 30720, -313 / 30720, -2141 / 92160, 445 / 18432, -25 / 6144, 1 / 6144],
  [399 / 8192, 119 / 8192, 1 / 2048, 19 / 6144, 83 / 12288, 333 / 20480, -1879 / 92160, 49 / 10240, -133 / 368640, 1 / 122880],
];
const FISHER_MIN_DF = 1e3;

/** P(T ≥ t) for t ≥ 0 by Fisher's expansion (see FISHER). */
function fisherUpperTail(t: number, df: number): number {
  const u = t * t;
  let correction = 0;
  let power = 1;
  for (const coefficients of FISHER) {
    power /= df;
    let poly = 0;
    for (let i = coefficients.length - 1; i >= 0; i--) poly = poly * u + coefficients[i]!;
    correction += t * poly * power;
  }
  return normalCdf(-t) + INV_SQRT_2PI * Math.exp(-u / 2) * correction;
}

/** P(|T| ≥ |t|) for ν degrees of freedom: I_{ν/(ν+t²)}(ν/2, ½), accurate deep in the tail. */
function studentTTwoSided(t: number, df: number): number {
  const at = Math.abs(t);
  if (df === Infinity) return Math.min(1, 2 * normalCdf(-at));
  if (at === Infinity) return 0;
  if (df >= FISHER_MIN_DF) {
    const t2 = at * at;
    if (t2 * t2 <= df / 20) return Math.min(1, 2 * fisherUpperTail(at, df));
    // Beyond ν = 10¹⁰ that range reaches t = 150, where both tails have underflowed to 0.
    if (df > 1e10) return 0;
  }
  let x: number;
  let y: number;
  if (at > 1e150) {
    x = df / at / at; // t² would overflow; ν/(ν + t²) = ν/t² to full precision here
    y = 1;
  } else {
    const t2 = at * at;
    x = df / (df + t2);
    y = t2 / (df + t2);
  }
  return Math.min(1, regularizedBeta(x, y, df / 2, 0.5));
}

function checkDf(df: number): boolean {
  return df > 0; // false for NaN as well
}

/** P(T ≤ t) for Student's t with ν = df > 0 degrees of freedom (any real ν, also below 1); NaN for ν ≤ 0. */
export function studentTCdf(t: number, df: number): number {
  if (Number.isNaN(t) || !checkDf(df)) return Number.NaN;
  const tail = studentTTwoSided(t, df) / 2;
  return t > 0 ? 1 - tail : tail;
}

/** Density of Student's t: (1 + t²/ν)^(−(ν+1)/2) / (√ν·B(ν/2, ½)). */
function studentTPdf(t: number, df: number): number {
  return Math.exp(-((df + 1) / 2) * Math.log1p((t * t) / df) - 0.5 * Math.log(df) - logBeta(df / 2, 0.5));
}

/** The t > 0 with P(T ≥ t) = q, for 0 < q < ½. */
function studentTUpper(q: number, df: number): number {
  if (df === Infinity) return -normalQuantile(q);
  if (df === 1) return 1 / Math.tan(Math.PI * q); // Cauchy: tan(π(½ − q))
  if (df === 2) return (1 - 2 * q) / Math.sqrt(2 * q * (1 - q)); // F(t) = ½ + t/(2√(t²+2))
  // Start from the Cornish–Fisher expansion around the normal quantile (Abramowitz & Stegun
  // 26.7.5), then safeguarded Newton on g(t) = P(T ≥ t) − q, bisecting when a step leaves the
  // bracket [lo, hi] that always holds the root.
  const z = -normalQuantile(q);
  const z2 = z * z;
  let t = z + (z * (z2 + 1)) / (4 * df) + (z * (z2 * (5 * z2 + 16) + 3)) / (96 * df * df);
  if (!(t > 0) || !Number.isFinite(t)) t = z;
  const upperTail = (v: number): number => studentTTwoSided(v, df) / 2;
  let lo = 0;
  let hi = t;
  // Heavy tails (ν < 1) can put the root many orders of magnitude out: grow the bracket.
  for (let i = 0; i < 2100 && upperTail(hi) > q; i++) {
    lo = hi;
    hi *= 2;
  }
  if (!Number.isFinite(hi)) return Number.MAX_VALUE;
  t = hi; // the initial guess itself unless the bracket had to grow
  for (let i = 0; i < 200; i++) {
    const g = upperTail(t) - q;
    if (g === 0) return t;
    if (g > 0) lo = t;
    else hi = t;
    let next = t + g / studentTPdf(t, df); // g'(t) = −f(t)
    if (!(next > lo && next < hi)) next = lo > 0 && hi / lo > 4 ? Math.sqrt(lo * hi) : (lo + hi) / 2;
    if (Math.abs(next - t) <= 1e-15 * next) return next;
    t = next;
  }
  return t;
}

/** The t with P(T ≤ t) = p for ν = df > 0 degrees of freedom; ±Infinity at 0 and 1, NaN outside [0, 1] or for ν ≤ 0. */
export function studentTQuantile(p: number, df: number): number {
  if (!(p >= 0 && p <= 1) || !checkDf(df)) return Number.NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  // Solve for the smaller tail, where the probability carries full relative precision.
  return p > 0.5 ? studentTUpper(1 - p, df) : -studentTUpper(p, df);
}
