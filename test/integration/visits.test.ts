import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { DynamoDbLocal } from '../../infra/local/dynamodb-local.ts';
import { startFileDynamoDb } from '../helpers/dynamodb.ts';
import { DynamoDbMeter } from '../helpers/dynamodb-meter.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';
import { expectedLift } from '../helpers/expected-lift.ts';

/**
 * Visits, page views and custom events: through the back office (`POST /v1/events`) and a site's
 * pages (`POST /e/{siteKey}`, with its hostile cases), onto the timeline and the behaviour
 * counters once each, into segment rules, and — for visits — into the campaign report's visit
 * lift over the holdout.
 */
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
const fromShop = { 'content-type': 'application/json', origin: SHOP };
type Entry = { type: string; occurredAt: string; data?: Record<string, unknown> };
interface ContactView {
  contact: { id: string; attributes: Record<string, unknown>; tags: string[]; consent: unknown; scores: { lead: number }; behaviour: { last30Days: Record<string, Record<string, number>> } };
  suppressed: unknown;
  reachable: unknown;
}
interface ErrorBody {
  error: { code: string; issues?: Array<{ path: string; message: string }> };
}

const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();

async function contactWithEmail(email: string, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await t.api<{ contact: { id: string } }>('POST', '/v1/contacts', { body: { email, consent: { email: { status: 'confirmed', wordingVersion: 'r1' } }, ...extra } });
  expect(created.status, created.text).toBeLessThan(300);
  return created.body.contact.id;
}
async function timeline(contactId: string): Promise<Entry[]> {
  return (await t.api<{ items: Entry[] }>('GET', `/v1/contacts/${contactId}/timeline?limit=100`)).body.items;
}
const ofType = async (contactId: string, ...types: string[]) => (await timeline(contactId)).filter((i) => types.includes(i.type));
const contactView = async (contactId: string) => (await t.api<ContactView>('GET', `/v1/contacts/${contactId}`)).body;

