/**
 * Features of the learned models (docs/learning-design.md, section 2): one encoder and two input
 * builders, so that training and scoring cannot drift apart.
 *
 * - `FeatureInput` is everything a model may know about one contact at one instant, and about the
 *   send being considered (its channel and local hour), as plain data.
 * - `inputAtExposure` builds it for training, from the timeline the nightly pass already holds:
 *   counts and RFM from the interactions strictly before the exposure.
 * - `inputNow` builds it for scoring, from the contact as segment rules see it (`EvalContact`):
 *   counts from the behaviour counters, RFM from `scores.value`.
 * - `fitFeatureSpec` learns the encoding's constants from training inputs (means and sds, the
 *   attributes kept, a readable name per hash bucket); `encode` turns an input into a sparse row
 *   for `fitLogistic` / `predictOne`; `featureNames` names the columns for explanations.
 *
 * Documented limits: attributes, country and reachability are as of now in both builders (lead
 * points are not used: see contactPart)
 * (the timeline holds no history of them), so a training example sees today's attributes; the
 * behaviour windows have the counters' resolution of one UTC hour; RFM looks back
 * `RFM_LOOKBACK_DAYS`, as the nightly scores do, but at an exposure early in the timeline the
 * timeline may hold less than that before it (the frequency is then understated).
 *
 * Pure: no I/O. Only type imports from the segment and contact modules, so that they may import
 * this one (the scoring scan and the audience worker do) without a cycle between folders.
 */
import type { Interaction } from '../contacts/timeline.ts';
import type { AttributeValue, Channel, ConsentStatus } from '../contacts/model.ts';
import type { EvalContact } from '../segments/contact-view.ts';
import { activityKeys, countSince, hourOf } from '../activity/activity.ts';
import type { SparseVector } from './logistic.ts';

const DAY = 86_400_000;

/** The channels a send can go out on, in column order. */
export const LEARNING_CHANNELS: readonly Channel[] = ['email', 'sms'];
/** The behaviour windows in days, in column order. */
export const COUNT_WINDOWS = [7, 30, 90] as const;
/** Behaviours counted per channel (they always carry one). */
export const CHANNEL_BEHAVIOURS = ['sent', 'opened', 'clicked', 'unsubscribed'] as const;
/** Behaviours counted over any channel (conversions and visits usually carry none). */
export const ANY_CHANNEL_BEHAVIOURS = ['converted', 'visited'] as const;

type Window = (typeof COUNT_WINDOWS)[number];
export type CountName =
  | `${(typeof CHANNEL_BEHAVIOURS)[number]}.${Channel}.${Window}d`
  | `${(typeof ANY_CHANNEL_BEHAVIOURS)[number]}.any.${Window}d`;

/** Every count a `FeatureInput` carries, in column order: behaviour, then scope, then window. */
export const COUNT_NAMES: readonly CountName[] = [
  ...CHANNEL_BEHAVIOURS.flatMap((b) => LEARNING_CHANNELS.flatMap((c) => COUNT_WINDOWS.map((d) => `${b}.${c}.${d}d` as CountName))),
  ...ANY_CHANNEL_BEHAVIOURS.flatMap((b) => COUNT_WINDOWS.map((d) => `${b}.any.${d}d` as CountName)),
];

/**
 * RFM looks back this many days, as the nightly scores do: `LOOKBACK_DAYS` of
 * shared/attribution/run.ts (not imported: attribution will import this module; a test checks
 * that the two agree).
 */
export const RFM_LOOKBACK_DAYS = 180;
/** Local hours are grouped in buckets of this many hours: 6 buckets. */
export const HOUR_BUCKET_HOURS = 4;
export const HOUR_BUCKETS = 24 / HOUR_BUCKET_HOURS;
/** The hashed block's width. */
export const HASH_BUCKETS = 256;
/** At most this many attributes enter the hashed block (the most frequent in training). */
export const MAX_ATTRIBUTES = 50;
/** Standardised values are clipped to ±this. */
export const CLIP = 5;
/** A string attribute's value is cut to this many characters in its token (bucket names stay short). */
export const MAX_TOKEN_VALUE_LENGTH = 64;

