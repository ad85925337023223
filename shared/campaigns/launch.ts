import type { SendBatch } from '../../events/campaigns.ts';
import { MAX_RECIPIENTS_PER_MESSAGE } from '../../events/campaigns.ts';
import type { AudienceMember } from '../segments/audience.ts';
import type { CounterDeltas } from './campaign-store.ts';
import { chooseChannel, chooseVariant, instantAtLocalTime, isHoldout, nextAllowedTime, type ChannelChoice } from './decisions.ts';
import { clearsThreshold, expectedGoalValue, goalProbability, localHourOf, predictedUplift, type GoalModels } from './goal-models.ts';
import { channelsOf, quietHoursFor, type Campaign, type Channel } from './model.ts';
import { dueShardOf, sendIdOf, sendPk, type SendRecord } from './send-store.ts';

/** What one audience page turns into: the send records to write, the messages to enqueue, the counter deltas. */
export interface PagePlan {
  records: SendRecord[];
  /** Per channel: recipients due now, and deferred ones due within the SQS delay limit (15 min). */
  queued: Record<Channel, Array<{ contactId: string; variant: string; delaySeconds: number }>>;
  deltas: CounterDeltas;
}

/** Deferrals shorter than this ride on SQS DelaySeconds; longer ones wait in the sends table for the dispatcher. */
export const MAX_QUEUE_DELAY_SECONDS = 900;

export interface PlanOptions {
  now: Date;
  runId: string;
  /** Recipients already targeted (queued/deferred/sent) in this run before this page: for maxRecipients and budget. */
  alreadyTargeted: number;
  alreadyCommittedCost: number;
  /**
   * The learned models of the run's pinned versions (campaign.modelVersions, targetingApplied):
   * the goal forecast, the 'best' channel by the goal model, and uplift targeting. Absent: the
   * channel-score rules, and a targeted campaign skips everyone as `no_score`.
   */
  models?: GoalModels;
}

/** When a message to the member on `channel` may go: the campaign time (local-time schedules: in the contact's zone), then out of quiet hours. */
function plannedDue(campaign: Campaign, member: AudienceMember, channel: Channel, now: Date): { due: Date; zone: string } {
  const zone = member.contact.timezone ?? (campaign.schedule.type === 'immediate' ? 'UTC' : campaign.schedule.timezone);
  let due = now;
  if (campaign.schedule.type === 'at' && campaign.schedule.localTime) {
    const local = instantAtLocalTime(campaign.schedule.at, zone);
    if (local > due) due = local;
  }
  return { due: nextAllowedTime(due, campaign.marketing ? quietHoursFor(campaign, channel) : undefined, zone), zone };
}

/** The contact's local hour when a message on `channel` would go out. */
function plannedHour(campaign: Campaign, member: AudienceMember, channel: Channel, now: Date): number {
  const { due, zone } = plannedDue(campaign, member, channel, now);
  return localHourOf(due, zone);
}

/** The counters a page plan moves, at zero. */
const emptyDeltas = (): CounterDeltas & Required<Pick<CounterDeltas, 'targeted' | 'queued' | 'holdout' | 'deferred' | 'suppressed' | 'forecast'>> => ({
  targeted: 0,
  queued: 0,
  holdout: 0,
  deferred: 0,
  suppressed: {},
  forecast: {},
});

/** Adds a treated record's goal probability, value and predicted uplift to the goal forecast sums. */
function addGoalForecast(deltas: CounterDeltas, record: Pick<SendRecord, 'goalPropensity' | 'goalValue' | 'uplift'>): void {
  if (record.goalPropensity === undefined && record.uplift === undefined) return;
  const g = (deltas.goalForecast ??= { sum: 0, variance: 0, count: 0, revenue: 0, uplift: 0, upliftCount: 0 });
  if (record.goalPropensity !== undefined) {
    const p = record.goalPropensity;
    g.sum += p;
    g.variance += p * (1 - p);
    g.count++;
    g.revenue += p * (record.goalValue ?? 0);
  }
  if (record.uplift !== undefined) {
    g.uplift += record.uplift;
    g.upliftCount++;
  }
}

