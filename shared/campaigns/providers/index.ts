import { readSecret } from '../../aws/secrets.ts';
import { optionalEnv, requireEnv } from '../../config.ts';
import { EndUserMessagingSmsProvider } from './eum-sms.ts';
import type { MessageProvider } from './provider.ts';
import { SesEmailProvider } from './ses-email.ts';
import { TwilioSmsProvider, type TwilioConfig } from './twilio-sms.ts';

/** The email provider of this deployment. */
export function emailProviderFromEnv(): MessageProvider {
  return new SesEmailProvider({ from: requireEnv('EMAIL_FROM'), configurationSet: optionalEnv('SES_CONFIGURATION_SET', '') || undefined });
}

/** The SMS provider chosen per deployment: SMS_PROVIDER=aws (End User Messaging SMS, default) or twilio. */
export async function smsProviderFromEnv(): Promise<MessageProvider> {
  const provider = optionalEnv('SMS_PROVIDER', 'aws');
  if (provider === 'twilio') {
    const credentials = JSON.parse(await readSecret(requireEnv('TWILIO_SECRET_ARN'))) as Partial<TwilioConfig>;
    if (!credentials.accountSid || !credentials.authToken || !credentials.from) throw new Error('The Twilio secret must hold accountSid, authToken and from');
    return new TwilioSmsProvider({
      accountSid: credentials.accountSid,
      authToken: credentials.authToken,
      from: credentials.from,
      // Twilio posts delivery receipts to our signed webhook unless the deployment names another URL.
      statusCallbackUrl: optionalEnv('TWILIO_STATUS_CALLBACK_URL', '') || (optionalEnv('PUBLIC_BASE_URL', '') ? `${optionalEnv('PUBLIC_BASE_URL', '')}/webhooks/twilio/status` : undefined),
      apiBaseUrl: optionalEnv('TWILIO_API_URL', '') || undefined,
    });
  }
  if (provider !== 'aws') throw new Error(`SMS_PROVIDER must be aws or twilio, not ${provider}`);
  return new EndUserMessagingSmsProvider({
    originationIdentity: optionalEnv('SMS_ORIGINATION_IDENTITY', '') || undefined,
    configurationSet: optionalEnv('SMS_CONFIGURATION_SET', '') || undefined,
  });
}