/** Everything a model may know about a contact at one instant and about the send considered. */
export interface FeatureInput {
  /** The contact's attributes (as of now, in both builders). */
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  /** ISO country code, or null. */
  readonly country: string | null;
  /** Whole days since the contact was created, ≥ 0. */
  readonly tenureDays: number;
  /** Whole days since the last conversion within RFM_LOOKBACK_DAYS, or null without one. */
  readonly recencyDays: number | null;
  /** Conversions within RFM_LOOKBACK_DAYS. */
  readonly frequency: number;
  /** Revenue of those conversions (rounded to cents, as `scores.value.monetary`). */
  readonly monetary: number;
  /** Behaviour counts over the last 7, 30 and 90 days (see COUNT_NAMES). */
  readonly counts: Readonly<Record<CountName, number>>;
  /** Lead points (`scores.lead`). */
  readonly lead: number;
  /** Reachable per channel: has the address, confirmed consent, not suppressed (as of now). */
  readonly reachable: Readonly<Record<Channel, boolean>>;
  /** The send's channel; null for a holdout (control) example, which received nothing. */
  readonly channel: Channel | null;
  /** The send's local hour bucket 0–5 (hours 0–3, 4–7, …); null for a control. */
  readonly hourBucket: number | null;
  /** The exposure falls on a Saturday or Sunday in the contact's time zone. */
  readonly weekend: boolean;
}

/**
 * The standardised inputs, in column order: the counts, then tenure, recency, frequency,
 * monetary and lead. Each is first transformed by sign·log1p|v| (counts and money are heavy-tailed).
 */
export const STANDARDISED_NAMES: readonly string[] = [...COUNT_NAMES.map((n) => `count.${n}`), 'tenureDays', 'recencyDays', 'frequency', 'monetary', 'lead'];

const CROSS_COUNTS = ['sent', 'opened', 'clicked'] as const;

/**
 * The numeric block's column names, in order: the standardised inputs, the recency-missing flag,
 * reachability, the channel and hour one-hots, the weekend flag, and the crosses channel × that
 * channel's 30-day sends, opens and clicks.
 */
export const NUMERIC_NAMES: readonly string[] = [
  ...STANDARDISED_NAMES,
  'recencyMissing',
  ...LEARNING_CHANNELS.map((c) => `reachable.${c}`),
  ...LEARNING_CHANNELS.map((c) => `channel=${c}`),
  ...Array.from({ length: HOUR_BUCKETS }, (_, b) => `hour=${b * HOUR_BUCKET_HOURS}-${b * HOUR_BUCKET_HOURS + HOUR_BUCKET_HOURS - 1}`),
  'weekend',
  ...LEARNING_CHANNELS.flatMap((c) => CROSS_COUNTS.map((b) => `channel=${c}×count.${b}.${c}.30d`)),
];

const S = STANDARDISED_NAMES.length;
const COL_RECENCY_MISSING = S;
const COL_REACHABLE = S + 1;
const COL_CHANNEL = COL_REACHABLE + LEARNING_CHANNELS.length;
const COL_HOUR = COL_CHANNEL + LEARNING_CHANNELS.length;
const COL_WEEKEND = COL_HOUR + HOUR_BUCKETS;
const COL_CROSS = COL_WEEKEND + 1;
/** Columns of the numeric block; the hashed block follows. */
export const NUMERIC_COLUMNS = NUMERIC_NAMES.length;
const IDX_RECENCY = COUNT_NAMES.length + 1;
/** Per cross column, the standardised count it copies (that channel's 30-day sent, opened, clicked). */
const CROSS_SOURCES = LEARNING_CHANNELS.flatMap((c) => CROSS_COUNTS.map((b) => COUNT_NAMES.indexOf(`${b}.${c}.30d`)));

/**
 * The encoding's learned constants. Plain JSON (arrays of numbers and strings), stored with each
 * model version: the same training inputs in the same order give the same bytes.
 */
