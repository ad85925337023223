import { PinpointSMSVoiceV2Client, SendTextMessageCommand } from '@aws-sdk/client-pinpoint-sms-voice-v2';
import { ProviderAmbiguousError, ProviderPermanentError, ProviderThrottledError, type MessageProvider, type OutgoingMessage } from './provider.ts';

const client = new PinpointSMSVoiceV2Client({});

/** pinpoint-sms-voice-v2 Reason codes (ConflictException / ValidationException) that mean the person opted out. */
const OPTED_OUT_REASONS = new Set(['DESTINATION_PHONE_NUMBER_OPTED_OUT']);
/** …or that the destination cannot receive this message. */
const DESTINATION_REASONS = new Set([
  'DESTINATION_PHONE_NUMBER_BLOCKED_BY_PROTECT_NUMBER_OVERRIDE',
  'DESTINATION_PHONE_NUMBER_NOT_VERIFIED',
  'INVALID_PHONE_NUMBER',
  'PHONE_NUMBER_NOT_VALID',
  'DESTINATION_COUNTRY_BLOCKED',
  'DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION',
]);

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
          MessageType: message.transactional ? 'TRANSACTIONAL' : 'PROMOTIONAL',
          OriginationIdentity: this.config.originationIdentity,
          ConfigurationSetName: this.config.configurationSet,
          Context: message.tags,
        }),
      );
      if (!result.MessageId) throw new ProviderAmbiguousError('End User Messaging SMS answered without a message id');
      return { providerMessageId: result.MessageId };
    } catch (error) {
      if (error instanceof ProviderAmbiguousError) throw error;
      const err = error as Error & { Reason?: string; reason?: string; Fields?: Array<{ Name?: string }> };
      if (err.name === 'ThrottlingException' || err.name === 'ServiceQuotaExceededException') throw new ProviderThrottledError(err.message);
      // Decided by the error's Reason code, not its wording.
      const reason = String(err.Reason ?? err.reason ?? '');
      if (err.name === 'ConflictException' || err.name === 'ValidationException') {
        if (OPTED_OUT_REASONS.has(reason)) throw new ProviderPermanentError(err.message, 'opted_out');
        const destinationField = (err.Fields ?? []).some((f) => f.Name === 'DestinationPhoneNumber');
        if (DESTINATION_REASONS.has(reason) || destinationField) throw new ProviderPermanentError(err.message, 'invalid_destination');
        throw new ProviderPermanentError(err.message, 'rejected');
      }
      throw error;
    }
  }
}
