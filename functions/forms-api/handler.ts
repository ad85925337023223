import * as z from 'zod';
import { functionConfig } from '../../shared/config.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { FormDefinitionInput } from '../../shared/forms/definition.ts';
import { FormStore, FormSubmissions } from '../../shared/forms/form-store.ts';
import { httpApi, json, route } from '../../shared/http/api.ts';

const config = functionConfig('forms-api', { tables: { forms: true, interactions: true }, queues: {}, linksToPublicApi: true });
const forms = new FormStore(config.tables.forms);
const submissions = new FormSubmissions(config.tables.interactions);
const { publicBaseUrl } = config;

const FormParams = z.object({ id: z.uuid('must be a form id') });
/** An instant with any offset, compared as UTC (how submission times are stored). */
const Instant = z.iso.datetime({ offset: true }).transform((at) => new Date(at).toISOString());
const SubmissionsQuery = z
  .object({ limit: z.coerce.number().int().min(1).max(100).default(25), cursor: z.string().optional(), from: Instant.optional(), to: Instant.optional() })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { path: ['to'], message: 'must not be before from' });

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
    params: FormParams,
    handle: async ({ params }) => {
      const form = await forms.get(params.id);
      if (!form) throw new NotFoundError('form', params.id);
      return json(200, { form, links: links(form.id) });
    },
  }),

  'GET /v1/forms/{id}/submissions': route({
    params: FormParams,
    query: SubmissionsQuery,
    handle: async ({ params, query }) => {
      if (!(await forms.get(params.id))) throw new NotFoundError('form', params.id);
      return json(200, await submissions.page(params.id, query));
    },
  }),
});