export interface FeatureSpec {
  readonly version: 1;
  /** Attribute names entering the hashed block, sorted by name (at most MAX_ATTRIBUTES). */
  readonly attributes: readonly string[];
  /** Attribute names never used (set after the outcome: leaks), sorted. */
  readonly excludeAttributes: readonly string[];
  /** Mean and sd of each standardised input after sign·log1p|v| (STANDARDISED_NAMES order). */
  readonly means: readonly number[];
  readonly sds: readonly number[];
  /** Per hash bucket, the token most frequent in training (`attributes.plan=pro`), or `hash#<i>`. */
  readonly bucketNames: readonly string[];
  /** The sd of every encoded column over the training inputs: explanations rank by |β|·sd. */
  readonly columnSds: readonly number[];
  /** Share of the treated training exposures per hour bucket (the nightly run's spec): scoring picks a best hour only among buckets the model saw. */
  readonly hourShares?: readonly number[];
}

export interface FeatureSpecOptions {
  /** `learning.excludeAttributes`: attributes set after the outcome (leaks), never encoded. */
  readonly excludeAttributes?: readonly string[];
  /** Weights of the inputs (the sample's total/kept); default all 1. Means, sds and bucket names are weighted. */
  readonly weights?: ArrayLike<number>;
  /** At most this many attributes (default MAX_ATTRIBUTES). */
  readonly maxAttributes?: number;
}

/** The number of columns an encoded vector has: the numeric block plus the hashed block. */
export const featureColumns = (): number => NUMERIC_COLUMNS + HASH_BUCKETS;

/** Column names for explanations: the numeric block's, then each bucket's most frequent token. */
export function featureNames(spec: FeatureSpec): string[] {
  return [...NUMERIC_NAMES, ...spec.bucketNames];
}

/** `FeatureSpec.attributes` = [ALL_ATTRIBUTES]: every attribute of the input (not excluded; sorted; at most MAX_ATTRIBUTES). */
export const ALL_ATTRIBUTES = '*';
/**
 * The scan spec's fixed scale: standardised inputs are sign·log1p|v| / 2 (mean 0), so ±CLIP
 * covers log values up to ±10 (about 22,000 sends, days or currency units).
 */
export const SCAN_SCALE = 2;

const excludedSets = new WeakMap<FeatureSpec, ReadonlySet<string>>();
function excludedOf(spec: FeatureSpec): ReadonlySet<string> {
  let set = excludedSets.get(spec);
  if (!set) excludedSets.set(spec, (set = new Set(spec.excludeAttributes)));
  return set;
}

/**
 * The encoding the nightly run uses: fixed before any example is seen, so every scan page encodes
 * its examples alike in one pass, without a first pass to learn means and sds. Standardised inputs
 * are sign·log1p|v| / SCAN_SCALE (a fixed scale instead of the training sd: the L2 penalty then
 * acts on log units, which suits counts, days and money alike); every attribute of a contact
 * enters the hashed block (at most MAX_ATTRIBUTES, by name) except `excludeAttributes`. The
 * trainer adds what explanations need once the sample is merged: `bucketNames` (the most frequent
 * token per bucket, counted by the scan) and `columnSds` (from the sample).
 */
export function scanSpec(options: { excludeAttributes?: readonly string[]; bucketNames?: readonly string[]; columnSds?: readonly number[] } = {}): FeatureSpec {
  return {
    version: 1,
    attributes: [ALL_ATTRIBUTES],
    excludeAttributes: [...new Set(options.excludeAttributes ?? [])].sort(),
    means: new Array<number>(S).fill(0),
    sds: new Array<number>(S).fill(SCAN_SCALE),
    bucketNames: options.bucketNames ? [...options.bucketNames] : Array.from({ length: HASH_BUCKETS }, (_, b) => `hash#${b}`),
    columnSds: options.columnSds ? [...options.columnSds] : [],
  };
}

/** The hashed tokens' names of an input under a spec (what the scan counts to name the buckets). */
export function tokenNames(input: FeatureInput, spec: FeatureSpec): string[] {
  return tokensOf(input, spec.attributes, excludedOf(spec)).map((t) => t.name);
}

/** sign(v)·log1p(|v|): a log scale that keeps 0 at 0 and accepts negative values. */
export const signedLog1p = (v: number): number => (v < 0 ? -Math.log1p(-v) : Math.log1p(v));

