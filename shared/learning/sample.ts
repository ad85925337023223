/**
 * The training sample (docs/learning-design.md, decision 3 "Sampling", and 4 "Collection"):
 * encoded examples kept as a bottom-k per stratum, a compact binary codec for the parts that the
 * scan workers write, and the exact merge of those parts.
 *
 * - An **example** is one exposure: a contact's first send of a campaign (treated) or its holdout
 *   draw at launch (control), its encoded sparse feature vector (float32 values, uint16 column
 *   indices) and a header (goal, campaign, contact hash, label, arm, the campaign's holdout share,
 *   exposure time, revenue).
 * - Its **priority** u = sha256(goal:campaignId:contactId) read as a uniform in [0, 1): a hash, so
 *   every worker that sees the example gives it the same u without coordination.
 * - A **stratum** is (goal, arm, label). Each keeps the k (default 100,000) examples of smallest u
 *   and counts all it saw (`total`). Because u is a function of the example, the union of the
 *   parts' bottom-k sets contains the global bottom-k, and merging is exact and deterministic: a
 *   retrain over the same exposures sees the same sample whatever the paging.
 * - A kept example stands for total/kept examples of its stratum (`sampleWeight`), so weighted
 *   rates and metrics estimate the unsampled population's.
 *
 * Pure: no I/O. sha256 comes from node:crypto.
 */
import { createHash } from 'node:crypto';

/** The default number of examples kept per stratum. */
export const DEFAULT_STRATUM_SIZE = 100_000;

/** One exposure, encoded. */
export interface SampleExample {
  /** u = sha256(goal:campaignId:contactId) as a uniform in [0, 1) (`priorityOf`). */
  readonly priority: number;
  readonly goal: string;
  readonly campaignId: string;
  /** sha256(goal:contactId) as a 48-bit integer (`contactHashOf`): folds and the bootstrap by contact. */
  readonly contactHash: number;
  /** 1 if the goal happened within the window after exposure, else 0. */
  readonly label: 0 | 1;
  /** 1 for a sent (treated) example, 0 for a holdout (control). */
  readonly treated: 0 | 1;
  /** The campaign's holdout share h in (0, 1), the arm-balancing weight class: 1/(1 − h) treated, 1/h control. */
  readonly holdoutShare: number;
  /** Exposure time, epoch milliseconds (the first send, or the launch for a holdout). */
  readonly exposedAt: number;
  /** Revenue of the goal conversions in the window (0 without). */
  readonly revenue: number;
  /** Feature columns, strictly increasing. */
  readonly indices: Uint16Array;
  /** Feature values, one per index, finite. */
  readonly values: Float32Array;
}

/** The raw facts an example is made of, before hashing and narrowing. */
export interface ExampleInput {
  readonly goal: string;
  readonly campaignId: string;
  readonly contactId: string;
  readonly label: 0 | 1;
  readonly treated: 0 | 1;
  readonly holdoutShare: number;
  readonly exposedAt: number;
  readonly revenue: number;
  readonly vector: { readonly indices: ArrayLike<number>; readonly values: ArrayLike<number> };
}

/** One stratum of a part or sample: its key, how many examples it saw, and the kept ones by ascending priority. */
export interface Stratum {
  readonly goal: string;
  readonly treated: 0 | 1;
  readonly label: 0 | 1;
  /** Examples seen, kept or not. */
  readonly total: number;
  /** The kept examples (at most k), ascending by `compareExamples`. */
  readonly examples: readonly SampleExample[];
}

/** A part (one scan page) or a merged sample: strata sorted by key (`compareStrata`). */
export interface SamplePart {
  /** The number of feature columns every example's indices lie below. */
  readonly columns: number;
  /** The per-stratum bound the part was built with. */
  readonly k: number;
  readonly strata: readonly Stratum[];
}

/** sha256 of the UTF-8 text. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** u = the first 53 bits of sha256(`goal:campaignId:contactId`) / 2⁵³: a uniform in [0, 1), exact in a double. */
export function priorityOf(goal: string, campaignId: string, contactId: string): number {
  const hash = digest(`${goal}:${campaignId}:${contactId}`);
  return (hash.readUIntBE(0, 6) * 32 + (hash[6]! >>> 3)) / 2 ** 53;
}

