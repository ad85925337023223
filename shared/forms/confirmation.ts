import type { ConsentLog } from '../contacts/consents.ts';
import type { ContactService } from '../contacts/contact-service.ts';
import type { ContactStore } from '../contacts/contact-store.ts';
import { OWNER_CONFIRMATION_LIFTS, WITHDRAWAL_REASONS } from '../contacts/suppressions.ts';
import { InvalidTokenError, signToken, verifyToken } from '../tokens.ts';

export const DOI_TOKEN_PURPOSE = 'doi';
/** Confirmation links stay valid for a week. */
export const DOI_TOKEN_TTL_SECONDS = 7 * 24 * 3600;

export interface DoiTokenPayload {
  /** contact id */
  c: string;
  /** consent record id being confirmed (absent when the link confirms held changes only) */
  r?: string;
  /** when that record was written: a withdrawal after it makes the link invalid */
  a?: string;
  /** the form submission's timeline entry whose held changes the link applies */
  p?: string;
  /** keyed hash of the email the link was sent to: a changed address invalidates the link */
  h: string;
  /** form id */
  f: string;
}

export async function createConfirmationToken(payload: DoiTokenPayload, now = new Date()): Promise<string> {
  return signToken(DOI_TOKEN_PURPOSE, { ...payload }, { expiresInSeconds: DOI_TOKEN_TTL_SECONDS, now });
}

export type ConfirmOutcome = 'confirmed' | 'already-confirmed' | 'invalid';

export interface ConfirmDeps {
  service: ContactService;
  store: ContactStore;
  consents: ConsentLog;
  hash: (purpose: string, value: string) => Promise<string>;
}

/**
 * The owner of the address a confirmation link went to followed it: the email consent it was
 * sent for is confirmed (only while pending; a link older than a later withdrawal — an
 * unsubscribe after it was sent — is not valid), lifting the suppressions a withdrawal left
 * (not a bounce or an erasure), and the changes the submission held are applied, once. Both
 * are recorded with time, IP and user agent.
 */
export async function confirmSubmission(payload: Record<string, unknown>, meta: { ip: string; userAgent: string }, deps: ConfirmDeps): Promise<ConfirmOutcome> {
  const { c, r, a, p, h, f } = payload;
  if (typeof c !== 'string' || typeof h !== 'string' || (typeof r !== 'string' && typeof p !== 'string')) return 'invalid';
  const contact = await deps.store.get(c, true);
  if (!contact?.email) return 'invalid';
  if ((await deps.hash('address', contact.email)) !== h) return 'invalid';
  const outcomes: ConfirmOutcome[] = [];

  if (typeof r === 'string') {
    const status = contact.consent.email?.status;
    const suppressed = WITHDRAWAL_REASONS.some((reason) => contact.suppressed?.email?.includes(reason));
    const withdrawnSince = typeof a === 'string' && (await deps.consents.list(c)).some((record) => record.channel === 'email' && record.action === 'withdrawn' && record.at > a);
    if (status === 'confirmed' && !suppressed) outcomes.push('already-confirmed');
    else if (!(status === 'pending' || (status === 'confirmed' && suppressed)) || withdrawnSince) outcomes.push('invalid');
    else {
      const result = await deps.service.changeConsent(
        contact.id,
        {
          channel: 'email',
          status: 'confirmed',
          record: {
            action: 'confirmed',
            source: 'confirmation',
            ...(typeof f === 'string' ? { formId: f } : {}),
            ...(contact.consent.email?.wordingVersion ? { wordingVersion: contact.consent.email.wordingVersion } : {}),
            ip: meta.ip,
            userAgent: meta.userAgent.slice(0, 512),
            doubleOptIn: 'confirmed',
          },
        },
        { lift: OWNER_CONFIRMATION_LIFTS },
      );
      outcomes.push(result ? 'confirmed' : 'invalid');
    }
  }

  if (typeof p === 'string') {
    const applied = await deps.service.applyHeld(c, p, 'owner');
    outcomes.push(applied.kind === 'applied' ? 'confirmed' : applied.kind === 'already-applied' ? 'already-confirmed' : 'invalid');
  }
  if (outcomes.includes('confirmed')) return 'confirmed';
  return outcomes.includes('already-confirmed') ? 'already-confirmed' : 'invalid';
}

/** A followed confirmation link: what confirmSubmission made of it, or why the link itself is not one. */
export type LinkOutcome = ConfirmOutcome | 'expired' | 'not-a-link';

export async function confirmLink(token: string, meta: { ip: string; userAgent: string }, deps: ConfirmDeps): Promise<LinkOutcome> {
  let payload: Record<string, unknown>;
  try {
    payload = await verifyToken(DOI_TOKEN_PURPOSE, token);
  } catch (error) {
    if (error instanceof InvalidTokenError) return error.message === 'expired' ? 'expired' : 'not-a-link';
    throw error;
  }
  return confirmSubmission(payload, meta, deps);
}