async function createSite(body: Record<string, unknown>): Promise<string> {
  const response = await t.api<{ site: { id: string } }>('POST', '/v1/sites', { body });
  expect(response.status, response.text).toBe(201);
  return response.body.site.id;
}
const post = (site: string, body: unknown, headers: Record<string, string> = fromShop) => fetch(`${t.runtime.urls.api}/e/${site}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('POST /v1/events: visits, page views and custom events', () => {
  test('each type lands once per idempotency key on the timeline and in the behaviour counters; a conversion without type answers as before', async () => {
    const contactId = await contactWithEmail('browser@example.com', { tags: ['browsers'] });
    const visit = { type: 'visit', email: 'Browser@Example.com', occurredAt: hoursAgo(3), idempotencyKey: 'session-1', url: `${SHOP}/landing?email=browser@example.com#top`, referrer: 'https://search.example.org/q?x=1' };
    const first = await t.api<Record<string, unknown>>('POST', '/v1/events', { body: visit });
    expect(first.status, first.text).toBe(201);
    expect(first.body).toEqual({ type: 'visit', contactId, recorded: true, duplicate: false });
    // A retry with another time, or by contact id, is the same visit.
    const again = await t.api<Record<string, unknown>>('POST', '/v1/events', { body: { ...visit, email: undefined, contactId, occurredAt: hoursAgo(2) } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ type: 'visit', contactId, recorded: false, duplicate: true });

    const view = { type: 'page_view', contactId, occurredAt: hoursAgo(3), idempotencyKey: 'pv-1', url: `${SHOP}/products/42?ref=mail`, title: 'Blue mug' };
    expect((await t.api('POST', '/v1/events', { body: view })).status).toBe(201);
    const custom = { type: 'custom', contactId, name: 'added_to_cart', properties: { sku: 'MUG-42', quantity: 2, gift: false }, occurredAt: hoursAgo(2), idempotencyKey: 'cart-1' };
    expect((await t.api('POST', '/v1/events', { body: custom })).status).toBe(201);
    expect((await t.api('POST', '/v1/events', { body: custom })).status).toBe(200);
    // The same key for another type is another event.
    expect((await t.api('POST', '/v1/events', { body: { ...custom, type: 'visit', name: undefined, properties: undefined } })).status).toBe(201);
    const conversion = await t.api<Record<string, unknown>>('POST', '/v1/events', { body: { contactId, name: 'purchase', value: 12, occurredAt: hoursAgo(1), idempotencyKey: 'order-1' } });
    expect(conversion.status).toBe(201);
    expect(conversion.body).toEqual({ contactId, recorded: true, duplicate: false });

    const entries = await ofType(contactId, 'visited', 'page_viewed', 'custom', 'converted');
    expect(entries.map((e) => e.type).sort()).toEqual(['converted', 'custom', 'page_viewed', 'visited', 'visited']);
    // Only the page's origin and path are kept, and only the referrer's origin.
    expect(entries.find((e) => e.type === 'visited' && e.data?.landing)!.data).toEqual({ landing: `${SHOP}/landing`, path: '/landing', referrer: 'https://search.example.org', source: 'api' });
    expect(entries.find((e) => e.type === 'page_viewed')!.data).toEqual({ url: `${SHOP}/products/42`, path: '/products/42', title: 'Blue mug', source: 'api' });
    expect(entries.find((e) => e.type === 'custom')!.data).toEqual({ name: 'added_to_cart', properties: { sku: 'MUG-42', quantity: 2, gift: false }, source: 'api' });

    const behaviour = (await contactView(contactId)).contact.behaviour.last30Days.any;
    expect(behaviour).toMatchObject({ visited: 2, page_viewed: 1, custom: 1, 'custom:added_to_cart': 1, converted: 1 });

    // Segment rules count them: by type, and a custom event by its name.
    const preview = async (rule: unknown) => (await t.api<{ count: number }>('POST', '/v1/segments/preview', { body: { rule: { and: [{ field: 'tags', op: 'contains', value: 'browsers' }, rule] } } })).body.count;
    expect(await preview({ behaviour: { type: 'custom', name: 'added_to_cart', within: { amount: 1, unit: 'days' } } })).toBe(1);
    expect(await preview({ behaviour: { type: 'custom', name: 'checkout_started' } })).toBe(0);
    expect(await preview({ behaviour: { type: 'visited', count: { op: 'eq', value: 2 } } })).toBe(1);
    expect(await preview({ behaviour: { type: 'page_viewed', count: { op: 'gte', value: 2 } } })).toBe(0);
  }, 60_000);

  test('bad input → 400 with every field path and nothing written; an unknown contact → 404', async () => {
    const contactId = await contactWithEmail('picky@example.com');
    await t.runtime.idle();
    const before = await timeline(contactId);
    const cases: Array<[unknown, string[]]> = [
      [{ type: 'visit', contactId, occurredAt: hoursAgo(1), idempotencyKey: 'v', url: 'javascript:alert(1)' }, ['url']],
      [{ type: 'page_view', contactId, occurredAt: hoursAgo(1), idempotencyKey: 'p' }, ['url']],
      [{ type: 'custom', contactId, occurredAt: 'soon', idempotencyKey: '', name: 'a|b', properties: { nested: { x: 1 } } }, ['idempotencyKey', 'name', 'occurredAt', 'properties.nested']],
      [{ type: 'custom', contactId, occurredAt: hoursAgo(1), idempotencyKey: 'c', name: 'x', value: 3 }, ['value']],
      [{ type: 'purchase', contactId }, ['type']],
      [{ type: 'visit', occurredAt: hoursAgo(1), idempotencyKey: 'v' }, ['contactId']],
      [{ type: 'visit', contactId, occurredAt: new Date(Date.now() + 86_400_000).toISOString(), idempotencyKey: 'v' }, ['occurredAt']],
    ];
    for (const [body, paths] of cases) {
      const response = await t.api<ErrorBody>('POST', '/v1/events', { body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.issues!.map((i) => i.path).sort(), JSON.stringify(body)).toEqual(paths);
    }
    expect((await t.api('POST', '/v1/events', { body: { type: 'visit', email: 'nobody@example.com', occurredAt: hoursAgo(1), idempotencyKey: 'v' } })).status).toBe(404);
    expect((await t.api('POST', '/v1/events', { body: { type: 'visit', contactId, occurredAt: hoursAgo(1), idempotencyKey: 'v' }, token: null })).status).toBe(401);
    expect(await timeline(contactId)).toEqual(before);
  }, 60_000);
});

