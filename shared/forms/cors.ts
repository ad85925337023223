import type { Form } from './definition.ts';

/**
 * Origin policy of a public form endpoint: a request carrying no origin at all is a
 * server-to-server post and is let through to the other defences (rate limits, honeypot,
 * captcha). The form's own embed page is served from the API, so the API's origin is always allowed.
 */
export function originAllowed(form: Pick<Form, 'allowedOrigins'>, origin: string | undefined, ownOrigin: string): boolean {
  if (origin === undefined) return true;
  return origin === ownOrigin || form.allowedOrigins.includes(origin);
}