/**
 * The first 48 bits of sha256(`goal:contactId`) as an integer (exact in a double). The fold is
 * this number mod 10 (`foldOf`): taking 48 of the 256 bits changes nothing about uniformity.
 */
export function contactHashOf(goal: string, contactId: string): number {
  return digest(`${goal}:${contactId}`).readUIntBE(0, 6);
}

/** The fold 0–9 of a contact hash: 0–6 train, 7 validation, 8–9 test. */
export function foldOf(contactHash: number): number {
  return contactHash % 10;
}

/** The total order of examples within a stratum: priority, then contact hash, then campaign (ties are only possible for duplicates). */
export function compareExamples(a: SampleExample, b: SampleExample): number {
  return a.priority - b.priority || a.contactHash - b.contactHash || (a.campaignId < b.campaignId ? -1 : a.campaignId > b.campaignId ? 1 : 0);
}

/** Strata order: goal, then arm (control first), then label (negatives first). */
export function compareStrata(a: Pick<Stratum, 'goal' | 'treated' | 'label'>, b: Pick<Stratum, 'goal' | 'treated' | 'label'>): number {
  return (a.goal < b.goal ? -1 : a.goal > b.goal ? 1 : 0) || a.treated - b.treated || a.label - b.label;
}

const stratumKey = (s: Pick<Stratum, 'goal' | 'treated' | 'label'>) => `${s.goal}\u0000${s.treated}${s.label}`;

/**
 * Validates and narrows an example: the vector's indices must be integers strictly increasing in
 * [0, columns) and its values finite (after rounding to float32: a value beyond float32's range
 * would become ±∞ and throws); the label and arm 0/1; the holdout share in (0, 1); the exposure
 * time and revenue finite. Throws a RangeError naming the field otherwise.
 */
export function makeExample(input: ExampleInput, columns: number): SampleExample {
  const where = `example ${input.goal}:${input.campaignId}:${input.contactId}`;
  if (input.label !== 0 && input.label !== 1) throw new RangeError(`${where}: label ${input.label} is not 0 or 1`);
  if (input.treated !== 0 && input.treated !== 1) throw new RangeError(`${where}: arm ${input.treated} is not 0 (control) or 1 (treated)`);
  if (!(input.holdoutShare > 0 && input.holdoutShare < 1)) throw new RangeError(`${where}: holdout share ${input.holdoutShare} is not in (0, 1)`);
  if (!Number.isFinite(input.exposedAt)) throw new RangeError(`${where}: exposure time ${input.exposedAt} is not finite`);
  if (!Number.isFinite(input.revenue)) throw new RangeError(`${where}: revenue ${input.revenue} is not finite`);
  const { indices, values } = input.vector;
  if (indices.length !== values.length) throw new RangeError(`${where}: ${indices.length} indices but ${values.length} values`);
  const narrowIndices = new Uint16Array(indices.length);
  const narrowValues = new Float32Array(values.length);
  let previous = -1;
  for (let k = 0; k < indices.length; k++) {
    const j = indices[k]!;
    if (!Number.isInteger(j) || j <= previous || j >= columns || j > 0xffff) throw new RangeError(`${where}: column ${j} is out of range or not strictly increasing (previous ${previous}, columns ${columns})`);
    narrowIndices[k] = j;
    narrowValues[k] = values[k]!;
    if (!Number.isFinite(narrowValues[k]!)) throw new RangeError(`${where}: column ${j} has value ${values[k]}, not finite as a float32`);
    previous = j;
  }
  return {
    priority: priorityOf(input.goal, input.campaignId, input.contactId),
    goal: input.goal,
    campaignId: input.campaignId,
    contactHash: contactHashOf(input.goal, input.contactId),
    label: input.label,
    treated: input.treated,
    holdoutShare: input.holdoutShare,
    exposedAt: input.exposedAt,
    revenue: input.revenue,
    indices: narrowIndices,
    values: narrowValues,
  };
}

/** A max-heap on `compareExamples` holding a stratum's k best (smallest) examples. */
class BottomK {
  readonly heap: SampleExample[] = [];
  total = 0;
  constructor(
    readonly goal: string,
    readonly treated: 0 | 1,
    readonly label: 0 | 1,
    private readonly k: number,
  ) {}

