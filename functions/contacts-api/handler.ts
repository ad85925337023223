import * as z from 'zod';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { pseudonymiseSends } from '../../shared/campaigns/erasure.ts';
import { pseudonymiseJourneys } from '../../shared/journeys/erasure.ts';
import { campaignsFrom } from '../../shared/campaigns/wiring.ts';
import { functionConfig } from '../../shared/config.ts';
import { ContactsQuery, PatchContact, SuppressionBody, UpsertBody } from '../../shared/contacts/api-schemas.ts';
import * as admin from '../../shared/contacts/contact-admin.ts';
import { CONTACT_TABLES, contactsFrom } from '../../shared/contacts/wiring.ts';
import { httpApi, json, noContent, route, type JwtClaims } from '../../shared/http/api.ts';
import { importContactsNowOrAsJob } from '../../shared/imports/now-or-job.ts';
import { handoffFrom } from '../../shared/imports/handoff-wiring.ts';

const config = functionConfig('contacts-api', { tables: { ...CONTACT_TABLES, campaigns: true, sends: true, imports: true, journeyStates: true, journeys: true }, queues: { importUploads: true }, publishesEvents: true, usesSecret: true, linksToPublicApi: true });
useProjectSecret(config.secretArn);
const { campaigns, sends } = campaignsFrom(config);
const deps = contactsFrom(config, { erasureHooks: [pseudonymiseSends(campaigns, sends), pseudonymiseJourneys(config.tables)] });
const jobs = handoffFrom(config);

const IdParams = z.object({ id: z.uuid('must be a contact id') });
const PageQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(25), cursor: z.string().optional() });
const actorOf = (claims: JwtClaims | undefined): string | undefined => (typeof claims?.sub === 'string' ? claims.sub : undefined);

export const handler = httpApi({
  'POST /v1/contacts': route({
    body: UpsertBody,
    handle: async ({ body, claims }) => {
      const result = await admin.upsertContact(body, actorOf(claims), deps);
      return json(result.created ? 201 : 200, result);
    },
  }),
  'GET /v1/contacts': route({ query: ContactsQuery, handle: async ({ query }) => json(200, await admin.findContacts(query, deps)) }),
  'GET /v1/contacts/{id}': route({ params: IdParams, handle: async ({ params }) => json(200, await admin.contactDetail(params.id, deps)) }),
  'PATCH /v1/contacts/{id}': route({ params: IdParams, body: PatchContact, handle: async ({ params, body }) => json(200, await admin.patchContact(params.id, body, deps)) }),
  'DELETE /v1/contacts/{id}': route({
    params: IdParams,
    handle: async ({ params }) => {
      await admin.eraseContact(params.id, deps);
      return noContent();
    },
  }),
  'GET /v1/contacts/{id}/export': route({
    params: IdParams,
    handle: async ({ params }) => json(200, await admin.exportContact(params.id, deps), { 'content-disposition': `attachment; filename="contact-${params.id}.json"` }),
  }),
  'GET /v1/contacts/{id}/timeline': route({
    params: IdParams,
    query: PageQuery,
    handle: async ({ params, query }) => json(200, await admin.contactTimeline(params.id, query.limit, query.cursor, deps)),
  }),
  'GET /v1/contacts/{id}/consents': route({
    params: IdParams,
    query: PageQuery,
    handle: async ({ params, query }) => json(200, await admin.contactConsents(params.id, query.limit, query.cursor, deps)),
  }),
  'POST /v1/contacts/{id}/submissions/{submissionId}/apply': route({
    params: z.object({ id: z.uuid('must be a contact id'), submissionId: z.uuid('must be a submission id') }),
    handle: async ({ params, claims }) => json(200, await admin.applyHeldSubmission(params.id, params.submissionId, actorOf(claims), deps)),
  }),
  'POST /v1/contacts/import': route({
    bodyFormat: 'raw',
    maxBodyBytes: 10 * 1024 * 1024,
    handle: async ({ rawBody, headers, claims, context }) => {
      const outcome = await importContactsNowOrAsJob(rawBody, headers['content-type'], actorOf(claims), { contacts: deps, jobs, remainingMs: () => context.getRemainingTimeInMillis() });
      return outcome.done ? json(200, outcome.result) : json(202, { job: outcome.job });
    },
  }),
  'POST /v1/suppressions': route({ body: SuppressionBody, handle: async ({ body, claims }) => json(201, await admin.suppressAddress(body, actorOf(claims), deps)) }),
});
