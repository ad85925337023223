/**
 * The marketers' console's security headers: one definition for CloudFront (the response headers
 * policy in console.ts) and the local runtime's static server. Pure: no aws-cdk-lib import, so the
 * local runtime loads it cheaply. Values may be CDK tokens (the API URL is one on AWS): they are
 * only concatenated, never parsed.
 */

export interface ConsoleHeaderSources {
  /**
   * Origin of the marketer API when the console calls it on another origin. Omitted when the API
   * is reached through the console's own origin (`/v1/*` behind the same CloudFront distribution,
   * or the local console server's proxy): then `'self'` covers it.
   */
  apiUrl?: string;
  /** Origins the sign-in code talks to: the IdP's discovery and token endpoints (none for the local dev identity). */
  authOrigins: readonly string[];
  /** Origins of presigned upload URLs (the imports bucket), which the console PUTs CSV files to. */
  uploadOrigins?: readonly string[];
}

/** Lower-case header name → value. */
export type ConsoleHeaders = Record<string, string>;

/** HSTS: two years, subdomains included (the HSTS preload list's minimum is one year). */
export const HSTS_MAX_AGE_SECONDS = 2 * 365 * 24 * 60 * 60;

/** A source expression that could end the directive or add a keyword would let config rewrite the policy. */
const UNSAFE_SOURCE = /[\s;,'"]/;

function sourceList(field: string, values: readonly string[]): string[] {
  values.forEach((value, i) => {
    if (value === '' || UNSAFE_SOURCE.test(value)) {
      throw new Error(`console headers: ${field}[${i}] ${JSON.stringify(value)} is not a CSP source (an origin without spaces, quotes, commas or semicolons)`);
    }
  });
  return [...new Set(values)];
}

/**
 * The Content-Security-Policy. Scripts only from the console's own origin; styles also inline,
 * because a report page's `<style>` shown in a srcdoc iframe inherits this policy; network only to
 * the API, the IdP and upload URLs; never framed; no base, plugins or foreign form targets.
 */
export function consoleContentSecurityPolicy(sources: ConsoleHeaderSources): string {
  const connect = [
    "'self'",
    ...sourceList('apiUrl', sources.apiUrl ? [sources.apiUrl] : []),
    ...sourceList('authOrigins', sources.authOrigins),
    ...sourceList('uploadOrigins', sources.uploadOrigins ?? []),
  ];
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    `connect-src ${[...new Set(connect)].join(' ')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
    "form-action 'self'",
  ].join('; ');
}

/**
 * Every security header the console is served with. `hsts: false` leaves out
 * Strict-Transport-Security, for the local server on plain HTTP (browsers ignore it there anyway,
 * and a loopback origin must not learn to insist on HTTPS).
 */
export function consoleSecurityHeaders(sources: ConsoleHeaderSources, options: { hsts?: boolean } = {}): ConsoleHeaders {
  return {
    'content-security-policy': consoleContentSecurityPolicy(sources),
    ...(options.hsts === false ? {} : { 'strict-transport-security': `max-age=${HSTS_MAX_AGE_SECONDS}; includeSubDomains` }),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  };
}

/**
 * What the marketer API's CORS allows the browser origins a deployer lists (-c corsAllowOrigins)
 * beyond simple requests. The console itself needs none: it reaches the API on its own origin.
 */
export const API_BROWSER_CORS = {
  allowHeaders: ['authorization', 'content-type', 'idempotency-key'],
  allowMethods: ['*'],
  exposeHeaders: ['retry-after', 'idempotent-replayed'],
  maxAgeSeconds: 3600,
} as const;