  offer(example: SampleExample): void {
    this.total++;
    const heap = this.heap;
    if (heap.length < this.k) {
      heap.push(example);
      let i = heap.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (compareExamples(heap[parent]!, heap[i]!) >= 0) break;
        [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
        i = parent;
      }
      return;
    }
    if (this.k === 0 || compareExamples(example, heap[0]!) >= 0) return;
    heap[0] = example;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let largest = i;
      if (left < heap.length && compareExamples(heap[left]!, heap[largest]!) > 0) largest = left;
      if (right < heap.length && compareExamples(heap[right]!, heap[largest]!) > 0) largest = right;
      if (largest === i) break;
      [heap[largest], heap[i]] = [heap[i]!, heap[largest]!];
      i = largest;
    }
  }
}

/** Collects examples into per-stratum bottom-k sets in O(log k) per example; `finish` returns the part. */
export class SampleBuilder {
  private readonly strata = new Map<string, BottomK>();

  constructor(
    readonly columns: number,
    readonly k: number = DEFAULT_STRATUM_SIZE,
  ) {
    if (!(Number.isInteger(columns) && columns >= 1 && columns <= 0xffff)) throw new RangeError(`columns must be an integer in [1, 65535], got ${columns}`);
    if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`k must be an integer ≥ 1, got ${k}`);
  }

  /** Validates the input (`makeExample`), then offers it to its stratum. Returns the example. */
  add(input: ExampleInput): SampleExample {
    const example = makeExample(input, this.columns);
    this.offer(example);
    return example;
  }

  /** Offers an already made example (its columns must fit this builder's). */
  offer(example: SampleExample): void {
    const key = stratumKey(example);
    let stratum = this.strata.get(key);
    if (!stratum) this.strata.set(key, (stratum = new BottomK(example.goal, example.treated, example.label, this.k)));
    stratum.offer(example);
  }

  /** The part: strata in key order, each one's kept examples ascending. */
  finish(): SamplePart {
    const strata = [...this.strata.values()]
      .map((s) => ({ goal: s.goal, treated: s.treated, label: s.label, total: s.total, examples: [...s.heap].sort(compareExamples) }))
      .sort(compareStrata);
    return { columns: this.columns, k: this.k, strata };
  }
}

/**
 * Merges parts into one sample with at most `k` examples per stratum: per stratum, the `k`
 * smallest of the parts' kept examples (by `compareExamples`), and the parts' totals summed. When
 * each part kept its own bottom-k of the same (goal, arm, label), the result is exactly the
 * bottom-k of all examples seen (any global bottom-k example is in its part's bottom-k), whatever
 * the split. Every part must have the same column count; a part built with a smaller k than the
 * merge's may lose examples the merge would keep, so that throws.
 */
export function mergeParts(parts: readonly SamplePart[], k: number = DEFAULT_STRATUM_SIZE): SamplePart {
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`k must be an integer ≥ 1, got ${k}`);
  if (parts.length === 0) throw new RangeError('mergeParts: no parts');
  const columns = parts[0]!.columns;
  const byKey = new Map<string, { goal: string; treated: 0 | 1; label: 0 | 1; total: number; examples: SampleExample[] }>();
  for (const [p, part] of parts.entries()) {
    if (part.columns !== columns) throw new RangeError(`mergeParts: part ${p} has ${part.columns} columns, part 0 has ${columns}`);
    if (part.k < k) throw new RangeError(`mergeParts: part ${p} kept k = ${part.k} per stratum, fewer than the merge's ${k}`);
    for (const s of part.strata) {
      const key = stratumKey(s);
      let merged = byKey.get(key);
      if (!merged) byKey.set(key, (merged = { goal: s.goal, treated: s.treated, label: s.label, total: 0, examples: [] }));
      merged.total += s.total;
      merged.examples.push(...s.examples);
    }
  }
  const strata = [...byKey.values()].map((s) => ({ ...s, examples: s.examples.sort(compareExamples).slice(0, k) })).sort(compareStrata);
  return { columns, k, strata };
}

