import { sendToQueue } from '../../shared/aws/queue.ts';
import { readSecret } from '../../shared/aws/secrets.ts';
import { sendIdOf } from '../../shared/campaigns/send-store.ts';
import { optionalEnv, requireEnv } from '../../shared/config.ts';
import { InvalidPhoneError, normalizePhone } from '../../shared/contacts/phone.ts';
import { contactsFromEnv } from '../../shared/contacts/wiring.ts';
import { AppError } from '../../shared/errors.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import { httpApi, json, route, type HttpRequest } from '../../shared/http/api.ts';
import { TWILIO_PERMANENT_ERRORS, validTwilioSignature } from '../../shared/responses/twilio.ts';

const contacts = contactsFromEnv();
const publicBaseUrl = requireEnv('PUBLIC_BASE_URL');
const inboundQueueUrl = requireEnv('QUEUE_URL_SMS_INBOUND');
const secretArn = optionalEnv('TWILIO_SECRET_ARN', '');
const markers = new IdempotencyMarkers(requireEnv('TABLE_IDEMPOTENCY'));

/** The request's form parameters, after checking Twilio signed them with this account's auth token. */
async function verified(request: HttpRequest<unknown, Record<string, string | undefined>, unknown>): Promise<Record<string, string>> {
  if (!secretArn) throw new AppError(404, 'not_configured', 'Twilio is not configured for this deployment');
  const { authToken } = JSON.parse(await readSecret(secretArn)) as { authToken?: string };
  if (!authToken) throw new AppError(500, 'misconfigured', 'The Twilio secret has no authToken');
  const params: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(request.rawBody)) params[k] = v;
  const query = request.event.rawQueryString ? `?${request.event.rawQueryString}` : '';
  const url = `${publicBaseUrl}${request.event.rawPath}${query}`;
  if (!validTwilioSignature(authToken, url, params, request.headers['x-twilio-signature'])) throw new AppError(403, 'bad_signature', 'The request is not signed by Twilio');
  return params;
}

/** Twilio message SIDs are "SM"/"MM" and 32 hex digits; anything far from that shape is not one (and would not fit a timeline key). */
const MESSAGE_SID = /^[A-Za-z0-9]{1,64}$/;
const CONTACT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The number a permanent failure suppresses, read before anything is written: one that is no phone number is a 400. */
function recipientOf(to: string): string {
  try {
    return normalizePhone(to).e164;
  } catch (error) {
    if (error instanceof InvalidPhoneError) throw new AppError(400, 'bad_request', 'To is not a phone number');
    throw error;
  }
}

const twiml = () => ({ status: 200, headers: { 'content-type': 'text/xml' }, rawBody: '<?xml version="1.0" encoding="UTF-8"?><Response/>' });

export const handler = httpApi({
  // Inbound SMS: queued for the same keyword handling as End User Messaging SMS messages.
  'POST /webhooks/twilio/sms': route({
    bodyFormat: 'raw',
    maxBodyBytes: 64 * 1024,
    handle: async (request) => {
      const p = await verified(request);
      if (!p.MessageSid || !p.From) throw new AppError(400, 'bad_request', 'MessageSid and From are required');
      if (!MESSAGE_SID.test(p.MessageSid)) throw new AppError(400, 'bad_request', 'MessageSid is not a message SID');
      await sendToQueue(inboundQueueUrl, [
        { body: JSON.stringify({ provider: 'twilio', messageId: p.MessageSid, from: p.From, to: p.To ?? '', body: p.Body ?? '', receivedAt: new Date().toISOString() }) },
      ]);
      return twiml();
    },
  }),

  // Status callbacks: the send's ids ride in the callback URL's query (set by the Twilio provider).
  'POST /webhooks/twilio/status': route({
    bodyFormat: 'raw',
    maxBodyBytes: 64 * 1024,
    handle: async (request) => {
      const p = await verified(request);
      const q = request.event.queryStringParameters ?? {};
      const status = p.MessageStatus ?? '';
      if (!['delivered', 'undelivered', 'failed'].includes(status) || !p.MessageSid) return json(200, { recorded: false });
      if (!MESSAGE_SID.test(p.MessageSid)) throw new AppError(400, 'bad_request', 'MessageSid is not a message SID');
      const contactId = q.touchloop_contact;
      // The ids ride in the callback URL Touchloop built; one that is not a contact id is refused before anything is written.
      if (contactId && !CONTACT_ID.test(contactId)) throw new AppError(400, 'bad_request', 'touchloop_contact is not a contact id');
      const suppress = p.ErrorCode && TWILIO_PERMANENT_ERRORS.has(p.ErrorCode) && p.To ? recipientOf(p.To) : undefined;
      // Callbacks carry no time of their own: the first arrival's time keeps a repeat on the same timeline key.
      const occurredAt = await markers.firstSeenAt(`twilio-status#${p.MessageSid}#${status}`, undefined, 30 * 24 * 3600);
      if (contactId) {
        const sendId = q.touchloop_campaign && q.touchloop_run ? sendIdOf(q.touchloop_campaign, q.touchloop_run, contactId) : undefined;
        await contacts.timeline.recordFast({
          contactId,
          id: `twilio:${p.MessageSid}:${status}`,
          type: status === 'delivered' ? 'delivered' : 'delivery_failed',
          channel: 'sms',
          ...(q.touchloop_campaign ? { campaignId: q.touchloop_campaign } : {}),
          ...(sendId ? { sendId } : {}),
          occurredAt,
          data: { providerMessageId: p.MessageSid, status, ...(p.ErrorCode ? { errorCode: p.ErrorCode } : {}) },
        });
      }
      if (suppress) {
        await contacts.service.suppress('sms', suppress, p.ErrorCode === '21610' ? 'opted_out' : 'bounced', { at: occurredAt, source: `twilio:${p.MessageSid}` });
      }
      return json(200, { recorded: true });
    },
  }),
});