/**
 * 32-bit FNV-1a over the UTF-8 bytes of `text` (so another language's port hashes alike), as an
 * unsigned integer.
 */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  const byte = (b: number) => {
    hash = Math.imul(hash ^ b, 0x01000193);
  };
  for (let i = 0; i < text.length; i++) {
    let code = text.codePointAt(i)!;
    if (code > 0xffff) i++; // a surrogate pair: one code point
    if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd; // a lone surrogate encodes as U+FFFD, as TextEncoder does
    if (code < 0x80) byte(code);
    else if (code < 0x800) {
      byte(0xc0 | (code >> 6));
      byte(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      byte(0xe0 | (code >> 12));
      byte(0x80 | ((code >> 6) & 0x3f));
      byte(0x80 | (code & 0x3f));
    } else {
      byte(0xf0 | (code >> 18));
      byte(0x80 | ((code >> 12) & 0x3f));
      byte(0x80 | ((code >> 6) & 0x3f));
      byte(0x80 | (code & 0x3f));
    }
  }
  return hash >>> 0;
}

/** The hash bucket (0 … HASH_BUCKETS − 1) of a token. */
export const bucketOf = (token: string): number => fnv1a(token) % HASH_BUCKETS;

/** One token of the hashed block: its name and value. */
interface Token {
  readonly name: string;
  readonly value: number;
}

/**
 * The hashed block's tokens of an input, given the attributes kept: `country=XX` (1); per kept
 * attribute, `attributes.<name>=<value>` (1) for a string, `attributes.<name>` (1) for true, and
 * `attributes.<name>` (sign·log1p|v|) for a finite number. False, null, an empty string, 0 and a
 * non-finite number give no token (absent and false read alike).
 */
function tokensOf(input: FeatureInput, attributes: readonly string[], excluded?: ReadonlySet<string>): Token[] {
  const tokens: Token[] = [];
  if (input.country) tokens.push({ name: `country=${input.country}`, value: 1 });
  const names = attributes.length === 1 && attributes[0] === ALL_ATTRIBUTES ? ownAttributes(input, excluded) : attributes;
  for (const name of names) {
    const token = attributeToken(name, input.attributes[name]);
    if (token) tokens.push(token);
  }
  return tokens;
}

/** The input's own attribute names not excluded, sorted, at most MAX_ATTRIBUTES (a scan spec's "all attributes"). */
function ownAttributes(input: FeatureInput, excluded: ReadonlySet<string> | undefined): string[] {
  const names = Object.keys(input.attributes)
    .filter((name) => !excluded?.has(name))
    .sort();
  return names.length > MAX_ATTRIBUTES ? names.slice(0, MAX_ATTRIBUTES) : names;
}

/** One attribute's token, or null when its value gives none. */
function attributeToken(name: string, v: AttributeValue | undefined): Token | null {
  if (typeof v === 'string') return v === '' ? null : { name: `attributes.${name}=${v.slice(0, MAX_TOKEN_VALUE_LENGTH)}`, value: 1 };
  if (typeof v === 'boolean') return v ? { name: `attributes.${name}`, value: 1 } : null;
  if (typeof v === 'number' && Number.isFinite(v) && v !== 0) return { name: `attributes.${name}`, value: signedLog1p(v) };
  return null;
}

/** Throws a RangeError naming the field unless the input is well formed (finite numbers, known channel, bucket 0–5). */
export function checkInput(input: FeatureInput): void {
  // Checked before any message is built: this runs once per encoded example.
  const finite = (name: string, v: unknown, min: number) => {
    if (typeof v === 'number' && Number.isFinite(v) && v >= min) return;
    throw new RangeError(`feature input: ${name} is ${String(v)}, expected a finite number${min > -Infinity ? ` ≥ ${min}` : ''}`);
  };
  for (const name of COUNT_NAMES) {
    const v = input.counts[name];
    if (!(typeof v === 'number' && v >= 0 && v < Infinity)) finite(`counts.${name}`, v, 0);
  }
  finite('tenureDays', input.tenureDays, 0);
  if (input.recencyDays !== null) finite('recencyDays', input.recencyDays, 0);
  finite('frequency', input.frequency, 0);
  finite('monetary', input.monetary, -Infinity);
  finite('lead', input.lead, -Infinity);
  if (input.channel !== null && !LEARNING_CHANNELS.includes(input.channel)) throw new RangeError(`feature input: unknown channel ${String(input.channel)}`);
  if (input.hourBucket !== null && !(Number.isInteger(input.hourBucket) && input.hourBucket >= 0 && input.hourBucket < HOUR_BUCKETS)) {
    throw new RangeError(`feature input: hourBucket is ${String(input.hourBucket)}, expected an integer 0–${HOUR_BUCKETS - 1} or null`);
  }
}

