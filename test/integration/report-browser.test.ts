import { existsSync } from 'node:fs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildReport } from '../../shared/attribution/run.ts';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import { CampaignInput, emptyCounters, type Campaign } from '../../shared/campaigns/model.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

/**
 * The HTML report in a real browser (Debian's Chromium driven by playwright-core). CI installs
 * Chromium and sets TOUCHLOOP_REQUIRE_CHROMIUM, so there the test cannot be skipped; on a
 * developer machine without /usr/bin/chromium it is skipped with a message.
 */
const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.TOUCHLOOP_REQUIRE_CHROMIUM) throw new Error(`${CHROMIUM} is required (apt-get install chromium)`);
if (!available) console.warn(`report-browser.test.ts skipped: ${CHROMIUM} not found (apt-get install chromium)`);

let t: TestRuntime;
let browser: Browser;
beforeAll(async () => {
  if (!available) return;
  t = await startTestRuntime();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe.skipIf(!available)('campaign report page', () => {
  test('renders the funnel, lift with its interval, variants, channels and forecast vs actual, with no script and no external request', async () => {
    const campaign: Campaign = {
      ...CampaignInput.parse({
        name: 'Browser <Report>',
        segmentId: '00000000-0000-4000-8000-000000000001',
        channels: ['email'],
        variants: [{ name: 'A', weight: 1, templates: { email: '00000000-0000-4000-8000-000000000002' } }],
        schedule: { type: 'immediate' },
      }),
      id: '33333333-0000-4000-8000-000000000001',
      status: 'completed',
      createdAt: '2026-11-20T00:00:00.000Z',
      updatedAt: '2026-11-20T00:00:00.000Z',
      version: 1,
      counters: { ...emptyCounters(), targeted: 1000, sent: 900, holdout: 100 },
      spent: 9,
      launchedAt: '2026-11-20T00:00:00.000Z',
      runId: '1',
      forecast: { email: { expectedResponses: 40, low: 28, high: 52 }, sms: { expectedResponses: 0, low: 0, high: 0 }, audience: 900, computedAt: '2026-11-20T00:00:00.000Z' },
    };
    const report = buildReport(
      { campaign, goal: { campaignId: campaign.id, event: 'purchase', windowDays: 7, model: 'last_touch' }, launchedAt: Date.parse(campaign.launchedAt!), holdout: new Set() },
      {
        groups: { A: { members: 900, converters: 54, revenue: 2700, revenueSquares: 2700 * 50, visitors: 360 }, '#holdout': { members: 100, converters: 3, revenue: 150, revenueSquares: 150 * 50, visitors: 20 } },
        responders: { delivered: 880, opened: 300, clicked: 90 },
        variants: { A: { delivered: 880, opened: 300, clicked: 90 } },
        responded: { email: 45 },
        channels: { email: { members: 900, responders: { delivered: 880, opened: 300, clicked: 90 }, converters: 54, revenue: 2700 } },
      },
      [{ variant: 'A', conversions: 50.5, revenue: 2525 }],
      { runId: 'run-1', from: '2026-11-24T00:00:00.000Z', to: '2026-11-25T00:00:00.000Z' },
      new Date('2026-11-25T02:00:00.000Z'),
    );
    await documentClient.send(new PutCommand({ TableName: t.runtime.tableNames.reports, Item: report }));
    // The campaign itself, with live counters that moved after the run (the page shows both, each with its time).
    await documentClient.send(new PutCommand({ TableName: t.runtime.tableNames.campaigns, Item: { ...campaign, responses: { delivered: 885, opened: 310, clicked: 93, unsubscribed: 4, converted: 51 } } }));

    const context = await browser.newContext({ extraHTTPHeaders: { authorization: `Bearer ${t.runtime.devToken}` } });
    const page = await context.newPage();
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(t.runtime.urls.api)) external.push(r.url());
    });
    const response = await page.goto(`${t.runtime.urls.api}/v1/campaigns/${campaign.id}/report.html`);
    expect(response?.status()).toBe(200);

    expect(await page.title()).toBe('Browser <Report> — report');
    expect(await page.locator('h1').textContent()).toBe('Browser <Report>');
    expect(await page.locator('[data-kpi="sent"] b').textContent()).toBe('900');
    expect(await page.locator('[data-kpi="conversions"] b').textContent()).toBe('50.5');
    expect(await page.locator('[data-kpi="revenue"] b').textContent()).toBe('2,525');
    // The funnel is drawn: six bars (visited among them), the widest for "sent".
    const widths = await page.locator('svg[aria-label="Funnel"] rect').evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('width'))));
    expect(widths).toHaveLength(6);
    expect(await page.locator('svg[aria-label="Funnel"] [data-step="visited"]').textContent()).toContain('360');
    // Visits: 40 % of the treatment against 20 % of the holdout, with the lift's interval drawn.
    expect(await page.locator('[data-visit-rate="treatment"]').textContent()).toBe('40.00 % (360 of 900)');
    expect(await page.locator('[data-visit-rate="holdout"]').textContent()).toBe('20.00 % (20 of 100)');
    expect(await page.locator('table[data-table="visits"] tr').nth(1).textContent()).toContain('20.00 %');
    expect(await page.locator('svg[data-interval="Visit-rate lift"] circle').count()).toBe(1);
    // The funnel by group: variant A, then the holdout with its message steps not applicable.
    expect(await page.locator('[data-table="funnels"] tr[data-group="A"] td').allTextContents()).toEqual(['A', '900', '900', '880', '300', '90', '360', '54', '2,700', '0']);
    expect(await page.locator('[data-table="funnels"] tr[data-group="#holdout"] td').allTextContents()).toEqual(['Holdout', '100', 'n/a', 'n/a', 'n/a', 'n/a', '20', '3', '150', 'n/a']);
    expect(Math.max(...widths)).toBe(widths[0]);
    // Lift: 6 % vs 3 %, +3 points, with an interval drawn.
    const liftRow = await page.locator('table[data-table="lift"]').first().locator('tr').nth(1).textContent();
    expect(liftRow).toContain('6.00 %');
    expect(liftRow).toContain('3.00 %');
    expect(await page.locator('svg[data-interval="Conversion-rate lift"] circle').count()).toBe(1);
    // Channels: the email row with its funnel and conversion rate.
    const email = await page.locator('[data-table="channels"] tr[data-channel="email"] td').allTextContents();
    expect(email).toEqual(['email', '900', '880', '300', '90', '0', '54', '6.00 %', '2,700']);
    // Live counts beside the measured ones, and the run those are as of.
    expect(await page.locator('[data-live="sent"]').textContent()).toBe('900');
    expect(await page.locator('[data-live="opened"]').textContent()).toBe('310');
    expect(await page.locator('[data-live="unsubscribed"]').textContent()).toBe('4');
    expect(await page.locator('[data-measured="run-1"]').textContent()).toContain('2026-11-25T02:00:00.000Z');
    const fva = await page.locator('table').last().locator('tr').nth(1).textContent();
    expect(fva).toContain('40');
    expect(fva).toContain('45');
    expect(await page.locator('script').count()).toBe(0);
    expect(external).toEqual([]);
    await context.close();
  });
});
