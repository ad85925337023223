import { emailProviderFrom } from '../../shared/campaigns/providers/index.ts';
import { senderHandler } from '../../shared/campaigns/sender-handler.ts';
import { functionConfig, intSetting } from '../../shared/config.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { CONTACT_TABLES } from '../../shared/contacts/wiring.ts';

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

/** Email sends through SES (see shared/campaigns/sender.ts for the exactly-once rules). */
export const handler = senderHandler(
  'email',
  { ...config, queueUrl: config.queues.emailSends, senderAddress: config.email.senderAddress, ...config.settings },
  async () => emailProviderFrom(config.email),
);
