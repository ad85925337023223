import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import expected from '../fixtures/learning/expected-sample.json' with { type: 'json' };
import { mulberry32 } from '../../shared/learning/random.ts';
import {
  compareExamples,
  contactHashOf,
  decodePart,
  encodePart,
  foldOf,
  makeExample,
  mergeParts,
  priorityOf,
  SampleBuilder,
  sampleWeight,
  type ExampleInput,
  type SamplePart,
} from '../../shared/learning/sample.ts';

/**
 * The sample: hashes against hashlib (test/fixtures/learning/sample_reference.py), the bottom-k
 * per stratum against a brute-force sort, the merge of parts against the global bottom-k over
 * random splits (fast-check), the binary codec, and unbiased weighted rates.
 */

const COLUMNS = 40;

/** A fresh example input: a few sparse columns drawn from `draw`. */
function input(draw: () => number, i: number, overrides: Partial<ExampleInput> = {}): ExampleInput {
  const indices: number[] = [];
  const values: number[] = [];
  for (let j = 0; j < COLUMNS; j++) {
    if (draw() < 0.2) {
      indices.push(j);
      values.push(Math.round((draw() * 4 - 2) * 1000) / 1000);
    }
  }
  return {
    goal: draw() < 0.8 ? 'purchase' : 'signup',
    campaignId: `cmp-${Math.floor(draw() * 5)}`,
    contactId: `contact-${i}`,
    label: draw() < 0.1 ? 1 : 0,
    treated: draw() < 0.85 ? 1 : 0,
    holdoutShare: 0.15,
    exposedAt: 1_780_000_000_000 + i * 60_000,
    revenue: 0,
    vector: { indices, values },
    ...overrides,
  };
}

function inputs(seed: number, n: number): ExampleInput[] {
  const draw = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => input(draw, i));
}

const build = (examples: readonly ExampleInput[], k: number): SamplePart => {
  const builder = new SampleBuilder(COLUMNS, k);
  for (const e of examples) builder.add(e);
  return builder.finish();
};

describe('hashes', () => {
  test('priority and contact hash equal hashlib’s first 53 and 48 bits (sample_reference.py)', () => {
    expect(expected.rows.length).toBeGreaterThan(3);
    for (const row of expected.rows) {
      expect(priorityOf(row.goal, row.campaignId, row.contactId)).toBe(row.priority);
      expect(contactHashOf(row.goal, row.contactId)).toBe(row.contactHash);
      expect(foldOf(contactHashOf(row.goal, row.contactId))).toBe(row.fold);
    }
  });

  test('priorities are uniform in [0, 1) and folds spread evenly', () => {
    const folds = new Array<number>(10).fill(0);
    let below = 0;
    for (let i = 0; i < 20_000; i++) {
      const u = priorityOf('purchase', 'cmp', `c${i}`);
      expect(u >= 0 && u < 1).toBe(true);
      if (u < 0.25) below++;
      folds[foldOf(contactHashOf('purchase', `c${i}`))]!++;
    }
    expect(Math.abs(below / 20_000 - 0.25)).toBeLessThan(0.015);
    for (const count of folds) expect(Math.abs(count - 2000)).toBeLessThan(150);
  });
});

describe('SampleBuilder', () => {
  test('each stratum keeps its k smallest priorities, ascending, and counts every example', () => {
    const all = inputs(7, 3000);
    const part = build(all, 50);
    const made = all.map((e) => makeExample(e, COLUMNS));
    expect(part.strata.map((s) => `${s.goal}/${s.treated}/${s.label}`)).toEqual(['purchase/0/0', 'purchase/0/1', 'purchase/1/0', 'purchase/1/1', 'signup/0/0', 'signup/0/1', 'signup/1/0', 'signup/1/1']);
    for (const s of part.strata) {
      const members = made.filter((e) => e.goal === s.goal && e.treated === s.treated && e.label === s.label).sort(compareExamples);
      expect(s.total).toBe(members.length);
      expect(s.examples.map((e) => e.priority)).toEqual(members.slice(0, 50).map((e) => e.priority));
      expect(sampleWeight(s)).toBe(members.length / Math.min(50, members.length));
    }
  });

  test('weighted rates equal the unsampled ones although negatives are thinned 20-fold', () => {
    const all = inputs(11, 20_000).map((e) => ({ ...e, goal: 'purchase', treated: 1 as const }));
    const positives = all.filter((e) => e.label === 1).length;
    const part = build(all, 900);
    const negatives = part.strata.find((s) => s.label === 0)!;
    expect(negatives.examples.length).toBe(900);
    let weighted = 0;
    let weightedPositive = 0;
    for (const s of part.strata) {
      for (const _ of s.examples) {
        weighted += sampleWeight(s);
        if (s.label === 1) weightedPositive += sampleWeight(s);
      }
    }
    expect(weighted).toBeCloseTo(20_000, 6);
    expect(weightedPositive / weighted).toBeCloseTo(positives / 20_000, 12);
  });

  test('bad input throws a RangeError naming the problem', () => {
    const draw = mulberry32(3);
    const ok = input(draw, 1, { vector: { indices: [1, 4], values: [0.5, 1] } });
    expect(() => makeExample({ ...ok, vector: { indices: [1, 4], values: [0.5, Number.NaN] } }, COLUMNS)).toThrow(/column 4 has value NaN/);
    expect(() => makeExample({ ...ok, vector: { indices: [1, 4], values: [0.5, 1e39] } }, COLUMNS)).toThrow(/not finite as a float32/);
    expect(() => makeExample({ ...ok, vector: { indices: [4, 1], values: [0.5, 1] } }, COLUMNS)).toThrow(/not strictly increasing/);
    expect(() => makeExample({ ...ok, vector: { indices: [1, COLUMNS], values: [0.5, 1] } }, COLUMNS)).toThrow(/out of range/);
    expect(() => makeExample({ ...ok, holdoutShare: 0 }, COLUMNS)).toThrow(/holdout share 0/);
    expect(() => makeExample({ ...ok, label: 2 as 0 }, COLUMNS)).toThrow(/label 2/);
    expect(() => makeExample({ ...ok, exposedAt: Number.NaN }, COLUMNS)).toThrow(/exposure time/);
    expect(() => new SampleBuilder(COLUMNS, 0)).toThrow(/k must be/);
    expect(makeExample(ok, COLUMNS).values).toEqual(Float32Array.from([0.5, 1]));
  });
});

