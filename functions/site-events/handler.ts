import * as z from 'zod';
import { keyedHash, useProjectSecret } from '../../shared/aws/secrets.ts';
import { CampaignStore } from '../../shared/campaigns/campaign-store.ts';
import { functionConfig } from '../../shared/config.ts';
import { LeadScorer } from '../../shared/contacts/lead-scoring.ts';
import { CONTACT_TABLES, contactsFrom } from '../../shared/contacts/wiring.ts';
import { httpApi, json, route } from '../../shared/http/api.ts';
import { readFields } from '../../shared/http/fields.ts';
import { preflight, publicAnswer, requestOrigin } from '../../shared/http/public-route.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import { RateLimiter } from '../../shared/rate-limit.ts';
import { ORIGIN_REFUSED, reportSiteEvent, siteOrigins, type SiteConversionDeps } from '../../shared/sites/site-events.ts';
import { SiteStore } from '../../shared/sites/site-store.ts';

const config = functionConfig('site-events', {
  tables: { ...CONTACT_TABLES, sites: true, rateLimits: true, idempotency: true, campaigns: true },
  queues: {},
  publishesEvents: true,
  usesSecret: true,
});
useProjectSecret(config.secretArn);
const contacts = contactsFrom(config);
const markers = new IdempotencyMarkers(config.tables.idempotency);
const deps: SiteConversionDeps = {
  sites: new SiteStore(config.tables.sites),
  rateLimiter: new RateLimiter(config.tables.rateLimits),
  hash: keyedHash,
  conversions: {
    contacts: contacts.store,
    timeline: contacts.timeline,
    scorer: new LeadScorer(config.tables.contacts, markers),
    markers,
    campaigns: new CampaignStore(config.tables.campaigns),
  },
};
const Params = z.object({ siteKey: z.string().max(64) });

export const handler = httpApi({
  'OPTIONS /e/{siteKey}': route({
    params: Params,
    handle: async ({ params, headers }) => preflight(requestOrigin(headers), await siteOrigins(params.siteKey, deps), ORIGIN_REFUSED),
  }),

  'POST /e/{siteKey}': route({
    params: Params,
    bodyFormat: 'raw',
    maxBodyBytes: 8 * 1024,
    handle: async ({ params, headers, rawBody, sourceIp }) => {
      const origin = requestOrigin(headers);
      const fields = () => readFields(rawBody, (headers['content-type'] ?? '').toLowerCase(), { jsonAsText: true });
      return publicAnswer(origin, async (cors) => {
        await reportSiteEvent({ siteKey: params.siteKey, origin, ip: sourceIp, fields }, deps);
        return json(202, { accepted: true }, cors);
      });
    },
  }),
});
