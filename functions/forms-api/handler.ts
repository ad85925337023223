import * as z from 'zod';
import { functionConfig } from '../../shared/config.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { FormDefinitionInput } from '../../shared/forms/definition.ts';
import { FormStore } from '../../shared/forms/form-store.ts';
import { httpApi, json, route } from '../../shared/http/api.ts';

const config = functionConfig('forms-api', { tables: { forms: true }, queues: {}, linksToPublicApi: true });
const forms = new FormStore(config.tables.forms);
const { publicBaseUrl } = config;

const links = (id: string) => ({ submit: `${publicBaseUrl}/f/${id}`, embed: `${publicBaseUrl}/f/${id}/embed` });

export const handler = httpApi({
  'POST /v1/forms': route({
    body: FormDefinitionInput,
    handle: async ({ body }) => {
      const form = await forms.create(body);
      return json(201, { form, links: links(form.id) });
    },
  }),

  'GET /v1/forms': route({
    query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), cursor: z.string().optional() }),
    handle: async ({ query }) => json(200, await forms.page(query.limit, query.cursor)),
  }),

  'GET /v1/forms/{id}': route({
    params: z.object({ id: z.uuid('must be a form id') }),
    handle: async ({ params }) => {
      const form = await forms.get(params.id);
      if (!form) throw new NotFoundError('form', params.id);
      return json(200, { form, links: links(form.id) });
    },
  }),
});
