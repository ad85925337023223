import * as z from 'zod';
import { functionConfig } from '../../shared/config.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { httpApi, json, route } from '../../shared/http/api.ts';
import { SiteInput, SitePatch, type Site } from '../../shared/sites/site.ts';
import { SiteStore } from '../../shared/sites/site-store.ts';

const config = functionConfig('sites-api', { tables: { sites: true }, queues: {}, linksToPublicApi: true });
const sites = new SiteStore(config.tables.sites);
const { publicBaseUrl } = config;
const Params = z.object({ id: z.string().max(64) });

const view = (site: Site) => ({ site, links: { conversions: `${publicBaseUrl}/e/${site.id}` } });

export const handler = httpApi({
  'POST /v1/sites': route({
    body: SiteInput,
    handle: async ({ body }) => json(201, view(await sites.create(body))),
  }),

  'GET /v1/sites': route({
    query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), cursor: z.string().optional() }),
    handle: async ({ query }) => json(200, await sites.page(query.limit, query.cursor)),
  }),

  'GET /v1/sites/{id}': route({
    params: Params,
    handle: async ({ params }) => {
      const site = await sites.get(params.id);
      if (!site) throw new NotFoundError('site', params.id);
      return json(200, view(site));
    },
  }),

  'PATCH /v1/sites/{id}': route({
    params: Params,
    body: SitePatch,
    handle: async ({ params, body }) => json(200, view(await sites.update(params.id, body))),
  }),

  'DELETE /v1/sites/{id}': route({
    params: Params,
    handle: async ({ params }) => {
      await sites.delete(params.id);
      return { status: 204, headers: {}, rawBody: '' };
    },
  }),
});
