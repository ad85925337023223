import type { ContactService } from '../contacts/contact-service.ts';
import type { ContactStore } from '../contacts/contact-store.ts';
import { OWNER_CONFIRMATION_LIFTS } from '../contacts/suppressions.ts';
import type { Timeline } from '../contacts/timeline.ts';
import type { IdempotencyMarkers } from '../idempotency.ts';
import { logger } from '../logger.ts';
import type { MessageProvider } from '../campaigns/providers/provider.ts';
import type { CampaignStore } from '../campaigns/campaign-store.ts';
import { classifySmsKeyword, DEFAULT_REPLIES, type SmsKeyword } from './sms-keywords.ts';

export interface InboundSms {
  provider: string;
  messageId: string;
  from: string;
  to: string;
  body: string;
  receivedAt: string;
}

export interface InboundDeps {
  contacts: ContactStore;
  service: ContactService;
  timeline: Timeline;
  markers: IdempotencyMarkers;
  /** Replies go out through the deployment's SMS provider. */
  reply: () => Promise<MessageProvider>;
  replies?: Partial<Record<SmsKeyword, string>>;
  /** Live campaign counters: a STOP answering a campaign's message counts as that campaign's unsubscribe. */
  campaigns?: CampaignStore;
}

/** A STOP answers the newest SMS the contact was sent within this many days (after that it answers none). */
export const STOP_ATTRIBUTION_DAYS = 30;

/**
 * An inbound SMS: recorded on the sender's timeline; STOP and its synonyms withdraw SMS consent
 * and suppress the number at once, with one confirmation reply (none when the number was already
 * opted out, so a repeated STOP gets no second reply); HELP gets the help text; START/UNSTOP
 * restores consent and lifts the opt-out. Each inbound message is handled once.
 */
export async function handleInboundSms(message: InboundSms, deps: InboundDeps): Promise<SmsKeyword | 'reply' | 'duplicate'> {
  if (!(await deps.markers.claim(`sms-in#${message.provider}#${message.messageId}`, 30 * 24 * 3600))) return 'duplicate';
  const keyword = classifySmsKeyword(message.body);
  const contact = await deps.contacts.findByPhone(message.from);
  // Provider times are ISO 8601; one that is not stands for "now" rather than failing the message.
  const at = Number.isNaN(Date.parse(message.receivedAt)) ? new Date().toISOString() : new Date(message.receivedAt).toISOString();
  if (contact) {
    // A STOP is an unsubscribe from the campaign whose message it answers: the newest SMS sent to the number.
    const answered =
      keyword === 'opt-out'
        ? await deps.timeline.latest(contact.id, { types: ['sent'], channel: 'sms', campaign: true }, new Date(Date.parse(at) - STOP_ATTRIBUTION_DAYS * 86_400_000).toISOString(), `${at}#\uffff`)
        : undefined;
    const outcome = await deps.timeline.recordFast({
      contactId: contact.id,
      id: `sms-in:${message.provider}:${message.messageId}`,
      type: keyword === 'opt-out' ? 'unsubscribed' : keyword === 'opt-in' ? 'resubscribed' : 'sms_received',
      channel: 'sms',
      ...(answered?.campaignId ? { campaignId: answered.campaignId } : {}),
      ...(answered?.sendId ? { sendId: answered.sendId } : {}),
      occurredAt: at,
      data: { keyword: keyword ?? null, body: message.body.slice(0, 160) },
    });
    if (outcome === 'recorded' && answered?.campaignId && deps.campaigns) {
      await deps.campaigns.addResponses(answered.campaignId, { unsubscribed: 1 }).catch(() => undefined); // live counters only; the nightly run recounts
    }
  }
  const send = async (text: string) => {
    try {
      const provider = await deps.reply();
      await provider.send({ to: message.from, body: text, tags: { touchloop_kind: 'keyword_reply' } });
    } catch (error) {
      // A failed confirmation must not undo the opt-out; it is logged, not retried.
      logger.error('keyword reply failed', { error: error as Error });
    }
  };
  const replies = { ...DEFAULT_REPLIES, ...deps.replies };
  if (keyword === 'opt-out') {
    const alreadyOut = contact?.consent.sms?.status === 'withdrawn' || Boolean(contact?.suppressed?.sms?.includes('opted_out'));
    await deps.service.suppress('sms', message.from, 'opted_out', { at, source: `sms-keyword:${message.messageId}` });
    if (contact && contact.consent.sms?.status !== 'withdrawn') {
      await deps.service.changeConsent(contact.id, { channel: 'sms', status: 'withdrawn', record: { action: 'withdrawn', source: 'sms-keyword', doubleOptIn: 'not_required' } });
    }
    if (!alreadyOut) await send(replies['opt-out']);
    return 'opt-out';
  }
  if (keyword === 'opt-in') {
    // START from the number is the owner's own word: it lifts what a withdrawal left (never a bounce or an erasure).
    await deps.service.unsuppress('sms', message.from, OWNER_CONFIRMATION_LIFTS, at);
    if (contact) {
      await deps.service.changeConsent(contact.id, { channel: 'sms', status: 'confirmed', record: { action: 'granted', source: 'sms-keyword', doubleOptIn: 'not_required' } }, { lift: OWNER_CONFIRMATION_LIFTS });
    }
    await send(replies['opt-in']);
    return 'opt-in';
  }
  if (keyword === 'help') {
    await send(replies.help);
    return 'help';
  }
  return 'reply';
}
