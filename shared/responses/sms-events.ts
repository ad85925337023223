import type { SmsEventDetail } from '../../events/sms.ts';
import { sendIdOf, TRANSACTIONAL } from '../campaigns/send-store.ts';
import { normalizePhone } from '../contacts/phone.ts';
import { ValidationError, type ValidationIssue } from '../errors.ts';
import { TWILIO_MESSAGE_SID, TWILIO_PERMANENT_ERRORS } from './twilio.ts';

/**
 * A delivery status from any SMS provider, in one shape: providers are adapters (fromEumEvent,
 * fromTwilioCallback) and one interpreter (interpretSmsStatus) decides what it means.
 */
export interface SmsStatusReport {
  provider: 'aws' | 'twilio';
  messageId: string;
  /** The provider's own status word, kept on the timeline entry. */
  status: string;
  outcome: 'pending' | 'carrier_accepted' | 'delivered' | 'failed';
  /** A failure that will not change: the number cannot receive SMS, or its owner opted out with the carrier. */
  permanent?: 'bounced' | 'opted_out';
  /** When it happened; undefined when the provider does not say (the first arrival's time is used). */
  occurredAt?: string;
  to?: string;
  /** The ids Touchloop gave the message (End User Messaging context, Twilio callback URL). */
  contactId?: string;
  campaignId?: string;
  runId?: string;
  /** Touchloop's id of a transactional message (POST /v1/messages). */
  transactionalId?: string;
  data: Record<string, unknown>;
}

export interface SmsResponse {
  contactId?: string;
  campaignId?: string;
  sendId?: string;
  messageId?: string;
  address?: string;
  type: string;
  id: string;
  data: Record<string, unknown>;
  /** Numbers that cannot receive SMS are suppressed like hard-bounced addresses; carrier opt-outs as opted out. */
  suppress?: 'bounced' | 'opted_out';
}

/** What a status means for the timeline; undefined for intermediate states, which carry no news. */
export function interpretSmsStatus(report: SmsStatusReport): SmsResponse | undefined {
  if (report.outcome === 'pending') return undefined;
  const { contactId, runId, transactionalId: messageId } = report;
  // A transactional message answers no campaign.
  const campaignId = messageId ? undefined : report.campaignId;
  return {
    contactId,
    campaignId,
    sendId: messageId ? sendIdOf(TRANSACTIONAL, messageId, contactId ?? 'address') : contactId && campaignId && runId ? sendIdOf(campaignId, runId, contactId) : undefined,
    messageId,
    address: report.to,
    type: report.outcome === 'failed' ? 'delivery_failed' : report.outcome,
    id: `${report.provider === 'aws' ? 'sms' : 'twilio'}:${report.messageId}:${report.status}`,
    data: messageId ? { ...report.data, transactional: true, messageId } : report.data,
    ...(report.outcome === 'failed' && report.permanent ? { suppress: report.permanent } : {}),
  };
}

const EUM_PENDING = new Set(['TEXT_PENDING', 'TEXT_QUEUED', 'TEXT_SENT']);
const EUM_PERMANENT = new Set(['TEXT_INVALID', 'TEXT_UNREACHABLE', 'TEXT_CARRIER_UNREACHABLE']);

/** An End User Messaging SMS status event (default bus). */
export function fromEumEvent(detail: SmsEventDetail): SmsStatusReport {
  const ctx = detail.context ?? {};
  const outcome = EUM_PENDING.has(detail.eventType) ? 'pending' : detail.eventType === 'TEXT_DELIVERED' ? 'delivered' : detail.eventType === 'TEXT_SUCCESSFUL' ? 'carrier_accepted' : 'failed';
  return {
    provider: 'aws',
    messageId: detail.messageId,
    status: detail.eventType,
    outcome,
    ...(EUM_PERMANENT.has(detail.eventType) ? { permanent: 'bounced' as const } : {}),
    occurredAt: new Date(detail.eventTimestamp).toISOString(),
    to: detail.destinationPhoneNumber,
    contactId: ctx.touchloop_contact,
    campaignId: ctx.touchloop_campaign,
    runId: ctx.touchloop_run,
    ...(ctx.touchloop_message ? { transactionalId: ctx.touchloop_message } : {}),
    data: { providerMessageId: detail.messageId, status: detail.eventType, ...(detail.messageStatusDescription ? { description: detail.messageStatusDescription } : {}), ...(detail.totalMessagePrice !== undefined ? { price: detail.totalMessagePrice } : {}) },
  };
}

/** A transactional message's id (shared/messages/transactional.ts messageIdOf). */
const MESSAGE_ID = /^msg_[A-Za-z0-9_-]{32}$/;
const CONTACT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A Twilio status callback: its form parameters and the ids in the callback URL's query (Twilio
 * callbacks carry no time). A signed callback can still carry what nothing may store — a SID that
 * is none, a contact id Touchloop never made, a number that is none on a permanent error — and is
 * refused (400) before anything is written.
 */
export function fromTwilioCallback(params: Record<string, string>, query: Record<string, string | undefined>): SmsStatusReport | undefined {
  const status = params.MessageStatus ?? '';
  if (!params.MessageSid) return undefined;
  const outcome = status === 'delivered' ? 'delivered' : status === 'undelivered' || status === 'failed' ? 'failed' : 'pending';
  const errorCode = params.ErrorCode;
  const to = e164(params.To);
  const issues: ValidationIssue[] = [];
  if (!TWILIO_MESSAGE_SID.test(params.MessageSid)) issues.push({ path: 'MessageSid', message: 'is not a message SID' });
  if (query.touchloop_contact && !CONTACT_ID.test(query.touchloop_contact)) issues.push({ path: 'touchloop_contact', message: 'is not a contact id' });
  if (query.touchloop_message && !MESSAGE_ID.test(query.touchloop_message)) issues.push({ path: 'touchloop_message', message: 'is not a message id' });
  if (outcome === 'failed' && errorCode && TWILIO_PERMANENT_ERRORS.has(errorCode) && params.To && !to) issues.push({ path: 'To', message: 'is not a phone number' });
  if (issues.length) throw new ValidationError(issues);
  return {
    provider: 'twilio',
    messageId: params.MessageSid,
    status,
    outcome,
    ...(errorCode && TWILIO_PERMANENT_ERRORS.has(errorCode) ? { permanent: errorCode === '21610' ? ('opted_out' as const) : ('bounced' as const) } : {}),
    to,
    contactId: query.touchloop_contact,
    campaignId: query.touchloop_campaign,
    runId: query.touchloop_run,
    ...(query.touchloop_message ? { transactionalId: query.touchloop_message } : {}),
    data: { providerMessageId: params.MessageSid, status, ...(errorCode ? { errorCode } : {}) },
  };
}

/** A number as E.164, or undefined when it is none (nothing to suppress then). */
function e164(phone: string | undefined): string | undefined {
  if (!phone) return undefined;
  try {
    return normalizePhone(phone).e164;
  } catch {
    return undefined;
  }
}