describe('POST /e/{siteKey}: the site snippet', () => {
  test('visit, page view and custom event from an allowed origin land once; a replayed id and 50 identical posts at once land once', async () => {
    const site = await createSite({ name: 'Shop', allowedOrigins: [SHOP], eventNames: ['purchase', 'added_to_cart'], rateLimit: { perIpPerMinute: 1000 } });
    const contactId = await contactWithEmail('snippet@example.com');
    const visit = { type: 'visit', email: 'snippet@example.com', idempotencyKey: '6f1c2a9e-0000-4000-8000-000000000001', url: `${SHOP}/`, referrer: 'https://news.example.org/a' };
    const ok = await post(site, visit);
    expect(ok.status).toBe(202);
    expect(ok.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(await ok.json()).toEqual({ accepted: true });
    // sendBeacon posts text/plain; a replay of the same id, with or without a time, is the same visit.
    expect((await post(site, visit, { 'content-type': 'text/plain;charset=UTF-8', origin: SHOP })).status).toBe(202);
    expect((await post(site, { ...visit, occurredAt: hoursAgo(1) })).status).toBe(202);

    const pageView = { type: 'page_view', email: 'snippet@example.com', idempotencyKey: 'pv-50', url: `${SHOP}/p/1?utm_source=mail`, title: 'Product' };
    const flood = await Promise.all(Array.from({ length: 50 }, () => post(site, pageView)));
    expect(flood.map((r) => r.status)).toEqual(Array.from({ length: 50 }, () => 202));
    const custom = new URLSearchParams({ type: 'custom', email: 'snippet@example.com', name: 'added_to_cart', idempotencyKey: 'cart-9', clickId: '' });
    expect((await post(site, custom.toString(), { 'content-type': 'application/x-www-form-urlencoded', origin: SHOP })).status).toBe(202);
    // A conversion with type named explicitly is still a conversion.
    expect((await post(site, { type: 'conversion', email: 'snippet@example.com', name: 'purchase', idempotencyKey: 'o-1' })).status).toBe(202);
    await t.runtime.idle();

    const entries = await ofType(contactId, 'visited', 'page_viewed', 'custom', 'converted');
    expect(entries.map((e) => e.type).sort()).toEqual(['converted', 'custom', 'page_viewed', 'visited']);
    expect(entries.find((e) => e.type === 'page_viewed')!.data).toEqual({ url: `${SHOP}/p/1`, path: '/p/1', title: 'Product', source: `site:${site}` });
    expect((await contactView(contactId)).contact.behaviour.last30Days.any).toMatchObject({ visited: 1, page_viewed: 1, custom: 1, 'custom:added_to_cart': 1 });
   }, 120_000);

  test('hostile: unknown origin, a page of another site, a name the site does not list, oversized bodies — refused, nothing recorded; unknown visitors answered alike', async () => {
    const site = await createSite({ name: 'Shop', allowedOrigins: [SHOP], eventNames: ['purchase', 'added_to_cart'], rateLimit: { perIpPerMinute: 1000 } });
    const contactId = await contactWithEmail('target@example.com');
    const base = { type: 'visit', email: 'target@example.com', idempotencyKey: 'h-1' };
    const evil = await post(site, base, { 'content-type': 'application/json', origin: 'https://evil.example.net' });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    expect((await post(site, base, { 'content-type': 'application/json' })).status).toBe(403);
    const elsewhere = await post(site, { ...base, type: 'page_view', url: 'https://evil.example.net/phish' });
    expect(elsewhere.status).toBe(400);
    expect(((await elsewhere.json()) as ErrorBody).error.issues).toEqual([{ path: 'url', message: `must be a page of this site (${SHOP})` }]);
    const unlisted = await post(site, { ...base, type: 'custom', name: 'anything_goes' });
    expect(((await unlisted.json()) as ErrorBody).error.issues!.map((i) => i.path)).toEqual(['name']);
    const noType = await post(site, { ...base, type: 'pageview' });
    expect(((await noType.json()) as ErrorBody).error.issues!.map((i) => i.path)).toEqual(['type']);
    const big = await post(site, { ...base, type: 'custom', name: 'added_to_cart', properties: { note: 'x'.repeat(190) }, pad: 'y'.repeat(9000) });
    expect(big.status).toBe(413);
    const tooMany = await post(site, { ...base, type: 'custom', name: 'added_to_cart', properties: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`p${i}`, i])) });
    expect(((await tooMany.json()) as ErrorBody).error.issues!.map((i) => i.path)).toEqual(['properties']);
    // A visitor who is no contact is answered like one who is, and nothing is written for them.
    const unknown = await post(site, { ...base, email: 'nobody-here@example.com' });
    expect(unknown.status).toBe(202);
    expect(await unknown.json()).toEqual({ accepted: true });
    expect(await ofType(contactId, 'visited', 'page_viewed', 'custom')).toEqual([]);
  }, 60_000);

  test('a stranger who knows an address adds only timeline entries and counters, as a conversion could: attributes, consent, suppressions and lead points stay', async () => {
    const site = await createSite({ name: 'Shop', allowedOrigins: [SHOP], rateLimit: { perIpPerMinute: 1000 } });
    const contactId = await contactWithEmail('victim@example.com', { attributes: { plan: 'pro' }, tags: ['vip'] });
    await t.runtime.idle();
    const before = await contactView(contactId);
    const entriesBefore = await timeline(contactId);
    for (const body of [
      { type: 'visit', email: 'victim@example.com', idempotencyKey: 's-1', url: `${SHOP}/` },
      { type: 'page_view', email: 'victim@example.com', idempotencyKey: 's-2', url: `${SHOP}/account`, title: 'x'.repeat(300) },
      { type: 'custom', email: 'victim@example.com', idempotencyKey: 's-3', name: 'unsubscribe', properties: { consent: 'withdrawn', plan: 'free' } },
    ]) {
      expect((await post(site, body)).status).toBe(202);
    }
    await t.runtime.idle();
    const after = await contactView(contactId);
    const { behaviour: behaviourBefore, ...restBefore } = before.contact;
    const { behaviour: behaviourAfter, ...restAfter } = after.contact;
    expect(restAfter).toEqual(restBefore);
    expect({ suppressed: after.suppressed, reachable: after.reachable }).toEqual({ suppressed: before.suppressed, reachable: before.reachable });
    expect(behaviourBefore.last30Days.any?.visited).toBeUndefined();
    expect(behaviourAfter.last30Days.any).toMatchObject({ visited: 1, page_viewed: 1, custom: 1 });
    // The timeline gained the three site events and nothing else.
    const entriesAfter = await timeline(contactId);
    expect(entriesAfter.filter((e) => !['visited', 'page_viewed', 'custom'].includes(e.type))).toEqual(entriesBefore);
    expect(entriesAfter).toHaveLength(entriesBefore.length + 3);
  }, 60_000);
});

