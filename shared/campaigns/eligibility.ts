import type { Channel } from '../contacts/model.ts';
import { countSince, hourOf } from '../activity/activity.ts';
import type { EvalContact } from '../segments/contact-view.ts';

export type SkipReason = 'no_address' | 'no_consent' | 'pending_confirmation' | 'consent_withdrawn' | 'suppressed' | 'frequency_cap';

/** Sends per channel across all campaigns; perDay = last 24 h, perWeek = last 7 × 24 h. */
export interface FrequencyCap {
  perDay?: number;
  perWeek?: number;
}

export type Eligibility = { eligible: true } | { eligible: false; reason: SkipReason };
export type ChannelChoice = { channel: Channel } | { channel: null; reason: SkipReason; triedChannel: Channel };

const HOUR_MS = 3_600_000;

/**
 * How far back a frequency cap reads behaviour counters (the week plus a day's margin), or null
 * when there is no cap to check: readers fetch no more activity than that.
 */
export function frequencyCapSince(cap: FrequencyCap | undefined, nowMs: number): number | null {
  return cap ? nowMs - 8 * 24 * HOUR_MS : null;
}

/** 'best' considers these, in tie-break order. */
const BEST_CANDIDATES: readonly Channel[] = ['email', 'sms'];

/**
 * Messages sent to the contact on `channel` (any campaign) in [now - hours, now], from the
 * hourly `sent|<channel>` counters. The hour holding `now - hours` counts whole, so the window
 * is up to an hour wider than asked: a cap errs towards sending less.
 */
export function sentInLast(contact: EvalContact, channel: Channel, hours: number, now: Date): number {
  const series = contact.activity.get(`sent|${channel}`);
  const nowMs = now.getTime();
  // Counters after `now` (clock skew, a replayed past `now`) are outside the window.
  return countSince(series, hourOf(nowMs - hours * HOUR_MS)) - countSince(series, hourOf(nowMs) + 1);
}

/** Checked in order: address, consent, suppression, frequency cap — the first failure is the reason. */
export function checkEligibility(contact: EvalContact, channel: Channel, now: Date, cap?: FrequencyCap): Eligibility {
  const address = channel === 'email' ? contact.email : contact.phone;
  if (!address) return { eligible: false, reason: 'no_address' };
  const consent = contact.consent[channel];
  if (consent === undefined) return { eligible: false, reason: 'no_consent' };
  if (consent === 'pending') return { eligible: false, reason: 'pending_confirmation' };
  if (consent === 'withdrawn') return { eligible: false, reason: 'consent_withdrawn' };
  if (contact.suppressed[channel]) return { eligible: false, reason: 'suppressed' };
  if (cap?.perDay !== undefined && sentInLast(contact, channel, 24, now) >= cap.perDay) return { eligible: false, reason: 'frequency_cap' };
  if (cap?.perWeek !== undefined && sentInLast(contact, channel, 7 * 24, now) >= cap.perWeek) return { eligible: false, reason: 'frequency_cap' };
  return { eligible: true };
}

/** Expected value of one message: P(response) × value of a conversion − its cost. */
function expectedValue(contact: EvalContact, channel: Channel, costPerMessage: Partial<Record<Channel, number>>): number {
  return contact.scores.propensity[channel].mean * contact.scores.value.expectedValue - (costPerMessage[channel] ?? 0);
}

/**
 * The goal's propensity model, when one is active: P(goal | sent on the channel at its planned
 * hour), undefined for a contact it cannot score, and E[value of a goal conversion].
 */
export interface GoalChoice {
  probability: (channel: Channel) => number | undefined;
  value: number;
}

/**
 * The channel to message this contact on.
 * - ordered list: the first eligible channel in the campaign's order; if none, the reason the
 *   preferred (first) channel was refused.
 * - 'best': the eligible channel with the highest expected value (ties → email); if none, the
 *   reason the first candidate (email unless not allowed) was refused. The expected value is
 *   p_c · E[value] − cost_c with the goal model's p_c when `goal` is given and scores every
 *   eligible channel; otherwise the channel's response Beta times `scores.value.expectedValue`.
 * Channels the variant has no template for (`allowedChannels`) are never chosen.
 */
export function chooseChannel(
  contact: EvalContact,
  channels: Channel[] | 'best',
  options: { now: Date; cap?: FrequencyCap; costPerMessage: Partial<Record<Channel, number>>; allowedChannels?: Channel[]; goal?: GoalChoice },
): ChannelChoice {
  const { now, cap, costPerMessage, allowedChannels, goal } = options;
  const candidates = (channels === 'best' ? BEST_CANDIDATES : channels).filter((c) => !allowedChannels || allowedChannels.includes(c));
  const preferred = candidates[0];
  // No candidate is a campaign configuration error (validated at creation), not a contact skip.
  if (preferred === undefined) throw new RangeError(`no channel to choose from: channels ${JSON.stringify(channels)}, allowed ${JSON.stringify(allowedChannels)}`);

  let firstRefusal: SkipReason | undefined;
  const eligible: Channel[] = [];
  for (const channel of candidates) {
    const eligibility = checkEligibility(contact, channel, now, cap);
    if (!eligibility.eligible) {
      firstRefusal ??= eligibility.reason;
      continue;
    }
    if (channels !== 'best') return { channel };
    eligible.push(channel);
  }
  if (eligible.length > 0) {
    // One scale for every candidate: the goal model's when it scores them all, else the channel scores'.
    const p = goal ? eligible.map((c) => goal.probability(c)) : [];
    const values = goal && p.every((v) => v !== undefined) ? p.map((v, i) => v! * goal.value - (costPerMessage[eligible[i]!] ?? 0)) : eligible.map((c) => expectedValue(contact, c, costPerMessage));
    let best = 0;
    // Strictly greater: the earlier candidate (email) keeps a tie.
    for (let i = 1; i < eligible.length; i++) if (values[i]! > values[best]!) best = i;
    return { channel: eligible[best]! };
  }
  // Every candidate was refused, so the first one set firstRefusal.
  return { channel: null, reason: firstRefusal!, triedChannel: preferred };
}
