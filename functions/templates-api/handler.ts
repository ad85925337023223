import * as z from 'zod';
import { senderAddressFromEnv } from '../../shared/campaigns/messages.ts';
import { previewUnsubscribeUrl } from '../../shared/links/unsubscribe-link.ts';
import { requireEnv } from '../../shared/config.ts';
import { ContactStore } from '../../shared/contacts/contact-store.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { httpApi, json, route } from '../../shared/http/api.ts';
import { contactContext, renderEmail, renderSms } from '../../shared/templates/render.ts';
import { smsSegments } from '../../shared/templates/sms-segments.ts';
import { TemplateInput, validateTemplate } from '../../shared/templates/template.ts';
import { TemplateStore } from '../../shared/templates/template-store.ts';

const templates = new TemplateStore(requireEnv('TABLE_TEMPLATES'));
const contacts = new ContactStore({ contacts: requireEnv('TABLE_CONTACTS'), contactLookups: requireEnv('TABLE_CONTACT_LOOKUPS'), consents: requireEnv('TABLE_CONSENTS') });
const publicBaseUrl = requireEnv('PUBLIC_BASE_URL');
const senderAddress = senderAddressFromEnv();

const IdParams = z.object({ id: z.uuid('must be a template id') });

export const handler = httpApi({
  'POST /v1/templates': route({
    body: TemplateInput,
    handle: async ({ body }) => {
      validateTemplate(body);
      const template = await templates.create(body);
      return json(201, { template, ...(template.channel === 'sms' ? { segments: smsSegments(template.body) } : {}) });
    },
  }),

  'GET /v1/templates': route({ handle: async () => json(200, { items: await templates.list() }) }),

  'GET /v1/templates/{id}': route({
    params: IdParams,
    handle: async ({ params }) => {
      const template = await templates.get(params.id);
      if (!template) throw new NotFoundError('template', params.id);
      return json(200, { template });
    },
  }),

  'POST /v1/templates/{id}/render': route({
    params: IdParams,
    body: z.strictObject({ contactId: z.uuid('must be a contact id'), marketing: z.boolean().default(true) }),
    handle: async ({ params, body }) => {
      const template = await templates.get(params.id);
      if (!template) throw new NotFoundError('template', params.id);
      const contact = await contacts.get(body.contactId);
      if (!contact) throw new NotFoundError('contact', body.contactId);
      const ctx = {
        contact: contactContext(contact),
        campaign: { id: 'preview', name: 'Preview' },
        // Inert: a preview of a real contact must not carry a link that unsubscribes them.
        unsubscribeUrl: previewUnsubscribeUrl(publicBaseUrl),
        senderAddress,
      };
      if (template.channel === 'email') return json(200, { channel: 'email', preview: true, ...renderEmail(template, ctx, { marketing: body.marketing }) });
      return json(200, { channel: 'sms', preview: true, ...renderSms(template, ctx, { marketing: body.marketing }) });
    },
  }),
});
