import { SendBatch } from '../../events/campaigns.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { smsProviderFrom } from '../../shared/campaigns/providers/index.ts';
import { channelSender } from '../../shared/campaigns/sender.ts';
import { senderFrom } from '../../shared/campaigns/wiring.ts';
import { functionConfig, intSetting, senderAddressSetting } from '../../shared/config.ts';
import { CONTACT_TABLES } from '../../shared/contacts/wiring.ts';
import { deliveryOf, messageQueueConsumer } from '../../shared/queue/message-consumer.ts';

const config = functionConfig('sms-sender', {
  tables: { ...CONTACT_TABLES, campaigns: true, sends: true, templates: true },
  queues: { smsSends: true },
  publishesEvents: true,
  usesSecret: true,
  sendsSms: true,
  linksToPublicApi: true,
  settings: {
    concurrency: intSetting('SEND_CONCURRENCY', 5, 1, 1000),
    defaultRate: intSetting('SMS_SEND_RATE', 1, 1, 100_000),
    senderAddress: senderAddressSetting(),
  },
});
useProjectSecret(config.secretArn);
const send = channelSender('sms', senderFrom({ ...config, ...config.settings }, () => smsProviderFrom(config.sms)));

/** SMS sends through End User Messaging SMS or Twilio, chosen per deployment (SMS_PROVIDER). */
export const handler = messageQueueConsumer(SendBatch, (batch, meta) => send(batch, deliveryOf(meta, config.queues.smsSends)));
