/**
 * Multi-touch attribution of one conversion to the campaign sends that preceded it. Pure: no
 * I/O, no clock, and the result depends only on the values passed in (not on the order of
 * `touches`), so the nightly run can re-attribute any day and get the same answer.
 *
 * Rules, in the order they apply:
 *
 * 1. Goal filter — a touch is considered only if its campaign has a goal in `goals` whose
 *    `event` equals `conversion.name`.
 * 2. Collapse — a touch for attribution is a *send*. Touches sharing a `sendId` are one send at
 *    the send's time: the 'sent' touch's time (the earliest one, should there be several), or,
 *    when only engagement (delivered/opened/clicked) was seen, the earliest engagement. Touches
 *    without a `sendId` cannot be tied to their send, so each distinct (campaign, time) is its
 *    own send. Variant and channel come from the 'sent' touch, filled from the send's other
 *    touches (earliest first) when it lacks them. Every one of these choices is a total order
 *    over the touches, never "the first listed".
 * 3. Qualify — a send counts when it happened strictly before the conversion (a send at the
 *    conversion's very millisecond did not cause it) and no more than its own campaign's
 *    `windowDays × 24 h` before it (inclusive: exactly at the window edge counts).
 * 4. Split — one conversion's credit (total 1) is split across the qualifying sends of all
 *    campaigns together, with ONE model for the whole conversion: the model (and half-life) of
 *    the campaign that owns the most recent qualifying send. Rationale: last touch is the
 *    common default, so "the latest campaign's rules apply" degrades to plain last-touch when
 *    every campaign uses it, and the split always sums to exactly one conversion — per-campaign
 *    models applied side by side could not (two last-touch campaigns would each claim 100 %).
 *
 * Ordering and ties: sends are totally ordered by (time, key) where key is the `sendId` (or the
 * campaign id for a send without one; with equal strings the send that has a sendId is the
 * larger). "Most recent" is the maximum of that order, "first" the minimum — so at equal times
 * last touch goes to the lexicographically larger sendId, first touch to the smaller, whatever
 * order the touches were listed in. Credits are returned in that chronological order.
 *
 * Models (Δt = conversion.at − send time, all in ms):
 * - last_touch: the most recent send gets 1.
 * - first_touch: the earliest send gets 1.
 * - linear: each of the m sends gets 1/m.
 * - time_decay: weight w = 2^(−Δt / halfLife), credit = w / Σw; halfLife = the deciding
 *   campaign's `halfLifeDays` (default 7). Computed relative to the most recent send
 *   (2^(−(Δt − Δt_min)/h), same ratio) so no weight underflows to 0 with a short half-life.
 *
 * Speed: the per-call work is a scan of the touches with scratch typed arrays reused between
 * calls (up to 64 touches a linear search collapses sends; beyond that a Map does), so the
 * only allocations are the returned credits. Not re-entrant, which is fine: nothing here calls
 * back into user code.
 */

export type AttributionModel = 'last_touch' | 'first_touch' | 'linear' | 'time_decay';

export interface Touch {
  campaignId: string;
  variant?: string;
  channel?: string;
  sendId?: string;
  /** Epoch milliseconds. */
  at: number;
  kind: 'sent' | 'delivered' | 'opened' | 'clicked';
}

export interface Conversion {
  id: string;
  contactId: string;
  /** Epoch milliseconds. */
  at: number;
  value: number;
  /** The goal event, e.g. "purchase". */
  name: string;
}

export interface CampaignGoal {
  campaignId: string;
  event: string;
  windowDays: number;
  model: AttributionModel;
  /** time_decay only; default 7. */
  halfLifeDays?: number;
}

export interface Credit {
  conversionId: string;
  campaignId: string;
  variant?: string;
  channel?: string;
  sendId?: string;
  /** Share of the conversion, 0..1; the credits of one conversion sum to 1. */
  credit: number;
  /** credit × conversion value. */
  revenue: number;
}

export interface CampaignOutcome {
  campaignId: string;
  variant?: string;
  /** Sum of fractional credits. */
  conversions: number;
  revenue: number;
}

export const DAY_MS = 86_400_000;
export const DEFAULT_HALF_LIFE_DAYS = 7;
/** Up to this many touches, sends are collapsed by linear search (cheaper than hashing). */
const LINEAR_COLLAPSE_MAX = 64;