/** The standardised inputs before standardisation: sign·log1p|v| of each (recency NaN when missing: it has its own flag). */
function rawStandardised(input: FeatureInput): Float64Array {
  const raw = new Float64Array(S);
  COUNT_NAMES.forEach((name, j) => (raw[j] = signedLog1p(input.counts[name])));
  raw[COUNT_NAMES.length] = signedLog1p(input.tenureDays);
  raw[IDX_RECENCY] = input.recencyDays === null ? Number.NaN : signedLog1p(input.recencyDays);
  raw[IDX_RECENCY + 1] = signedLog1p(input.frequency);
  raw[IDX_RECENCY + 2] = signedLog1p(input.monetary);
  raw[IDX_RECENCY + 3] = signedLog1p(input.lead);
  return raw;
}

const clip = (z: number) => (z > CLIP ? CLIP : z < -CLIP ? -CLIP : z);

/**
 * The sparse row of one input (columns strictly increasing, zeros left out), featureColumns() wide:
 *
 * - numeric block: each standardised input as (sign·log1p|v| − mean) / sd, clipped to ±CLIP; a
 *   missing recency is 0 with `recencyMissing` = 1; reachability, channel, hour bucket and weekend
 *   as 0/1; each channel's crosses are that channel's standardised 30-day sent/opened/clicked
 *   values when the send goes out on it, else 0 (a control has none);
 * - hashed block: each token's value added into column NUMERIC_COLUMNS + bucketOf(token)
 *   (colliding tokens sum).
 *
 * A malformed input throws a RangeError (see checkInput); the result holds no NaN.
 */
export function encode(input: FeatureInput, spec: FeatureSpec): SparseVector & { indices: number[]; values: number[] } {
  checkInput(input);
  const row = new Float64Array(NUMERIC_COLUMNS);
  const raw = rawStandardised(input);
  for (let j = 0; j < S; j++) row[j] = Number.isNaN(raw[j]!) ? 0 : clip((raw[j]! - spec.means[j]!) / spec.sds[j]!);
  if (input.recencyDays === null) row[COL_RECENCY_MISSING] = 1;
  for (let k = 0; k < LEARNING_CHANNELS.length; k++) {
    const channel = LEARNING_CHANNELS[k]!;
    if (input.reachable[channel]) row[COL_REACHABLE + k] = 1;
    if (input.channel !== channel) continue;
    row[COL_CHANNEL + k] = 1;
    for (let m = 0; m < CROSS_COUNTS.length; m++) row[COL_CROSS + k * CROSS_COUNTS.length + m] = row[CROSS_SOURCES[k * CROSS_COUNTS.length + m]!]!;
  }
  if (input.hourBucket !== null) row[COL_HOUR + input.hourBucket] = 1;
  if (input.weekend) row[COL_WEEKEND] = 1;
  const indices: number[] = [];
  const values: number[] = [];
  for (let j = 0; j < NUMERIC_COLUMNS; j++) {
    if (row[j] !== 0) {
      indices.push(j);
      values.push(row[j]!);
    }
  }
  // Tokens are few (country and ≤ 50 attributes): collect by bucket, then sort the buckets.
  const buckets: number[] = [];
  const sums: number[] = [];
  for (const token of tokensOf(input, spec.attributes, excludedOf(spec))) {
    const bucket = bucketOf(token.name);
    const at = buckets.indexOf(bucket);
    if (at >= 0) sums[at]! += token.value;
    else {
      buckets.push(bucket);
      sums.push(token.value);
    }
  }
  const order = buckets.map((_, k) => k).sort((a, b) => buckets[a]! - buckets[b]!);
  for (const k of order) {
    if (sums[k] !== 0) {
      indices.push(NUMERIC_COLUMNS + buckets[k]!);
      values.push(sums[k]!);
    }
  }
  return { indices, values };
}

