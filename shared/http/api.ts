import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import type * as z from 'zod';
import { AppError, BadRequestError, NotFoundError, PayloadTooLargeError, TooManyRequestsError, ValidationError, issuesFromZod, type ValidationIssue } from '../errors.ts';
import { logger } from '../logger.ts';

/** The JWT claims API Gateway's authorizer (or the local runtime) attached to the request. */
export type JwtClaims = Record<string, string | number | boolean | string[]>;

export interface HttpRequest<TBody, TQuery, TParams> {
  body: TBody;
  query: TQuery;
  params: TParams;
  headers: Record<string, string>;
  /** Client IP as API Gateway saw it. */
  sourceIp: string;
  userAgent: string;
  claims: JwtClaims | undefined;
  rawBody: string;
  event: APIGatewayProxyEventV2;
  context: Context;
}

export interface HttpResult {
  status: number;
  headers?: Record<string, string>;
  /** JSON-serialised unless `rawBody` is given. */
  body?: unknown;
  rawBody?: string;
  /** `rawBody` is base64 (binary responses such as images). */
  isBase64Encoded?: boolean;
}

export type BodyFormat = 'json' | 'form' | 'json-or-form' | 'raw';

export interface RouteSpec<TBody, TQuery, TParams> {
  body?: z.ZodType<TBody>;
  query?: z.ZodType<TQuery>;
  params?: z.ZodType<TParams>;
  /** How to read the body before validation (default json). */
  bodyFormat?: BodyFormat;
  /** Largest accepted body in bytes (default 1 MiB); larger → 413. */
  maxBodyBytes?: number;
  handle: (request: HttpRequest<TBody, TQuery, TParams>) => Promise<HttpResult>;
}

