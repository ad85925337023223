import { createReadStream, statSync } from 'node:fs';
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { consoleSecurityHeaders } from '../console/headers.ts';
import type { LocalAuth } from './auth.ts';
import { listen, readRequestBody, sendJson, type RunningServer } from './http-util.ts';

/** The longest dev session the console can ask for (the dev token's own lifetime). */
export const MAX_SESSION_SECONDS = 12 * 3600;
const MIN_SESSION_SECONDS = 5;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

/** How the console signs in (config.json's `auth`): the dev identity, or an OIDC provider (`infra/console/console.ts` ConsoleConfig). */
export type ConsoleSignIn = { mode: 'local' } | { mode: 'oidc'; authority: string; clientId: string; scopes?: string[]; logoutUrl?: string };

export interface ConsoleServerOptions {
  distDir: string;
  /** The local API gateway, which `/v1/*` on the console's origin is passed to. */
  apiUrl: string;
  auth: LocalAuth;
  /**
   * Default: the dev identity. An OIDC provider instead makes the local console sign in as it does
   * on AWS (the tests use a stand-in provider); the CSP then allows that provider's origin, and
   * the dev-session route is gone.
   */
  signIn?: ConsoleSignIn;
}

/**
 * The console locally, on its own loopback origin (the API port + 1), as CloudFront serves it on
 * AWS: the built files with the same security headers (without HSTS on plain HTTP), paths
 * without an extension answered with index.html (client-side routes), hashed assets cached for a
 * year and the rest revalidated; `/v1/*` passed to the API unchanged (CloudFront's `/v1/*`
 * behaviour on AWS), so the console calls its own origin and needs no CORS. It also answers:
 *   GET  /config.json             { apiUrl: "", auth: { mode: "local" } }  ("" = this origin)
 *   POST /_local/console/session  a token for the dev identity (local-marketer), { ttlSeconds? }
 * The session route is for this machine only: it listens on loopback, refuses a Host that is not
 * its own address (DNS rebinding) and a cross-origin Origin, and sends no CORS headers, so no
 * other site can read a token from it.
 */
export class LocalConsoleServer {
  private running: RunningServer | undefined;
  private readonly headers: Record<string, string>;

  private readonly signIn: ConsoleSignIn;

  constructor(private readonly options: ConsoleServerOptions) {
    this.signIn = options.signIn ?? { mode: 'local' };
    this.headers = consoleSecurityHeaders({ authOrigins: this.signIn.mode === 'oidc' ? [new URL(this.signIn.authority).origin] : [] }, { hsts: false });
  }

  get url(): string {
    if (!this.running) throw new Error('console server not started');
    return this.running.url;
  }

  async start(port: number, host = '127.0.0.1'): Promise<void> {
    this.running = await listen((req, res) => this.handle(req, res), port, host);
  }

  async stop(): Promise<void> {
    await this.running?.close();
    this.running = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://console.local');
    } catch {
      return sendJson(res, 400, { message: 'Bad Request' }, this.headers);
    }
    if (url.pathname === '/v1' || url.pathname.startsWith('/v1/')) return this.proxy(req, res);
    if (url.pathname === '/_local/console/session' && this.signIn.mode === 'local') {
      if (method !== 'POST') return sendJson(res, 405, { message: 'Method Not Allowed' }, { ...this.headers, allow: 'POST' });
      return this.session(req, res);
    }
    if (method !== 'GET' && method !== 'HEAD') return sendJson(res, 405, { message: 'Method Not Allowed' }, { ...this.headers, allow: 'GET, HEAD' });
    if (url.pathname === '/config.json') {
      return sendJson(res, 200, { apiUrl: '', auth: this.signIn }, { ...this.headers, 'cache-control': 'no-cache' });
    }
    this.file(url.pathname, method, res);
  }

  /** Passes an API request to the gateway as it came (method, path, query, headers, body) and its answer back. */
  private proxy(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const api = new URL(this.options.apiUrl);
    return new Promise((resolve) => {
      const upstream = request(
        { host: api.hostname, port: api.port, method: req.method, path: req.url, headers: { ...req.headers, host: api.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', resolve);
        },
      );
      upstream.on('error', () => {
        if (!res.headersSent) sendJson(res, 502, { message: 'the local API is not answering' });
        else res.end();
        resolve();
      });
      req.pipe(upstream);
    });
  }

  private async session(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // This machine only: a loopback peer, addressing the console by a loopback name (a rebinding
    // DNS name fails here), and, when a browser says where it comes from, the console's own page.
    const port = this.running?.port;
    const loopbackHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
    const peer = req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '';
    if (!['127.0.0.1', '::1'].includes(peer) || !loopbackHosts.has(req.headers.host ?? '')) {
      return sendJson(res, 403, { error: { code: 'forbidden', message: 'dev sessions are issued only on this machine, at a loopback address' } });
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !loopbackHosts.has(origin.replace(/^http:\/\//, ''))) {
      return sendJson(res, 403, { error: { code: 'forbidden', message: 'dev sessions are issued only to the console itself' } });
    }
    let body: { ttlSeconds?: unknown } = {};
    try {
      const raw = (await readRequestBody(req, 1024)).toString('utf8');
      body = raw ? (JSON.parse(raw) as typeof body) : {};
    } catch {
      return sendJson(res, 400, { error: { code: 'validation_failed', message: 'send JSON such as {"ttlSeconds": 3600}', issues: [{ path: '', message: 'is not a JSON object' }] } });
    }
    const ttl = body.ttlSeconds ?? MAX_SESSION_SECONDS;
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < MIN_SESSION_SECONDS || ttl > MAX_SESSION_SECONDS) {
      return sendJson(res, 400, { error: { code: 'validation_failed', message: 'The request is not valid', issues: [{ path: 'ttlSeconds', message: `must be a whole number of seconds from ${MIN_SESSION_SECONDS} to ${MAX_SESSION_SECONDS}` }] } });
    }
    const subject = 'local-marketer';
    const email = 'marketer@localhost';
    const token = await this.options.auth.mintToken({ sub: subject, email }, `${ttl}s`);
    const expiresAt = new Date(Date.now() + ttl * 1000).toISOString();
    sendJson(res, 200, { token, expiresAt, subject, email }, { 'cache-control': 'no-store' });
  }

  private file(pathname: string, method: string, res: ServerResponse): void {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return sendJson(res, 400, { message: 'Bad Request' }, this.headers);
    }
    const root = this.options.distDir;
    const hasExtension = path.posix.extname(decoded) !== '';
    let file = path.join(root, path.normalize(decoded));
    // Inside the dist folder only, and never its build bookkeeping.
    if (!file.startsWith(root + path.sep) && file !== root) return sendJson(res, 404, { message: 'Not Found' }, this.headers);
    if (path.relative(root, file).split(path.sep).some((part) => part.startsWith('.'))) return sendJson(res, 404, { message: 'Not Found' }, this.headers);
    if (!hasExtension) file = path.join(root, 'index.html');
    const stat = statSync(file, { throwIfNoEntry: false });
    if (!stat?.isFile()) return sendJson(res, 404, { message: 'Not Found' }, this.headers);
    const immutable = file.startsWith(path.join(root, 'assets') + path.sep);
    res.writeHead(200, {
      ...this.headers,
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': stat.size,
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    if (method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  }
}