/**
 * Learns the encoding's constants from training inputs (in a fixed order, so the same inputs give
 * the same spec bytes):
 *
 * - the attributes: those with a token in some input and not excluded; when more than
 *   `maxAttributes`, the most frequent (by weight, ties by name); kept sorted by name;
 * - per standardised input, the weighted mean and (population) sd of sign·log1p|v|; recency's
 *   over the inputs that have one. An sd of 0 (a constant, a single input) or an input nobody
 *   has is stored with sd 1 (and mean 0 without data), so a constant column encodes as 0;
 * - per hash bucket, the token with the largest weight (ties: the smallest name), else `hash#<i>`;
 * - the sd of every encoded column, for explanations.
 *
 * Throws a RangeError on no inputs, a malformed input, a maxAttributes that is not a whole
 * number ≥ 0, or weights that are negative, non-finite, of the wrong length or all zero.
 */
export function fitFeatureSpec(inputs: readonly FeatureInput[], options: FeatureSpecOptions = {}): FeatureSpec {
  const n = inputs.length;
  if (n === 0) throw new RangeError('fitFeatureSpec: no inputs');
  const weights = options.weights ?? new Float64Array(n).fill(1);
  if (weights.length !== n) throw new RangeError(`fitFeatureSpec: ${weights.length} weights for ${n} inputs`);
  let totalWeight = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    if (!(Number.isFinite(w) && w >= 0)) throw new RangeError(`fitFeatureSpec: weight ${i} is ${w}`);
    totalWeight += w;
  }
  if (!(totalWeight > 0)) throw new RangeError('fitFeatureSpec: the weights sum to 0');
  const maxAttributes = options.maxAttributes ?? MAX_ATTRIBUTES;
  if (!(Number.isInteger(maxAttributes) && maxAttributes >= 0)) throw new RangeError(`fitFeatureSpec: maxAttributes is ${maxAttributes}`);
  const excluded = new Set(options.excludeAttributes ?? []);
  inputs.forEach(checkInput);

  // Attributes kept: by weight of the inputs that give them a token.
  const attributeWeight = new Map<string, number>();
  inputs.forEach((input, i) => {
    for (const [name, v] of Object.entries(input.attributes)) {
      if (!excluded.has(name) && attributeToken(name, v)) attributeWeight.set(name, (attributeWeight.get(name) ?? 0) + weights[i]!);
    }
  });
  const attributes = [...attributeWeight]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, maxAttributes)
    .map(([name]) => name)
    .sort();

  // Means and sds of the standardised inputs (two passes: the mean, then squared deviations).
  const raws = inputs.map(rawStandardised);
  const means = new Array<number>(S).fill(0);
  const sds = new Array<number>(S).fill(1);
  for (let j = 0; j < S; j++) {
    let sw = 0;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const v = raws[i]![j]!;
      if (Number.isNaN(v)) continue;
      sw += weights[i]!;
      sum += weights[i]! * v;
    }
    if (!(sw > 0)) continue;
    const mean = sum / sw;
    let squares = 0;
    for (let i = 0; i < n; i++) {
      const v = raws[i]![j]!;
      if (!Number.isNaN(v)) squares += weights[i]! * (v - mean) ** 2;
    }
    const sd = Math.sqrt(squares / sw);
    means[j] = mean;
    sds[j] = sd > 1e-12 ? sd : 1;
  }

  // Bucket names: the heaviest token per bucket.
  const tokenWeight = new Map<string, number>();
  inputs.forEach((input, i) => {
    for (const token of tokensOf(input, attributes)) tokenWeight.set(token.name, (tokenWeight.get(token.name) ?? 0) + weights[i]!);
  });
  const best: Array<[string, number] | undefined> = new Array(HASH_BUCKETS);
  for (const [name, w] of tokenWeight) {
    const bucket = bucketOf(name);
    const current = best[bucket];
    if (!current || w > current[1] || (w === current[1] && name < current[0])) best[bucket] = [name, w];
  }
  const bucketNames = Array.from({ length: HASH_BUCKETS }, (_, b) => best[b]?.[0] ?? `hash#${b}`);

  // The sd of every encoded column (zeros included), weighted.
  const partial: FeatureSpec = { version: 1, attributes, excludeAttributes: [...excluded].sort(), means, sds, bucketNames, columnSds: [] };
  const columns = featureColumns();
  const sum = new Float64Array(columns);
  const squares = new Float64Array(columns);
  inputs.forEach((input, i) => {
    const { indices, values } = encode(input, partial);
    const w = weights[i]!;
    for (let k = 0; k < indices.length; k++) {
      const j = indices[k]!;
      sum[j] = sum[j]! + w * values[k]!;
      squares[j] = squares[j]! + w * values[k]! * values[k]!;
    }
  });
  const columnSds = Array.from({ length: columns }, (_, j) => {
    const mean = sum[j]! / totalWeight;
    return Math.sqrt(Math.max(0, squares[j]! / totalWeight - mean * mean));
  });
  return { ...partial, columnSds };
}

