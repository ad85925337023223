import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import type { ValidationIssue } from '../../shared/errors.ts';
import type { HttpRoute } from '../topology-types.ts';
import type { LocalAuth } from './auth.ts';
import { listen, readRequestBody, sendJson, type RunningServer } from './http-util.ts';
import { LOCAL_ACCOUNT } from './lambda.ts';

export interface GatewayRoute extends HttpRoute {
  functionName: string;
  invoke: (event: APIGatewayProxyEventV2) => Promise<unknown>;
}

/**
 * A route the runtime answers itself (health, local-only helpers), matched before the API's
 * routes and never deployed to AWS. Path parameters arrive as matched, still percent-encoded.
 */
export interface LocalRoute {
  method: string;
  path: string;
  handle: (req: IncomingMessage, res: ServerResponse, url: URL, params: Record<string, string>) => Promise<void>;
}

interface CompiledRoute {
  route: GatewayRoute;
  routeKey: string;
  segments: string[];
  /** Higher is more specific: literal segments beat {params}, which beat {proxy+}. */
  score: number;
}

const API_ID = 'localapi';
/** API Gateway's payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

function compile(route: GatewayRoute): CompiledRoute {
  const segments = route.path.split('/').filter(Boolean);
  let score = 0;
  for (const s of segments) score = score * 4 + (s.endsWith('+}') ? 1 : s.startsWith('{') ? 2 : 3);
  return { route, routeKey: `${route.method} ${route.path}`, segments, score: score * 64 + segments.length };
}

/** Matches a request path's raw (still percent-encoded) segments; parameters come back undecoded. */
function matchPath(segments: string[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment.endsWith('+}')) {
      if (i >= parts.length) return undefined;
      params[segment.slice(1, -2)] = parts.slice(i).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (segment.startsWith('{')) params[segment.slice(1, -1)] = part;
    else if (segment !== part) return undefined;
  }
  return parts.length === segments.length ? params : undefined;
}

/**
 * Percent-decodes path parameters. A malformed escape (`%E0%A4%A`, `%zz`) or bytes that are not
 * UTF-8 are the caller's mistake: an issue at `params.<name>`, never an exception.
 */
export function decodePathParams(raw: Record<string, string>): { params: Record<string, string> } | { issues: ValidationIssue[] } {
  const params: Record<string, string> = {};
  const issues: ValidationIssue[] = [];
  for (const [name, value] of Object.entries(raw)) {
    try {
      params[name] = value.split('/').map(decodeURIComponent).join('/');
    } catch {
      issues.push({ path: `params.${name}`, message: 'is not valid percent-encoded UTF-8' });
    }
  }
  return issues.length ? { issues } : { params };
}

const TEXT_TYPES = /^(text\/|application\/(json|x-www-form-urlencoded|xml|javascript)|[^;]*\+json)/i;

/** One line per request: `POST /v1/contacts 201 12ms contacts-api` (`-` when no function was routed to). */
export function requestLogLine(method: string, path: string, status: number, ms: number, target: string): string {
  const shown = path.length > MAX_LOGGED_PATH ? `${path.slice(0, MAX_LOGGED_PATH)}…` : path;
  return `${method} ${shown} ${status} ${Math.round(ms)}ms ${target}`;
}

/** Longer paths (overlong tokens, hostile requests) are cut in the log line. */
const MAX_LOGGED_PATH = 200;

/** Who answered a request the runtime itself handles (health, /_local/*). */
export const RUNTIME_TARGET = 'runtime';

export interface GatewayOptions {
  /** Where the per-request lines and function failures go. */
  log?: (line: string) => void;
}

/**
 * The local API Gateway (HTTP API, payload format 2.0): matches the topology's routes with API
 * Gateway's precedence, verifies the bearer token on non-public routes the way the JWT
 * authorizer does, and turns each request into the same event the Lambda receives on AWS.
 * Every request is logged in one line: method, path, status, milliseconds, function.
 */
export class LocalHttpGateway {
  private readonly routes: CompiledRoute[];
  private readonly localRoutes: Array<{ route: LocalRoute; segments: string[] }>;
  private running: RunningServer | undefined;
  private readonly log: (line: string) => void;

