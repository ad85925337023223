import { smsProviderFrom } from '../../shared/campaigns/providers/index.ts';
import { senderHandler } from '../../shared/campaigns/sender-handler.ts';
import { functionConfig, intSetting, senderAddressSetting } from '../../shared/config.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { CONTACT_TABLES } from '../../shared/contacts/wiring.ts';

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

/** SMS sends through End User Messaging SMS or Twilio, chosen per deployment (SMS_PROVIDER). */
export const handler = senderHandler('sms', { ...config, queueUrl: config.queues.smsSends, ...config.settings }, () => smsProviderFrom(config.sms));
