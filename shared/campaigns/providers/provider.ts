/**
 * A message provider (SES, End User Messaging SMS, Twilio…). Adding one is one file that
 * implements this interface and maps the provider's errors onto the three outcomes the sender
 * needs: throttled (retry later, with back-off), permanent (record, never retry) or transient
 * (any other error: retry through the queue).
 */
export interface OutgoingMessage {
  to: string;
  /** Email: subject/html/text; SMS: body. */
  subject?: string;
  html?: string;
  text?: string;
  body?: string;
  headers?: Record<string, string>;
  /** Ids to carry through to delivery events (SES tags, SMS context, callback parameters). */
  tags: Record<string, string>;
  /** A transactional message (a receipt, a password reset), not marketing: providers that distinguish them are told. */
  transactional?: boolean;
}

export interface MessageProvider {
  readonly name: string;
  readonly channel: 'email' | 'sms';
  send(message: OutgoingMessage): Promise<{ providerMessageId: string }>;
}

export class ProviderThrottledError extends Error {
  override name = 'ProviderThrottledError';
}

export class ProviderPermanentError extends Error {
  override name = 'ProviderPermanentError';
  constructor(
    message: string,
    /** Why: rejected, invalid_destination, opted_out… */
    readonly reason: string,
  ) {
    super(message);
  }
}

/** The provider answered in a way that does not say whether it took the message (e.g. no message id): never retried. */
export class ProviderAmbiguousError extends Error {
  override name = 'ProviderAmbiguousError';
}
