import type { SesEventDetail } from '../../events/ses.ts';
import { sendIdOf, TRANSACTIONAL } from '../campaigns/send-store.ts';

/** The timeline entry an SES event becomes, and what it means for the address. */
export interface SesResponse {
  contactId?: string;
  address?: string;
  campaignId?: string;
  runId?: string;
  sendId?: string;
  /** A transactional message's id (POST /v1/messages): its events answer no campaign. */
  messageId?: string;
  type: string;
  /** Idempotency key: repeated deliveries of one event (SES events are best-effort, may repeat) map to the same key. */
  id: string;
  occurredAt: string;
  data: Record<string, unknown>;
  effect: 'none' | 'suppress-bounced' | 'suppress-complained' | 'soft-bounce';
}

const TYPES: Record<SesEventDetail['eventType'], string> = {
  Send: 'accepted',
  Delivery: 'delivered',
  Bounce: 'bounced',
  Complaint: 'complained',
  Reject: 'rejected',
  Open: 'opened',
  Click: 'clicked',
  'Rendering Failure': 'rendering_failed',
  DeliveryDelay: 'delivery_delayed',
  Subscription: 'subscription_changed',
};

const tag = (detail: SesEventDetail, ...names: string[]): string | undefined => {
  for (const name of names) {
    const value = detail.mail.tags?.[name]?.[0];
    if (value) return value;
  }
  return undefined;
};

/** Maps an SES event onto the send it belongs to (through the message tags the sender set) and a timeline entry. */
export function interpretSesEvent(detail: SesEventDetail): SesResponse {
  const type = TYPES[detail.eventType];
  const contactId = tag(detail, 'touchloop_contact', 'contact_id');
  const messageId = tag(detail, 'touchloop_message');
  // A transactional message carries its message id instead of a campaign and run.
  const campaignId = messageId ? undefined : tag(detail, 'touchloop_campaign');
  const runId = messageId ? undefined : tag(detail, 'touchloop_run');
  const occurredAt =
    detail.bounce?.timestamp ?? detail.complaint?.timestamp ?? detail.delivery?.timestamp ?? detail.open?.timestamp ?? detail.click?.timestamp ?? detail.deliveryDelay?.timestamp ?? detail.mail.timestamp;
  // Opens and clicks can happen many times (each is its own fact); the others happen once per message.
  const repeatable = detail.eventType === 'Open' || detail.eventType === 'Click';
  const id = `ses:${detail.mail.messageId}:${type}${repeatable ? `:${occurredAt}${detail.click ? `:${detail.click.link}` : ''}` : ''}`;
  const data: Record<string, unknown> = { providerMessageId: detail.mail.messageId, ...(messageId ? { transactional: true, messageId } : {}) };
  if (detail.bounce) Object.assign(data, { bounceType: detail.bounce.bounceType, bounceSubType: detail.bounce.bounceSubType });
  if (detail.complaint?.complaintFeedbackType) data.feedbackType = detail.complaint.complaintFeedbackType;
  if (detail.click) data.link = detail.click.link;
  if (detail.reject) data.reason = detail.reject.reason;
  let effect: SesResponse['effect'] = 'none';
  if (detail.eventType === 'Bounce') effect = detail.bounce?.bounceType === 'Permanent' ? 'suppress-bounced' : 'soft-bounce';
  if (detail.eventType === 'Complaint') effect = 'suppress-complained';
  return {
    contactId,
    address: detail.mail.destination[0]?.toLowerCase(),
    campaignId,
    runId,
    sendId: messageId ? sendIdOf(TRANSACTIONAL, messageId, contactId ?? 'address') : campaignId && runId && contactId ? sendIdOf(campaignId, runId, contactId) : undefined,
    messageId,
    type: detail.eventType === 'Bounce' && effect === 'soft-bounce' ? 'bounced_soft' : type,
    id,
    occurredAt,
    data,
    effect,
  };
}
