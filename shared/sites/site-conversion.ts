import { NotFoundError, ValidationError, issuesFromZod, type ValidationIssue } from '../errors.ts';
import { OriginNotAllowedError } from '../http/public-route.ts';
import { readClickId } from '../links/tracking.ts';
import type { RateLimiter } from '../rate-limit.ts';
import { conversionAddresses, recordConversion, type ConversionDeps } from '../responses/conversions.ts';
import { PublicConversionInput, publicOccurredAt, type Site } from './site.ts';
import type { SiteStore } from './site-store.ts';

export interface SiteConversionDeps {
  sites: Pick<SiteStore, 'get'>;
  rateLimiter: Pick<RateLimiter, 'hit'>;
  /** Keyed hash for rate-limit keys, so raw IPs are not stored. */
  hash: (purpose: string, value: string) => Promise<string>;
  conversions: ConversionDeps;
}

/** What a thank-you page's browser sent. */
export interface ConversionReport {
  siteKey: string;
  origin: string | undefined;
  ip: string;
  /** The posted fields, read once the rate limits let the request through (a flood of malformed posts is limited too). */
  fields: () => Record<string, unknown>;
}

export const ORIGIN_REFUSED = 'This origin may not report conversions for this site';

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
 * One conversion reported by a site's thank-you page: the browser must come from one of the
 * site's origins (no Origin/Referer at all is refused too), within the per-IP and per-site rate
 * limits; the contact is named by a signed click id or by an address; the event name must be
 * one of the site's and the time recent. Unknown visitors and repeats are accepted like the first
 * report of a known one: the endpoint must not reveal who is a contact.
 */
export async function reportSiteConversion(report: ConversionReport, deps: SiteConversionDeps): Promise<void> {
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
      deps.conversions,
      `site:${site.id}`,
      visitor ? { clickedSendId: visitor.sendId, clickedCampaignId: visitor.campaignId } : {},
    );
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
}
