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
