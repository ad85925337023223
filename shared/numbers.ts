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

/**
 * A copy of a computed value that DynamoDB will store: magnitudes below 1e-120 (a p-value of
 * 1e-200, a score decayed for years) become 0, and NaN or ±Infinity become null.
 */
export function storable<T>(value: T): T {
  if (typeof value === 'number') return (!Number.isFinite(value) ? null : Math.abs(value) < 1e-120 ? 0 : value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => storable(v)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, storable(v)])) as T;
  }
  return value;
}
