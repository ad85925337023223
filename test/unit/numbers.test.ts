import { describe, expect, test } from 'vitest';
import { isStorableNumber, storable } from '../../shared/numbers.ts';

describe('storable', () => {
  test('numbers DynamoDB refuses become 0 or null; everything else is kept, nested included', () => {
    const input = { p: 1e-200, neg: -1e-130, ok: 0.05, big: 1e20, nan: Number.NaN, inf: -Infinity, list: [1e-300, 2], nested: { z: 5e-150, s: 'text', d: '2026-11-25' }, flag: true };
    expect(storable(input)).toEqual({ p: 0, neg: 0, ok: 0.05, big: 1e20, nan: null, inf: null, list: [0, 2], nested: { z: 0, s: 'text', d: '2026-11-25' }, flag: true });
    expect(input.p).toBe(1e-200);
    expect(storable(1e-119)).toBe(1e-119);
  });

  test('isStorableNumber bounds user input', () => {
    expect([0, 1e-9, 1e15, -5].map(isStorableNumber)).toEqual([true, true, true, true]);
    expect([1e-10, 1e16, Number.NaN, Infinity].map(isStorableNumber)).toEqual([false, false, false, false]);
  });
});
