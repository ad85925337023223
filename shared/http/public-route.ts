import { AppError, NotFoundError, TooManyRequestsError, ValidationError } from '../errors.ts';
import { json, type HttpResult } from './api.ts';

/**
 * Public routes (forms, site conversions) answer browsers on other sites: the origin a request
 * comes from, the CORS headers of every answer to an allowed origin (errors included, so the
 * page's script can read why), and the preflight.
 */

/**
 * A browser sends `Origin` on cross-site POSTs (and `Referer` on most others); a request carrying
 * neither is a server-to-server post (undefined here); whether that is allowed is the route's policy.
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

export function corsHeaders(origin: string | undefined): Record<string, string> {
  if (!origin || origin === 'null' || origin === 'invalid') return {};
  return { 'access-control-allow-origin': origin, vary: 'Origin' };
}

/** The page's origin may not use this endpoint. */
export class OriginNotAllowedError extends AppError {
  override name = 'OriginNotAllowedError';
  constructor(message: string) {
    super(403, 'origin_not_allowed', message);
  }
}

/** Refusals answered before anything was checked against the origin: no CORS headers, so a foreign page's script cannot even read them. */
const refusal = (error: AppError): HttpResult => json(error.status, { error: { code: error.code, message: error.message } });

/** The preflight: 204 with the CORS grant for an allowed origin, 403 without one otherwise (a preflight always has an origin). */
export function preflight(origin: string | undefined, allowed: (origin: string) => boolean, refused: string): HttpResult {
  if (origin === undefined || !allowed(origin)) return refusal(new OriginNotAllowedError(refused));
  return {
    status: 204,
    headers: { ...corsHeaders(origin), 'access-control-allow-methods': 'POST, OPTIONS', 'access-control-allow-headers': 'content-type', 'access-control-max-age': '600' },
    rawBody: '',
  };
}

/** How a route shows a client error (a form shows browsers a page); undefined falls back to the JSON error. */
export type ErrorAnswer = (error: AppError, issues: ValidationError['issues'], headers: Record<string, string>) => HttpResult | undefined;

/**
 * Runs a public route's use case and maps what it throws: an unknown site or form and a refused
 * origin answer without CORS headers; other client errors (4xx) answer with them (and
 * `retry-after` when rate limited), as JSON `{ error: { code, message, issues? } }` unless the
 * route shows them otherwise; server errors go on to the API's generic 500.
 */
export async function publicAnswer(origin: string | undefined, run: (cors: Record<string, string>) => Promise<HttpResult>, show?: ErrorAnswer): Promise<HttpResult> {
  const cors = corsHeaders(origin);
  try {
    return await run(cors);
  } catch (error) {
    if (error instanceof OriginNotAllowedError || error instanceof NotFoundError) return refusal(error);
    if (!(error instanceof AppError) || error.status >= 500) throw error;
    const headers = { ...cors, ...(error instanceof TooManyRequestsError ? { 'retry-after': String(error.retryAfterSeconds) } : {}) };
    const issues = error instanceof ValidationError ? error.issues : [];
    return show?.(error, issues, headers) ?? json(error.status, { error: { code: error.code, message: error.message, ...(issues.length ? { issues } : {}) } }, headers);
  }
}
