import type { ContactService } from '../contacts/contact-service.ts';
import type { ContactStore } from '../contacts/contact-store.ts';
import { OWNER_CONFIRMATION_LIFTS } from '../contacts/suppressions.ts';
import type { Timeline } from '../contacts/timeline.ts';
import type { IdempotencyMarkers } from '../idempotency.ts';
import { logger } from '../logger.ts';
import type { MessageProvider } from '../campaigns/providers/provider.ts';
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
}

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
  const at = message.receivedAt;
  if (contact) {
    await deps.timeline.recordFast({
      contactId: contact.id,
      id: `sms-in:${message.provider}:${message.messageId}`,
      type: keyword === 'opt-out' ? 'unsubscribed' : keyword === 'opt-in' ? 'resubscribed' : 'sms_received',
      channel: 'sms',
      occurredAt: at,
      data: { keyword: keyword ?? null, body: message.body.slice(0, 160) },
    });
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
