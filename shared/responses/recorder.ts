import type * as z from 'zod';
import type { EventBridgeEnvelope } from '../../events/envelope.ts';
import { SesEventDetail } from '../../events/ses.ts';
import { SmsEventDetail } from '../../events/sms.ts';
import type { CampaignStore } from '../campaigns/campaign-store.ts';
import type { ContactService } from '../contacts/contact-service.ts';
import type { ContactStore } from '../contacts/contact-store.ts';
import type { LeadScorer } from '../contacts/lead-scoring.ts';
import type { Timeline } from '../contacts/timeline.ts';
import type { IdempotencyMarkers } from '../idempotency.ts';
import { countSince, hourOf, indexActivity } from '../activity/activity.ts';
import { logger } from '../logger.ts';
import type { MessageStore } from '../messages/message-store.ts';
import { interpretSesEvent } from './ses-events.ts';
import { fromEumEvent, interpretSmsStatus, type SmsStatusReport } from './sms-events.ts';

/** Soft bounces that suppress an address: this many within the window (defaults; set per deployment). */
export const SOFT_BOUNCE_LIMIT = 3;
export const SOFT_BOUNCE_WINDOW_DAYS = 30;

export interface SoftBouncePolicy {
  limit: number;
  windowDays: number;
}

export interface ResponseDeps {
  timeline: Timeline;
  contacts: ContactStore;
  service: ContactService;
  scorer: LeadScorer;
  campaigns: CampaignStore;
  softBounce?: SoftBouncePolicy;
  /** First-arrival times for provider events that carry none (Twilio status callbacks). */
  markers?: IdempotencyMarkers;
  /** Transactional messages' send records: their delivery events are kept there too (a bare address has no timeline). */
  messages?: Pick<MessageStore, 'recordOutcome'>;
}

/** Live campaign counters by response type, summed over a batch and written once per campaign. */
export class ResponseTally {
  private readonly byCampaign = new Map<string, Record<string, number>>();

  add(campaignId: string | undefined, type: string): void {
    if (!campaignId) return;
    const counts = this.byCampaign.get(campaignId) ?? {};
    counts[type] = (counts[type] ?? 0) + 1;
    this.byCampaign.set(campaignId, counts);
  }

  async flush(campaigns: CampaignStore): Promise<void> {
    for (const [campaignId, counts] of this.byCampaign) {
      await campaigns.addResponses(campaignId, counts).catch(() => undefined); // live counters only; attribution recounts from the timeline
    }
    this.byCampaign.clear();
  }
}

/** A provider event on its contact's timeline, once (keyed by the event's id); new ones move the live campaign counters. */
async function onTimeline(
  channel: 'email' | 'sms',
  response: { contactId?: string; campaignId?: string; sendId?: string; id: string; type: string; occurredAt: string; data: Record<string, unknown> },
  deps: ResponseDeps,
  tally: ResponseTally,
): Promise<'recorded' | 'duplicate' | 'no-contact'> {
  if (!response.contactId) return 'no-contact';
  const outcome = await deps.timeline.recordFast({
    contactId: response.contactId,
    id: response.id,
    type: response.type,
    channel,
    ...(response.campaignId ? { campaignId: response.campaignId } : {}),
    ...(response.sendId ? { sendId: response.sendId } : {}),
    occurredAt: response.occurredAt,
    data: response.data,
  });
  if (outcome === 'recorded') tally.add(response.campaignId, response.type);
  return outcome;
}

/**
 * One SES event: recorded once on the contact's timeline (keyed by the provider's message id and
 * event), then its effects — hard bounces and complaints suppress the address at once, soft
 * bounces after the policy's count within its window (3 in 30 days by default), clicks earn lead points.
 */
