import type { SmsEventDetail } from '../../events/sms.ts';
import { sendIdOf } from '../campaigns/send-store.ts';

export interface SmsResponse {
  contactId?: string;
  campaignId?: string;
  sendId?: string;
  address?: string;
  type: string;
  id: string;
  occurredAt: string;
  data: Record<string, unknown>;
  /** Numbers that cannot receive SMS are suppressed like hard-bounced addresses. */
  effect: 'none' | 'suppress-invalid';
}

/** Intermediate states carry no news for the timeline. */
const IGNORED = new Set(['TEXT_PENDING', 'TEXT_QUEUED', 'TEXT_SENT']);
const PERMANENT = new Set(['TEXT_INVALID', 'TEXT_UNREACHABLE', 'TEXT_CARRIER_UNREACHABLE']);

/** Maps a delivery status event onto the send (through the context ids) and a timeline entry; undefined for intermediate states. */
export function interpretSmsEvent(detail: SmsEventDetail): SmsResponse | undefined {
  if (IGNORED.has(detail.eventType)) return undefined;
  const type = detail.eventType === 'TEXT_DELIVERED' ? 'delivered' : detail.eventType === 'TEXT_SUCCESSFUL' ? 'carrier_accepted' : 'delivery_failed';
  const ctx = detail.context ?? {};
  const contactId = ctx.touchloop_contact;
  const campaignId = ctx.touchloop_campaign;
  const runId = ctx.touchloop_run;
  return {
    contactId,
    campaignId,
    sendId: contactId && campaignId && runId ? sendIdOf(campaignId, runId, contactId) : undefined,
    address: detail.destinationPhoneNumber,
    type,
    id: `sms:${detail.messageId}:${detail.eventType}`,
    occurredAt: new Date(detail.eventTimestamp).toISOString(),
    data: { providerMessageId: detail.messageId, status: detail.eventType, ...(detail.messageStatusDescription ? { description: detail.messageStatusDescription } : {}), ...(detail.totalMessagePrice !== undefined ? { price: detail.totalMessagePrice } : {}) },
    effect: PERMANENT.has(detail.eventType) ? 'suppress-invalid' : 'none',
  };
}
