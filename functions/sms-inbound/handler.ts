import * as z from 'zod';
import { CampaignStore } from '../../shared/campaigns/campaign-store.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { smsProviderFrom } from '../../shared/campaigns/providers/index.ts';
import { functionConfig } from '../../shared/config.ts';
import { normalizePhone } from '../../shared/contacts/phone.ts';
import { CONTACT_TABLES, contactsFrom } from '../../shared/contacts/wiring.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import { messageQueueConsumer } from '../../shared/queue/message-consumer.ts';
import { handleInboundSms, type InboundSms } from '../../shared/responses/sms-inbound.ts';

const config = functionConfig('sms-inbound', {
  tables: { ...CONTACT_TABLES, idempotency: true, campaigns: true },
  queues: { smsInbound: true },
  publishesEvents: true,
  usesSecret: true,
  sendsSms: true,
});
useProjectSecret(config.secretArn);
const contacts = contactsFrom(config);
const markers = new IdempotencyMarkers(config.tables.idempotency);
const campaigns = new CampaignStore(config.tables.campaigns);
let provider: ReturnType<typeof smsProviderFrom> | undefined;

/** End User Messaging SMS two-way messages arrive as SNS notifications; Twilio's webhook enqueues them already normalised. */
const SnsEnvelope = z.object({ Type: z.literal('Notification'), MessageId: z.string(), Message: z.string(), Timestamp: z.string() });
const EumInbound = z.object({
  originationNumber: z.string(),
  destinationNumber: z.string(),
  messageBody: z.string(),
  inboundMessageId: z.string(),
});
const Normalised = z.object({ provider: z.string(), messageId: z.string(), from: z.string(), to: z.string(), body: z.string(), receivedAt: z.string() });
const InboundMessage = z.union([SnsEnvelope, Normalised]);

function toInbound(message: z.infer<typeof InboundMessage>): InboundSms {
  if ('provider' in message) return message;
  const inner = EumInbound.parse(JSON.parse(message.Message));
  return { provider: 'aws', messageId: inner.inboundMessageId, from: inner.originationNumber, to: inner.destinationNumber, body: inner.messageBody, receivedAt: message.Timestamp };
}

/** Inbound SMS: keywords (STOP…, HELP, START) and replies recorded on the sender's timeline. */
export const handler = messageQueueConsumer(InboundMessage, async (message) => {
  const inbound = toInbound(message);
  await handleInboundSms(
    { ...inbound, from: normalizePhone(inbound.from).e164 },
    { contacts: contacts.store, service: contacts.service, timeline: contacts.timeline, markers, campaigns, reply: () => (provider ??= smsProviderFrom(config.sms)) },
  );
});