describe('visit lift in the campaign report', () => {
  test('visits after the send (holdout: after the launch) inside the window count, for treated and held-out contacts alike; the report gives rates, lift and the funnel per group', async () => {
    const launchedAt = new Date(Date.now() - 10 * 86_400_000);
    const at = (hours: number) => new Date(launchedAt.getTime() + hours * 3_600_000).toISOString();
    const emails = Array.from({ length: 12 }, (_, i) => `visitlift${i}@example.com`);
    for (const email of emails) await contactWithEmail(email);
    // 0–7 sent (A: even, B: odd), 8–11 held out.
    const body = {
      campaign: { externalId: 'visit-lift-1', name: 'Visit lift', launchedAt: at(0), goal: { event: 'purchase', attributionWindowDays: 7, model: 'last_touch' } },
      sends: emails.map((email, i) => ({ contact: { email }, channel: 'email', sentAt: at(1), holdout: i >= 8, variant: i % 2 ? 'B' : 'A' })),
      interactions: [],
      conversions: [],
    };
    const imported = await t.api<{ campaignId: string }>('POST', '/v1/campaigns/import', { body });
    expect(imported.status, imported.text).toBe(201);
    const campaignId = imported.body.campaignId;
    const visit = (i: number, hours: number, key: string) => t.api('POST', '/v1/events', { body: { type: 'visit', email: emails[i], occurredAt: at(hours), idempotencyKey: key } });
    // Treatment: 0, 1, 2, 4 visit inside the window (4 twice); 3 before its send; 5 after the window; 6 only views a page.
    for (const [i, hours, key] of [
      [0, 5, 'a'],
      [1, 30, 'b'],
      [2, 100, 'c'],
      [4, 6, 'd'],
      [4, 8, 'e'],
      [3, 0.5, 'f'],
      [5, 1 + 7 * 24 + 1, 'g'],
    ] as const) {
      expect((await visit(i, hours, key)).status).toBe(201);
    }
    expect((await t.api('POST', '/v1/events', { body: { type: 'page_view', email: emails[6], occurredAt: at(5), idempotencyKey: 'pv', url: `${SHOP}/` } })).status).toBe(201);
    // Holdout: 8 visits after the launch, 9 before it.
    expect((await visit(8, 20, 'h')).status).toBe(201);
    expect((await visit(9, -5, 'i')).status).toBe(201);

    const run = await t.api('POST', '/v1/attribution/runs', { body: { from: at(-24), to: new Date().toISOString() } });
    expect(run.status).toBe(202);
    await t.runtime.idle(60_000);
    type Report = {
      visits: { treatment: { members: number; visitors: number; rate: number }; holdout: { members: number; visitors: number; rate: number }; lift: { absolute: { estimate: number }; pValue: number | null } | null };
      funnels: Array<Record<string, unknown>>;
      variants: Array<{ variant: string; visitors: number }>;
    };
    const report = (await t.api<{ report: Report }>('GET', `/v1/campaigns/${campaignId}/report`)).body.report;
    expect(report.visits.treatment).toEqual({ members: 8, visitors: 4, rate: 0.5 });
    expect(report.visits.holdout).toEqual({ members: 4, visitors: 1, rate: 0.25 });
    expect(report.visits.lift!.absolute.estimate).toBeCloseTo(0.25, 12);
    expect(report.visits.lift!.pValue).toBeGreaterThan(0);
    expect(report.variants.map((v) => [v.variant, v.visitors]).sort()).toEqual([
      ['A', 3],
      ['B', 1],
    ]);
    expect(report.funnels).toEqual([
      expect.objectContaining({ group: expect.any(String), holdout: false, sent: 4 }),
      expect.objectContaining({ group: expect.any(String), holdout: false, sent: 4 }),
      { group: '#holdout', holdout: true, targeted: 4, sent: null, delivered: null, opened: null, clicked: null, visited: 1, converted: 0, revenue: 0, unsubscribed: null },
    ]);
    const html = await t.api('GET', `/v1/campaigns/${campaignId}/report.html`);
    expect(html.text).toContain('data-visit-rate="treatment">50.00 % (4 of 8)');
  }, 120_000);
});

