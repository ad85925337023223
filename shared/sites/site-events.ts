import { NotFoundError, ValidationError, issuesFromZod, type ValidationIssue } from '../errors.ts';
import { OriginNotAllowedError } from '../http/public-route.ts';
import { readClickId } from '../links/tracking.ts';
import type { RateLimiter } from '../rate-limit.ts';
import { recordBehaviourEvent } from '../responses/behaviour-events.ts';
import { conversionAddresses, recordConversion, type ConversionDeps } from '../responses/conversions.ts';
import { PublicBehaviourInput, PublicConversionInput, publicOccurredAt, type Site } from './site.ts';
import type { SiteStore } from './site-store.ts';

export interface SiteConversionDeps {
  sites: Pick<SiteStore, 'get'>;
  rateLimiter: Pick<RateLimiter, 'hit'>;
  /** Keyed hash for rate-limit keys, so raw IPs are not stored. */
  hash: (purpose: string, value: string) => Promise<string>;
  conversions: ConversionDeps;
}

/** What a site page's browser sent. */
export interface SiteEventReport {
  siteKey: string;
  origin: string | undefined;
  ip: string;
  /** The posted fields, read once the rate limits let the request through (a flood of malformed posts is limited too). */
  fields: () => Record<string, unknown>;
}

export const ORIGIN_REFUSED = 'This origin may not report events for this site';

async function siteOr404(key: string, deps: Pick<SiteConversionDeps, 'sites'>): Promise<Site> {
  const site = await deps.sites.get(key);
  if (!site) throw new NotFoundError('site', key);
  return site;
}

/** The origins a site's thank-you pages may report from (for the preflight); an unknown site is a 404. */
export async function siteOrigins(key: string, deps: Pick<SiteConversionDeps, 'sites'>): Promise<(origin: string) => boolean> {
  const site = await siteOr404(key, deps);
  return (origin) => site.allowedOrigins.includes(origin);
}

/**
 * One event reported by a site's page: a conversion from a thank-you page (no `type`, or
 * `type: "conversion"`), or a visit, page view or custom event from the site snippet. The browser
 * must come from one of the site's origins (no Origin/Referer at all is refused too), within the
 * per-IP and per-site rate limits; the contact is named by a signed click id or by an address; a
 * conversion's or custom event's name must be one of the site's (when it lists them), a page's
 * address must be on one of its origins, and the time recent. Unknown visitors and repeats are
 * accepted like the first report of a known one: the endpoint must not reveal who is a contact.
 * A stranger who knows an address can add to that contact's timeline and behaviour counters what
 * a conversion already could, and nothing else: no attribute, consent or suppression changes.
 */
export async function reportSiteEvent(report: SiteEventReport, deps: SiteConversionDeps): Promise<void> {
  const site = await siteOr404(report.siteKey, deps);
  if (report.origin === undefined || !site.allowedOrigins.includes(report.origin)) throw new OriginNotAllowedError(ORIGIN_REFUSED);
  const ipKey = await deps.hash('rate-limit-ip', report.ip);
  await deps.rateLimiter.hit([
    { key: `site#${site.id}#ip#${ipKey}`, limit: site.rateLimit.perIpPerMinute, windowSeconds: 60 },
    { key: `site#${site.id}`, limit: site.rateLimit.perSitePerMinute, windowSeconds: 60 },
  ]);
  const fields = report.fields();
  // A urlencoded post leaves unfilled fields as empty strings: treat them as absent.
  for (const [k, v] of Object.entries(fields)) if (v === '') delete fields[k];
  const isConversion = fields.type === undefined || fields.type === 'conversion';
  if (fields.type === 'conversion') delete fields.type;
  const parsed = isConversion ? PublicConversionInput.safeParse(fields) : PublicBehaviourInput.safeParse(fields);
  if (!parsed.success) throw new ValidationError(issuesFromZod(parsed.error.issues));
  const input = parsed.data;
  const issues: ValidationIssue[] = [];
  const name = 'type' in input ? (input.type === 'custom' ? input.name : undefined) : input.name;
  if (name !== undefined && site.eventNames && !site.eventNames.includes(name)) issues.push({ path: 'name', message: `must be one of this site's event names: ${site.eventNames.join(', ')}` });
  if ('type' in input && 'url' in input && input.url !== undefined && !site.allowedOrigins.includes(new URL(input.url).origin)) {
    issues.push({ path: 'url', message: `must be a page of this site (${site.allowedOrigins.join(', ')})` });
  }
  const when = publicOccurredAt(input.occurredAt);
  if ('error' in when) issues.push({ path: 'occurredAt', message: when.error });
  const visitor = input.clickId ? await readClickId(input.clickId) : undefined;
  if (input.clickId && !visitor) issues.push({ path: 'clickId', message: 'is not a valid or current click id' });
  if (issues.length || 'error' in when) throw new ValidationError(issues);
  const { email, phone } = visitor ? {} : conversionAddresses(input);
  const contact = { contactId: visitor?.contactId, email, phone, occurredAt: when.at, idempotencyKey: `site:${site.id}:${input.idempotencyKey}` };
  const clicked = visitor ? { clickedSendId: visitor.sendId, clickedCampaignId: visitor.campaignId } : {};
  try {
    if ('type' in input) {
      const { clickId: _clickId, email: _email, phone: _phone, occurredAt: _occurredAt, idempotencyKey: _key, ...event } = input;
      await recordBehaviourEvent({ ...event, ...contact }, deps.conversions, `site:${site.id}`, clicked);
    } else {
      await recordConversion({ ...input, ...contact }, deps.conversions, `site:${site.id}`, clicked);
    }
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
}