export async function recordSesEvent(detail: SesEventDetail, deps: ResponseDeps, tally: ResponseTally, now = new Date()): Promise<'recorded' | 'duplicate' | 'no-contact'> {
  const response = interpretSesEvent(detail);
  const outcome = await onTimeline('email', response, deps, tally);
  if (response.messageId) await recordMessageOutcome(response.messageId, response.type, response.occurredAt, deps);
  // Effects are idempotent, so they run for duplicates too (a crash may have come between the two).
  const at = now.toISOString();
  const address = response.address;
  if (address && response.effect === 'suppress-bounced') await deps.service.suppress('email', address, 'bounced', { at, source: response.id });
  if (address && response.effect === 'suppress-complained') await deps.service.suppress('email', address, 'complained', { at, source: response.id });
  if (address && response.effect === 'soft-bounce' && response.contactId) {
    const { limit, windowDays } = deps.softBounce ?? { limit: SOFT_BOUNCE_LIMIT, windowDays: SOFT_BOUNCE_WINDOW_DAYS };
    const stored = await deps.contacts.get(response.contactId, true);
    const contact = stored && (await deps.timeline.activity.attach([stored], { nowMs: now.getTime(), consistent: true, sinceMs: now.getTime() - (windowDays + 1) * 86_400_000 }))[0];
    const soft = countSince(indexActivity(contact?.activity, now.getTime()).get('bounced_soft|email'), hourOf(now.getTime()) - windowDays * 24);
    if (soft >= limit) await deps.service.suppress('email', address, 'bounced', { at, source: response.id, note: `${soft} soft bounces in ${windowDays} days` });
  }
  if (response.type === 'clicked' && response.contactId && outcome !== 'no-contact') await deps.scorer.award(response.contactId, response.id, 'clicked');
  return outcome;
}

/**
 * One SMS delivery status, from either provider: recorded once on the send's timeline (a provider
 * that gives no time — Twilio — gets the first arrival's time, so a repeat lands on the same entry);
 * numbers that cannot receive SMS are suppressed (bounced), carrier opt-outs as opted out.
 */
export async function recordSmsStatus(report: SmsStatusReport, deps: ResponseDeps, tally: ResponseTally, now = new Date()): Promise<'recorded' | 'duplicate' | 'no-contact' | 'ignored'> {
  const response = interpretSmsStatus(report);
  if (!response) return 'ignored';
  const occurredAt = report.occurredAt ?? (deps.markers ? await deps.markers.firstSeenAt(`sms-status#${report.provider}#${report.messageId}#${report.status}`, now.toISOString(), 30 * 24 * 3600, now.getTime()) : now.toISOString());
  const outcome = await onTimeline('sms', { ...response, occurredAt }, deps, tally);
  if (response.messageId) await recordMessageOutcome(response.messageId, response.type, occurredAt, deps);
  if (response.suppress && response.address) {
    await deps.service.suppress('sms', response.address, response.suppress, { at: now.toISOString(), source: response.id });
  }
  return outcome;
}

/**
 * A transactional message's delivery event on its send record (the first time of each type), so
 * GET /v1/messages/{id} shows it whether or not the message went to a contact. An id no message
 * has (a forged or foreign tag) changes nothing.
 */
async function recordMessageOutcome(messageId: string, type: string, occurredAt: string, deps: ResponseDeps): Promise<void> {
  if (!deps.messages || type === 'accepted') return;
  if (!(await deps.messages.recordOutcome(messageId, type, occurredAt))) logger.warn('delivery event for an unknown transactional message', { messageId, type });
}

/** An event from the providers' rule (SES sending events, End User Messaging SMS delivery status), recorded by its source. */
export async function recordProviderEvent(envelope: z.infer<typeof EventBridgeEnvelope>, deps: ResponseDeps, tally: ResponseTally): Promise<void> {
  if (envelope.source === 'aws.ses') await recordSesEvent(SesEventDetail.parse(envelope.detail), deps, tally);
  else if (envelope.source === 'aws.sms-voice') await recordSmsStatus(fromEumEvent(SmsEventDetail.parse(envelope.detail)), deps, tally);
  else throw new Error(`unexpected source ${envelope.source}`);
}
