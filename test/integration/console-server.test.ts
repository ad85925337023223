import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { consoleDist } from '../../infra/console/build.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

/**
 * The console on its own local origin, as CloudFront serves it on AWS: the built files with the
 * security headers, client-side routes answered with index.html, the API under /v1 on the same
 * origin, and the dev sign-in only for this machine's console.
 */
let t: TestRuntime;
let base: string;
beforeAll(async () => {
  t = await startTestRuntime({ console: { distDir: consoleDist } });
  base = t.runtime.urls.console;
});
afterAll(async () => {
  await t?.stop();
});

const session = (init: RequestInit & { headers?: Record<string, string> } = {}) =>
  fetch(`${base}/_local/console/session`, { method: 'POST', ...init, headers: { 'content-type': 'application/json', ...init.headers } });

describe('static files', () => {
  test('index.html and a client-side route both answer the app, with the CSP and no HSTS on plain HTTP', async () => {
    for (const route of ['/', '/campaigns/123/edit']) {
      const res = await fetch(base + route);
      expect(res.status, route).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toContain('<div id="app">');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toMatch(/connect-src 'self'(;|$)/); // the API is on this origin: nothing else to allow
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('strict-transport-security')).toBeNull();
      expect(res.headers.get('cache-control')).toBe('no-cache');
    }
  });

  test('hashed assets are cached for a year; a missing file with an extension is a 404, not the app', async () => {
    const asset = readdirSync(path.join(consoleDist, 'assets')).find((f) => f.endsWith('.js'))!;
    const res = await fetch(`${base}/assets/${asset}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${base}/assets/nope.js`)).status).toBe(404);
  });

  test('nothing outside the build, nor its bookkeeping, is served (traversal, encoded traversal, dotfiles)', async () => {
    for (const p of ['/../package.json', '/%2e%2e/package.json', '/assets/%2e%2e/%2e%2e/package.json', '/.stamp', '/.vite/manifest.json', '/%2e%2e%2fpackage.json']) {
      const res = await fetch(base + p);
      const text = await res.text();
      expect(text, p).not.toContain('"name": "touchloop"');
      expect(text, p).not.toContain('"file":');
      if (/\.\w+$/.test(p)) expect(res.status, p).toBe(404);
    }
  });

  test('config.json tells the app to call its own origin and sign in locally', async () => {
    const res = await fetch(`${base}/config.json`);
    expect(await res.json()).toEqual({ apiUrl: '', auth: { mode: 'local' } });
  });

  test('other methods are refused', async () => {
    expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${base}/_local/console/session`)).status).toBe(405);
  });
});

describe('the API on the console origin', () => {
  test('/v1 requests reach the API as sent: without a token 401, with one the answer, and a POST body arrives', async () => {
    expect((await fetch(`${base}/v1/campaigns`)).status).toBe(401);
    const created = await fetch(`${base}/v1/contacts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.runtime.devToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'proxy@example.com' }),
    });
    expect(created.status).toBe(201);
    const found = await fetch(`${base}/v1/contacts?email=proxy@example.com`, { headers: { authorization: `Bearer ${t.runtime.devToken}` } });
    expect(found.status).toBe(200);
    expect(JSON.stringify(await found.json())).toContain('proxy@example.com');
  });

  test("only /v1 is passed on: the API's public and local routes are not reachable through the console", async () => {
    expect((await fetch(`${base}/health`)).headers.get('content-type')).toMatch(/^text\/html/); // the app, not the API's health
    expect((await fetch(`${base}/_local/clock`, { method: 'POST', body: '{"advance":"1d"}' })).status).toBe(405);
  });
});

describe('the dev sign-in', () => {
  test('mints a token the API accepts, for local-marketer, valid for the asked time', async () => {
    const res = await session({ body: JSON.stringify({ ttlSeconds: 60 }), headers: { origin: base } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as { token: string; expiresAt: string; subject: string };
    expect(body.subject).toBe('local-marketer');
    const ttl = Date.parse(body.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect((await t.api('GET', '/v1/campaigns', { token: body.token })).status).toBe(200);
  });

  test('refuses another origin, a rebinding host name and bad lifetimes, with the field named', async () => {
    expect((await session({ headers: { origin: 'https://evil.example' } })).status).toBe(403);
    expect((await session({ headers: { origin: 'http://127.0.0.1:1' } })).status).toBe(403);
    // A DNS name that resolves to 127.0.0.1 (rebinding) arrives with its own Host header.
    const rebound = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${base}/_local/console/session`);
      import('node:http').then(({ request }) => {
        const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { host: `attacker.example:${url.port}`, 'content-type': 'application/json' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end('{}');
      }, reject);
    });
    expect(rebound).toBe(403);
    for (const ttlSeconds of [0, 4, 43_201, 1.5, '60']) {
      const res = await session({ body: JSON.stringify({ ttlSeconds }) });
      expect(res.status, String(ttlSeconds)).toBe(400);
      expect(JSON.stringify(await res.json())).toContain('"path":"ttlSeconds"');
    }
    expect((await session({ body: '{not json' })).status).toBe(400);
  });

  test('a token of 5 seconds stops working once it expires', async () => {
    const { token } = (await (await session({ body: JSON.stringify({ ttlSeconds: 5 }) })).json()) as { token: string };
    expect((await t.api('GET', '/v1/campaigns', { token })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 6_000));
    expect((await t.api('GET', '/v1/campaigns', { token })).status).toBe(401);
  });
});
