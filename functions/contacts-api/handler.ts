import { z } from 'zod';
import { ContactUpdated } from '../../events/contacts.ts';
import { makeEvent } from '../../events/contract.ts';
import { publishEvents } from '../../shared/aws/event-bus.ts';
import { requireEnv } from '../../shared/config.ts';
import { ContactStore } from '../../shared/contacts/contact-store.ts';
import { InvalidEmailError, normalizeEmail } from '../../shared/contacts/email.ts';
import { Timeline } from '../../shared/contacts/timeline.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { httpApi, json, route } from '../../shared/http/api.ts';

const contacts = new ContactStore({ contacts: requireEnv('TABLE_CONTACTS'), contactLookups: requireEnv('TABLE_CONTACT_LOOKUPS') });
const timeline = new Timeline(requireEnv('TABLE_INTERACTIONS'));
const eventBusName = requireEnv('EVENT_BUS_NAME');

const Email = z.string().transform((value, ctx) => {
  try {
    return normalizeEmail(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof InvalidEmailError ? error.message : 'is not a valid email address' });
    return z.NEVER;
  }
});

const AttributeName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'must start with a letter and hold only letters, digits and _');
const Attributes = z.record(AttributeName, z.union([z.string().max(2048), z.number(), z.boolean(), z.null()]));

const UpsertContact = z.strictObject({
  email: Email,
  attributes: Attributes.default({}),
});

const IdParams = z.object({ id: z.string().uuid('must be a contact id') });

export const handler = httpApi({
  'POST /v1/contacts': route({
    body: UpsertContact,
    handle: async ({ body }) => {
      const result = await contacts.upsertByEmail(body.email, body.attributes);
      if (result.created || result.changed.length > 0) {
        await publishEvents(
          [
            makeEvent(ContactUpdated, {
              contactId: result.contact.id,
              created: result.created,
              changed: result.changed,
              origin: 'api',
              occurredAt: result.contact.updatedAt,
            }),
          ],
          eventBusName,
        );
      }
      return json(result.created ? 201 : 200, { contact: result.contact, created: result.created });
    },
  }),

  'GET /v1/contacts/{id}': route({
    params: IdParams,
    handle: async ({ params }) => {
      const contact = await contacts.get(params.id);
      if (!contact) throw new NotFoundError('contact', params.id);
      return json(200, { contact });
    },
  }),

  'GET /v1/contacts/{id}/timeline': route({
    params: IdParams,
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(25), cursor: z.string().optional() }),
    handle: async ({ params, query }) => {
      if (!(await contacts.get(params.id))) throw new NotFoundError('contact', params.id);
      const page = await timeline.page(params.id, query.limit, query.cursor);
      return json(200, page);
    },
  }),
});
