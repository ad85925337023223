/**
 * What the nightly run's contact pass collects for learning (docs/learning-design.md §2 "Examples",
 * §4 "Collection"), from one contact's timeline: its training examples (one per campaign it was
 * exposed to whose goal window has closed), the facts BTYD needs (its conversions in the lookback)
 * and the token names its attributes hash to (to name the buckets in explanations). Pure.
 *
 * An exposure is the contact's first send of a campaign (treated: the send's channel and local
 * hour) or, for a holdout member, the campaign's launch (control: no channel, no hour). Its label
 * is whether the campaign's goal event happened within the goal window after it. Only exposures
 * in [historyStart, now − window] are examples: ≥ 90 days of history before them (their counts and
 * RFM are whole) and a closed window after (the label is final). Each night re-derives them from
 * the timelines, so no example store accumulates and nothing counts twice.
 */
import type { Channel } from '../contacts/model.ts';
import type { Interaction } from '../contacts/timeline.ts';
import type { BtydCustomer } from './btyd.ts';
import { encode, inputAtExposure, tokenNames, type ContactFacts, type FeatureSpec } from './features.ts';
import { isLearnableGoal } from './names.ts';
import type { ExampleInput } from './sample.ts';

const DAY = 86_400_000;
/** History an exposure needs before it (the longest count window). */
export const HISTORY_DAYS = 90;
/** The smallest holdout share an example carries: campaigns without a holdout balance their treated arm by 1/(1 − h) ≈ 1. */
export const MIN_HOLDOUT_SHARE = 1e-6;

/** What the collector needs of a campaign the run measures. */
export interface LearningCampaign {
  goal: { event: string; windowDays: number };
  launchedAt?: number;
  holdout: ReadonlySet<string>;
  /** Members per group (variant names, and '#holdout'): the campaign's holdout share. */
  enrolled?: { groups: Record<string, number> };
}

/** A contact's conversions in the lookback: what scoring derives BTYD's (x, tₓ, T) and mean spend from. */
export interface ConversionSummary {
  /** First and last conversion (ISO instants), how many, and their revenue. */
  first: string;
  last: string;
  count: number;
  revenue: number;
}

export interface ContactLearning {
  examples: ExampleInput[];
  /** Null without a conversion in the lookback. */
  conversions: ConversionSummary | null;
  /** Hashed token names of the contact's attributes and country. */
  tokens: string[];
}

/** The holdout share of a campaign: holdout members over all members, kept inside (0, 1). */
export function holdoutShareOf(campaign: LearningCampaign): number {
  const groups = campaign.enrolled?.groups ?? {};
  const held = groups['#holdout'] ?? campaign.holdout.size;
  const total = Object.values(groups).reduce((s, n) => s + n, 0) || held;
  const share = total > 0 ? held / total : 0;
  return Math.min(1 - MIN_HOLDOUT_SHARE, Math.max(MIN_HOLDOUT_SHARE, share));
}

const localHours = new Map<string, Intl.DateTimeFormat>();
/** The local hour 0–23 of an instant in a time zone (UTC for an unknown zone). */
export function localHourOf(instant: number, timezone: string): number {
  let format = localHours.get(timezone);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hour: '2-digit', hourCycle: 'h23' });
    } catch {
      format = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', hour: '2-digit', hourCycle: 'h23' });
    }
    localHours.set(timezone, format);
  }
  return Number(format.format(new Date(instant))) % 24;
}

/**
 * One contact's learning facts. `timeline` is the contact's interactions (any order) over the
 * run's lookback, `facts` the contact as of now, `historyStart` the earliest exposure with a
 * whole history (lookback start + HISTORY_DAYS).
 */
