import * as z from 'zod';
import { functionConfig } from '../../shared/config.ts';
import { httpApi, json, redirect, route, type JwtClaims } from '../../shared/http/api.ts';
import { CreateImportBody } from '../../shared/imports/api-schemas.ts';
import { createImportJob, getImportJob, importErrorsDownload, importJobView } from '../../shared/imports/jobs.ts';
import { importJobsFrom } from '../../shared/imports/job-wiring.ts';

const config = functionConfig('imports-api', { tables: { imports: true }, queues: {}, buckets: { imports: true }, linksToPublicApi: true });
const deps = importJobsFrom(config);

const IdParams = z.object({ id: z.uuid('must be an import job id') });
const actorOf = (claims: JwtClaims | undefined): string | undefined => (typeof claims?.sub === 'string' ? claims.sub : undefined);

export const handler = httpApi({
  'POST /v1/imports': route({ body: CreateImportBody, handle: async ({ body, claims }) => json(201, await createImportJob(body, actorOf(claims), deps)) }),
  'GET /v1/imports': route({
    query: z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(25), cursor: z.string().max(200).optional() }),
    handle: async ({ query }) => {
      const page = await deps.jobs.list(query.limit, query.cursor);
      return json(200, { items: await Promise.all(page.jobs.map((job) => importJobView(job, deps, { withErrors: false }))), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
    },
  }),
  'GET /v1/imports/{id}': route({ params: IdParams, handle: async ({ params }) => json(200, { job: await getImportJob(params.id, deps) }) }),
  'GET /v1/imports/{id}/errors': route({ params: IdParams, handle: async ({ params }) => redirect((await importErrorsDownload(params.id, deps)).url, 302) }),
});