  constructor(
    routes: GatewayRoute[],
    private readonly auth: LocalAuth,
    localRoutes: LocalRoute[],
    options: GatewayOptions = {},
  ) {
    this.routes = routes.map(compile).sort((a, b) => b.score - a.score);
    this.localRoutes = localRoutes.map((route) => ({ route, segments: route.path.split('/').filter(Boolean) }));
    this.log = options.log ?? ((line) => console.log(line));
  }

  get url(): string {
    if (!this.running) throw new Error('gateway not started');
    return this.running.url;
  }

  /** The address the server listens on, as the OS reports it. */
  get address(): AddressInfo {
    if (!this.running) throw new Error('gateway not started');
    return this.running.server.address() as AddressInfo;
  }

  listRoutes(): Array<{ routeKey: string; functionName: string; public: boolean }> {
    return this.routes.map((r) => ({ routeKey: r.routeKey, functionName: r.route.functionName, public: r.route.public === true }));
  }

  /** The routes the runtime answers itself, as route keys (`POST /_local/sms/inbound`). */
  listLocalRoutes(): string[] {
    return this.localRoutes.map(({ route }) => `${route.method} ${route.path}`);
  }

  async start(port: number, host = '127.0.0.1'): Promise<void> {
    this.running = await listen((req, res) => this.handle(req, res), port, host);
  }

  async stop(): Promise<void> {
    await this.running?.close();
    this.running = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = requestUrl(req.url ?? '/');
    let target = '-';
    res.once('close', () => this.log(requestLogLine(method, url?.pathname ?? (req.url ?? '/'), res.statusCode, performance.now() - started, target)));
    if (!url) return sendJson(res, 400, { message: 'Bad Request' });
    try {
      const parts = url.pathname.split('/').filter(Boolean);
      for (const { route, segments } of this.localRoutes) {
        const params = route.method === method ? matchPath(segments, parts) : undefined;
        if (!params) continue;
        target = RUNTIME_TARGET;
        return await route.handle(req, res, url, params);
      }
      await this.route(req, res, url, method, (name) => (target = name));
    } catch (error) {
      this.log(`[${target}] ${method} ${url.pathname} failed: ${describeError(error)}`);
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal Server Error' });
      else res.end();
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL, method: string, routedTo: (functionName: string) => void): Promise<void> {
    const parts = url.pathname.split('/').filter(Boolean);
    let matched: { compiled: CompiledRoute; params: Record<string, string> } | undefined;
    for (const compiled of this.routes) {
      if (compiled.route.method !== method) continue;
      const params = matchPath(compiled.segments, parts);
      if (params) {
        matched = { compiled, params };
        break;
      }
    }
    if (!matched) return sendJson(res, 404, { message: 'Not Found' });
    const { functionName } = matched.compiled.route;
    routedTo(functionName);

    const body = await readRequestBody(req, MAX_BODY_BYTES).catch(() => undefined);
    if (!body) return sendJson(res, 413, { message: 'Request Entity Too Large' });

    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || name === 'cookie') continue;
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    let claims: Record<string, unknown> | undefined;
    if (!matched.compiled.route.public) {
      // Before the path is decoded: a stranger learns nothing about a protected route but 401.
      claims = await this.auth.verify(headers.authorization);
      // The same answer API Gateway's JWT authorizer gives.
      if (!claims) return sendJson(res, 401, { message: 'Unauthorized' }, { 'www-authenticate': 'Bearer' });
    }
    const decoded = decodePathParams(matched.params);
    if ('issues' in decoded) return sendJson(res, 400, { error: { code: 'validation_failed', message: 'The request path is not valid', issues: decoded.issues } });
    const event = this.toEvent(req, url, headers, body, matched.compiled, decoded.params, claims);
    let result: unknown;
    try {
      result = await matched.compiled.route.invoke(event);
    } catch (error) {
      // A function error (or timeout) surfaces from API Gateway as a bare 500.
      this.log(`[${functionName}] ${method} ${url.pathname} failed: ${describeError(error)}`);
      return sendJson(res, 500, { message: 'Internal Server Error' });
    }
    this.writeResult(res, result);
  }

