import { PinpointSMSVoiceV2Client, SendTextMessageCommand } from '@aws-sdk/client-pinpoint-sms-voice-v2';
import { ProviderPermanentError, ProviderThrottledError, type MessageProvider, type OutgoingMessage } from './provider.ts';

const client = new PinpointSMSVoiceV2Client({});

/** SMS through AWS End User Messaging SMS (pinpoint-sms-voice-v2 SendTextMessage). */
export class EndUserMessagingSmsProvider implements MessageProvider {
  readonly name = 'aws-end-user-messaging';
  readonly channel = 'sms' as const;

  constructor(
    private readonly config: { originationIdentity?: string; configurationSet?: string },
    private readonly sms: PinpointSMSVoiceV2Client = client,
  ) {}

  async send(message: OutgoingMessage): Promise<{ providerMessageId: string }> {
    try {
      const result = await this.sms.send(
        new SendTextMessageCommand({
          DestinationPhoneNumber: message.to,
          MessageBody: message.body,
          MessageType: 'PROMOTIONAL',
          OriginationIdentity: this.config.originationIdentity,
          ConfigurationSetName: this.config.configurationSet,
          Context: message.tags,
        }),
      );
      if (!result.MessageId) throw new Error('End User Messaging SMS accepted the message without an id');
      return { providerMessageId: result.MessageId };
    } catch (error) {
      const err = error as Error & { Reason?: string; reason?: string };
      if (err.name === 'ThrottlingException' || err.name === 'ServiceQuotaExceededException') throw new ProviderThrottledError(err.message);
      if (err.name === 'ValidationException') {
        const reason = String(err.Reason ?? err.reason ?? '');
        if (/OPTED_OUT|DESTINATION_PHONE_NUMBER_OPTED_OUT/i.test(reason) || /opted out/i.test(err.message)) throw new ProviderPermanentError(err.message, 'opted_out');
        throw new ProviderPermanentError(err.message, /DESTINATION|PHONE_NUMBER|INVALID/i.test(reason + err.message) ? 'invalid_destination' : 'rejected');
      }
      if (err.name === 'ConflictException' && /opt/i.test(err.message)) throw new ProviderPermanentError(err.message, 'opted_out');
      throw error;
    }
  }
}
