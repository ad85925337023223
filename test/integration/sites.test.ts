import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { DynamoDbLocal } from '../../infra/local/dynamodb-local.ts';
import { startFileDynamoDb } from '../helpers/dynamodb.ts';
import { DynamoDbMeter } from '../helpers/dynamodb-meter.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
let meter: DynamoDbMeter;
let dynamodb: DynamoDbLocal | undefined;
beforeAll(async () => {
  dynamodb = await startFileDynamoDb();
  meter = new DynamoDbMeter(dynamodb.endpoint);
  t = await startTestRuntime({ dynamodbEndpoint: await meter.start() });
});
afterAll(async () => {
  await t?.stop();
  await meter?.stop();
  await dynamodb?.stop();
});

const SHOP = 'https://shop.example.com';
interface SiteView {
  site: { id: string; allowedOrigins: string[]; eventNames?: string[]; rateLimit: { perIpPerMinute: number } };
  links: { conversions: string };
}
interface ErrorBody {
  error: { code: string; issues?: Array<{ path: string; message: string }> };
}
type Timeline = { items: Array<{ type: string; data?: Record<string, unknown> }> };

async function createSite(body: Record<string, unknown>): Promise<SiteView> {
  const response = await t.api<SiteView>('POST', '/v1/sites', { body });
  expect(response.status).toBe(201);
  return response.body;
}

function report(site: string, body: string, headers: Record<string, string>) {
  return fetch(`${t.runtime.urls.api}/e/${site}`, { method: 'POST', headers, body });
}
const fromShop = { 'content-type': 'application/json', origin: SHOP };

async function conversions(contactId: string) {
  return (await t.api<Timeline>('GET', `/v1/contacts/${contactId}/timeline?limit=100`)).body.items.filter((i) => i.type === 'converted');
}

async function contactWithEmail(email: string, tags: string[] = []): Promise<string> {
  return (await t.api<{ contact: { id: string } }>('POST', '/v1/contacts', { body: { email, tags, consent: { email: { status: 'confirmed', wordingVersion: 'r1' } } } })).body.contact.id;
}