/** What each kept example stands for: total/kept of its stratum (1 when all were kept). */
export function sampleWeight(stratum: Stratum): number {
  return stratum.examples.length === 0 ? 0 : stratum.total / stratum.examples.length;
}

// --- Binary codec -------------------------------------------------------------------------------
//
// Little-endian. Header: magic 'TLS1', uint16 columns, uint32 k, uint32 string count, then each
// string as uint16 byte length + UTF-8 (goals and campaign ids, in order of first use), uint32
// strata count. Per stratum: uint32 goal string, uint8 treated, uint8 label, float64 total,
// uint32 examples. Per example: float64 priority, float64 contact hash, uint32 campaign string,
// uint8 label+arm flags, float64 holdout share, float64 exposure time, float64 revenue, uint16
// non-zeros, then uint16 indices and float32 values. 47 + 6·nnz bytes: 407 B for 60 non-zeros.

const MAGIC = 0x31534c54; // 'TLS1' read little-endian
/** On a little-endian host (x86, arm64 Lambda) typed arrays are copied as bytes; elsewhere value by value. */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
const EXAMPLE_FIXED_BYTES = 8 + 8 + 4 + 1 + 8 + 8 + 8 + 2;

/** How the codec moves feature arrays: as raw bytes (little-endian hosts only, the default there) or value by value. */
export interface CodecOptions {
  readonly byteCopy?: boolean;
}

/** Encodes a part (or a merged sample) into bytes that `decodePart` restores exactly. */
export function encodePart(part: SamplePart, options: CodecOptions = {}): Uint8Array {
  const byteCopy = options.byteCopy ?? LITTLE_ENDIAN;
  if (byteCopy && !LITTLE_ENDIAN) throw new RangeError('encodePart: byte copies need a little-endian host');
  const strings = new Map<string, number>();
  const intern = (s: string) => {
    let id = strings.get(s);
    if (id === undefined) strings.set(s, (id = strings.size));
    return id;
  };
  let size = 4 + 2 + 4 + 4 + 4;
  for (const s of part.strata) {
    intern(s.goal);
    size += 4 + 1 + 1 + 8 + 4;
    for (const e of s.examples) {
      intern(e.campaignId);
      size += EXAMPLE_FIXED_BYTES + 6 * e.indices.length;
    }
  }
  const encoded = [...strings.keys()].map((s) => Buffer.from(s, 'utf8'));
  for (const bytes of encoded) {
    if (bytes.length > 0xffff) throw new RangeError(`encodePart: a goal or campaign id of ${bytes.length} bytes is too long`);
    size += 2 + bytes.length;
  }
  if (part.columns > 0xffff) throw new RangeError(`encodePart: ${part.columns} columns do not fit a uint16 header`);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  /** Writes with `set` at the cursor, then advances it by `size` bytes. */
  const write = (size: number, set: (offset: number) => void) => {
    set(at);
    at += size;
  };
  const u8 = (v: number) => write(1, (o) => view.setUint8(o, v));
  const u16 = (v: number) => write(2, (o) => view.setUint16(o, v, true));
  const u32 = (v: number) => write(4, (o) => view.setUint32(o, v, true));
  const f64 = (v: number) => write(8, (o) => view.setFloat64(o, v, true));
  const f32 = (v: number) => write(4, (o) => view.setFloat32(o, v, true));
  u32(MAGIC);
  u16(part.columns);
  u32(part.k);
  u32(encoded.length);
  for (const bytes of encoded) {
    u16(bytes.length);
    out.set(bytes, at);
    at += bytes.length;
  }
  u32(part.strata.length);
  for (const s of part.strata) {
    u32(strings.get(s.goal)!);
    u8(s.treated);
    u8(s.label);
    f64(s.total);
    u32(s.examples.length);
    for (const e of s.examples) {
      if (e.goal !== s.goal || e.treated !== s.treated || e.label !== s.label) throw new RangeError(`encodePart: an example of ${e.goal}/${e.treated}/${e.label} is filed under ${s.goal}/${s.treated}/${s.label}`);
      f64(e.priority);
      f64(e.contactHash);
      u32(strings.get(e.campaignId)!);
      u8(e.label | (e.treated << 1));
      f64(e.holdoutShare);
      f64(e.exposedAt);
      f64(e.revenue);
      u16(e.indices.length);
      if (byteCopy) {
        out.set(new Uint8Array(e.indices.buffer, e.indices.byteOffset, e.indices.byteLength), at);
        at += e.indices.byteLength;
        out.set(new Uint8Array(e.values.buffer, e.values.byteOffset, e.values.byteLength), at);
        at += e.values.byteLength;
      } else {
        for (const j of e.indices) u16(j);
        for (const v of e.values) f32(v);
      }
    }
  }
  return out;
}

