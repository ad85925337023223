/**
 * A small seeded pseudo-random generator for the learning code: the Qini bootstrap draws its
 * resamples from it, and tests and reference scripts regenerate the same synthetic data from the
 * same seed. mulberry32 (Tommy Ettinger's 32-bit generator) is a few integer operations, passes
 * the usual statistical batteries for these purposes, and is easy to port bit for bit: the Python
 * twin in test/fixtures/learning/reference.py yields the identical sequence.
 */

/**
 * A generator of uniforms in [0, 1) with 32 bits of resolution (every value is k / 2³² for an
 * integer k, so no two ports can disagree on rounding). The seed is read as a 32-bit integer.
 */
export function mulberry32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
