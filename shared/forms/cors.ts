import type { Form } from './definition.ts';

/**
 * Origin policy of a public form endpoint. A browser sends `Origin` on cross-site POSTs (and
 * `Referer` on most others); a request carrying neither is a server-to-server post and is let
 * through to the other defences (rate limits, honeypot, captcha).
 */
export function requestOrigin(headers: Record<string, string>): string | undefined {
  if (headers.origin && headers.origin !== 'null') return headers.origin;
  if (headers.origin === 'null') return 'null';
  if (headers.referer) {
    try {
      return new URL(headers.referer).origin;
    } catch {
      return 'invalid';
    }
  }
  return undefined;
}

/** The form's own embed page is served from the API, so the API's origin is always allowed. */
export function originAllowed(form: Pick<Form, 'allowedOrigins'>, origin: string | undefined, ownOrigin: string): boolean {
  if (origin === undefined) return true;
  return origin === ownOrigin || form.allowedOrigins.includes(origin);
}

export function corsHeaders(origin: string | undefined): Record<string, string> {
  if (!origin || origin === 'null' || origin === 'invalid') return {};
  return { 'access-control-allow-origin': origin, vary: 'Origin' };
}

export function preflightHeaders(origin: string): Record<string, string> {
  return {
    ...corsHeaders(origin),
    'access-control-allow-methods': 'POST, OPTIONS',
    'access-control-allow-headers': 'content-type',
    'access-control-max-age': '600',
  };
}
