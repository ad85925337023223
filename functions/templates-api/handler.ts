import * as z from 'zod';
import { functionConfig, senderAddressSetting } from '../../shared/config.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { ContactStore } from '../../shared/contacts/contact-store.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { httpApi, json, route } from '../../shared/http/api.ts';
import { previewDraft, previewTemplate, RenderDraftBody, RenderSavedBody, type PreviewDeps } from '../../shared/templates/preview.ts';
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
const previews: PreviewDeps = { contacts, publicBaseUrl: config.publicBaseUrl, senderAddress: config.settings.senderAddress };

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
    body: RenderSavedBody,
    handle: async ({ params, body }) => {
      const template = await templates.get(params.id);
      if (!template) throw new NotFoundError('template', params.id);
      return json(200, await previewTemplate(template, body, previews));
    },
  }),

  'POST /v1/templates/render': route({ body: RenderDraftBody, handle: async ({ body }) => json(200, await previewDraft(body, previews)) }),
});
