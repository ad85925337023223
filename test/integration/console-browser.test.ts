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
/** The pages the README shows (docs/screenshots/<name>.png). */
const README_SET = new Set(['home', 'segment-builder', 'template-editor', 'campaign-editor', 'campaign-live', 'campaign-report', 'contact', 'form']);
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
  const result = (await p.evaluate("axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa'] } })")) as { violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> };
  const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  expect(serious, `axe on ${name}`).toEqual([]);
}

/** The page at 1280 and 390 px wide, saved; axe checked at both widths. */
async function shoot(name: string): Promise<void> {
  // Pages that poll (a running campaign) never go network-idle: wait for loading messages to go instead.
  await page.waitForLoadState('load');
  await expect.poll(() => page.locator('[role="status"]:has-text("Loading")').count(), { timeout: 20_000 }).toBe(0);
  await axe(page, `${name} (1280)`);
  await page.screenshot({ path: path.join(SHOTS, `${name}-1280.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await axe(page, `${name} (390)`);
  const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
  expect(overflow, `${name} scrolls sideways at 390 px`).toBeLessThanOrEqual(1);
  await page.screenshot({ path: path.join(SHOTS, `${name}-390.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  if (process.env.UPDATE_SCREENSHOTS && README_SET.has(name)) {
    mkdirSync(README_SHOTS, { recursive: true });
    copyFileSync(path.join(SHOTS, `${name}-1280.png`), path.join(README_SHOTS, `${name}.png`));
  }
}

const text = async (selector: string) => ((await page.locator(selector).first().textContent()) ?? '').trim();
const { inbox } = { inbox: () => localOutbox(t.runtime).inbox() };

describe.skipIf(!available)("a marketer's day in the console", { timeout: 150_000 }, () => {
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

  test('writes an email template and previews it for a contact, with inert links', async () => {
    templateName = 'Spring offer';
    await page.goto(`${base}/templates/new`);
    await page.getByLabel('Channel').selectOption('email');
    await page.getByLabel('Name', { exact: true }).fill(templateName);
    await page.getByLabel('Subject').fill('Hello {{contact.firstName}}');
    await page.getByLabel('HTML').fill('<p>Hi {{contact.firstName}}, <a href="https://shop.example.com/spring">see the offer</a>.</p>');
    await page.getByLabel('Text').fill('Hi {{contact.firstName}}, see the offer: https://shop.example.com/spring');
    await page.getByLabel('Preview for (email)').fill(PRO[0]!);
    const preview = page.frameLocator('iframe[title="Email preview"]');
    await expect.poll(async () => (await preview.locator('body').textContent().catch(() => '')) ?? '', { timeout: 15_000 }).toContain('Hi Pro1');
    // Inert: the content link is the plain destination (nothing tracked) and the unsubscribe link is the marked preview link, which unsubscribes no one.
    const hrefs = await preview.locator('a').evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''));
    expect(hrefs).toContain('https://shop.example.com/spring');
    expect(hrefs.some((h) => h.includes('/u/preview'))).toBe(true);
    expect(hrefs.filter((h) => /\/t\//.test(h))).toEqual([]);
    await shoot('template-editor');
    await page.getByRole('button', { name: 'Save template' }).click();
    await page.waitForURL(/\/templates\/[0-9a-f-]{36}$/);
  });

  test('builds a segment and watches the preview count follow the rule', async () => {
    await page.goto(`${base}/segments/new`);
    await page.getByLabel('Name', { exact: true }).fill('Pro plan');
    const field = page.getByLabel('Field').first();
    await field.selectOption({ label: 'Attribute' });
    await page.getByLabel('Attribute').first().fill('plan');
    await page.getByLabel('Operator').first().selectOption('eq');
    await page.getByLabel('Value').first().fill('pro');
    await expect.poll(() => text('[data-preview="count"]'), { timeout: 20_000 }).toBe('20');
    await page.getByLabel('Value').first().fill('free');
    await expect.poll(() => text('[data-preview="count"]'), { timeout: 20_000 }).toBe('1');
    await page.getByLabel('Value').first().fill('pro');
    await expect.poll(() => text('[data-preview="count"]'), { timeout: 20_000 }).toBe('20');
    await shoot('segment-builder');
    await page.getByRole('button', { name: 'Save segment' }).click();
    await page.waitForURL(/\/segments\/[0-9a-f-]{36}$/);
  });

  test('launches a campaign and counts its messages as the inbox receives them', async () => {
    await page.goto(`${base}/campaigns/new`);
    await page.getByLabel('Name', { exact: true }).fill('Spring to pro');
    await page.getByLabel('Template').first().selectOption({ label: templateName });
    await page.getByLabel('Segment').selectOption({ label: 'Pro plan' });
    await page.getByLabel('Holdout %').fill('50');
    await page.getByLabel('When').selectOption({ label: 'Now' });
    await shoot('campaign-editor');
    await page.getByRole('button', { name: 'Create campaign' }).click();
    await page.waitForURL(/\/campaigns\/[0-9a-f-]{36}$/);
    campaignUrl = page.url();
    await page.getByRole('button', { name: 'Launch' }).click();
    // Twenty in the segment: the treatment gets email, the holdout nothing; the page counts what the inbox got.
    await expect.poll(async () => (await inbox()).filter((e) => PRO.includes(e.destination.to[0]!)).length, { timeout: 60_000 }).toBeGreaterThan(0);
    await expect
      .poll(async () => {
        const sent = Number(await text('[data-count="sent"]'));
        const held = Number(await text('[data-count="holdout"]'));
        return sent + held;
      }, { timeout: 60_000 })
      .toBe(20);
    const received = (await inbox()).filter((e) => PRO.includes(e.destination.to[0]!));
    treated = received.map((e) => e.destination.to[0]!);
    expect(Number(await text('[data-count="sent"]'))).toBe(received.length);
    expect(received.length).toBeGreaterThan(0);
    expect(received.length).toBeLessThan(20);
    expect(received.every((e) => e.subject.startsWith('Hello Pro'))).toBe(true);
    await shoot('campaign-live');
    await page.goto(base);
    await expect.poll(() => text('[data-count="sent"]')).toBe(String(received.length));
    await shoot('home');
  });

  test("opens a treated contact's profile: consent confirmed and the send on the timeline", async () => {
    await page.goto(`${base}/contacts`);
    await page.getByLabel('Email or phone').fill(treated[0]!);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: treated[0]! }).click();
    await page.waitForURL(/\/contacts\/[0-9a-f-]{36}$/);
    await expect.poll(() => text('[data-consent="email"] [data-status]')).toContain('confirmed');
    await expect.poll(async () => page.locator('[data-timeline] [data-type]').evaluateAll((items) => items.map((i) => i.getAttribute('data-type'))), { timeout: 20_000 }).toContain('sent');
    await shoot('contact');
  });

  test('an unsubscribe from the received email shows on the campaign page', async () => {
    const mail = (await inbox()).find((e) => e.destination.to[0] === treated[0])!;
    const link = /Unsubscribe: (\S+)/.exec(mail.body.text ?? '')![1]!;
    const other = await context.newPage();
    await other.goto(link);
    await other.getByRole('button').first().click();
    await other.waitForLoadState('load');
    await other.close();
    await page.goto(campaignUrl);
    await expect.poll(() => text('[data-count="unsubscribed"]'), { timeout: 30_000 }).toBe('1');
  });

  test('measures and reads the lift', async () => {
    // Two treated and one held-out contact buy.
    const holdout = PRO.filter((e) => !treated.includes(e));
    for (const [i, email] of [treated[0]!, treated[1] ?? treated[0]!, holdout[0]!].entries()) {
      const res = await t.api('POST', '/v1/events', { body: { email, name: 'purchase', value: 40 + i, currency: 'EUR', occurredAt: new Date().toISOString(), idempotencyKey: `console-order-${i}` } });
      expect(res.status).toBe(201);
    }
    await page.goto(campaignUrl);
    await page.getByRole('button', { name: 'Measure now' }).click();
    const report = page.frameLocator('iframe[title="Campaign report"]');
    await expect.poll(async () => report.locator('table[data-table="lift"]').count(), { timeout: 90_000 }).toBeGreaterThan(0);
    expect(await report.locator('svg[data-interval="Conversion-rate lift"]').count()).toBe(1);
    await shoot('campaign-report');
  });

  test('an expired session asks to sign in again and keeps the form; the save then goes through', async () => {
    const expiring = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const p = await expiring.newPage();
    await p.goto(`${base}/campaigns/new?ttl=5`);
    await p.getByLabel('Name', { exact: true }).fill('Made before the session ended');
    await p.getByLabel('Template').first().selectOption({ label: templateName });
    await p.getByLabel('Segment').selectOption({ label: 'Pro plan' });
    await p.waitForTimeout(6_000);
    await p.getByRole('button', { name: 'Create campaign' }).click();
    const dialog = p.getByRole('dialog', { name: 'Your session ended — sign in again' });
    await dialog.waitFor();
    expect(await p.getByLabel('Name', { exact: true }).inputValue()).toBe('Made before the session ended');
    await dialog.getByRole('button', { name: 'Sign in again' }).click();
    await p.waitForURL(/\/campaigns\/[0-9a-f-]{36}$/, { timeout: 15_000 });
    const list = await t.api<{ items: Array<{ name: string }> }>('GET', '/v1/campaigns');
    expect(list.body.items.map((c) => c.name)).toContain('Made before the session ended');
    await expiring.close();
  });

  test('creates a form and shows its embed snippet', async () => {
    await page.goto(`${base}/forms/new`);
    await page.getByLabel('Form name').fill('Newsletter sign-up');
    await page.getByLabel('Email consent wording').fill('Yes, send me the newsletter.');
    await page.getByLabel('Email wording version').fill('2026-12');
    await page.getByLabel('Allowed origins (one a line)').fill('https://www.example.com');
    await page.getByRole('button', { name: 'Create form' }).click();
    await page.waitForURL(/\/forms\/[0-9a-f-]{36}$/);
    await expect.poll(() => text('[data-snippet]')).toContain('/f/');
    await shoot('form');
  });

  test('every list page passes axe at both widths', async () => {
    for (const [name, route] of [
      ['campaigns', '/campaigns'],
      ['segments', '/segments'],
      ['templates', '/templates'],
      ['contacts', '/contacts'],
      ['journeys', '/journeys'],
      ['forms', '/forms'],
      ['sites', '/sites'],
      ['imports', '/imports'],
      ['models', '/models'],
    ] as const) {
      await page.goto(base + route);
      await expect.poll(() => text('h1')).not.toBe('');
      await shoot(name);
    }
  });

  test('the campaign form from the keyboard: Tab reaches "Create campaign" through labelled controls with a visible focus ring', async () => {
    await page.goto(`${base}/campaigns/new`);
    await page.getByLabel('Name', { exact: true }).focus();
    const seen: Array<{ tag: string; labelled: boolean; ring: boolean; text: string }> = [];
    for (let i = 0; i < 80; i++) {
      await page.keyboard.press('Tab');
      const focused = (await page.evaluate(`(() => {
        const el = document.activeElement;
        if (!el) return null;
        const style = getComputedStyle(el);
        const labelled = Boolean((el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || (el.textContent || '').trim());
        return { tag: el.tagName, labelled, ring: style.outlineStyle !== 'none' && style.outlineWidth !== '0px', text: (el.textContent || '').trim() };
      })()`)) as { tag: string; labelled: boolean; ring: boolean; text: string } | null;
      if (!focused) break;
      seen.push(focused);
      if (focused.tag === 'BUTTON' && focused.text === 'Create campaign') break;
    }
    expect(seen.at(-1)?.text, 'Tab reaches the submit button').toBe('Create campaign');
    expect(seen.filter((f) => !f.labelled)).toEqual([]);
    expect(seen.filter((f) => !f.ring)).toEqual([]);
    expect(seen.filter((f) => ['INPUT', 'SELECT'].includes(f.tag)).length).toBeGreaterThan(5);
  });

  test('every request went to the console origin, and no page threw', () => {
    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