describe('visit lift from an imported history', () => {
  test('visits imported with the history (two overlapping parts) give the report the visit rates, lift, interval and p-value an independent computation gives', async () => {
    const launchedAt = new Date(Date.now() - 12 * 86_400_000);
    const at = (hours: number) => new Date(launchedAt.getTime() + hours * 3_600_000).toISOString();
    const WINDOW_DAYS = 7;
    const email = (i: number) => `importedvisits${i}@example.com`;
    const contacts = await t.api('POST', '/v1/contacts/import', { rawBody: ['email', ...Array.from({ length: 21 }, (_, i) => email(i))].join('\n'), headers: { 'content-type': 'text/csv' } });
    expect(contacts.status, contacts.text).toBeLessThan(300);

    // 0–13 sent an hour after the launch (A: even, B: odd), 14–19 held out; 20 never targeted.
    const sentAt = at(1);
    const sends = Array.from({ length: 20 }, (_, i) => ({ contact: { email: email(i) }, channel: 'email', sentAt, holdout: i >= 14, variant: i % 2 ? 'B' : 'A' }));
    const visit = (i: number, hours: number) => ({ contact: { email: email(i) }, type: 'visit', occurredAt: at(hours), url: `${SHOP}/spring` });
    const partOne = [
      visit(0, 5), visit(1, 30), visit(2, 100), visit(3, 6), visit(3, 8), // inside the window (3 twice)
      visit(4, 0.5), // before its send
      visit(5, 1 + WINDOW_DAYS * 24 + 1), // after the window
      { contact: { email: email(6) }, type: 'page_view', occurredAt: at(5), url: `${SHOP}/p/1` }, // not a visit
      { contact: { email: email(7) }, type: 'custom', occurredAt: at(5), name: 'added_to_cart' },
      visit(14, 20), visit(16, 150), // held out, after the launch
      visit(15, -5), // held out, before the launch
      { contact: { email: email(17) }, type: 'page_view', occurredAt: at(20), url: `${SHOP}/p/2` },
      visit(20, 10), // never targeted: on the timeline, in no group
    ];
    // The second part repeats some of the first and adds two visits.
    const partTwo = [visit(0, 5), visit(14, 20), visit(8, 50), visit(18, WINDOW_DAYS * 24 - 1)];
    const campaign = { externalId: 'imported-visits-1', name: 'Imported visits', launchedAt: at(0), goal: { event: 'purchase', attributionWindowDays: WINDOW_DAYS, model: 'last_touch' } };
    const first = await t.api<{ campaignId: string; summary: Record<string, number> }>('POST', '/v1/campaigns/import', { body: { campaign, sends: sends.slice(0, 10), events: partOne } });
    expect(first.status, first.text).toBe(201);
    expect(first.body.summary).toMatchObject({ sends: 10, holdout: 0, events: partOne.length, failed: 0 });
    const second = await t.api<{ summary: Record<string, number> }>('POST', '/v1/campaigns/import', { body: { campaign, sends: sends.slice(10), events: partTwo } });
    expect(second.status, second.text).toBe(200);
    expect(second.body.summary).toMatchObject({ sends: 4, holdout: 6, events: 2, failed: 0 });

    // The independent computation: a member visited when a visit follows its exposure (the send;
    // the launch for the holdout) by at most the window; unique members, whatever the repeats.
    const visits = [...partOne, ...partTwo].filter((e) => e.type === 'visit').map((e) => ({ email: e.contact.email, at: Date.parse(e.occurredAt) }));
    const visited = (i: number, exposure: string) => visits.some((v) => v.email === email(i) && v.at > Date.parse(exposure) && v.at <= Date.parse(exposure) + WINDOW_DAYS * 86_400_000);
    const group = (members: number[], exposure: string) => ({ members: members.length, visitors: members.filter((i) => visited(i, exposure)).length });
    const treated = Array.from({ length: 14 }, (_, i) => i);
    const heldOut = [14, 15, 16, 17, 18, 19];
    const expectedTreatment = group(treated, sentAt);
    const expectedHoldout = group(heldOut, at(0));
    expect([expectedTreatment, expectedHoldout]).toEqual([
      { members: 14, visitors: 5 },
      { members: 6, visitors: 3 },
    ]); // the data exercises what it means to

    const run = await t.api('POST', '/v1/attribution/runs', { body: { from: at(-24), to: new Date().toISOString() } });
    expect(run.status).toBe(202);
    await t.runtime.idle(60_000);
    type Interval = { estimate: number; low: number; high: number };
    type Report = {
      visits: { treatment: { members: number; visitors: number; rate: number }; holdout: { members: number; visitors: number; rate: number }; lift: { absolute: Interval; relative: Interval | null; pValue: number | null } | null };
      funnels: Array<{ group: string; holdout: boolean; targeted: number; visited: number }>;
      variants: Array<{ variant: string; visitors: number }>;
    };
    const report = (await t.api<{ report: Report }>('GET', `/v1/campaigns/${first.body.campaignId}/report`)).body.report;
    // Rates are given to 6 decimal places.
    expect(report.visits.treatment).toEqual({ ...expectedTreatment, rate: Math.round((1e6 * expectedTreatment.visitors) / expectedTreatment.members) / 1e6 });
    expect(report.visits.holdout).toEqual({ ...expectedHoldout, rate: Math.round((1e6 * expectedHoldout.visitors) / expectedHoldout.members) / 1e6 });
    const expected = expectedLift(expectedTreatment.visitors, expectedTreatment.members, expectedHoldout.visitors, expectedHoldout.members);
    const lift = report.visits.lift!;
    for (const key of ['estimate', 'low', 'high'] as const) {
      expect(lift.absolute[key]).toBeCloseTo(expected.absolute[key], 9);
      expect(lift.relative![key]).toBeCloseTo(expected.relative[key], 9);
    }
    expect(lift.pValue).toBeCloseTo(expected.pValue, 9);
    const byVariant = (variant: string) => treated.filter((i) => (i % 2 ? 'B' : 'A') === variant && visited(i, sentAt)).length;
    expect(report.variants.map((v) => [v.variant, v.visitors]).sort()).toEqual([
      ['A', byVariant('A')],
      ['B', byVariant('B')],
    ]);
    expect(report.funnels.find((f) => f.holdout)).toMatchObject({ group: '#holdout', targeted: 6, visited: expectedHoldout.visitors });
  }, 120_000);
});