export function collectContact(
  contactId: string,
  timeline: readonly Interaction[],
  facts: ContactFacts,
  campaigns: ReadonlyMap<string, LearningCampaign>,
  spec: FeatureSpec,
  window: { historyStart: number; now: number },
): ContactLearning {
  const examples: ExampleInput[] = [];
  const firstSend = new Map<string, Interaction>();
  const conversions: Array<{ at: number; name: string; value: number }> = [];
  for (const i of timeline) {
    if (i.type === 'converted') {
      const data = i.data ?? {};
      conversions.push({ at: Date.parse(i.occurredAt), name: typeof data.name === 'string' ? data.name : 'conversion', value: typeof data.value === 'number' && Number.isFinite(data.value) ? data.value : 0 });
    } else if (i.type === 'sent' && i.campaignId) {
      const known = firstSend.get(i.campaignId);
      if (!known || i.occurredAt < known.occurredAt) firstSend.set(i.campaignId, i);
    }
  }
  const outcome = (goal: string, at: number, windowDays: number) => {
    const end = at + windowDays * DAY;
    let label: 0 | 1 = 0;
    let revenue = 0;
    for (const c of conversions) {
      if (c.name === goal && c.at > at && c.at <= end) {
        label = 1;
        revenue += c.value;
      }
    }
    return { label, revenue: Math.round(revenue * 100) / 100 };
  };
  for (const [campaignId, campaign] of campaigns) {
    const goal = campaign.goal.event;
    if (!isLearnableGoal(goal)) continue;
    const closedBy = window.now - campaign.goal.windowDays * DAY;
    const send = firstSend.get(campaignId);
    let exposure: { at: number; treated: 0 | 1; channel: Channel | null; hour: number | null } | undefined;
    if (send && (send.channel === 'email' || send.channel === 'sms')) {
      const at = Date.parse(send.occurredAt);
      exposure = { at, treated: 1, channel: send.channel, hour: localHourOf(at, facts.timezone ?? 'UTC') };
    } else if (!send && campaign.holdout.has(contactId) && campaign.launchedAt !== undefined) {
      exposure = { at: campaign.launchedAt, treated: 0, channel: null, hour: null };
    }
    if (!exposure || exposure.at < window.historyStart || exposure.at > closedBy) continue;
    const input = inputAtExposure(timeline, facts, exposure.at, exposure.channel, exposure.hour);
    const { label, revenue } = outcome(goal, exposure.at, campaign.goal.windowDays);
    examples.push({ goal, campaignId, contactId, label, treated: exposure.treated, holdoutShare: holdoutShareOf(campaign), exposedAt: exposure.at, revenue, vector: encode(input, spec) });
  }
  const tokens = tokenNames({ ...inputAtExposure([], facts, window.now, null, null) }, spec);
  return { examples, conversions: conversionSummary(timeline), tokens };
}

/** A timeline's conversions (any name): first, last, how many and their revenue; null without one. */
export function conversionSummary(timeline: readonly Interaction[]): ConversionSummary | null {
  let first = '';
  let last = '';
  let count = 0;
  let revenue = 0;
  for (const i of timeline) {
    if (i.type !== 'converted') continue;
    count++;
    if (!first || i.occurredAt < first) first = i.occurredAt;
    if (!last || i.occurredAt > last) last = i.occurredAt;
    const value = i.data?.value;
    if (typeof value === 'number' && Number.isFinite(value)) revenue += value;
  }
  return count ? { first: new Date(first).toISOString(), last: new Date(last).toISOString(), count, revenue: Math.round(revenue * 100) / 100 } : null;
}

/**
 * BG/NBD's summary of a contact at `now` from its conversion summary, in whole days: x repeat
 * conversions, tₓ from the first to the last, T from the first to now, and the mean revenue of all
 * its conversions. The first conversion in the lookback starts the contact's "life" (a documented
 * limit: an older customer's T is understated).
 */
export function btydCustomerOf(summary: ConversionSummary, now: number): BtydCustomer {
  const first = Date.parse(summary.first);
  const tx = Math.max(0, Math.floor((Date.parse(summary.last) - first) / DAY));
  const T = Math.max(tx, Math.floor((now - first) / DAY));
  const x = summary.count - 1;
  return { x, tx: x === 0 ? 0 : tx, T, meanSpend: summary.count > 0 ? Math.max(0, summary.revenue) / summary.count : 0 };
}
