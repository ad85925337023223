import { readSecret } from '../../aws/secrets.ts';
import type { EmailConfig, SmsConfig } from '../../config.ts';
import { EndUserMessagingSmsProvider } from './eum-sms.ts';
import type { MessageProvider } from './provider.ts';
import { SesEmailProvider } from './ses-email.ts';
import { TwilioSmsProvider, type TwilioConfig } from './twilio-sms.ts';

/** The email provider of this deployment. */
export function emailProviderFrom(email: EmailConfig): MessageProvider {
  return new SesEmailProvider({ from: email.from, configurationSet: email.configurationSet });
}

/** The SMS provider chosen per deployment: End User Messaging SMS (SMS_PROVIDER=aws, default) or Twilio. */
export async function smsProviderFrom(sms: SmsConfig): Promise<MessageProvider> {
  if (sms.provider === 'twilio') {
    const credentials = JSON.parse(await readSecret(sms.secretArn)) as Partial<TwilioConfig>;
    if (!credentials.accountSid || !credentials.authToken || !credentials.from) throw new Error('The Twilio secret must hold accountSid, authToken and from');
    return new TwilioSmsProvider({
      accountSid: credentials.accountSid,
      authToken: credentials.authToken,
      from: credentials.from,
      statusCallbackUrl: sms.statusCallbackUrl,
      apiBaseUrl: sms.apiBaseUrl,
    });
  }
  return new EndUserMessagingSmsProvider({ originationIdentity: sms.originationIdentity, configurationSet: sms.configurationSet });
}
