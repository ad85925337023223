import { signToken } from '../tokens.ts';

/**
 * The one-click unsubscribe link of a send (RFC 8058): made by the message builder, read by the
 * unsubscribe route. A home of its own, so the route's bundle does not carry the template engine.
 */
export const UNSUBSCRIBE_TOKEN_PURPOSE = 'unsubscribe';

export async function unsubscribeUrl(publicBaseUrl: string, sendId: string, contactId: string, channel: 'email' | 'sms'): Promise<string> {
  return `${publicBaseUrl}/u/${await signToken(UNSUBSCRIBE_TOKEN_PURPOSE, { s: sendId, c: contactId, ch: channel })}`;
}

/**
 * The unsubscribe link of a preview: marked, inert (the unsubscribe route answers it with a
 * "this was a preview" page and changes nothing), so a marketer clicking around a preview of
 * a real contact never unsubscribes them. Previews carry no tracking links either.
 */
export const PREVIEW_UNSUBSCRIBE_TOKEN = 'preview';
export const previewUnsubscribeUrl = (publicBaseUrl: string): string => `${publicBaseUrl}/u/${PREVIEW_UNSUBSCRIBE_TOKEN}`;