// ---------------------------------------------------------------------------------------------
// Builders

/** What the builders read of a contact besides its behaviour; an `EvalContact` is one. */
export interface ContactFacts {
  readonly createdAt: string;
  readonly country?: string;
  readonly timezone?: string;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly email?: string;
  readonly phone?: string;
  readonly consent: Partial<Record<Channel, ConsentStatus>>;
  readonly suppressed: Readonly<Record<Channel, boolean>>;
  readonly scores: { readonly lead: number };
}

/** The timeline fields the training builder reads. */
export type TimelineEntry = Pick<Interaction, 'type' | 'occurredAt' | 'channel' | 'campaignId' | 'data'>;

/**
 * Reachable on a channel: has the address, consent confirmed, not suppressed. The same rule as
 * `reachable` in shared/segments/contact-view.ts (not imported, to keep the folders acyclic; a
 * test compares the two).
 */
function reachableOn(contact: ContactFacts, channel: Channel): boolean {
  const address = channel === 'email' ? contact.email : contact.phone;
  return Boolean(address) && contact.consent[channel] === 'confirmed' && !contact.suppressed[channel];
}

const weekdayFormats = new Map<string, Intl.DateTimeFormat>();
/** Saturday or Sunday at `instant` in `timezone` (an unknown zone throws a RangeError, as Intl does). */
function isWeekend(instant: number, timezone: string): boolean {
  let format = weekdayFormats.get(timezone);
  if (!format) weekdayFormats.set(timezone, (format = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, weekday: 'short' })));
  const day = format.format(new Date(instant));
  return day === 'Sat' || day === 'Sun';
}

/** The hour bucket of a local hour 0–23, or null; anything else throws a RangeError. */
export function hourBucketOf(hour: number | null): number | null {
  if (hour === null) return null;
  if (!(Number.isInteger(hour) && hour >= 0 && hour < 24)) throw new RangeError(`local hour is ${hour}, expected an integer 0–23 or null`);
  return Math.floor(hour / HOUR_BUCKET_HOURS);
}

function instant(name: string, iso: string): number {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new RangeError(`${name} is not an instant: ${iso}`);
  return ms;
}

/** The fields both builders take from the contact as of now, and the send's channel and hour. */
function contactPart(contact: ContactFacts, at: number, channel: Channel | null, hour: number | null) {
  if (!Number.isFinite(at)) throw new RangeError(`the instant is ${at}`);
  if (channel !== null && !LEARNING_CHANNELS.includes(channel)) throw new RangeError(`unknown channel ${String(channel)}`);
  return {
    attributes: contact.attributes,
    country: contact.country ? contact.country : null,
    // A contact imported after a historic send was "created" after it: tenure 0, not negative.
    tenureDays: Math.max(0, Math.floor((at - instant('createdAt', contact.createdAt)) / DAY)),
    // Not used: lead points are as of now and include points for the very outcomes predicted (25
    // per purchase), which history imports do not award, so neither adding nor taking them back
    // is right at an exposure; what they sum (clicks, purchases, form submissions) is in the counts.
    lead: 0,
    reachable: { email: reachableOn(contact, 'email'), sms: reachableOn(contact, 'sms') },
    channel,
    hourBucket: hourBucketOf(hour),
    weekend: isWeekend(at, contact.timezone ?? 'UTC'),
  };
}

