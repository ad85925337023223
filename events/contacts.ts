import * as z from 'zod';
import { defineEvent } from './contract.ts';
import { Sources } from './sources.ts';

const isoTime = z.iso.datetime({ offset: true });

/** Where a contact change came from. */
export const ContactOrigin = z.enum(['api', 'form', 'import']);

/** A contact was created or changed; `changed` lists the top-level fields that changed. */
export const ContactUpdated = defineEvent({
  source: Sources.contacts,
  detailType: 'contact.updated',
  version: 1,
  detail: z.object({
    contactId: z.string().min(1),
    created: z.boolean(),
    changed: z.array(z.string()),
    origin: ContactOrigin,
    occurredAt: isoTime,
    /**
     * Identifies the change itself when its writer may publish it more than once (an import row
     * replayed after a crash: `<jobId>#<line>`); consumers dedupe on it instead of the event id.
     */
    changeId: z.string().min(1).optional(),
  }),
});

const Channel = z.enum(['email', 'sms']);
const ConsentStatus = z.enum(['pending', 'confirmed', 'withdrawn']);

/** A web form submission was accepted and stored. */
export const LeadCaptured = defineEvent({
  source: Sources.contacts,
  detailType: 'lead.captured',
  version: 1,
  detail: z.object({
    contactId: z.string().min(1),
    formId: z.string().min(1),
    submissionId: z.string().min(1),
    created: z.boolean(),
    /** Consent status per channel ticked on the form, after this submission. */
    consent: z.object({ email: ConsentStatus.optional(), sms: ConsentStatus.optional() }),
    /** A confirmation email goes to the contact's address: its consent is pending, or the submission holds changes. */
    confirmationNeeded: z.boolean(),
    /** The consent record whose confirmation the email asks for. */
    consentRecordId: z.string().optional(),
    /** When that record was written: a link older than a later withdrawal never confirms. */
    consentRecordAt: isoTime.optional(),
    /** The submission's timeline entry whose held changes (values an existing contact would get) the email asks the owner to confirm. */
    heldChangeId: z.string().optional(),
    /** Identical submissions hold identical changes: one confirmation email for them. */
    heldChangeDigest: z.string().optional(),
    occurredAt: isoTime,
  }),
});

/** A channel's consent status changed (granted, confirmed through double opt-in, withdrawn). */
export const ConsentChanged = defineEvent({
  source: Sources.contacts,
  detailType: 'consent.changed',
  version: 1,
  detail: z.object({
    contactId: z.string().min(1),
    channel: Channel,
    from: ConsentStatus.nullable(),
    to: ConsentStatus,
    source: z.string(),
    consentRecordId: z.string(),
    occurredAt: isoTime,
  }),
});

/** A person was erased: downstream stores must drop anything keyed by this contact id. */
export const ContactErased = defineEvent({
  source: Sources.contacts,
  detailType: 'contact.erased',
  version: 1,
  detail: z.object({
    contactId: z.string().min(1),
    occurredAt: isoTime,
  }),
});
