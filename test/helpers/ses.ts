/** An SES sending event as a configuration set's EventBridge destination delivers it. */
export function sesEvent(eventType: string, detailType: string, mail: { messageId: string; to: string; tags: Record<string, string> }, extra: Record<string, unknown> = {}) {
  return {
    EventBusName: 'default',
    Source: 'aws.ses',
    DetailType: detailType,
    Detail: JSON.stringify({
      eventType,
      mail: {
        timestamp: '2026-11-25T10:00:00.000Z',
        messageId: mail.messageId,
        destination: [mail.to],
        tags: Object.fromEntries(Object.entries(mail.tags).map(([k, v]) => [k, [v]])),
      },
      ...extra,
    }),
  };
}

/** An email as the local SES inbox (aws-ses-v2-local) stores it. */
export interface InboxEmail {
  subject: string;
  destination: { to: string[] };
  body: { html?: string; text?: string };
}

/** The local runtime's SES inbox and SMS sink, read by recipient. */
export function localOutbox<M extends { to: string }>(runtime: { urls: { ses: string }; smsSink: { messages: M[] } }) {
  const inbox = async (): Promise<InboxEmail[]> => ((await (await fetch(`${runtime.urls.ses}/store`)).json()) as { emails: InboxEmail[] }).emails;
  return {
    inbox,
    mailTo: async (address: string) => (await inbox()).filter((e) => e.destination.to.includes(address)),
    smsTo: (phone: string) => runtime.smsSink.messages.filter((m) => m.to === phone),
  };
}
