import { SendBatch } from '../../events/campaigns.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { emailProviderFrom } from '../../shared/campaigns/providers/index.ts';
import { channelSender } from '../../shared/campaigns/sender.ts';
import { senderFrom } from '../../shared/campaigns/wiring.ts';
import { functionConfig, intSetting } from '../../shared/config.ts';
import { CONTACT_TABLES } from '../../shared/contacts/wiring.ts';
import { deliveryOf, messageQueueConsumer } from '../../shared/queue/message-consumer.ts';

const config = functionConfig('email-sender', {
  tables: { ...CONTACT_TABLES, campaigns: true, sends: true, templates: true },
  queues: { emailSends: true },
  publishesEvents: true,
  usesSecret: true,
  sendsEmail: true,
  linksToPublicApi: true,
  settings: { concurrency: intSetting('SEND_CONCURRENCY', 5, 1, 1000), defaultRate: intSetting('EMAIL_SEND_RATE', 14, 1, 100_000) },
});
useProjectSecret(config.secretArn);
const send = channelSender('email', senderFrom({ ...config, senderAddress: config.email.senderAddress, ...config.settings }, async () => emailProviderFrom(config.email)));

/** Email sends through SES (see shared/campaigns/sender.ts for the exactly-once rules). */
export const handler = messageQueueConsumer(SendBatch, (batch, meta) => send(batch, deliveryOf(meta, config.queues.emailSends)));
