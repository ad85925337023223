import { ProviderAmbiguousError, ProviderPermanentError, ProviderThrottledError, type MessageProvider, type OutgoingMessage } from './provider.ts';

export interface TwilioConfig {
  accountSid: string;
  authToken: string;
  /** A sender number, or a Messaging Service SID (MG…). */
  from: string;
  /** Where Twilio posts delivery status (the responses issue's webhook). */
  statusCallbackUrl?: string;
  apiBaseUrl?: string;
}

/** Twilio error codes that will not succeed on retry: invalid/unreachable number, opted out, not SMS capable. */
const PERMANENT_CODES: Record<number, string> = {
  21211: 'invalid_destination',
  21214: 'invalid_destination',
  21408: 'rejected',
  21610: 'opted_out',
  21612: 'invalid_destination',
  21614: 'invalid_destination',
  30003: 'invalid_destination',
  30005: 'invalid_destination',
  30006: 'invalid_destination',
  30007: 'rejected',
};

/** SMS through Twilio's REST API (form-encoded POST with basic auth). */
export class TwilioSmsProvider implements MessageProvider {
  readonly name = 'twilio';
  readonly channel = 'sms' as const;

  constructor(
    private readonly config: TwilioConfig,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async send(message: OutgoingMessage): Promise<{ providerMessageId: string }> {
    const form = new URLSearchParams({ To: message.to, Body: message.body ?? '' });
    if (this.config.from.startsWith('MG')) form.set('MessagingServiceSid', this.config.from);
    else form.set('From', this.config.from);
    if (this.config.statusCallbackUrl) {
      const callback = new URL(this.config.statusCallbackUrl);
      for (const [k, v] of Object.entries(message.tags)) callback.searchParams.set(k, v);
      form.set('StatusCallback', callback.toString());
    }
    const base = this.config.apiBaseUrl ?? 'https://api.twilio.com';
    const response = await this.fetchImpl(`${base}/2010-04-01/Accounts/${encodeURIComponent(this.config.accountSid)}/Messages.json`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${this.config.accountSid}:${this.config.authToken}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: form,
      signal: AbortSignal.timeout(10_000),
    });
    const payload = (await response.json().catch(() => ({}))) as { sid?: string; code?: number; message?: string };
    if (response.status === 429) throw new ProviderThrottledError(payload.message ?? 'Twilio rate limit');
    if (response.ok && payload.sid) return { providerMessageId: payload.sid };
    if (response.ok) throw new ProviderAmbiguousError('Twilio accepted the request without a message sid');
    if (payload.code && PERMANENT_CODES[payload.code]) throw new ProviderPermanentError(payload.message ?? `Twilio error ${payload.code}`, PERMANENT_CODES[payload.code]!);
    if (response.status >= 400 && response.status < 500 && response.status !== 408) throw new ProviderPermanentError(payload.message ?? `Twilio answered ${response.status}`, 'rejected');
    throw new Error(`Twilio answered ${response.status}: ${payload.message ?? ''}`);
  }
}
