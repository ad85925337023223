import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { consoleDist } from '../../infra/console/build.ts';
import { startStandInProvider, type StandInProvider } from '../helpers/oidc-provider.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

/**
 * The console's sign-in as deployed on AWS (authorization code with PKCE through an OIDC
 * provider: Cognito's hosted pages, or your own IdP), against a stand-in provider that refuses
 * anything but a correct S256 verifier. The console is served with `auth.mode: "oidc"`, so the
 * code path is the one CloudFront serves; the access token the provider issues is what the API
 * gets. CI installs Chromium, so this cannot be skipped there.
 */
const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.TOUCHLOOP_REQUIRE_CHROMIUM) throw new Error(`${CHROMIUM} is required (apt-get install chromium)`);

const CLIENT_ID = 'console-test-client';
let t: TestRuntime;
let idp: StandInProvider;
let browser: Browser;

beforeAll(async () => {
  if (!available) return;
  // The provider must exist before the runtime (config.json names it); its tokens are minted with the runtime's key once that is up.
  let mint: (claims: { sub: string; email: string }) => Promise<string> = () => Promise.reject(new Error('runtime not up'));
  idp = await startStandInProvider({ clientId: CLIENT_ID, user: { sub: 'oidc-marketer', email: 'oidc@example.com' }, mintAccessToken: (claims) => mint(claims) });
  t = await startTestRuntime({ console: { distDir: consoleDist, signIn: { mode: 'oidc', authority: idp.url, clientId: CLIENT_ID, scopes: ['openid', 'email', 'profile'], logoutUrl: `${idp.url}/logout?client_id=${CLIENT_ID}` } } });
  mint = (claims) => t.runtime.auth.mintToken(claims, '1h');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await idp?.stop();
});

describe.skipIf(!available)('console sign-in with OIDC (as on AWS)', { timeout: 90_000 }, () => {
  test('code flow with PKCE S256: sign in, come back to the page asked for, call the API with the access token, sign out at the provider', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const apiAuth: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/v1/')) apiAuth.push(r.headers().authorization ?? '');
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));

    await page.goto(`${t.runtime.urls.console}/campaigns`);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    // The provider signs in at once and redirects back; the console finishes the code exchange and returns to the page it left.
    await page.waitForURL(`${t.runtime.urls.console}/campaigns`, { timeout: 30_000 });
    await expect.poll(async () => (await page.locator('h1').textContent())?.trim()).toBe('Campaigns');
    expect(await page.locator('header.top').textContent()).toContain('oidc@example.com');

    const authorize = idp.requests.find((r) => r.path === '/authorize')!;
    expect(authorize.query).toMatchObject({ client_id: CLIENT_ID, response_type: 'code', code_challenge_method: 'S256', redirect_uri: `${t.runtime.urls.console}/auth/callback` });
    expect(authorize.query.scope?.split(' ').sort()).toEqual(['email', 'openid', 'profile']);
    const token = idp.requests.find((r) => r.path === '/token')!;
    expect(token.form).toMatchObject({ grant_type: 'authorization_code', client_id: CLIENT_ID });
    expect(token.form!.code_verifier!.length).toBeGreaterThanOrEqual(43);
    // The API was called with the provider's access token, and answered.
    await expect.poll(async () => page.locator('main').textContent()).toContain('No campaigns yet');
    expect(apiAuth.length).toBeGreaterThan(0);
    expect(new Set(apiAuth)).toEqual(new Set([`Bearer ${idp.issued.at(-1)}`]));

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(new RegExp(`^${idp.url}/logout`));
    expect(idp.requests.at(-1)).toMatchObject({ path: '/logout', query: { client_id: CLIENT_ID } });
    // Signed out: back at the console, nothing is remembered and the sign-in button is shown again.
    await page.goto(t.runtime.urls.console);
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });

  test('the console origin allows the provider in its CSP and offers no dev session', async () => {
    const res = await fetch(`${t.runtime.urls.console}/`);
    expect(res.headers.get('content-security-policy')).toContain(`connect-src 'self' ${idp.url};`);
    expect(await (await fetch(`${t.runtime.urls.console}/config.json`)).json()).toMatchObject({ apiUrl: '', auth: { mode: 'oidc', authority: idp.url, clientId: CLIENT_ID } });
    expect((await fetch(`${t.runtime.urls.console}/_local/console/session`, { method: 'POST', body: '{}' })).status).not.toBe(200);
  });

  test('a forged code exchange is refused by the provider (the stand-in is strict): a wrong verifier gets no token', async () => {
    const authorize = new URL(`${idp.url}/authorize`);
    Object.entries({ client_id: CLIENT_ID, response_type: 'code', code_challenge_method: 'S256', code_challenge: 'x'.repeat(43), redirect_uri: `${t.runtime.urls.console}/auth/callback`, state: 's' }).forEach(([k, v]) => authorize.searchParams.set(k, v));
    const redirect = await fetch(authorize, { redirect: 'manual' });
    const code = new URL(redirect.headers.get('location')!).searchParams.get('code')!;
    const res = await fetch(`${idp.url}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: CLIENT_ID, redirect_uri: `${t.runtime.urls.console}/auth/callback`, code_verifier: 'y'.repeat(43) }) });
    expect(res.status).toBe(400);
  });
});
