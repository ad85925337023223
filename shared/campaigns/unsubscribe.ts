import type { ContactService } from '../contacts/contact-service.ts';
import type { ContactStore } from '../contacts/contact-store.ts';
import type { Timeline } from '../contacts/timeline.ts';
import type { IdempotencyMarkers } from '../idempotency.ts';
import type { CampaignStore } from './campaign-store.ts';
import { InvalidTokenError, verifyToken } from '../tokens.ts';
import { UNSUBSCRIBE_TOKEN_PURPOSE } from '../links/unsubscribe-link.ts';
import { isTransactionalSendId, parseSendId } from './send-store.ts';
import type { Channel } from './model.ts';

export interface UnsubscribeTarget {
  sendId: string;
  contactId: string;
  channel: Channel;
}

/** The send, contact and channel an unsubscribe link is for; undefined for a tampered or malformed token. */
export async function readUnsubscribeToken(token: string): Promise<UnsubscribeTarget | undefined> {
  try {
    const payload = await verifyToken<{ s?: unknown; c?: unknown; ch?: unknown }>(UNSUBSCRIBE_TOKEN_PURPOSE, token);
    if (typeof payload.s !== 'string' || typeof payload.c !== 'string' || (payload.ch !== 'email' && payload.ch !== 'sms')) return undefined;
    return { sendId: payload.s, contactId: payload.c, channel: payload.ch };
  } catch (error) {
    if (error instanceof InvalidTokenError) return undefined;
    throw error;
  }
}

export interface UnsubscribeDeps {
  contacts: ContactStore;
  service: ContactService;
  timeline: Timeline;
  markers: IdempotencyMarkers;
  campaigns: CampaignStore;
}

/**
 * One-click unsubscribe (RFC 8058): the channel's consent is withdrawn (with a consent record
 * naming the send) and the address is suppressed at once, so later sends — including ones
 * already queued — skip it. The unsubscribe is a response to the send that carried the link: it
 * lands on the timeline once per send (at the time of the first click), tied to the send and its
 * campaign, and moves the campaign's live counter once. Unsubscribing twice is harmless.
 */
export async function unsubscribe(target: UnsubscribeTarget, meta: { ip: string; userAgent: string }, deps: UnsubscribeDeps, now = new Date()): Promise<'unsubscribed' | 'unknown-contact'> {
  const contact = await deps.contacts.get(target.contactId, true);
  const address = target.channel === 'email' ? contact?.email : contact?.phone;
  if (!contact || !address) return 'unknown-contact';
  const at = now.toISOString();
  // A transactional message's link unsubscribes from marketing too, but answers no campaign.
  const campaignId = isTransactionalSendId(target.sendId) ? undefined : parseSendId(target.sendId)?.campaignId;
  // The suppression names the campaign, not the send: a send id carries the contact id, and suppressions outlive erasure.
  await deps.service.suppress(target.channel, address, 'unsubscribed', { at, source: `unsubscribe:${campaignId ?? 'unknown'}` });
  if (contact.consent[target.channel]?.status !== 'withdrawn') {
    await deps.service.changeConsent(contact.id, {
      channel: target.channel,
      status: 'withdrawn',
      record: { action: 'withdrawn', source: 'unsubscribe', ip: meta.ip, userAgent: meta.userAgent.slice(0, 512), doubleOptIn: 'not_required' },
    });
  }
  // The withdrawal above comes first: recording the response must never stand in its way.
  const occurredAt = await deps.markers.firstSeenAt(`unsubscribe-time#${target.sendId}`, at);
  const recorded = await deps.timeline.recordFast({
    contactId: contact.id,
    id: `unsubscribe:${target.sendId}`,
    type: 'unsubscribed',
    channel: target.channel,
    ...(campaignId ? { campaignId } : {}),
    sendId: target.sendId,
    occurredAt,
    data: { source: 'link' },
  });
  if (recorded === 'recorded' && campaignId) await deps.campaigns.addResponses(campaignId, { unsubscribed: 1 }).catch(() => undefined); // live counters only; the nightly run recounts
  return 'unsubscribed';
}
