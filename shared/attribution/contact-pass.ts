import type { Interaction } from '../contacts/timeline.ts';
import { beta, PRIORS, type Scores } from '../scoring/model.ts';
import { attributeConversion, type CampaignGoal, type Credit, type Touch } from './attribute.ts';

const DAY = 86_400_000;

/** What the run knows about each campaign it measures. */
export interface CampaignInfo {
  goal: CampaignGoal;
  /** When the campaign launched: a holdout member's exposure time. */
  launchedAt?: number;
  /** Contacts held out (from the campaign's send records). */
  holdout: ReadonlySet<string>;
  /**
   * Who the campaign enrolled, counted from its send records (every run): members per group
   * (variant, or HOLDOUT) and treatment members per channel. The lift's denominators come from
   * here, not from the timelines the run happens to read: a holdout member with nothing on their
   * timeline inside the lookback is still a member. `targeted`: contacts per group the launch
   * assigned, sent or not (the funnel's first step).
   */
  enrolled?: { groups: Record<string, number>; channels: Record<string, number>; targeted?: Record<string, number> };
}

export interface RunWindow {
  /** Conversions in [from, to) are credited by this run. */
  from: number;
  to: number;
}

/** Lift accumulators of one group (treatment of one variant, or the holdout). */
export interface GroupAccumulator {
  members: number;
  converters: number;
  revenue: number;
  revenueSquares: number;
  /** Members who visited the site at least once within the goal window after exposure (absent in parts saved before visits were measured). */
  visitors?: number;
}

export interface CampaignAccumulator {
  /** By variant ('' when none); the holdout under '#holdout'. */
  groups: Record<string, GroupAccumulator>;
  /** Unique contacts per response type among treatment members (delivered, opened, clicked, unsubscribed, bounced, complained…). */
  responders: Record<string, number>;
  /** Treatment members who responded (opened, clicked or converted) within the window, per channel: the forecast's actual. */
  responded: Record<string, number>;
  /** Treatment members by the channel they were sent on: how many, who responded how, who converted and for how much. */
  channels?: Record<string, ChannelAccumulator>;
  /** Unique contacts per response type, by the variant they were sent. */
  variants?: Record<string, Record<string, number>>;
}

export interface ChannelAccumulator {
  members: number;
  responders: Record<string, number>;
  converters: number;
  revenue: number;
}

export const HOLDOUT = '#holdout';
const RESPONSE_TYPES = new Set(['opened', 'clicked', 'converted']);
/** A send counts as answered when a response follows within this many days. */
export const RESPONSE_DAYS = 7;
/** Older behaviour weighs less in the scores: half as much every 90 days. */
export const SCORE_HALF_LIFE_DAYS = 90;

export interface ContactPassResult {
  credits: Array<Credit & { day: string }>;
  scores: Scores;
}

const emptyGroup = (): GroupAccumulator => ({ members: 0, converters: 0, revenue: 0, revenueSquares: 0, visitors: 0 });

/** The campaign-level accumulators the whole run shares (one per campaign). */
export function campaignAccumulator(): CampaignAccumulator {
  return { groups: {}, responders: {}, responded: {}, channels: {}, variants: {} };
}

/**
 * Everything the nightly run learns from one contact's timeline (interactions ascending): the
 * credit for conversions in the run window, the contact's contribution to each campaign's lift
 * (treatment or holdout; converted and visited within the goal window after exposure; revenue) and response
 * counts, and the contact's new scores. Pure.
 */
