import { z } from 'zod';
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
  }),
});
