import { createHash } from 'node:crypto';
import type { ConsentEvidence } from './api-schemas.ts';
import type { ConsentGrant } from './contact-store.ts';
import type { Channel } from './model.ts';

/**
 * Consent evidence on the server: the wording's hash and the grants a marketer's evidence
 * becomes. Kept apart from api-schemas.ts, which the console bundles for the browser.
 */
export const wordingHash = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** Consent evidence supplied by a marketer (API or import) → grants with their proof records. */
export function evidenceToGrants(
  consent: Partial<Record<Channel, ConsentEvidence>> | undefined,
  source: 'api' | 'import',
  actor: string | undefined,
  addressHashes: Partial<Record<Channel, string>>,
): ConsentGrant[] {
  const grants: ConsentGrant[] = [];
  for (const channel of ['email', 'sms'] as const) {
    const evidence = consent?.[channel];
    if (!evidence) continue;
    grants.push({
      channel,
      status: evidence.status,
      record: {
        source,
        wordingVersion: evidence.wordingVersion,
        ...(evidence.wordingText ? { wordingHash: wordingHash(evidence.wordingText) } : {}),
        ...(evidence.capturedAt ? { capturedAt: evidence.capturedAt } : {}),
        ...(actor ? { actor } : {}),
        doubleOptIn: 'not_required',
        addressHash: addressHashes[channel] ?? '',
      },
    });
  }
  return grants;
}
