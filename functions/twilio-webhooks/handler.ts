import { sendToQueue } from '../../shared/aws/queue.ts';
import { readSecret, useProjectSecret } from '../../shared/aws/secrets.ts';
import { sendIdOf } from '../../shared/campaigns/send-store.ts';
import { functionConfig } from '../../shared/config.ts';
import { normalizePhone } from '../../shared/contacts/phone.ts';
import { CONTACT_TABLES, contactsFrom } from '../../shared/contacts/wiring.ts';
import { AppError } from '../../shared/errors.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import { httpApi, json, route, type HttpRequest } from '../../shared/http/api.ts';
import { TWILIO_PERMANENT_ERRORS, validTwilioSignature } from '../../shared/responses/twilio.ts';

const config = functionConfig('twilio-webhooks', {
  tables: { ...CONTACT_TABLES, idempotency: true },
  queues: { smsInbound: true },
  publishesEvents: true,
  usesSecret: true,
  linksToPublicApi: true,
  receivesTwilioWebhooks: true,
});
useProjectSecret(config.secretArn);
const contacts = contactsFrom(config);
const { publicBaseUrl } = config;
const inboundQueueUrl = config.queues.smsInbound;
const secretArn = config.twilioSecretArn;
const markers = new IdempotencyMarkers(config.tables.idempotency);

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

const twiml = () => ({ status: 200, headers: { 'content-type': 'text/xml' }, rawBody: '<?xml version="1.0" encoding="UTF-8"?><Response/>' });

export const handler = httpApi({
  // Inbound SMS: queued for the same keyword handling as End User Messaging SMS messages.
  'POST /webhooks/twilio/sms': route({
    bodyFormat: 'raw',
    maxBodyBytes: 64 * 1024,
    handle: async (request) => {
      const p = await verified(request);
      if (!p.MessageSid || !p.From) throw new AppError(400, 'bad_request', 'MessageSid and From are required');
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
      const contactId = q.touchloop_contact;
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
      if (p.ErrorCode && TWILIO_PERMANENT_ERRORS.has(p.ErrorCode) && p.To) {
        await contacts.service.suppress('sms', normalizePhone(p.To).e164, p.ErrorCode === '21610' ? 'opted_out' : 'bounced', { at: occurredAt, source: `twilio:${p.MessageSid}` });
      }
      return json(200, { recorded: true });
    },
  }),
});
