import { NormalisedInboundSms } from '../../events/sms.ts';
import { sendToQueue } from '../../shared/aws/queue.ts';
import { readSecret, useProjectSecret } from '../../shared/aws/secrets.ts';
import { CampaignStore } from '../../shared/campaigns/campaign-store.ts';
import { functionConfig } from '../../shared/config.ts';
import { LeadScorer } from '../../shared/contacts/lead-scoring.ts';
import { CONTACT_TABLES, contactsFrom } from '../../shared/contacts/wiring.ts';
import { AppError } from '../../shared/errors.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import { httpApi, json, route, type HttpRequest } from '../../shared/http/api.ts';
import { MessageStore } from '../../shared/messages/message-store.ts';
import { recordSmsStatus, ResponseTally, type ResponseDeps } from '../../shared/responses/recorder.ts';
import { fromTwilioCallback } from '../../shared/responses/sms-events.ts';
import { TWILIO_MESSAGE_SID, validTwilioSignature } from '../../shared/responses/twilio.ts';

const config = functionConfig('twilio-webhooks', {
  tables: { ...CONTACT_TABLES, idempotency: true, campaigns: true, sends: true },
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
const responses: ResponseDeps & { campaigns: CampaignStore } = {
  timeline: contacts.timeline,
  contacts: contacts.store,
  service: contacts.service,
  scorer: new LeadScorer(config.tables.contacts, markers),
  campaigns: new CampaignStore(config.tables.campaigns),
  markers,
  messages: new MessageStore(config.tables.sends),
};

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
const twiml = () => ({ status: 200, headers: { 'content-type': 'text/xml' }, rawBody: '<?xml version="1.0" encoding="UTF-8"?><Response/>' });

export const handler = httpApi({
  // Inbound SMS: queued for the same keyword handling as End User Messaging SMS messages.
  'POST /webhooks/twilio/sms': route({
    bodyFormat: 'raw',
    maxBodyBytes: 64 * 1024,
    handle: async (request) => {
      const p = await verified(request);
      if (!p.MessageSid || !p.From) throw new AppError(400, 'bad_request', 'MessageSid and From are required');
      if (!TWILIO_MESSAGE_SID.test(p.MessageSid)) throw new AppError(400, 'bad_request', 'MessageSid is not a message SID');
      const message: NormalisedInboundSms = { provider: 'twilio', messageId: p.MessageSid, from: p.From, to: p.To ?? '', body: p.Body ?? '', receivedAt: new Date().toISOString() };
      await sendToQueue(inboundQueueUrl, [{ body: JSON.stringify(NormalisedInboundSms.parse(message)) }]);
      return twiml();
    },
  }),

  // Status callbacks: the send's ids ride in the callback URL's query (set by the Twilio provider); one interpreter for both providers.
  'POST /webhooks/twilio/status': route({
    bodyFormat: 'raw',
    maxBodyBytes: 64 * 1024,
    handle: async (request) => {
      const report = fromTwilioCallback(await verified(request), request.event.queryStringParameters ?? {});
      const tally = new ResponseTally();
      const outcome = report ? await recordSmsStatus(report, responses, tally) : 'ignored';
      await tally.flush(responses.campaigns);
      return json(200, { recorded: outcome === 'recorded' || outcome === 'duplicate' });
    },
  }),
});
