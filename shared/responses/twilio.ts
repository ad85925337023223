import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Twilio request validation: X-Twilio-Signature is base64(HMAC-SHA1(auth token, the full URL
 * Twilio requested + every POST parameter name and value, sorted by name)).
 */
export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => acc + key + params[key], url);
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

export function validTwilioSignature(authToken: string, url: string, params: Record<string, string>, signature: string | undefined): boolean {
  if (!signature) return false;
  const expected = Buffer.from(twilioSignature(authToken, url, params));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Twilio message statuses that mean the number cannot take SMS (suppressed like a hard bounce). */
export const TWILIO_PERMANENT_ERRORS = new Set(['21211', '21214', '21610', '21612', '21614', '30003', '30005', '30006']);

/** A Twilio message SID as the webhooks accept it (letters and digits; anything else is refused before a write). */
export const TWILIO_MESSAGE_SID = /^[A-Za-z0-9]{1,64}$/;