// Scratch space per distinct send ("slot"), grown on demand and reused by every call.
let capacity = 0;
let slotRep = new Int32Array(0); // index of the touch whose time is the send's time
let slotAt = new Float64Array(0);
let slotVariant = new Int32Array(0); // index of the touch supplying variant, −1 if none
let slotChannel = new Int32Array(0); // index of the touch supplying channel, −1 if none
let slotGoal: (CampaignGoal | undefined)[] = [];
let qualifying = new Int32Array(0); // slots that qualify, then sorted chronologically
let weights = new Float64Array(0);
const slotByKey = new Map<string, number>();

function ensureCapacity(n: number): void {
  if (n <= capacity) return;
  capacity = Math.max(n, capacity * 2, 16);
  slotRep = new Int32Array(capacity);
  slotAt = new Float64Array(capacity);
  slotVariant = new Int32Array(capacity);
  slotChannel = new Int32Array(capacity);
  slotGoal = new Array<CampaignGoal | undefined>(capacity).fill(undefined);
  qualifying = new Int32Array(capacity);
  weights = new Float64Array(capacity);
}

/** Same send: equal sendIds, or — both without one — same campaign at the same instant. */
function sameSend(a: Touch, b: Touch): boolean {
  return a.sendId !== undefined ? a.sendId === b.sendId : b.sendId === undefined && a.campaignId === b.campaignId && a.at === b.at;
}

/**
 * Which of two touches of one send defines it: a 'sent' touch over engagement, then the earlier,
 * then (inconsistent data only) the smaller campaign id — a total order, so the choice does not
 * depend on listing order.
 */
function outranks(a: Touch, b: Touch): boolean {
  const aSent = a.kind === 'sent';
  if (aSent !== (b.kind === 'sent')) return aSent;
  if (a.at !== b.at) return a.at < b.at;
  return a.campaignId < b.campaignId;
}

/** The same order for the touch supplying variant or channel, ties broken by the value itself. */
function outranksBy(a: Touch, b: Touch, aValue: string, bValue: string): boolean {
  const aSent = a.kind === 'sent';
  if (aSent !== (b.kind === 'sent')) return aSent;
  if (a.at !== b.at) return a.at < b.at;
  return aValue < bValue;
}

const keyOf = (t: Touch): string => (t.sendId !== undefined ? t.sendId : `\u0000${t.campaignId}\u0000${t.at}`);

/** The chronological total order of sends: by time, then by key (see the module comment). */
function compareSlots(touches: readonly Touch[], a: number, b: number): number {
  const at = slotAt[a]!;
  const bt = slotAt[b]!;
  if (at !== bt) return at < bt ? -1 : 1;
  const ta = touches[slotRep[a]!]!;
  const tb = touches[slotRep[b]!]!;
  const ka = ta.sendId ?? ta.campaignId;
  const kb = tb.sendId ?? tb.campaignId;
  if (ka !== kb) return ka < kb ? -1 : 1;
  if ((ta.sendId === undefined) !== (tb.sendId === undefined)) return ta.sendId === undefined ? -1 : 1;
  return 0;
}

