import type { ContactService } from '../contacts/contact-service.ts';
import type { ContactStore } from '../contacts/contact-store.ts';
import { signToken } from '../tokens.ts';

export const DOI_TOKEN_PURPOSE = 'doi';
/** Confirmation links stay valid for a week. */
export const DOI_TOKEN_TTL_SECONDS = 7 * 24 * 3600;

export interface DoiTokenPayload {
  /** contact id */
  c: string;
  /** consent record id being confirmed */
  r: string;
  /** keyed hash of the email the link was sent to: a changed address invalidates the link */
  h: string;
  /** form id */
  f: string;
}

export async function createConfirmationToken(payload: DoiTokenPayload, now = new Date()): Promise<string> {
  return signToken(DOI_TOKEN_PURPOSE, { ...payload }, { expiresInSeconds: DOI_TOKEN_TTL_SECONDS, now });
}

export type ConfirmOutcome = 'confirmed' | 'already-confirmed' | 'invalid';

/**
 * Confirms the email consent a double-opt-in link was sent for: only while it is pending,
 * only for the address the link went to; the confirmation is recorded with time, IP and
 * user agent. A withdrawn consent is not revived by an old link.
 */
export async function confirmEmailConsent(
  payload: { c?: unknown; r?: unknown; h?: unknown; f?: unknown },
  meta: { ip: string; userAgent: string },
  deps: { service: ContactService; store: ContactStore; hash: (purpose: string, value: string) => Promise<string> },
): Promise<ConfirmOutcome> {
  if (typeof payload.c !== 'string' || typeof payload.h !== 'string' || typeof payload.r !== 'string') return 'invalid';
  const contact = await deps.store.get(payload.c, true);
  if (!contact?.email) return 'invalid';
  if ((await deps.hash('address', contact.email)) !== payload.h) return 'invalid';
  const status = contact.consent.email?.status;
  if (status === 'confirmed') return 'already-confirmed';
  if (status !== 'pending') return 'invalid';
  const result = await deps.service.changeConsent(contact.id, {
    channel: 'email',
    status: 'confirmed',
    record: {
      action: 'confirmed',
      source: 'confirmation',
      ...(typeof payload.f === 'string' ? { formId: payload.f } : {}),
      ...(contact.consent.email?.wordingVersion ? { wordingVersion: contact.consent.email.wordingVersion } : {}),
      ip: meta.ip,
      userAgent: meta.userAgent.slice(0, 512),
      doubleOptIn: 'confirmed',
    },
  });
  return result ? 'confirmed' : 'invalid';
}