describe('mergeParts', () => {
  test('the merge of the parts’ bottom-k sets is the global bottom-k, whatever the split (fast-check)', () => {
    const pool = inputs(19, 400);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.nat({ max: 5 }), { minLength: 400, maxLength: 400 }),
        fc.boolean(),
        (n, k, assignment, reverse) => {
          const examples = pool.slice(0, n);
          const splits = new Map<number, ExampleInput[]>();
          examples.forEach((e, i) => splits.set(assignment[i]!, [...(splits.get(assignment[i]!) ?? []), e]));
          const parts = [...splits.keys()].sort().map((p) => build(splits.get(p)!, k));
          const merged = mergeParts(reverse ? parts.reverse() : parts, k);
          expect(merged).toEqual(build(examples, k));
        },
      ),
      { numRuns: 150, seed: 20261206 },
    );
  });

  test('a merge at a smaller k keeps the smallest of the parts; mismatched parts throw', () => {
    const all = inputs(23, 1000);
    const merged = mergeParts([build(all.slice(0, 500), 30), build(all.slice(500), 30)], 10);
    expect(merged).toEqual(build(all, 10));
    expect(() => mergeParts([build(all, 5)], 10)).toThrow(/fewer than the merge's 10/);
    const other = new SampleBuilder(COLUMNS + 1, 10).finish();
    expect(() => mergeParts([build(all, 10), other], 10)).toThrow(/41 columns/);
    expect(() => mergeParts([], 10)).toThrow(/no parts/);
  });
});

describe('binary codec', () => {
  test('decode(encode(part)) restores the part exactly, deterministically, at 47 + 6·nnz bytes an example', () => {
    const all = inputs(29, 2000).map((e, i) => ({ ...e, revenue: i % 7 === 0 ? 12.5 * i : 0, holdoutShare: 0.05 + (i % 3) * 0.05, campaignId: i % 11 === 0 ? 'café-☕' : e.campaignId }));
    const part = build(all, 300);
    const bytes = encodePart(part);
    expect(decodePart(bytes)).toEqual(part);
    expect(encodePart(decodePart(bytes))).toEqual(bytes);
    expect(encodePart(part, { byteCopy: false })).toEqual(bytes); // the portable path writes the same little-endian bytes
    expect(decodePart(bytes, { byteCopy: false })).toEqual(part);
    const kept = part.strata.flatMap((s) => s.examples);
    const nnz = kept.reduce((sum, e) => sum + e.indices.length, 0);
    expect(bytes.length).toBeGreaterThan(47 * kept.length + 6 * nnz);
    expect(bytes.length).toBeLessThan(47 * kept.length + 6 * nnz + 400);
  });

  test('a part read as a Node Buffer (a file, an S3 body) decodes to the same examples, each owning only its own arrays', () => {
    const part = build(inputs(37, 400), 50);
    const bytes = encodePart(part);
    // A small Buffer from Node's pool shares memory with other data: slice() of it is a view, not a copy.
    const pooled = Buffer.from(bytes);
    const decoded = decodePart(pooled);
    expect(decoded).toEqual(part);
    for (const e of decoded.strata.flatMap((s) => s.examples)) {
      expect(e.values.buffer.byteLength).toBe(e.values.byteLength);
      expect(e.indices.buffer.byteLength).toBe(e.indices.byteLength);
    }
  });

  test('an empty part round-trips; truncated, padded or foreign bytes throw', () => {
    const empty = new SampleBuilder(COLUMNS, 10).finish();
    expect(decodePart(encodePart(empty))).toEqual(empty);
    const bytes = encodePart(build(inputs(31, 50), 10));
    expect(() => decodePart(bytes.subarray(0, bytes.length - 3))).toThrow(/truncated/);
    const padded = new Uint8Array(bytes.length + 1);
    padded.set(bytes);
    expect(() => decodePart(padded)).toThrow(/1 trailing bytes/);
    expect(() => decodePart(new TextEncoder().encode('not a part at all'))).toThrow(/bad magic/);
  });
});