/** Declares one route; the type parameters flow from the schemas into the handler. */
export function route<TBody = undefined, TQuery = Record<string, string | undefined>, TParams = Record<string, string | undefined>>(
  spec: RouteSpec<TBody, TQuery, TParams>,
): RouteSpec<TBody, TQuery, TParams> {
  return spec;
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResult => ({ status, body, headers });
export const html = (status: number, markup: string, headers: Record<string, string> = {}): HttpResult => ({
  status,
  rawBody: markup,
  headers: { 'content-type': 'text/html; charset=utf-8', ...headers },
});
export const redirect = (location: string, status = 303): HttpResult => ({ status, headers: { location }, rawBody: '' });
export const noContent = (): HttpResult => ({ status: 204, rawBody: '' });

function lowerCaseHeaders(headers: APIGatewayProxyEventV2['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (v !== undefined) out[k.toLowerCase()] = v;
  return out;
}

function decodeBody(event: APIGatewayProxyEventV2): string {
  if (event.body === undefined || event.body === null) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

function readBody(raw: string, contentType: string, format: BodyFormat): unknown {
  if (format === 'raw') return raw;
  const isForm = contentType.startsWith('application/x-www-form-urlencoded');
  if (isForm && (format === 'form' || format === 'json-or-form')) {
    const params = new URLSearchParams(raw);
    const out: Record<string, string | string[]> = {};
    for (const key of new Set(params.keys())) {
      const values = params.getAll(key);
      out[key] = values.length > 1 ? values : (values[0] ?? '');
    }
    return out;
  }
  if (format === 'form') throw new AppError(415, 'unsupported_media_type', 'Expected application/x-www-form-urlencoded');
  if (raw.trim() === '') return undefined;
  if (contentType && !contentType.includes('json') && !contentType.startsWith('text/plain')) {
    throw new AppError(415, 'unsupported_media_type', `Unsupported content type ${contentType.split(';')[0]}; send application/json`);
  }
  try {
    return JSON.parse(raw);
  } catch {
    throw new BadRequestError('The request body is not valid JSON', 'invalid_json');
  }
}

type Checked<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

function check<T>(schema: z.ZodType<T> | undefined, value: unknown, where: 'body' | 'query' | 'params'): Checked<T> {
  if (!schema) return { ok: true, value: value as T };
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  // Body issues are reported by field path ("email"); query/path ones are prefixed so the caller knows where.
  return { ok: false, issues: issuesFromZod(result.error.issues, where === 'body' ? undefined : where) };
}

/**
 * DynamoDB refuses to store an item over 400 KB (a body within the route's limit can still make
 * one: long texts in 3- and 4-byte characters, many attributes). Nothing was written — a put or
 * transaction fails whole — so it is the caller's 413, not a server error.
 */
function isItemTooLarge(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationException' && /^Item size (to update )?has exceeded the maximum allowed size/.test(error.message);
}

export function errorResponse(error: unknown, context: Pick<Context, 'awsRequestId'>): APIGatewayProxyResultV2 {
  if (isItemTooLarge(error)) error = new AppError(413, 'payload_too_large', 'What this request would store is larger than one item may be (400 KB); send less');
  if (error instanceof AppError) {
    const payload: Record<string, unknown> = { code: error.code, message: error.message };
    if (error instanceof ValidationError || (error instanceof NotFoundError && error.issues)) payload.issues = error.issues;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (error instanceof TooManyRequestsError) headers['retry-after'] = String(error.retryAfterSeconds);
    if (error.status >= 500) logger.error('request failed', { error, requestId: context.awsRequestId });
    return { statusCode: error.status, headers, body: JSON.stringify({ error: payload }) };
  }
  // Unknown errors: logged with the request id, never shown to the client.
  logger.error('unhandled error', { error: error as Error, requestId: context.awsRequestId });
  return {
    statusCode: 500,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ error: { code: 'internal_error', message: 'Internal server error', requestId: context.awsRequestId } }),
  };
}

function toResult(result: HttpResult): APIGatewayProxyResultV2 {
  const headers = { ...(result.headers ?? {}) };
  if (result.rawBody !== undefined) return { statusCode: result.status, headers, body: result.rawBody, ...(result.isBase64Encoded ? { isBase64Encoded: true } : {}) };
  if (result.body === undefined) return { statusCode: result.status, headers, body: '' };
  return { statusCode: result.status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(result.body, jsonReplacer) };
}

/**
 * An HTTP API Lambda handler serving the given routes, keyed by API Gateway route key
 * (`POST /v1/contacts/{id}`). Parses and validates at the edge, maps errors to the API's
 * error convention, and never leaks a stack trace.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- route specs differ in their type parameters
export function httpApi(routes: Record<string, RouteSpec<any, any, any>>) {
  const dispatch = async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyResultV2> => {
    const spec = routes[event.routeKey];
    if (!spec) return errorResponse(new AppError(404, 'not_found', `No route for ${event.routeKey}`), context);
    try {
      const headers = lowerCaseHeaders(event.headers);
      const rawBody = decodeBody(event);
      const limit = spec.maxBodyBytes ?? 1024 * 1024;
      if (Buffer.byteLength(rawBody, 'utf8') > limit) throw new PayloadTooLargeError(limit);
      const format = spec.bodyFormat ?? 'json';
      const parsedBody = spec.body || format === 'raw' ? readBody(rawBody, headers['content-type'] ?? '', format) : undefined;
      const body = check(spec.body, parsedBody, 'body');
      const query = check(spec.query, event.queryStringParameters ?? {}, 'query');
      const params = check(spec.params, event.pathParameters ?? {}, 'params');
      // Every problem at once, so a caller can fix them in one go.
      if (!body.ok || !query.ok || !params.ok) {
        throw new ValidationError([body, query, params].flatMap((c) => (c.ok ? [] : c.issues)));
      }
      const request: HttpRequest<unknown, unknown, unknown> = {
        body: body.value,
        query: query.value,
        params: params.value,
        headers,
        sourceIp: event.requestContext.http.sourceIp,
        userAgent: event.requestContext.http.userAgent ?? headers['user-agent'] ?? '',
        claims: (event.requestContext as { authorizer?: { jwt?: { claims?: JwtClaims } } }).authorizer?.jwt?.claims,
        rawBody,
        event,
        context,
      };
      return toResult(await spec.handle(request));
    } catch (error) {
      return errorResponse(error, context);
    }
  };
  return middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>().before(async (request) => {
    logger.addContext(request.context);
  }).handler(dispatch);
}

/** DynamoDB string and number sets (e.g. a contact's activityMonths) go out as sorted arrays. */
function jsonReplacer(_key: string, value: unknown): unknown {
  return value instanceof Set ? [...value].sort() : value;
}
