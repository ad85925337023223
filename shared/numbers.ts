/**
 * Numbers a contact attribute may hold: exact in JavaScript and storable in DynamoDB (which
 * refuses magnitudes below 1e-130 and the SDK refuses integers beyond 2^53).
 */
export const NUMBER_RANGE = 'must be between -1,000,000,000,000,000 and 1,000,000,000,000,000, with at most 9 decimal places of precision';

export function isStorableNumber(value: number): boolean {
  if (!Number.isFinite(value)) return false;
  const magnitude = Math.abs(value);
  return magnitude <= 1e15 && (magnitude === 0 || magnitude >= 1e-9);
}
