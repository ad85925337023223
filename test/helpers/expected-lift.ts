/**
 * An independent reference for two-proportion lift, written out from the textbook formulas (not
 * from shared/attribution/lift.ts): tests compare the report's visit lift with it.
 */
/** erf by its Maclaurin series (converges for the |x| < 4 used here to well below 1e-12). */
function erf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
const Z975 = 1.959963984540054; // Φ⁻¹(0.975), from tables

/** Two-proportion comparison written out: Wald interval, pooled z-test, Katz log-ratio interval. */
export function expectedLift(xT: number, nT: number, xH: number, nH: number) {
  const pT = xT / nT;
  const pH = xH / nH;
  const d = pT - pH;
  const se = Math.sqrt((pT * (1 - pT)) / nT + (pH * (1 - pH)) / nH);
  const pooled = (xT + xH) / (nT + nH);
  const z = d / Math.sqrt(pooled * (1 - pooled) * (1 / nT + 1 / nH));
  const pValue = 1 - erf(Math.abs(z) / Math.SQRT2);
  const seLog = Math.sqrt((1 - pT) / (nT * pT) + (1 - pH) / (nH * pH));
  return {
    pT,
    pH,
    absolute: { estimate: d, low: d - Z975 * se, high: d + Z975 * se },
    relative: { estimate: pT / pH - 1, low: (pT / pH) * Math.exp(-Z975 * seLog) - 1, high: (pT / pH) * Math.exp(Z975 * seLog) - 1 },
    pValue,
  };
}
