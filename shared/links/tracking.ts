import { InvalidTokenError, signToken, verifyToken } from '../tokens.ts';

export const CLICK_TOKEN_PURPOSE = 'click';
export const OPEN_TOKEN_PURPOSE = 'open';
export const VISITOR_TOKEN_PURPOSE = 'visitor';
/** The query parameter a tracked click adds to links into a registered site (like gclid for ads). */
export const CLICK_ID_PARAM = 'tl_click';
/** How long a click may be reported as the cause of a conversion on the site. */
export const CLICK_ID_LIFETIME_SECONDS = 90 * 24 * 3600;

export interface ClickTarget {
  sendId: string;
  contactId: string;
  campaignId: string;
  linkIndex: number;
  url: string;
}

/**
 * Rewrites the links of a marketing email's HTML to signed click-tracking URLs and adds the open
 * pixel. The token carries the send, the link's index and the link itself, all under the MAC, so
 * the redirect can only ever go where the email pointed (never an open redirect). Unsubscribe
 * and non-web links (mailto:, tel:) are left alone.
 */
export async function addTracking(html: string, options: { publicBaseUrl: string; sendId: string; contactId: string; campaignId: string; skip: string[] }): Promise<string> {
  const links: string[] = [];
  const pattern = /(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?:\/\/[^"']+)\2/gi;
  for (const match of html.matchAll(pattern)) {
    const url = decodeEntities(match[3]!);
    if (!options.skip.some((s) => url.startsWith(s)) && !links.includes(url)) links.push(url);
  }
  const tokens = await Promise.all(
    links.map((url, linkIndex) => signToken(CLICK_TOKEN_PURPOSE, { s: options.sendId, c: options.contactId, k: options.campaignId, i: linkIndex, u: url })),
  );
  let rewritten = html.replace(pattern, (whole, prefix: string, quote: string, href: string) => {
    const index = links.indexOf(decodeEntities(href));
    return index < 0 ? whole : `${prefix}${quote}${options.publicBaseUrl}/t/c/${tokens[index]}${quote}`;
  });
  const pixelToken = await signToken(OPEN_TOKEN_PURPOSE, { s: options.sendId, c: options.contactId, k: options.campaignId });
  const pixel = `<img src="${options.publicBaseUrl}/t/o/${pixelToken}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0">`;
  rewritten = /<\/body>/i.test(rewritten) ? rewritten.replace(/<\/body>(?![\s\S]*<\/body>)/i, `${pixel}</body>`) : `${rewritten}${pixel}`;
  return rewritten;
}

const decodeEntities = (value: string) => value.replace(/&amp;/g, '&').replace(/&#39;/g, "'").replace(/&quot;/g, '"');

export async function readClickToken(token: string): Promise<ClickTarget | undefined> {
  try {
    const p = await verifyToken<{ s?: unknown; c?: unknown; k?: unknown; i?: unknown; u?: unknown }>(CLICK_TOKEN_PURPOSE, token);
    if (typeof p.s !== 'string' || typeof p.c !== 'string' || typeof p.k !== 'string' || typeof p.i !== 'number' || typeof p.u !== 'string' || !/^https?:\/\//i.test(p.u)) return undefined;
    return { sendId: p.s, contactId: p.c, campaignId: p.k, linkIndex: p.i, url: p.u };
  } catch (error) {
    if (error instanceof InvalidTokenError) return undefined;
    throw error;
  }
}

export async function readOpenToken(token: string): Promise<{ sendId: string; contactId: string; campaignId: string } | undefined> {
  try {
    const p = await verifyToken<{ s?: unknown; c?: unknown; k?: unknown }>(OPEN_TOKEN_PURPOSE, token);
    if (typeof p.s !== 'string' || typeof p.c !== 'string' || typeof p.k !== 'string') return undefined;
    return { sendId: p.s, contactId: p.c, campaignId: p.k };
  } catch (error) {
    if (error instanceof InvalidTokenError) return undefined;
    throw error;
  }
}

/** A transparent 1×1 GIF. */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

export interface Visitor {
  contactId: string;
  sendId: string;
  campaignId: string;
}

/** A signed click id naming the contact and send behind a visit, for the site's thank-you page to report back. */
export async function signClickId(visitor: Visitor, now = new Date()): Promise<string> {
  return signToken(VISITOR_TOKEN_PURPOSE, { c: visitor.contactId, s: visitor.sendId, k: visitor.campaignId }, { expiresInSeconds: CLICK_ID_LIFETIME_SECONDS, now });
}

export async function readClickId(token: string, now = new Date()): Promise<Visitor | undefined> {
  try {
    const p = await verifyToken<{ s?: unknown; c?: unknown; k?: unknown }>(VISITOR_TOKEN_PURPOSE, token, now);
    if (typeof p.s !== 'string' || typeof p.c !== 'string' || typeof p.k !== 'string') return undefined;
    return { contactId: p.c, sendId: p.s, campaignId: p.k };
  } catch (error) {
    if (error instanceof InvalidTokenError) return undefined;
    throw error;
  }
}

/** The link with the click id added, when it leads into one of the registered sites' origins. */
export function withClickId(url: string, clickId: string, siteOrigins: ReadonlySet<string>): string {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return url;
  }
  if (!siteOrigins.has(target.origin)) return url;
  target.searchParams.set(CLICK_ID_PARAM, clickId);
  return target.toString();
}
