import * as z from 'zod';
import { keyedHash, useProjectSecret } from '../../shared/aws/secrets.ts';
import { CampaignStore } from '../../shared/campaigns/campaign-store.ts';
import { functionConfig } from '../../shared/config.ts';
import { LeadScorer } from '../../shared/contacts/lead-scoring.ts';
import { CONTACT_TABLES, contactsFrom } from '../../shared/contacts/wiring.ts';
import { AppError, NotFoundError, TooManyRequestsError, ValidationError, issuesFromZod, type ValidationIssue } from '../../shared/errors.ts';
import { corsHeaders, preflightHeaders, requestOrigin } from '../../shared/forms/cors.ts';
import { httpApi, json, route, type HttpResult } from '../../shared/http/api.ts';
import { readFields } from '../../shared/http/fields.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import { RateLimiter } from '../../shared/rate-limit.ts';
import { conversionAddresses, recordConversion } from '../../shared/responses/conversions.ts';
import { readClickId } from '../../shared/links/tracking.ts';
import { PublicConversionInput, publicOccurredAt, type Site } from '../../shared/sites/site.ts';
import { SiteStore } from '../../shared/sites/site-store.ts';

const config = functionConfig('site-events', {
  tables: { ...CONTACT_TABLES, sites: true, rateLimits: true, idempotency: true, campaigns: true },
  queues: {},
  publishesEvents: true,
  usesSecret: true,
});
useProjectSecret(config.secretArn);
const contacts = contactsFrom(config);
const sites = new SiteStore(config.tables.sites);
const rateLimiter = new RateLimiter(config.tables.rateLimits);
const markers = new IdempotencyMarkers(config.tables.idempotency);
const scorer = new LeadScorer(config.tables.contacts, markers);
const campaigns = new CampaignStore(config.tables.campaigns);
const Params = z.object({ siteKey: z.string().max(64) });
const MAX_BYTES = 8 * 1024;

const forbidden = () => json(403, { error: { code: 'origin_not_allowed', message: 'This origin may not report conversions for this site' } });

async function siteOr404(key: string): Promise<Site> {
  const site = await sites.get(key);
  if (!site) throw new NotFoundError('site', key);
  return site;
}

/** A thank-you page's browser must come from one of the site's origins (no Origin/Referer at all → refused too). */
const allowed = (site: Site, origin: string | undefined): origin is string => origin !== undefined && site.allowedOrigins.includes(origin);

/** Every answer carries the CORS headers, errors included, so the page's script can read why. */
function failure(error: AppError, cors: Record<string, string>): HttpResult {
  const extra: Record<string, string> = error instanceof TooManyRequestsError ? { 'retry-after': String(error.retryAfterSeconds) } : {};
  const issues = error instanceof ValidationError ? { issues: error.issues } : {};
  return json(error.status, { error: { code: error.code, message: error.message, ...issues } }, { ...cors, ...extra });
}

export const handler = httpApi({
  'OPTIONS /e/{siteKey}': route({
    params: Params,
    handle: async ({ params, headers }) => {
      const site = await siteOr404(params.siteKey);
      const origin = requestOrigin(headers);
      if (!allowed(site, origin)) return forbidden();
      return { status: 204, headers: preflightHeaders(origin), rawBody: '' };
    },
  }),

  'POST /e/{siteKey}': route({
    params: Params,
    bodyFormat: 'raw',
    maxBodyBytes: MAX_BYTES,
    handle: async ({ params, headers, rawBody, sourceIp }) => {
      const site = await siteOr404(params.siteKey);
      const origin = requestOrigin(headers);
      if (!allowed(site, origin)) return forbidden();
      const cors = corsHeaders(origin);
      try {
        const ipKey = await keyedHash('rate-limit-ip', sourceIp);
        await rateLimiter.hit([
          { key: `site#${site.id}#ip#${ipKey}`, limit: site.rateLimit.perIpPerMinute, windowSeconds: 60 },
          { key: `site#${site.id}`, limit: site.rateLimit.perSitePerMinute, windowSeconds: 60 },
        ]);
        const fields = readFields(rawBody, (headers['content-type'] ?? '').toLowerCase(), { jsonAsText: true });
        // A urlencoded post leaves unfilled fields as empty strings: treat them as absent.
        for (const [k, v] of Object.entries(fields)) if (v === '') delete fields[k];
        const parsed = PublicConversionInput.safeParse(fields);
        if (!parsed.success) throw new ValidationError(issuesFromZod(parsed.error.issues));
        const input = parsed.data;
        const issues: ValidationIssue[] = [];
        if (site.eventNames && !site.eventNames.includes(input.name)) issues.push({ path: 'name', message: `must be one of this site's event names: ${site.eventNames.join(', ')}` });
        const when = publicOccurredAt(input.occurredAt);
        if ('error' in when) issues.push({ path: 'occurredAt', message: when.error });
        const visitor = input.clickId ? await readClickId(input.clickId) : undefined;
        if (input.clickId && !visitor) issues.push({ path: 'clickId', message: 'is not a valid or current click id' });
        if (issues.length || 'error' in when) throw new ValidationError(issues);
        const { email, phone } = visitor ? {} : conversionAddresses(input);

        try {
          await recordConversion(
            { ...input, contactId: visitor?.contactId, email, phone, occurredAt: when.at, idempotencyKey: `site:${site.id}:${input.idempotencyKey}` },
            { contacts: contacts.store, timeline: contacts.timeline, scorer, markers, campaigns },
            `site:${site.id}`,
            visitor ? { clickedSendId: visitor.sendId, clickedCampaignId: visitor.campaignId } : {},
          );
          return json(202, { accepted: true }, cors);
        } catch (error) {
          // Unknown visitors and repeats are answered like the first report of a known one: the endpoint must not reveal who is a contact.
          if (error instanceof NotFoundError) return json(202, { accepted: true }, cors);
          throw error;
        }
      } catch (error) {
        if (error instanceof AppError && error.status < 500) return failure(error, cors);
        throw error;
      }
    },
  }),
});
