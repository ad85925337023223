import { LeadCaptured } from '../../events/contacts.ts';
import { sendEmail } from '../../shared/aws/email.ts';
import { keyedHash, useProjectSecret } from '../../shared/aws/secrets.ts';
import { functionConfig } from '../../shared/config.ts';
import { ContactStore } from '../../shared/contacts/contact-store.ts';
import { mailConfirmation, type ConfirmationMailingDeps } from '../../shared/forms/confirmation-mailing.ts';
import { FormStore } from '../../shared/forms/form-store.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import { eventQueueConsumer, on } from '../../shared/queue/event-consumer.ts';

const config = functionConfig('confirmation-mailer', {
  tables: { contacts: true, contactLookups: true, consents: true, forms: true, idempotency: true },
  queues: { confirmations: true },
  usesSecret: true,
  sendsEmail: true,
  linksToPublicApi: true,
});
useProjectSecret(config.secretArn);
const deps: ConfirmationMailingDeps = {
  contacts: new ContactStore({ contacts: config.tables.contacts, contactLookups: config.tables.contactLookups, consents: config.tables.consents }),
  forms: new FormStore(config.tables.forms),
  markers: new IdempotencyMarkers(config.tables.idempotency),
  hash: keyedHash,
  sendEmail: (email) => sendEmail(email, config.email),
  publicBaseUrl: config.publicBaseUrl,
};

/** Confirmation emails for double opt-in and held changes (shared/forms/confirmation-mailing.ts). */
export const handler = eventQueueConsumer([on(LeadCaptured, (detail, meta) => mailConfirmation(detail, meta.eventId, deps))]);
