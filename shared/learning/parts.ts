/**
 * The learning parts of a run (docs/learning-design.md §4): each attribution scan page collects its
 * contacts' examples into bottom-k strata, BG/NBD counts, a bottom-k sample of buyers for
 * Gamma–Gamma and token counts, and writes them to the learning bucket as two objects,
 * `learning/<runId>/<part>.bin` (the `encodePart` bytes) and `<part>.json` (the rest). The
 * learning worker reads them back and merges: strata by bottom-k (exact, whatever the split),
 * counts by sum.
 */
import { createHash } from 'node:crypto';
import type { ObjectStore } from '../aws/objects.ts';
import type { Interaction } from '../contacts/timeline.ts';
import { bgNbdKey, gammaGammaRowOf, type GammaGammaRow } from './btyd.ts';
import { btydCustomerOf, collectContact, HISTORY_DAYS, type ConversionSummary, type LearningCampaign } from './collect.ts';
import { featureColumns, HASH_BUCKETS, bucketOf, type ContactFacts, type FeatureSpec } from './features.ts';
import { contactHashOf, decodePart, DEFAULT_STRATUM_SIZE, encodePart, mergeParts, SampleBuilder, type SamplePart } from './sample.ts';

const DAY = 86_400_000;
/** Buyers kept for the Gamma–Gamma fit (bottom-k by a hash of the contact). */
export const GAMMA_GAMMA_SAMPLE = 100_000;
/** Distinct token names a part counts (the first ones met); enough to name the buckets. */
export const MAX_TOKENS_PER_PART = 20_000;

/** The JSON half of a part. */
export interface PartFacts {
  /** Examples seen per goal (kept or not). */
  goals: Record<string, number>;
  /** BG/NBD counts `x|tx|T` → customers. */
  bgNbd: Record<string, number>;
  /** Buyers with revenue: [priority, conversions (x + 1, x clipped as in the fit), mean spend], the part's bottom GAMMA_GAMMA_SAMPLE by priority. */
  buyers: Array<[number, number, number]>;
  /** Token name → contacts carrying it. */
  tokens: Record<string, number>;
}

/** Collects one scan page's learning facts; `finish` gives the two objects' bodies. */
export class LearningCollector {
  private readonly builder: SampleBuilder;
  private readonly goals = new Map<string, number>();
  private readonly bgNbd = new Map<string, number>();
  private buyers: Array<[number, number, number]> = [];
  private readonly tokens = new Map<string, number>();
  private readonly historyStart: number;

  /**
   * `now` is the instant the run collects as of (its range's end, or the clock when that is
   * earlier): goal windows must have closed by then and BG/NBD's T runs to it.
   */
  constructor(
    readonly spec: FeatureSpec,
    readonly now: number,
    lookbackStart: number,
    readonly k: number = DEFAULT_STRATUM_SIZE,
  ) {
    this.builder = new SampleBuilder(featureColumns(), k);
    this.historyStart = lookbackStart + HISTORY_DAYS * DAY;
  }

  /** One contact (as of now: `toEvalContact` of its item) and its interactions in the lookback. Returns its conversion summary. */
  add(contact: ContactFacts & { readonly id: string }, timeline: readonly Interaction[], campaigns: ReadonlyMap<string, LearningCampaign>): ConversionSummary | null {
    const result = collectContact(contact.id, timeline, contact, campaigns, this.spec, { historyStart: this.historyStart, now: this.now });
    for (const example of result.examples) {
      this.builder.add(example);
      this.goals.set(example.goal, (this.goals.get(example.goal) ?? 0) + 1);
    }
    for (const token of result.tokens) {
      const known = this.tokens.get(token);
      if (known !== undefined) this.tokens.set(token, known + 1);
      else if (this.tokens.size < MAX_TOKENS_PER_PART) this.tokens.set(token, 1);
    }
    if (result.conversions) {
      const customer = btydCustomerOf(result.conversions, this.now);
      const key = bgNbdKey(customer.x, customer.tx, customer.T);
      this.bgNbd.set(key, (this.bgNbd.get(key) ?? 0) + 1);
      if (customer.meanSpend > 0) {
        const row = gammaGammaRowOf(customer);
        this.buyers.push([contactHashOf('btyd', contact.id) / 2 ** 48, row.x, row.meanSpend]);
        if (this.buyers.length > 2 * GAMMA_GAMMA_SAMPLE) this.buyers = bottomBuyers(this.buyers);
      }
    }
    return result.conversions;
  }

