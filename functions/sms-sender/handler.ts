import { smsProviderFromEnv } from '../../shared/campaigns/providers/index.ts';
import { senderHandler } from '../../shared/campaigns/sender-handler.ts';

/** SMS sends through End User Messaging SMS or Twilio, chosen per deployment (SMS_PROVIDER). */
export const handler = senderHandler('sms', smsProviderFromEnv);