describe('sites API', () => {
  test('create, read, list, change and delete; bad origins → 400 with every path', async () => {
    const bad = await t.api<ErrorBody>('POST', '/v1/sites', { body: { name: 'x', allowedOrigins: ['http://shop.example.com', 'https://a.example.com/path'], rateLimit: { perIpPerMinute: 0 } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues!.map((i) => i.path).sort()).toEqual(['allowedOrigins[0]', 'allowedOrigins[1]', 'rateLimit.perIpPerMinute']);
    expect((await t.api<ErrorBody>('POST', '/v1/sites', { body: { name: 'x', allowedOrigins: [] } })).status).toBe(400);

    const created = await createSite({ name: 'Blog', allowedOrigins: ['https://blog.example.com/'] });
    expect(created.site.id).toMatch(/^site_[A-Za-z0-9_-]{22}$/);
    expect(created.site.allowedOrigins).toEqual(['https://blog.example.com']);
    expect(created.site.rateLimit.perIpPerMinute).toBe(30);
    expect(created.links.conversions).toBe(`${t.runtime.urls.api}/e/${created.site.id}`);
    expect((await t.api<SiteView>('GET', `/v1/sites/${created.site.id}`)).body.site).toEqual(created.site);
    const list = await t.api<{ items: Array<{ id: string }> }>('GET', '/v1/sites?limit=200');
    expect(list.body.items.map((s) => s.id)).toContain(created.site.id);

    const patched = await t.api<SiteView>('PATCH', `/v1/sites/${created.site.id}`, { body: { eventNames: ['signup'], rateLimit: { perIpPerMinute: 5 } } });
    expect(patched.status).toBe(200);
    expect(patched.body.site).toMatchObject({ eventNames: ['signup'], rateLimit: { perIpPerMinute: 5, perSitePerMinute: 3000 } });
    expect((await t.api('PATCH', `/v1/sites/${created.site.id}`, { body: {} })).status).toBe(400);
    expect((await t.api('DELETE', `/v1/sites/${created.site.id}`)).status).toBe(204);
    expect((await t.api('GET', `/v1/sites/${created.site.id}`)).status).toBe(404);
    expect((await t.api('DELETE', `/v1/sites/${created.site.id}`)).status).toBe(404);
    expect((await report(created.site.id, '{}', fromShop)).status).toBe(404);
  });

  test('deleting a site that is gone or never was → 404, and nothing is written (found by the route fuzz)', async () => {
    // Prepare
    const gone = (await createSite({ name: 'Gone', allowedOrigins: [SHOP] })).site.id;
    expect((await t.api('DELETE', `/v1/sites/${gone}`)).status).toBe(204);
    for (const id of [gone, 'site_AAAAAAAAAAAAAAAAAAAAAA', 'not-a-site-key', '%2F']) {
      const writesBefore = { ...meter.units.writesByTable };
      // Act
      const response = await t.api('DELETE', `/v1/sites/${id}`);
      // Assess
      expect(response.status, id).toBe(404);
      expect(meter.units.writesByTable, id).toEqual(writesBefore);
    }
  });
});

describe('POST /e/{siteKey}', () => {
  let site: string;
  beforeAll(async () => {
    site = (await createSite({ name: 'Shop', allowedOrigins: [SHOP], eventNames: ['purchase', 'signup'] })).site.id;
  });

  test('a click into the site carries a signed click id; the thank-you page reports with it once, from an allowed origin only', async () => {
    const contactId = await contactWithEmail('visitor@example.com', ['site-visitors']);
    const template = (
      await t.api<{ template: { id: string } }>('POST', '/v1/templates', {
        body: { channel: 'email', name: 'Site', subject: 'New in', html: `<html><body><a href="${SHOP}/new?utm_source=mail">New</a> <a href="https://elsewhere.example.org/">Other</a></body></html>`, text: 'New' },
      })
    ).body.template.id;
    const segment = (await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name: 'site visitors', rule: { field: 'tags', op: 'contains', value: 'site-visitors' } } })).body.segment.id;
    const campaign = (
      await t.api<{ campaign: { id: string } }>('POST', '/v1/campaigns', {
        body: { name: 'Site', segmentId: segment, channels: ['email'], variants: [{ name: 'A', weight: 1, templates: { email: template } }], holdoutPercent: 0, schedule: { type: 'immediate' } },
      })
    ).body.campaign.id;
    await t.api('POST', `/v1/campaigns/${campaign}/launch`);
    await t.runtime.idle();
    const emails = ((await (await fetch(`${t.runtime.urls.ses}/store`)).json()) as { emails: Array<{ destination: { to: string[] }; body: { html?: string } }> }).emails;
    const html = emails.find((e) => e.destination.to[0] === 'visitor@example.com')!.body.html!;
    const [toShop, toOther] = [...html.matchAll(/href="(http:\/\/127\.0\.0\.1:\d+\/t\/c\/[^"]+)"/g)].map((m) => m[1]!);

    const landing = new URL((await fetch(toShop!, { redirect: 'manual' })).headers.get('location')!);
    expect(landing.origin + landing.pathname).toBe(`${SHOP}/new`);
    expect(landing.searchParams.get('utm_source')).toBe('mail');
    const clickId = landing.searchParams.get('tl_click')!;
    expect(clickId).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    // Links to anywhere else are left exactly as written.
    expect((await fetch(toOther!, { redirect: 'manual' })).headers.get('location')).toBe('https://elsewhere.example.org/');

    const body = JSON.stringify({ clickId, name: 'purchase', value: 80, currency: 'EUR', idempotencyKey: 'order-77' });
    const preflight = await fetch(`${t.runtime.urls.api}/e/${site}`, { method: 'OPTIONS', headers: { origin: SHOP, 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(SHOP);

    const ok = await report(site, body, fromShop);
    expect(ok.status).toBe(202);
    expect(ok.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(await ok.json()).toEqual({ accepted: true });
    // The thank-you page reloaded, and a sendBeacon (text/plain) copy of the same report: still one conversion.
    expect((await report(site, body, fromShop)).status).toBe(202);
    expect((await report(site, body, { 'content-type': 'text/plain;charset=UTF-8', origin: SHOP })).status).toBe(202);
    const recorded = await conversions(contactId);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.data).toMatchObject({ name: 'purchase', value: 80, currency: 'EUR', source: `site:${site}`, clickedCampaignId: campaign });

    // Another origin, or none at all, is refused without CORS headers; nothing is recorded.
    const evil = await report(site, JSON.stringify({ clickId, name: 'purchase', idempotencyKey: 'order-78' }), { 'content-type': 'application/json', origin: 'https://evil.example.net' });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    expect((await report(site, JSON.stringify({ clickId, name: 'purchase', idempotencyKey: 'order-79' }), { 'content-type': 'application/json' })).status).toBe(403);
    const tampered = await report(site, JSON.stringify({ clickId: clickId.replace(/^./, (c) => (c === 'e' ? 'f' : 'e')), name: 'purchase', idempotencyKey: 'order-80' }), fromShop);
    expect(tampered.status).toBe(400);
    expect(tampered.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(((await tampered.json()) as ErrorBody).error.issues).toEqual([expect.objectContaining({ path: 'clickId' })]);
    expect(await conversions(contactId)).toHaveLength(1);
  });

  test('an address names the visitor; unknown addresses are answered alike and record nothing; urlencoded posts work', async () => {
    const contactId = await contactWithEmail('guest@example.com');
    const form = new URLSearchParams({ email: 'Guest@Example.com', name: 'signup', value: '', idempotencyKey: 'signup-1' });
    const ok = await report(site, form.toString(), { 'content-type': 'application/x-www-form-urlencoded', referer: `${SHOP}/thanks?x=1` });
    expect(ok.status).toBe(202);
    const unknown = await report(site, JSON.stringify({ email: 'nobody@example.com', name: 'signup', idempotencyKey: 'signup-2' }), fromShop);
    expect(unknown.status).toBe(202);
    expect(await unknown.json()).toEqual({ accepted: true });
    const recorded = await conversions(contactId);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.data).toMatchObject({ name: 'signup', source: `site:${site}` });
    expect(recorded[0]!.data!.value).toBeUndefined();
  });

  test('bad reports → 400 with every field path, and nothing recorded', async () => {
    const contactId = await contactWithEmail('careful@example.com');
    const old = new Date(Date.now() - 30 * 24 * 3600 * 1000).toISOString();
    const bad = await report(site, JSON.stringify({ email: 'careful@example.com', name: 'refund', occurredAt: old, idempotencyKey: 'r-1' }), fromShop);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorBody).error.issues!.map((i) => i.path).sort()).toEqual(['name', 'occurredAt']);
    const shape = await report(site, JSON.stringify({ contactId, name: 'purchase', value: -1, idempotencyKey: '' }), fromShop);
    expect(shape.status).toBe(400);
    expect(((await shape.json()) as ErrorBody).error.issues!.map((i) => i.path).sort()).toEqual(expect.arrayContaining(['idempotencyKey', 'value']));
    const badEmail = await report(site, JSON.stringify({ email: 'not-an-address', name: 'purchase', idempotencyKey: 'r-2' }), fromShop);
    expect(((await badEmail.json()) as ErrorBody).error.issues!.map((i) => i.path)).toEqual(['email']);
    expect((await report(site, 'not json', fromShop)).status).toBe(400);
    expect((await report(site, '<x/>', { 'content-type': 'application/xml', origin: SHOP })).status).toBe(415);
    expect(await conversions(contactId)).toHaveLength(0);
  });

  test('more reports from one address than the site allows per minute → 429 with Retry-After', async () => {
    const tight = (await createSite({ name: 'Tight', allowedOrigins: [SHOP], rateLimit: { perIpPerMinute: 2 } })).site.id;
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 4; i++) {
      const response = await report(tight, JSON.stringify({ email: 'nobody@example.com', name: 'purchase', idempotencyKey: `rl-${i}` }), fromShop);
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get('retry-after');
    }
    expect(statuses.slice(0, 2)).toEqual([202, 202]);
    expect(statuses.slice(2)).toEqual([429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });
});