export function attributeConversion(conversion: Conversion, touches: Touch[], goals: Map<string, CampaignGoal>): Credit[] {
  const n = touches.length;
  if (n === 0) return [];
  ensureCapacity(n);
  const useMap = n > LINEAR_COLLAPSE_MAX;
  if (useMap) slotByKey.clear();
  const event = conversion.name;

  // 1–2. Goal filter and collapse into sends.
  let slots = 0;
  for (let i = 0; i < n; i++) {
    const t = touches[i]!;
    const goal = goals.get(t.campaignId);
    if (goal === undefined || goal.event !== event) continue;
    let s = -1;
    if (useMap) {
      const key = keyOf(t);
      const found = slotByKey.get(key);
      if (found === undefined) slotByKey.set(key, slots);
      else s = found;
    } else {
      for (let j = 0; j < slots; j++) {
        if (sameSend(touches[slotRep[j]!]!, t)) {
          s = j;
          break;
        }
      }
    }
    if (s < 0) {
      s = slots++;
      slotRep[s] = i;
      slotAt[s] = t.at;
      slotGoal[s] = goal;
      slotVariant[s] = t.variant !== undefined ? i : -1;
      slotChannel[s] = t.channel !== undefined ? i : -1;
      continue;
    }
    const rep = touches[slotRep[s]!]!;
    if (outranks(t, rep)) {
      slotRep[s] = i;
      slotAt[s] = t.at;
      slotGoal[s] = goal;
    }
    if (t.variant !== undefined) {
      const v = slotVariant[s]!;
      if (v < 0 || outranksBy(t, touches[v]!, t.variant, touches[v]!.variant!)) slotVariant[s] = i;
    }
    if (t.channel !== undefined) {
      const c = slotChannel[s]!;
      if (c < 0 || outranksBy(t, touches[c]!, t.channel, touches[c]!.channel!)) slotChannel[s] = i;
    }
  }

  // 3. Qualify: strictly before the conversion and within the send's own campaign window.
  const convAt = conversion.at;
  let m = 0;
  let latest = -1;
  for (let s = 0; s < slots; s++) {
    const dt = convAt - slotAt[s]!;
    if (!(dt > 0 && dt <= slotGoal[s]!.windowDays * DAY_MS)) continue;
    qualifying[m++] = s;
    if (latest < 0 || compareSlots(touches, s, latest) > 0) latest = s;
  }
  if (m === 0) return [];

  // 4. Split with the model of the campaign owning the most recent send.
  const decider = slotGoal[latest]!;
  const value = conversion.value;
  switch (decider.model) {
    case 'last_touch':
      return [credit(conversion.id, touches, latest, 1, value)];
    case 'first_touch': {
      let first = qualifying[0]!;
      for (let k = 1; k < m; k++) if (compareSlots(touches, qualifying[k]!, first) < 0) first = qualifying[k]!;
      return [credit(conversion.id, touches, first, 1, value)];
    }
    case 'linear': {
      sortChronologically(touches, m);
      const share = 1 / m;
      const out = new Array<Credit>(m);
      for (let k = 0; k < m; k++) out[k] = credit(conversion.id, touches, qualifying[k]!, share, value);
      return out;
    }
    case 'time_decay': {
      sortChronologically(touches, m);
      const h = decider.halfLifeDays;
      // A missing (or, from unvalidated input, non-positive) half-life means the default.
      const halfLifeMs = (h !== undefined && h > 0 ? h : DEFAULT_HALF_LIFE_DAYS) * DAY_MS;
      const newest = slotAt[latest]!;
      // 2^(−Δt/h) / Σ 2^(−Δt/h), each weight scaled by 2^(Δt_min/h) so the newest weighs 1.
      let sum = 0;
      for (let k = 0; k < m; k++) {
        const w = Math.pow(2, -(newest - slotAt[qualifying[k]!]!) / halfLifeMs);
        weights[k] = w;
        sum += w;
      }
      const out = new Array<Credit>(m);
      for (let k = 0; k < m; k++) out[k] = credit(conversion.id, touches, qualifying[k]!, weights[k]! / sum, value);
      return out;
    }
    default:
      throw new Error(`unknown attribution model ${String(decider.model satisfies never)}`);
  }
}

/** Insertion sort of qualifying[0..m) (a handful of sends); Array.sort beyond that. */
function sortChronologically(touches: readonly Touch[], m: number): void {
  if (m > 32) {
    const sorted = Array.from(qualifying.subarray(0, m)).sort((a, b) => compareSlots(touches, a, b));
    qualifying.set(sorted);
    return;
  }
  for (let i = 1; i < m; i++) {
    const s = qualifying[i]!;
    let j = i - 1;
    while (j >= 0 && compareSlots(touches, qualifying[j]!, s) > 0) {
      qualifying[j + 1] = qualifying[j]!;
      j--;
    }
    qualifying[j + 1] = s;
  }
}

function credit(conversionId: string, touches: readonly Touch[], slot: number, share: number, value: number): Credit {
  const rep = touches[slotRep[slot]!]!;
  const v = slotVariant[slot]!;
  const c = slotChannel[slot]!;
  // Every property always present (undefined when absent): one object shape for the optimiser.
  return {
    conversionId,
    campaignId: rep.campaignId,
    variant: v >= 0 ? touches[v]!.variant : undefined,
    channel: c >= 0 ? touches[c]!.channel : undefined,
    sendId: rep.sendId,
    credit: share,
    revenue: share * value,
  };
}

/** Key of aggregateCredits' map: `campaignId|variant` (variant empty when absent; names are never empty). */
export const outcomeKey = (campaignId: string, variant?: string): string => `${campaignId}|${variant ?? ''}`;

/** Sums credits per campaign and variant: fractional conversions and attributed revenue. */
export function aggregateCredits(credits: Iterable<Credit>): Map<string, CampaignOutcome> {
  const outcomes = new Map<string, CampaignOutcome>();
  for (const c of credits) {
    const key = outcomeKey(c.campaignId, c.variant);
    let outcome = outcomes.get(key);
    if (outcome === undefined) {
      outcome = { campaignId: c.campaignId, variant: c.variant, conversions: 0, revenue: 0 };
      outcomes.set(key, outcome);
    }
    outcome.conversions += c.credit;
    outcome.revenue += c.revenue;
  }
  return outcomes;
}