/**
 * Decides, for each member of an audience page: holdout or not (deterministic), the variant
 * (deterministic, by weight), the channel (the campaign's order or the best expected value),
 * eligibility (consent, suppression, frequency cap), and when to send (the campaign time in
 * the contact's zone for local-time schedules, then outside quiet hours) — a deferral, never a drop.
 * Pure: the worker writes the records and enqueues the messages.
 */
export function planPage(campaign: Campaign, members: AudienceMember[], options: PlanOptions): PagePlan {
  const { now, runId } = options;
  const records: SendRecord[] = [];
  const queued: PagePlan['queued'] = { email: [], sms: [] };
  const deltas = emptyDeltas();
  const createdAt = now.toISOString();
  let targeted = options.alreadyTargeted;
  let committedCost = options.alreadyCommittedCost;
  const skip = (member: AudienceMember, reason: string, channel?: Channel, variant?: string) => {
    deltas.suppressed[reason] = (deltas.suppressed[reason] ?? 0) + 1;
    records.push(base(member, 'skipped', { reason, ...(channel ? { channel } : {}), ...(variant ? { variant } : {}) }));
  };
  const base = (member: AudienceMember, status: SendRecord['status'], extra: Partial<SendRecord>): SendRecord => ({
    pk: sendPk(campaign.id, runId),
    sk: member.item.id,
    sendId: sendIdOf(campaign.id, runId, member.item.id),
    campaignId: campaign.id,
    runId,
    contactId: member.item.id,
    status,
    createdAt,
    attempts: 0,
    ...extra,
  });

  const { models } = options;
  const nowMs = now.getTime();
  const choose = (member: AudienceMember, variant: Campaign['variants'][number]): ChannelChoice => {
    const allowedChannels = channelsOf(campaign).filter((c) => variant.templates[c]);
    const propensity = campaign.channels === 'best' ? models?.propensity : undefined;
    const goal = propensity && {
      probability: (c: Channel) => goalProbability(propensity, member.contact, c, plannedHour(campaign, member, c, now), nowMs),
      value: expectedGoalValue(member.contact, models?.spend),
    };
    return chooseChannel(member.contact, campaign.channels === 'best' ? 'best' : campaign.channels.filter((c) => allowedChannels.includes(c)), {
      now,
      cap: campaign.limits.frequencyCap,
      costPerMessage: campaign.costPerMessage,
      allowedChannels,
      ...(goal ? { goal } : {}),
    });
  };

  for (const member of members) {
    const contactId = member.item.id;
    deltas.targeted++;
    // Uplift targeting comes before the holdout draw: the holdout is drawn from the same top share.
    let uplift: number | undefined;
    let targetedChoice: ChannelChoice | undefined;
    const targeting = campaign.targetingApplied;
    if (targeting) {
      targetedChoice = choose(member, chooseVariant(campaign.id, contactId, campaign.variants));
      // A contact no channel is open to is scored on the one it was refused on (it is skipped for that below, or held out).
      const channel = targetedChoice.channel ?? targetedChoice.triedChannel;
      uplift = models?.uplift && predictedUplift(models.uplift, member.contact, channel, plannedHour(campaign, member, channel, now), nowMs);
      if (uplift === undefined) {
        skip(member, 'no_score');
        continue;
      }
      if (!clearsThreshold(uplift, targeting.threshold)) {
        skip(member, 'below_uplift');
        continue;
      }
    }
    const scored = uplift === undefined ? {} : { uplift };
    if (isHoldout(campaign.id, contactId, campaign.holdoutPercent)) {
      deltas.holdout++;
      records.push(base(member, 'holdout', scored));
      continue;
    }
    const variant = chooseVariant(campaign.id, contactId, campaign.variants);
    const choice = targetedChoice ?? choose(member, variant);
    if (choice.channel === null) {
      skip(member, choice.reason, choice.triedChannel, variant.name);
      continue;
    }
    const channel = choice.channel;
    if (campaign.limits.maxRecipients !== undefined && targeted >= campaign.limits.maxRecipients) {
      skip(member, 'max_recipients', channel, variant.name);
      continue;
    }
    const cost = campaign.costPerMessage[channel] ?? 0;
    if (campaign.limits.budget !== undefined && committedCost + cost > campaign.limits.budget) {
      skip(member, 'budget', channel, variant.name);
      continue;
    }
    targeted++;
    committedCost += cost;

    // When: the local wall-clock time for local-time schedules, then out of quiet hours.
    const { due, zone } = plannedDue(campaign, member, channel, now);
    const p = member.contact.scores.propensity[channel].mean;
    const f = (deltas.forecast[channel] ??= { sum: 0, variance: 0, count: 0 });
    f.sum += p;
    f.variance += p * (1 - p);
    f.count++;
    // The goal model at the channel and the contact's local hour of the planned send.
    const goalPropensity = models?.propensity && goalProbability(models.propensity, member.contact, channel, localHourOf(due, zone), nowMs);
    const goal = { ...scored, ...(goalPropensity === undefined ? {} : { goalPropensity, goalValue: expectedGoalValue(member.contact, models?.spend) }) };
    addGoalForecast(deltas, goal);

    const delaySeconds = Math.ceil((due.getTime() - now.getTime()) / 1000);
    if (delaySeconds > MAX_QUEUE_DELAY_SECONDS) {
      deltas.deferred++;
      records.push(base(member, 'deferred', { channel, variant: variant.name, propensity: p, ...goal, dueAt: due.toISOString(), dueShard: dueShardOf(contactId) }));
    } else {
      deltas.queued++;
      records.push(base(member, 'queued', { channel, variant: variant.name, propensity: p, ...goal, ...(delaySeconds > 0 ? { dueAt: due.toISOString() } : {}) }));
      queued[channel].push({ contactId, variant: variant.name, delaySeconds: Math.max(0, delaySeconds) });
    }
  }
  return { records, queued, deltas };
}