  /** Examples collected so far (all goals). */
  get examples(): number {
    let n = 0;
    for (const v of this.goals.values()) n += v;
    return n;
  }

  finish(): { sample: Uint8Array; facts: PartFacts } {
    return {
      sample: encodePart(this.builder.finish()),
      facts: { goals: Object.fromEntries(this.goals), bgNbd: Object.fromEntries(this.bgNbd), buyers: bottomBuyers(this.buyers), tokens: Object.fromEntries(this.tokens) },
    };
  }
}

function bottomBuyers(buyers: Array<[number, number, number]>): Array<[number, number, number]> {
  return buyers.sort((a, b) => a[0] - b[0]).slice(0, GAMMA_GAMMA_SAMPLE);
}

/** The part's object key stem: `learning/<runId>/<segment>-<hash of where the page started>`. */
export function partStem(runId: string, segment: number, startKey: unknown): string {
  const where = createHash('sha256').update(JSON.stringify(startKey ?? 'start')).digest('hex').slice(0, 16);
  return `learning/${runId}/${segment}-${where}`;
}

export async function writePart(objects: ObjectStore, stem: string, part: { sample: Uint8Array; facts: PartFacts }): Promise<void> {
  await objects.put(`${stem}.bin`, part.sample, 'application/octet-stream');
  await objects.put(`${stem}.json`, JSON.stringify(part.facts), 'application/json');
}

/**
 * One goal's sample from all parts: each part is read, reduced to the goal's strata and merged
 * into the running sample before the next is read, so memory holds one part and the sample.
 */
export async function goalSample(objects: ObjectStore, stems: readonly string[], goal: string, k = DEFAULT_STRATUM_SIZE): Promise<SamplePart> {
  let sample: SamplePart = { columns: featureColumns(), k, strata: [] };
  for (const stem of [...stems].sort()) {
    const bytes = await objects.read(`${stem}.bin`);
    if (!bytes) throw new Error(`learning part ${stem}.bin is missing`);
    const part = decodePart(bytes);
    const own = { ...part, strata: part.strata.filter((s) => s.goal === goal) };
    if (own.strata.length) sample = mergeParts([sample, own], k);
  }
  return sample;
}

/** The parts' JSON halves merged: goal counts, BG/NBD counts and tokens summed, buyers' bottom-k. */
export async function mergedFacts(objects: ObjectStore, stems: readonly string[]): Promise<{ goals: Map<string, number>; bgNbd: Map<string, number>; buyers: GammaGammaRow[]; tokens: Map<string, number> }> {
  const goals = new Map<string, number>();
  const bgNbd = new Map<string, number>();
  const tokens = new Map<string, number>();
  let buyers: Array<[number, number, number]> = [];
  for (const stem of [...stems].sort()) {
    const text = await objects.read(`${stem}.json`);
    if (!text) throw new Error(`learning part ${stem}.json is missing`);
    const facts = JSON.parse(text.toString('utf8')) as PartFacts;
    for (const [g, n] of Object.entries(facts.goals)) goals.set(g, (goals.get(g) ?? 0) + n);
    for (const [key, n] of Object.entries(facts.bgNbd)) bgNbd.set(key, (bgNbd.get(key) ?? 0) + n);
    for (const [t, n] of Object.entries(facts.tokens)) tokens.set(t, (tokens.get(t) ?? 0) + n);
    buyers = bottomBuyers([...buyers, ...facts.buyers]);
  }
  return { goals, bgNbd, buyers: buyers.map(([, x, meanSpend]) => ({ x, meanSpend })), tokens };
}

/** Per hash bucket, its most frequent token (ties: the smaller name), else `hash#<i>`. */
export function bucketNamesOf(tokens: ReadonlyMap<string, number>): string[] {
  const best: Array<[string, number] | undefined> = new Array(HASH_BUCKETS);
  for (const [name, n] of tokens) {
    const b = bucketOf(name);
    const current = best[b];
    if (!current || n > current[1] || (n === current[1] && name < current[0])) best[b] = [name, n];
  }
  return Array.from({ length: HASH_BUCKETS }, (_, b) => best[b]?.[0] ?? `hash#${b}`);
}