/** Decodes `encodePart`'s bytes. Throws a RangeError on a wrong magic number or truncated input. */
export function decodePart(bytes: Uint8Array, options: CodecOptions = {}): SamplePart {
  const byteCopy = options.byteCopy ?? LITTLE_ENDIAN;
  if (byteCopy && !LITTLE_ENDIAN) throw new RangeError('decodePart: byte copies need a little-endian host');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n: number) => {
    if (at + n > bytes.byteLength) throw new RangeError(`decodePart: truncated at byte ${at} of ${bytes.byteLength}`);
  };
  /** Reads `size` bytes at the cursor with `get`, then advances it. */
  const read = (size: number, get: (offset: number) => number) => {
    need(size);
    const value = get(at);
    at += size;
    return value;
  };
  const u8 = () => read(1, (o) => view.getUint8(o));
  const u16 = () => read(2, (o) => view.getUint16(o, true));
  const u32 = () => read(4, (o) => view.getUint32(o, true));
  const f64 = () => read(8, (o) => view.getFloat64(o, true));
  if (u32() !== MAGIC) throw new RangeError('decodePart: not a sample part (bad magic number)');
  const columns = u16();
  const k = u32();
  const stringCount = u32();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const strings: string[] = [];
  for (let i = 0; i < stringCount; i++) {
    const length = u16();
    need(length);
    strings.push(decoder.decode(bytes.subarray(at, at + length)));
    at += length;
  }
  const string = (id: number) => {
    const s = strings[id];
    if (s === undefined) throw new RangeError(`decodePart: string ${id} of ${strings.length}`);
    return s;
  };
  const strataCount = u32();
  const strata: Stratum[] = [];
  for (let s = 0; s < strataCount; s++) {
    const goal = string(u32());
    const treated = u8() as 0 | 1;
    const label = u8() as 0 | 1;
    const total = f64();
    const count = u32();
    const examples: SampleExample[] = [];
    for (let e = 0; e < count; e++) {
      const priority = f64();
      const contactHash = f64();
      const campaignId = string(u32());
      const flags = u8();
      const holdoutShare = f64();
      const exposedAt = f64();
      const revenue = f64();
      const nnz = u16();
      need(6 * nnz);
      let indices: Uint16Array;
      let values: Float32Array;
      if (byteCopy) {
        // Copied into a fresh, aligned buffer the example owns. Not bytes.slice(): on a Node Buffer
        // (a file, an S3 body) slice() is a view onto the whole pooled memory, not a copy.
        indices = new Uint16Array(Uint8Array.from(bytes.subarray(at, at + 2 * nnz)).buffer);
        values = new Float32Array(Uint8Array.from(bytes.subarray(at + 2 * nnz, at + 6 * nnz)).buffer);
      } else {
        indices = new Uint16Array(nnz);
        values = new Float32Array(nnz);
        for (let i = 0; i < nnz; i++) indices[i] = view.getUint16(at + 2 * i, true);
        for (let i = 0; i < nnz; i++) values[i] = view.getFloat32(at + 2 * nnz + 4 * i, true);
      }
      at += 6 * nnz;
      examples.push({ priority, goal, campaignId, contactHash, label: (flags & 1) as 0 | 1, treated: ((flags >> 1) & 1) as 0 | 1, holdoutShare, exposedAt, revenue, indices, values });
    }
    strata.push({ goal, treated, label, total, examples });
  }
  if (at !== bytes.byteLength) throw new RangeError(`decodePart: ${bytes.byteLength - at} trailing bytes`);
  return { columns, k, strata };
}
