import { createHmac, timingSafeEqual } from 'node:crypto';
import { projectSecret } from './aws/secrets.ts';

/**
 * Compact signed tokens for links in messages (double opt-in confirmation, tracking,
 * unsubscribe): base64url(JSON payload) + "." + base64url(HMAC-SHA256(purpose, payload)).
 * The purpose is part of the MAC, so a token for one use is never valid for another.
 */
export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
}

export interface TokenOptions {
  /** Seconds from now until the token expires; omitted → never expires. */
  expiresInSeconds?: number;
  now?: Date;
}

async function mac(purpose: string, body: string, secret?: Buffer): Promise<Buffer> {
  return createHmac('sha256', secret ?? (await projectSecret())).update(`${purpose}.${body}`).digest();
}

export async function signToken(purpose: string, payload: Record<string, unknown>, options: TokenOptions = {}, secret?: Buffer): Promise<string> {
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const claims = options.expiresInSeconds !== undefined ? { ...payload, exp: now + options.expiresInSeconds } : payload;
  const body = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
  return `${body}.${(await mac(purpose, body, secret)).toString('base64url')}`;
}

/** The payload of a valid token; throws InvalidTokenError for a tampered, malformed or expired one. */
export async function verifyToken<T extends Record<string, unknown>>(purpose: string, token: string, now = new Date(), secret?: Buffer): Promise<T> {
  const match = /^([A-Za-z0-9_-]{2,4096})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) throw new InvalidTokenError('malformed token');
  const [, body, signature] = match as unknown as [string, string, string];
  const expected = await mac(purpose, body, secret);
  // Compare the canonical encodings: base64url's last character carries 2 spare bits, and only one spelling is valid.
  const given = Buffer.from(signature, 'utf8');
  const canonical = Buffer.from(expected.toString('base64url'), 'utf8');
  if (given.length !== canonical.length || !timingSafeEqual(given, canonical)) throw new InvalidTokenError('bad signature');
  let payload: T & { exp?: number };
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T & { exp?: number };
  } catch {
    throw new InvalidTokenError('malformed payload');
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw new InvalidTokenError('malformed payload');
  if (typeof payload.exp === 'number' && payload.exp * 1000 < now.getTime()) throw new InvalidTokenError('expired');
  return payload;
}
