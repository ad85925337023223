import { createHash } from 'node:crypto';

/**
 * Deterministic per-contact assignment for a campaign: the same (campaign, contact) always lands
 * in the same holdout/variant bucket, in any process and on any re-run, with no stored state.
 */

const TWO_POW_48 = 2 ** 48;

/** Uniform in [0, 1): the first 48 bits of SHA-256(`${salt}:${campaignId}:${contactId}`). */
export function assignmentHash(campaignId: string, contactId: string, salt: string): number {
  const digest = createHash('sha256').update(`${salt}:${campaignId}:${contactId}`).digest();
  // 48 bits fit a double exactly; more would only add rounding.
  return digest.readUIntBE(0, 6) / TWO_POW_48;
}

/** In the campaign's control group. Salted apart from variants so the two draws are independent. */
export function isHoldout(campaignId: string, contactId: string, holdoutPercent: number): boolean {
  if (!Number.isFinite(holdoutPercent) || holdoutPercent < 0 || holdoutPercent > 100) {
    throw new RangeError(`holdoutPercent must be between 0 and 100, got ${holdoutPercent}`);
  }
  return assignmentHash(campaignId, contactId, 'holdout') < holdoutPercent / 100;
}

/** Picks a variant with probability weight / Σ weights (weights need not sum to 100). */
export function chooseVariant<V extends { name: string; weight: number }>(campaignId: string, contactId: string, variants: V[]): V {
  if (variants.length === 0) throw new RangeError('chooseVariant needs at least one variant');
  let total = 0;
  for (const variant of variants) {
    if (!Number.isFinite(variant.weight) || variant.weight <= 0) {
      throw new RangeError(`variant "${variant.name}" weight must be a positive number, got ${variant.weight}`);
    }
    total += variant.weight;
  }
  const target = assignmentHash(campaignId, contactId, 'variant') * total;
  let cumulative = 0;
  for (const variant of variants) {
    cumulative += variant.weight;
    if (target < cumulative) return variant;
  }
  // Only reachable through floating-point rounding of the cumulative sum.
  return variants[variants.length - 1]!;
}
