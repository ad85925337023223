import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';

const client = new SESv2Client({});

export interface OutgoingEmail {
  to: string;
  subject: string;
  html: string;
  text: string;
  /** Message tags (SES event destinations carry them back with every event). */
  tags?: Record<string, string>;
  headers?: Record<string, string>;
}

/** Who sends: the From address and the project's configuration set (from the function's configuration). */
export interface EmailSender {
  from: string;
  configurationSet: string | undefined;
}

/** Sends one email through SES v2 from the sender's address with its configuration set; returns the SES message id. */
export async function sendEmail(email: OutgoingEmail, sender: EmailSender, ses = client): Promise<string> {
  const result = await ses.send(
    new SendEmailCommand({
      FromEmailAddress: sender.from,
      Destination: { ToAddresses: [email.to] },
      ConfigurationSetName: sender.configurationSet,
      EmailTags: Object.entries(email.tags ?? {}).map(([Name, Value]) => ({ Name, Value })),
      Content: {
        Simple: {
          Subject: { Data: email.subject, Charset: 'UTF-8' },
          Body: { Html: { Data: email.html, Charset: 'UTF-8' }, Text: { Data: email.text, Charset: 'UTF-8' } },
          Headers: Object.entries(email.headers ?? {}).map(([Name, Value]) => ({ Name, Value })),
        },
      },
    }),
  );
  if (!result.MessageId) throw new Error('SES accepted the email without a message id');
  return result.MessageId;
}