export function passContact(
  contactId: string,
  interactions: Interaction[],
  campaigns: ReadonlyMap<string, CampaignInfo>,
  window: RunWindow,
  accumulators: Map<string, CampaignAccumulator>,
  current: Scores,
  now: number,
  timezone = 'UTC',
): ContactPassResult {
  const touches: Touch[] = [];
  const conversions: Array<{ id: string; at: number; value: number; name: string }> = [];
  const sends: Array<{ campaignId: string; sendId?: string; channel?: string; variant?: string; at: number }> = [];
  const responses: Array<{ campaignId?: string; sendId?: string; type: string; at: number; channel?: string }> = [];
  const visits: number[] = [];
  for (const i of interactions) {
    const at = Date.parse(i.occurredAt);
    if (i.type === 'visited') {
      visits.push(at);
      continue;
    }
    if (i.type === 'converted') {
      const data = i.data ?? {};
      conversions.push({ id: i.id, at, value: typeof data.value === 'number' ? data.value : 0, name: typeof data.name === 'string' ? data.name : 'conversion' });
      responses.push({ type: 'converted', at });
      continue;
    }
    if (!i.campaignId) continue;
    const variant = typeof i.data?.variant === 'string' ? i.data.variant : undefined;
    if (i.type === 'sent') {
      sends.push({ campaignId: i.campaignId, sendId: i.sendId, channel: i.channel, variant, at });
      touches.push({ campaignId: i.campaignId, sendId: i.sendId, channel: i.channel, variant, at, kind: 'sent' });
    } else {
      responses.push({ campaignId: i.campaignId, sendId: i.sendId, type: i.type, at, channel: i.channel });
      if (i.type === 'delivered' || i.type === 'opened' || i.type === 'clicked') {
        touches.push({ campaignId: i.campaignId, sendId: i.sendId, channel: i.channel, at, kind: i.type });
      }
    }
  }

  // 1. Credit for the run window's conversions.
  const goals = new Map([...campaigns].map(([id, c]) => [id, c.goal]));
  const credits: ContactPassResult['credits'] = [];
  for (const conversion of conversions) {
    if (conversion.at < window.from || conversion.at >= window.to) continue;
    for (const credit of attributeConversion({ ...conversion, contactId }, touches, goals)) {
      credits.push({ ...credit, day: new Date(conversion.at).toISOString().slice(0, 10) });
    }
  }

  // 2. Lift and response counts per campaign the contact was part of. Conversions and visits are
  // windowed alike: after the exposure (the send, or the launch for the holdout), up to its end.
  const outcomeAfter = (campaign: CampaignInfo, exposure: number) => {
    const end = exposure + campaign.goal.windowDays * DAY;
    let converted = false;
    let revenue = 0;
    for (const c of conversions) {
      if (c.name !== campaign.goal.event || c.at <= exposure || c.at > end) continue;
      converted = true;
      revenue += c.value;
    }
    return { converted, revenue, visited: visits.some((at) => at > exposure && at <= end) };
  };
  const addMember = (campaignId: string, group: string, outcome: { converted: boolean; revenue: number; visited: boolean }) => {
    let acc = accumulators.get(campaignId);
    if (!acc) accumulators.set(campaignId, (acc = campaignAccumulator()));
    const g = (acc.groups[group] ??= emptyGroup());
    g.members++;
    if (outcome.converted) g.converters++;
    if (outcome.visited) g.visitors = (g.visitors ?? 0) + 1;
    g.revenue += outcome.revenue;
    g.revenueSquares += outcome.revenue * outcome.revenue;
    return acc;
  };
  const firstSend = new Map<string, (typeof sends)[number]>();
  for (const s of sends) if (!firstSend.has(s.campaignId)) firstSend.set(s.campaignId, s);
  for (const [campaignId, send] of firstSend) {
    const campaign = campaigns.get(campaignId);
    if (!campaign) continue;
    const outcome = outcomeAfter(campaign, send.at);
    const acc = addMember(campaignId, send.variant ?? '', outcome);
    const byChannel = ((acc.channels ??= {})[send.channel ?? 'email'] ??= { members: 0, responders: {}, converters: 0, revenue: 0 });
    byChannel.members++;
    if (outcome.converted) byChannel.converters++;
    byChannel.revenue += outcome.revenue;
    const byVariant = ((acc.variants ??= {})[send.variant ?? ''] ??= {});
    const seen = new Set<string>();
    for (const r of responses) {
      if (r.campaignId === campaignId && !seen.has(r.type)) {
        seen.add(r.type);
        acc.responders[r.type] = (acc.responders[r.type] ?? 0) + 1;
        byChannel.responders[r.type] = (byChannel.responders[r.type] ?? 0) + 1;
        byVariant[r.type] = (byVariant[r.type] ?? 0) + 1;
      }
    }
    const responseEnd = send.at + campaign.goal.windowDays * DAY;
    const answered = responses.some((r) => RESPONSE_TYPES.has(r.type) && r.at > send.at && r.at <= responseEnd && (r.campaignId === undefined || r.campaignId === campaignId));
    if (answered) acc.responded[send.channel ?? 'email'] = (acc.responded[send.channel ?? 'email'] ?? 0) + 1;
  }
  for (const [campaignId, campaign] of campaigns) {
    if (!campaign.holdout.has(contactId) || firstSend.has(campaignId) || campaign.launchedAt === undefined) continue;
    addMember(campaignId, HOLDOUT, outcomeAfter(campaign, campaign.launchedAt));
  }

  return { credits, scores: updateScores(current, sends, responses, conversions, now, timezone) };
}

