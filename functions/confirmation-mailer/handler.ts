import { LeadCaptured } from '../../events/contacts.ts';
import { sendEmail } from '../../shared/aws/email.ts';
import { keyedHash } from '../../shared/aws/secrets.ts';
import { requireEnv } from '../../shared/config.ts';
import { ContactStore } from '../../shared/contacts/contact-store.ts';
import { confirmationEmail } from '../../shared/forms/confirmation-email.ts';
import { createConfirmationToken } from '../../shared/forms/confirmation.ts';
import { FormStore } from '../../shared/forms/form-store.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import { logger } from '../../shared/logger.ts';
import { eventQueueConsumer, on } from '../../shared/queue/event-consumer.ts';

const contacts = new ContactStore({ contacts: requireEnv('TABLE_CONTACTS'), contactLookups: requireEnv('TABLE_CONTACT_LOOKUPS'), consents: requireEnv('TABLE_CONSENTS') });
const forms = new FormStore(requireEnv('TABLE_FORMS'));
const markers = new IdempotencyMarkers(requireEnv('TABLE_IDEMPOTENCY'));
const publicBaseUrl = requireEnv('PUBLIC_BASE_URL');

/**
 * Sends the double-opt-in confirmation email for a lead whose email consent is pending. At
 * least once: the marker is written after SES accepted the email, so a crash in between means
 * a second email rather than none.
 */
export const handler = eventQueueConsumer([
  on(LeadCaptured, async (detail, meta) => {
    if (!detail.confirmationNeeded || !detail.consentRecordId) return;
    const markerKey = `doi-mail#${meta.eventId}`;
    if (await markers.has(markerKey)) return;
    const [contact, form] = await Promise.all([contacts.get(detail.contactId, true), forms.get(detail.formId)]);
    if (!contact?.email || contact.consent.email?.status !== 'pending' || !form) {
      logger.info('no confirmation needed any more', { contactId: detail.contactId, formId: detail.formId });
      return;
    }
    const token = await createConfirmationToken({ c: contact.id, r: detail.consentRecordId, h: await keyedHash('address', contact.email), f: form.id });
    const email = confirmationEmail(form, `${publicBaseUrl}/f/confirm/${token}`);
    await sendEmail({ to: contact.email, ...email, tags: { touchloop_kind: 'confirmation', form_id: form.id, contact_id: contact.id } });
    await markers.claim(markerKey);
  }),
]);