/** Packs recipients into queue messages of up to 50, grouped by their delay (so each message has one DelaySeconds). */
export function packMessages(campaignId: string, runId: string, channel: Channel, recipients: PagePlan['queued'][Channel]): Array<{ body: string; delaySeconds: number }> {
  const byDelay = new Map<number, Array<{ contactId: string; variant: string }>>();
  for (const r of recipients) {
    // Delays are rounded up to the minute so recipients share messages.
    const delay = r.delaySeconds === 0 ? 0 : Math.min(MAX_QUEUE_DELAY_SECONDS, Math.ceil(r.delaySeconds / 60) * 60);
    let group = byDelay.get(delay);
    if (!group) byDelay.set(delay, (group = []));
    group.push({ contactId: r.contactId, variant: r.variant });
  }
  const messages: Array<{ body: string; delaySeconds: number }> = [];
  for (const [delaySeconds, group] of byDelay) {
    for (let i = 0; i < group.length; i += MAX_RECIPIENTS_PER_MESSAGE) {
      const batch: SendBatch = { campaignId, runId, channel, recipients: group.slice(i, i + MAX_RECIPIENTS_PER_MESSAGE) };
      messages.push({ body: JSON.stringify(batch), delaySeconds });
    }
  }
  return messages;
}

/** The run id: "1" for one-time campaigns; for recurring ones, the scheduled firing time (minute precision, digits only). */
export function runIdFor(campaign: Pick<Campaign, 'schedule'>, scheduledTime: string | undefined, now: Date): string {
  if (campaign.schedule.type !== 'recurring') return '1';
  const at = scheduledTime && !Number.isNaN(Date.parse(scheduledTime)) ? new Date(scheduledTime) : now;
  return `r${at.toISOString().slice(0, 16).replace(/[-:T]/g, '')}`;
}

/** Counter deltas for the records that were actually written (a re-run's existing records count nothing). */
export function deltasFor(records: SendRecord[]): CounterDeltas {
  const deltas = emptyDeltas();
  for (const r of records) {
    deltas.targeted++;
    if (r.status === 'holdout') deltas.holdout++;
    else if (r.status === 'skipped') deltas.suppressed[r.reason ?? 'skipped'] = (deltas.suppressed[r.reason ?? 'skipped'] ?? 0) + 1;
    else if (r.status === 'queued' || r.status === 'deferred') {
      if (r.status === 'queued') deltas.queued++;
      else deltas.deferred++;
      if (r.channel && r.propensity !== undefined) {
        const f = (deltas.forecast[r.channel] ??= { sum: 0, variance: 0, count: 0 });
        f.sum += r.propensity;
        f.variance += r.propensity * (1 - r.propensity);
        f.count++;
      }
      addGoalForecast(deltas, r);
    }
  }
  return deltas;
}
