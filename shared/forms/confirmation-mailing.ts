import type { LeadCaptured } from '../../events/contacts.ts';
import type { DetailOf } from '../../events/contract.ts';
import type { OutgoingEmail } from '../aws/email.ts';
import type { ContactStore } from '../contacts/contact-store.ts';
import { WITHDRAWAL_REASONS } from '../contacts/suppressions.ts';
import type { IdempotencyMarkers } from '../idempotency.ts';
import { logger } from '../logger.ts';
import { confirmationEmail } from './confirmation-email.ts';
import { createConfirmationToken } from './confirmation.ts';
import type { FormStore } from './form-store.ts';

/** Identical submissions of one address within this window get one confirmation email, not one each. */
const REPEAT_WINDOW_SECONDS = 15 * 60;

export interface ConfirmationMailingDeps {
  contacts: Pick<ContactStore, 'get'>;
  forms: Pick<FormStore, 'get'>;
  markers: Pick<IdempotencyMarkers, 'has' | 'claim' | 'release'>;
  hash: (purpose: string, value: string) => Promise<string>;
  sendEmail: (email: OutgoingEmail) => Promise<unknown>;
  publicBaseUrl: string;
}

/**
 * Sends the confirmation email for a lead whose email consent is pending (double opt-in, or a
 * withdrawn address asking to come back) or whose submission holds changes for an existing
 * contact. At least once: the event's marker is written after SES accepted the email, so a
 * crash in between means a second email rather than none. Repeats of the same request (a
 * double click, a flood of one address) share one email per window: its link confirms the
 * pending consent for all of them.
 */
export async function mailConfirmation(detail: DetailOf<typeof LeadCaptured>, eventId: string, deps: ConfirmationMailingDeps): Promise<void> {
  const { markers } = deps;
  if (!detail.confirmationNeeded || (!detail.consentRecordId && !detail.heldChangeId)) return;
  const markerKey = `doi-mail#${eventId}`;
  if (await markers.has(markerKey)) return;
  const [contact, form] = await Promise.all([deps.contacts.get(detail.contactId, true), deps.forms.get(detail.formId)]);
  const withdrawn = WITHDRAWAL_REASONS.some((r) => contact?.suppressed?.email?.includes(r));
  const consentPending = Boolean(detail.consentRecordId && (contact?.consent.email?.status === 'pending' || withdrawn));
  if (!contact?.email || !form || (!consentPending && !detail.heldChangeId)) {
    logger.info('no confirmation needed any more', { contactId: detail.contactId, formId: detail.formId });
    return;
  }
  // Same request, same email: a change by its digest, a consent request by the time the address's consent state last changed.
  const what = detail.heldChangeId ? `change:${detail.heldChangeDigest ?? detail.heldChangeId}` : `consent:${contact.consent.email?.updatedAt ?? ''}`;
  const repeatKey = `doi-mail#${contact.id}#${form.id}#${what}#${Math.floor(Date.parse(detail.occurredAt) / 1000 / REPEAT_WINDOW_SECONDS)}`;
  if (!(await markers.claim(repeatKey, REPEAT_WINDOW_SECONDS * 2))) {
    logger.info('a confirmation for this address and form went out moments ago', { contactId: contact.id, formId: form.id });
    return;
  }
  const token = await createConfirmationToken({
    c: contact.id,
    ...(consentPending ? { r: detail.consentRecordId, ...(detail.consentRecordAt ? { a: detail.consentRecordAt } : {}) } : {}),
    ...(detail.heldChangeId ? { p: detail.heldChangeId } : {}),
    h: await deps.hash('address', contact.email),
    f: form.id,
  });
  const email = confirmationEmail(form, `${deps.publicBaseUrl}/f/confirm/${token}`, { consent: consentPending, changes: Boolean(detail.heldChangeId) });
  try {
    await deps.sendEmail({ to: contact.email, ...email, tags: { touchloop_kind: 'confirmation', form_id: form.id, contact_id: contact.id } });
  } catch (error) {
    // Not sent: let the retry send it rather than find the repeat marker.
    await markers.release(repeatKey);
    throw error;
  }
  await markers.claim(markerKey);
}