/**
 * The closed loop: scores learnt from what the contact did.
 * - propensity per channel: Beta(prior α + Σ w·answered, prior β + Σ w·(1 − answered)) over the
 *   contact's sends, each weighted by age (half-life SCORE_HALF_LIFE_DAYS); a send is answered
 *   when an open, click or conversion follows within RESPONSE_DAYS, and counts as unanswered
 *   only once those days have passed (yesterday's send is not evidence against the contact);
 * - engagement: the decayed share of answered sends, shrunk towards the prior with weight 3;
 * - value: recency (days since the last conversion), frequency, monetary, expected value per
 *   conversion (monetary / frequency, or the prior);
 * - bestHour: the local hour with most responses, if any.
 */
export function updateScores(
  current: Scores,
  sends: Array<{ channel?: string; at: number }>,
  responses: Array<{ type: string; at: number }>,
  conversions: Array<{ at: number; value: number }>,
  now: number,
  timezone: string,
): Scores {
  const weight = (at: number) => 0.5 ** ((now - at) / (SCORE_HALF_LIFE_DAYS * DAY));
  const evidence = { email: { yes: 0, no: 0 }, sms: { yes: 0, no: 0 } };
  let answeredWeight = 0;
  let sentWeight = 0;
  for (const send of sends) {
    const w = weight(send.at);
    const answered = responses.some((r) => RESPONSE_TYPES.has(r.type) && r.at > send.at && r.at <= send.at + RESPONSE_DAYS * DAY);
    if (!answered && send.at + RESPONSE_DAYS * DAY > now) continue; // still inside its response window: no evidence yet
    const channel = send.channel === 'sms' ? 'sms' : 'email';
    if (answered) evidence[channel].yes += w;
    else evidence[channel].no += w;
    sentWeight += w;
    if (answered) answeredWeight += w;
  }
  const propensity = {
    email: beta(PRIORS.propensity.email.alpha + evidence.email.yes, PRIORS.propensity.email.beta + evidence.email.no),
    sms: beta(PRIORS.propensity.sms.alpha + evidence.sms.yes, PRIORS.propensity.sms.beta + evidence.sms.no),
  };
  const engagement = (PRIORS.engagement * 3 + answeredWeight) / (3 + sentWeight);
  const frequency = conversions.length;
  const monetary = conversions.reduce((sum, c) => sum + c.value, 0);
  const last = conversions.reduce((max, c) => Math.max(max, c.at), -Infinity);
  const hours = new Map<number, number>();
  const hourOf = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hour: '2-digit', hourCycle: 'h23' });
  for (const r of responses) {
    if (r.type !== 'opened' && r.type !== 'clicked') continue;
    const h = Number(hourOf.format(new Date(r.at)));
    hours.set(h, (hours.get(h) ?? 0) + 1);
  }
  let bestHour: number | null = null;
  for (const [h, n] of hours) if (bestHour === null || n > (hours.get(bestHour) ?? 0) || (n === hours.get(bestHour) && h < bestHour)) bestHour = h;
  return {
    ...current,
    engagement: Math.round(engagement * 1e4) / 1e4,
    propensity,
    value: {
      recency: frequency ? Math.floor((now - last) / DAY) : null,
      frequency,
      monetary: Math.round(monetary * 100) / 100,
      expectedValue: frequency ? Math.round((monetary / frequency) * 100) / 100 : PRIORS.expectedValue,
    },
    bestHour,
    updatedAt: new Date(now).toISOString(),
  };
}
