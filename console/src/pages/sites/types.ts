/** A site as the API answers it (shared/sites/site.ts is not bundled: it reaches server code). */
export interface Site {
  id: string;
  name: string;
  allowedOrigins: string[];
  eventNames?: string[];
  rateLimit: { perIpPerMinute: number; perSitePerMinute: number };
  createdAt: string;
  updatedAt: string;
}
export interface SiteView {
  site: Site;
  links: { conversions: string };
}

/** The site editor's state, as typed. */
export interface SiteDraft {
  name: string;
  /** One a line. */
  allowedOrigins: string;
  /** Comma-separated; empty: any name. */
  eventNames: string;
  perIpPerMinute: string;
  perSitePerMinute: string;
}

export const EMPTY_SITE: SiteDraft = { name: '', allowedOrigins: '', eventNames: '', perIpPerMinute: '30', perSitePerMinute: '3000' };

const list = (text: string, sep: RegExp) =>
  text
    .split(sep)
    .map((s) => s.trim())
    .filter(Boolean);
const numberOrText = (text: string) => (Number.isFinite(Number(text)) && text.trim() !== '' ? Number(text) : text);

/** The body of POST /v1/sites, or of PATCH /v1/sites/{id} (where an empty event list lifts the restriction). */
export function siteBody(d: SiteDraft, patch: boolean): Record<string, unknown> {
  const eventNames = list(d.eventNames, /,/);
  return {
    name: d.name.trim(),
    allowedOrigins: list(d.allowedOrigins, /\n/),
    ...(eventNames.length ? { eventNames } : patch ? { eventNames: null } : {}),
    rateLimit: { perIpPerMinute: numberOrText(d.perIpPerMinute), perSitePerMinute: numberOrText(d.perSitePerMinute) },
  };
}

export const draftOf = (s: Site): SiteDraft => ({
  name: s.name,
  allowedOrigins: s.allowedOrigins.join('\n'),
  eventNames: (s.eventNames ?? []).join(', '),
  perIpPerMinute: String(s.rateLimit.perIpPerMinute),
  perSitePerMinute: String(s.rateLimit.perSitePerMinute),
});