const zeroCounts = (): Record<CountName, number> => Object.fromEntries(COUNT_NAMES.map((n) => [n, 0])) as Record<CountName, number>;

/**
 * The training input of an exposure at `at` (ms): counts and RFM from the timeline entries
 * strictly before `at`, the rest from the contact as of now.
 *
 * - counts: each entry's counter key (`activityKeys`, so a transactional send is not a `sent`)
 *   counts in the window of d days when its UTC hour is ≥ hourOf(at) − 24·d, exactly as
 *   `countSince` reads the counters at `at`; conversions and visits count on any channel;
 * - RFM: the conversions in [at − RFM_LOOKBACK_DAYS, at): recency in whole days since the last,
 *   their number, and their revenue (`data.value`, else 0) rounded to cents, as `updateScores`
 *   computes `scores.value`.
 *
 * `hour` is the send's local hour 0–23 (null for a control); the weekend flag is `at`'s day in the
 * contact's time zone. The timeline need not be sorted.
 */
export function inputAtExposure(timeline: readonly TimelineEntry[], contact: ContactFacts, at: number, channel: Channel | null, hour: number | null): FeatureInput {
  const facts = contactPart(contact, at, channel, hour);
  const counts = zeroCounts();
  const now = hourOf(at);
  const rfmStart = at - RFM_LOOKBACK_DAYS * DAY;
  const countStart = (now - 24 * Math.max(...COUNT_WINDOWS)) * 3_600_000;
  let frequency = 0;
  let monetary = 0;
  let last = -Infinity;
  for (const entry of timeline) {
    const t = instant('occurredAt', entry.occurredAt);
    if (t >= at) continue;
    if (entry.type === 'converted' && t >= rfmStart) {
      frequency++;
      monetary += typeof entry.data?.value === 'number' ? entry.data.value : 0;
      if (t > last) last = t;
    }
    if (t < countStart) continue;
    const key = activityKeys(entry)[0]!;
    const type = key.slice(0, key.indexOf('|'));
    const scope = key.slice(key.indexOf('|') + 1, key.lastIndexOf('|'));
    const hoursAgo = now - hourOf(t);
    for (const d of COUNT_WINDOWS) {
      if (hoursAgo > 24 * d) continue;
      if ((ANY_CHANNEL_BEHAVIOURS as readonly string[]).includes(type)) counts[`${type as 'converted' | 'visited'}.any.${d}d`]++;
      else if ((CHANNEL_BEHAVIOURS as readonly string[]).includes(type) && (LEARNING_CHANNELS as readonly string[]).includes(scope)) {
        counts[`${type as (typeof CHANNEL_BEHAVIOURS)[number]}.${scope as Channel}.${d}d`]++;
      }
    }
  }
  return {
    ...facts,
    recencyDays: frequency ? Math.floor((at - last) / DAY) : null,
    frequency,
    monetary: Math.round(monetary * 100) / 100,
    counts,
  };
}

/**
 * The scoring input of a contact at `now` (ms): counts from its behaviour counters
 * (`countSince` over hourOf(now) − 24·d), RFM from `scores.value` (as of the last nightly run:
 * scoring runs right after it, so recency is current to the day), the rest from the contact.
 * `hour` is the planned local hour 0–23 (null for the control model's input).
 */
export function inputNow(contact: EvalContact, channel: Channel | null, hour: number | null, now: number): FeatureInput {
  const facts = contactPart(contact, now, channel, hour);
  const counts = zeroCounts();
  const current = hourOf(now);
  for (const d of COUNT_WINDOWS) {
    const from = current - 24 * d;
    for (const b of CHANNEL_BEHAVIOURS) for (const c of LEARNING_CHANNELS) counts[`${b}.${c}.${d}d`] = countSince(contact.activity.get(`${b}|${c}`), from);
    for (const b of ANY_CHANNEL_BEHAVIOURS) counts[`${b}.any.${d}d`] = countSince(contact.activity.get(`${b}|*`), from);
  }
  const value = contact.scores.value;
  return { ...facts, recencyDays: value.recency, frequency: value.frequency, monetary: value.monetary, counts };
}
