import { EumInboundSms, InboundSmsMessage } from '../../events/sms.ts';
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

function toInbound(message: InboundSmsMessage): InboundSms {
  if ('provider' in message) return message;
  const inner = EumInboundSms.parse(JSON.parse(message.Message));
  return { provider: 'aws', messageId: inner.inboundMessageId, from: inner.originationNumber, to: inner.destinationNumber, body: inner.messageBody, receivedAt: message.Timestamp };
}

/** Inbound SMS: keywords (STOP…, HELP, START) and replies recorded on the sender's timeline. */
export const handler = messageQueueConsumer(InboundSmsMessage, async (message) => {
  const inbound = toInbound(message);
  await handleInboundSms(
    { ...inbound, from: normalizePhone(inbound.from).e164 },
    { contacts: contacts.store, service: contacts.service, timeline: contacts.timeline, markers, campaigns, reply: () => (provider ??= smsProviderFrom(config.sms)) },
  );
});
