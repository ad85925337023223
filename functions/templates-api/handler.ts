import * as z from 'zod';
import { previewUnsubscribeUrl } from '../../shared/links/unsubscribe-link.ts';
import { functionConfig, senderAddressSetting } from '../../shared/config.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { ContactStore } from '../../shared/contacts/contact-store.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { httpApi, json, route } from '../../shared/http/api.ts';
import { contactContext, renderEmail, renderSms } from '../../shared/templates/render.ts';
import { smsSegments } from '../../shared/templates/sms-segments.ts';
import { TemplateInput, validateTemplate } from '../../shared/templates/template.ts';
import { TemplateStore } from '../../shared/templates/template-store.ts';

const config = functionConfig('templates-api', {
  tables: { templates: true, contacts: true, contactLookups: true, consents: true },
  queues: {},
  usesSecret: true,
  linksToPublicApi: true,
  settings: { senderAddress: senderAddressSetting() },
});
useProjectSecret(config.secretArn);
const templates = new TemplateStore(config.tables.templates);
const contacts = new ContactStore({ contacts: config.tables.contacts, contactLookups: config.tables.contactLookups, consents: config.tables.consents });
const { publicBaseUrl } = config;
const { senderAddress } = config.settings;

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