  private toEvent(
    req: IncomingMessage,
    url: URL,
    headers: Record<string, string>,
    body: Buffer,
    compiled: CompiledRoute,
    params: Record<string, string>,
    claims: Record<string, unknown> | undefined,
  ): APIGatewayProxyEventV2 {
    const query: Record<string, string> = {};
    for (const key of new Set(url.searchParams.keys())) query[key] = url.searchParams.getAll(key).join(',');
    const contentType = headers['content-type'] ?? '';
    const isText = body.length === 0 || TEXT_TYPES.test(contentType);
    const now = new Date();
    const cookieHeader = req.headers.cookie;
    const event: APIGatewayProxyEventV2 & { requestContext: { authorizer?: unknown } } = {
      version: '2.0',
      routeKey: compiled.routeKey,
      rawPath: url.pathname,
      rawQueryString: url.search.replace(/^\?/, ''),
      cookies: cookieHeader ? cookieHeader.split(';').map((c) => c.trim()) : undefined,
      headers,
      queryStringParameters: Object.keys(query).length ? query : undefined,
      pathParameters: Object.keys(params).length ? params : undefined,
      requestContext: {
        accountId: LOCAL_ACCOUNT,
        apiId: API_ID,
        domainName: headers.host ?? 'localhost',
        domainPrefix: (headers.host ?? 'localhost').split('.')[0]!,
        http: {
          method: compiled.route.method,
          path: url.pathname,
          protocol: `HTTP/${req.httpVersion}`,
          sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
          userAgent: headers['user-agent'] ?? '',
        },
        requestId: randomUUID(),
        routeKey: compiled.routeKey,
        stage: '$default',
        time: now.toUTCString(),
        timeEpoch: now.getTime(),
        ...(claims ? { authorizer: { jwt: { claims: stringifyClaims(claims), scopes: scopesOf(claims) } } } : {}),
      },
      body: body.length ? (isText ? body.toString('utf8') : body.toString('base64')) : undefined,
      isBase64Encoded: body.length > 0 && !isText,
    };
    return event;
  }

  private writeResult(res: ServerResponse, result: unknown): void {
    // Payload format 2.0: an object without statusCode (or a string) is a 200 JSON body.
    if (typeof result === 'string' || result === undefined || result === null || typeof result !== 'object' || !('statusCode' in result)) {
      const payload = typeof result === 'string' ? result : JSON.stringify(result ?? null);
      res.writeHead(200, { 'content-type': 'application/json' }).end(payload);
      return;
    }
    const r = result as Exclude<APIGatewayProxyResultV2, string> & { multiValueHeaders?: Record<string, string[]> };
    const headers: Record<string, string | string[]> = { ...(r.headers as Record<string, string> | undefined) };
    if (r.cookies?.length) headers['set-cookie'] = r.cookies;
    const body = r.body === undefined ? '' : r.isBase64Encoded ? Buffer.from(r.body, 'base64') : r.body;
    res.writeHead(r.statusCode ?? 200, headers).end(body);
  }
}

/** API Gateway passes JWT claims as strings (arrays stay arrays, as "[a b]" in some cases; we keep arrays). */
function stringifyClaims(claims: Record<string, unknown>): Record<string, string | number | boolean | string[]> {
  const out: Record<string, string | number | boolean | string[]> = {};
  for (const [k, v] of Object.entries(claims)) {
    out[k] = Array.isArray(v) ? v.map(String) : typeof v === 'object' && v !== null ? JSON.stringify(v) : (v as string | number | boolean);
  }
  return out;
}

function scopesOf(claims: Record<string, unknown>): string[] | undefined {
  return typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : undefined;
}

/**
 * The request target as a URL. An origin-form target is read as a path even when it starts with
 * `//` (which a URL parser would take for a host, or refuse: `GET //` is a path, not an error).
 */
function requestUrl(target: string): URL | undefined {
  try {
    return new URL(target.startsWith('/') ? `http://localhost${target}` : target, 'http://localhost');
  } catch {
    return undefined;
  }
}

const describeError = (error: unknown): string => (error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error));
