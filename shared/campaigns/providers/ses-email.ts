import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { ProviderAmbiguousError, ProviderPermanentError, ProviderThrottledError, type MessageProvider, type OutgoingMessage } from './provider.ts';

const client = new SESv2Client({});

const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'LimitExceededException', 'SendingPausedException']);
const PERMANENT: Record<string, string> = {
  MessageRejected: 'rejected',
  MailFromDomainNotVerifiedException: 'sender_not_verified',
  AccountSuspendedException: 'account_suspended',
  BadRequestException: 'rejected',
};

/** SES tag values allow only letters, digits, _, -, . and @: anything else becomes _. */
const tagValue = (value: string) => value.replace(/[^A-Za-z0-9_.@-]/g, '_').slice(0, 256);

/** Email through Amazon SES v2, with the project's configuration set (its event destination feeds the responses). */
export class SesEmailProvider implements MessageProvider {
  readonly name = 'ses';
  readonly channel = 'email' as const;

  constructor(
    private readonly config: { from: string; configurationSet?: string },
    private readonly ses: SESv2Client = client,
  ) {}

  async send(message: OutgoingMessage): Promise<{ providerMessageId: string }> {
    try {
      const result = await this.ses.send(
        new SendEmailCommand({
          FromEmailAddress: this.config.from,
          Destination: { ToAddresses: [message.to] },
          ConfigurationSetName: this.config.configurationSet,
          EmailTags: Object.entries(message.tags).map(([Name, Value]) => ({ Name, Value: tagValue(Value) })),
          Content: {
            Simple: {
              Subject: { Data: message.subject ?? '', Charset: 'UTF-8' },
              Body: { Html: { Data: message.html ?? '', Charset: 'UTF-8' }, Text: { Data: message.text ?? '', Charset: 'UTF-8' } },
              Headers: Object.entries(message.headers ?? {}).map(([Name, Value]) => ({ Name, Value })),
            },
          },
        }),
      );
      if (!result.MessageId) throw new ProviderAmbiguousError('SES answered without a message id');
      return { providerMessageId: result.MessageId };
    } catch (error) {
      const name = (error as Error).name;
      if (THROTTLING.has(name)) throw new ProviderThrottledError((error as Error).message);
      if (PERMANENT[name]) throw new ProviderPermanentError((error as Error).message, PERMANENT[name]);
      throw error;
    }
  }
}
