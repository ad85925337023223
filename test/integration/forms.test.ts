import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
// A stand-in for Cloudflare's siteverify endpoint: only the token "good" with the right secret passes.
const CAPTCHA_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:captcha';
const captchaCalls: URLSearchParams[] = [];
const captchaServer = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    const params = new URLSearchParams(body);
    captchaCalls.push(params);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ success: params.get('response') === 'good' && params.get('secret') === 'captcha-secret' }));
  });
});
beforeAll(async () => {
  await new Promise<void>((resolve) => captchaServer.listen(0, '127.0.0.1', resolve));
  const { port } = captchaServer.address() as AddressInfo;
  t = await startTestRuntime({ environment: { CAPTCHA_SECRET_ARN, CAPTCHA_VERIFY_URL: `http://127.0.0.1:${port}/siteverify` } });
  t.runtime.secrets.set(CAPTCHA_SECRET_ARN, 'captcha-secret');
});
afterAll(async () => {
  await t?.stop();
  captchaServer.close();
});

interface FormBody {
  form: { id: string };
  links: { submit: string; embed: string };
}

const baseForm = {
  name: 'Newsletter',
  fields: [
    { name: 'email', type: 'email', required: true },
    { name: 'phone', type: 'phone' },
    { name: 'first_name', type: 'text', attribute: 'firstName' },
  ],
  allowedOrigins: ['https://shop.example.com'],
  consent: {
    email: { text: 'Send me the newsletter <weekly>', version: 'news-2026-01' },
    sms: { text: 'Text me offers', version: 'sms-2026-01' },
  },
  doubleOptIn: false,
  defaultCountry: 'GB',
  tags: ['newsletter'],
  attributes: { source: 'website' },
  rateLimit: { perIpPerMinute: 1000, perFormPerMinute: 10000 },
};

async function createForm(overrides: Record<string, unknown> = {}): Promise<string> {
  const response = await t.api<FormBody>('POST', '/v1/forms', { body: { ...baseForm, ...overrides } });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.form.id;
}

async function scanTable(table: string): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documentClient.send(new ScanCommand({ TableName: t.runtime.tableNames[table], ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

const submit = (formId: string, body: unknown, headers: Record<string, string> = {}) =>
  t.api<Record<string, unknown>>('POST', `/f/${formId}`, { body, token: null, headers });

const submitForm = (formId: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  t.api<string>('POST', `/f/${formId}`, {
    rawBody: new URLSearchParams(fields).toString(),
    token: null,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });

describe('form definitions', () => {
  test('created, read and listed by marketers; validation errors carry paths', async () => {
    const id = await createForm();
    const read = await t.api<FormBody>('GET', `/v1/forms/${id}`);
    expect(read.status).toBe(200);
    expect(read.body.links.embed).toBe(`${t.runtime.urls.api}/f/${id}/embed`);
    const list = await t.api<{ items: Array<{ id: string }> }>('GET', '/v1/forms');
    expect(list.body.items.map((f) => f.id)).toContain(id);

    const bad = await t.api<{ error: { issues: Array<{ path: string }> } }>('POST', '/v1/forms', {
      body: { ...baseForm, allowedOrigins: ['https://ok.example.com/path'], fields: [{ name: 'colour', type: 'select' }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['allowedOrigins[0]', 'fields[0].options']));
    // A number DynamoDB cannot store is refused at its path, not by the write (found by the route fuzz).
    for (const value of [1e300, 1e-300, 2 ** 60]) {
      const unstorable = await t.api<{ error: { issues: Array<{ path: string }> } }>('POST', '/v1/forms', { body: { ...baseForm, attributes: { campaign: value } } });
      expect(unstorable.status, String(value)).toBe(400);
      expect(unstorable.body.error.issues.map((i) => i.path)).toEqual(['attributes.campaign']);
    }
    expect((await t.api('POST', '/v1/forms', { body: baseForm, token: null })).status).toBe(401);
  });

  test('the embed page is plain HTML posting to the public endpoint, with the consent wording escaped', async () => {
    const id = await createForm();
    const response = await t.api<string>('GET', `/f/${id}/embed`, { token: null });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.text).toContain(`action="${t.runtime.urls.api}/f/${id}"`);
    expect(response.text).toContain('Send me the newsletter &lt;weekly&gt;');
    expect(response.text).toMatch(/name="consent_email"/);
    expect(response.text).toMatch(/name="website"[^>]*tabindex="-1"/);
  });
});

describe('public submissions', () => {
  test('normalises, deduplicates across case and formatting, and records consent per ticked channel', async () => {
    const formId = await createForm();
    const first = await submit(formId, { email: ' Jane.Doe@Example.COM ', phone: '07400 123456', first_name: 'Jane', consent_email: true, consent_sms: 'on' }, { 'user-agent': 'test-browser/1.0' });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ accepted: true, confirmationRequired: false });
    const second = await submit(formId, { email: 'jane.doe@example.com', phone: '+44 7400 123456', first_name: 'Janet' });
    expect(second.status).toBe(200);

    const lookup = await t.api<{ items: Array<{ id: string; email: string; phone: string; attributes: Record<string, unknown>; tags: string[]; consent: Record<string, { status: string }>; timezone: string }> }>(
      'GET',
      '/v1/contacts?email=JANE.DOE@example.com',
    );
    expect(lookup.body.items).toHaveLength(1);
    const contact = lookup.body.items[0]!;
    expect(contact).toMatchObject({
      email: 'jane.doe@example.com',
      phone: '+447400123456',
      // The second post changes no value the contact has (see public-input.test.ts): it waits for the owner.
      attributes: { firstName: 'Jane', source: 'website' },
      tags: ['newsletter'],
      consent: { email: { status: 'confirmed' }, sms: { status: 'confirmed' } },
      timezone: 'Europe/London',
    });
    const byPhone = await t.api<{ items: Array<{ id: string }> }>('GET', `/v1/contacts?phone=${encodeURIComponent('07400 123456')}&country=GB`);
    expect(byPhone.body.items.map((c) => c.id)).toEqual([contact.id]);

    const consents = (await scanTable('consents')).filter((r) => r.contactId === contact.id);
    expect(consents.map((r) => r.channel).sort()).toEqual(['email', 'sms']);
    const emailRecord = consents.find((r) => r.channel === 'email')!;
    expect(emailRecord).toMatchObject({ formId, wordingVersion: 'news-2026-01', source: 'form', ip: '127.0.0.1', userAgent: 'test-browser/1.0', doubleOptIn: 'not_required', status: 'confirmed' });
    expect(emailRecord.wordingHash).toMatch(/^[0-9a-f]{64}$/);
    expect(emailRecord.at).toMatch(/^\d{4}-\d{2}-\d{2}T/);

    await t.runtime.idle();
    const view = await t.api<{ contact: { scores: { lead: number } } }>('GET', `/v1/contacts/${contact.id}`);
    // Two submissions of one form on one day earn the form's points once (10), and SMS consent 5.
    expect(view.body.contact.scores.lead).toBe(15);
    const timeline = await t.api<{ items: Array<{ type: string }> }>('GET', `/v1/contacts/${contact.id}/timeline?limit=50`);
    expect(timeline.body.items.filter((i) => i.type === 'form_submitted')).toHaveLength(2);
  });

  test('parallel submissions of one address create exactly one contact', async () => {
    const formId = await createForm();
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => submit(formId, { email: i % 2 ? 'Race@Example.com' : 'race@example.com ', first_name: `n${i}` })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(12).fill(200));
    const matching = (await scanTable('contacts')).filter((c) => c.email === 'race@example.com');
    expect(matching).toHaveLength(1);
    const lookups = (await scanTable('contactLookups')).filter((l) => l.key === 'email#race@example.com');
    expect(lookups).toEqual([expect.objectContaining({ contactId: matching[0]!.id })]);
  });

  test('validation errors → 400 with field paths and nothing written', async () => {
    const formId = await createForm();
    const before = (await scanTable('contacts')).length;
    const response = await submit(formId, { email: 'not-an-email', phone: '12', consent_sms: true, unknown: 'x' });
    expect(response.status).toBe(400);
    const paths = (response.body as { error: { issues: Array<{ path: string }> } }).error.issues.map((i) => i.path).sort();
    expect(paths).toEqual(expect.arrayContaining(['email', 'phone', 'unknown']));
    expect((await scanTable('contacts')).length).toBe(before);
  });

  test('a filled honeypot is answered as accepted and stores nothing', async () => {
    const formId = await createForm();
    const before = (await scanTable('contacts')).length;
    const response = await submit(formId, { email: 'bot@example.com', website: 'http://spam.example' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ accepted: true });
    expect((await scanTable('contacts')).length).toBe(before);
    expect((await scanTable('contactLookups')).some((l) => l.key === 'email#bot@example.com')).toBe(false);
  });

  test('origins: allowed gets CORS headers, others get 403 without them; preflight answered', async () => {
    const formId = await createForm();
    const allowed = await submit(formId, { email: 'cors@example.com' }, { origin: 'https://shop.example.com' });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
    const denied = await submit(formId, { email: 'cors2@example.com' }, { origin: 'https://evil.example.net' });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    expect((await scanTable('contactLookups')).some((l) => l.key === 'email#cors2@example.com')).toBe(false);

    const preflight = await t.api('OPTIONS', `/f/${formId}`, { token: null, headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    const badPreflight = await t.api('OPTIONS', `/f/${formId}`, { token: null, headers: { origin: 'https://evil.example.net' } });
    expect(badPreflight.status).toBe(403);
    expect(badPreflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('a body over 16 KB → 413', async () => {
    const formId = await createForm();
    const response = await submit(formId, { email: 'big@example.com', first_name: 'x'.repeat(17 * 1024) });
    expect(response.status).toBe(413);
  });

  test('rate limit per IP holds across requests → 429 with Retry-After', async () => {
    const formId = await createForm({ rateLimit: { perIpPerMinute: 3, perFormPerMinute: 100 } });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i++) {
      const response = await submit(formId, { email: `rl${i}@example.com` });
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get('retry-after');
    }
    // A window boundary may fall between requests; at least the fourth or fifth is limited.
    expect(statuses.slice(0, 3).every((s) => s === 200 || s === 429)).toBe(true);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });

  test('browser posts are redirected (303) to the redirect URL, with an error flag on failure', async () => {
    const formId = await createForm({ redirectUrl: 'https://shop.example.com/thanks' });
    const ok = await submitForm(formId, { email: 'browser@example.com', consent_email: 'on' });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('https://shop.example.com/thanks?touchloop=ok');
    const bad = await submitForm(formId, { email: 'nope' });
    expect(bad.status).toBe(303);
    expect(bad.headers.get('location')).toMatch(/^https:\/\/shop\.example\.com\/thanks\?touchloop_error=validation_failed&fields=email/);
  });

  test('without a redirect URL a browser gets an HTML page', async () => {
    const formId = await createForm();
    const bad = await submitForm(formId, { email: 'nope' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('text/html');
    expect(bad.text).toContain('Email');
  });
});

describe('captcha', () => {
  test('a form with a captcha is verified server-side: missing or failing → 400, passing → accepted', async () => {
    const formId = await createForm({ captcha: { provider: 'turnstile', siteKey: 'site-key' } });
    const missing = await submit(formId, { email: 'cap@example.com' });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body)).toContain('cf-turnstile-response');
    const failing = await submit(formId, { email: 'cap@example.com', 'cf-turnstile-response': 'bad' });
    expect(failing.status).toBe(400);
    expect((await t.api<{ items: unknown[] }>('GET', '/v1/contacts?email=cap@example.com')).body.items).toHaveLength(0);
    const passing = await submit(formId, { email: 'cap@example.com', 'cf-turnstile-response': 'good' }, { 'user-agent': 'x' });
    expect(passing.status).toBe(200);
    expect(captchaCalls.at(-1)?.get('remoteip')).toBe('127.0.0.1');
    expect((await t.api<{ items: unknown[] }>('GET', '/v1/contacts?email=cap@example.com')).body.items).toHaveLength(1);
  });
});

describe('double opt-in', () => {
  interface InboxEmail {
    subject: string;
    destination: { to: string[] };
    body: { html?: string; text?: string };
  }
  async function inboxFor(address: string): Promise<InboxEmail[]> {
    const store = (await (await fetch(`${t.runtime.urls.ses}/store`)).json()) as { emails: InboxEmail[] };
    return store.emails.filter((e) => e.destination.to.includes(address));
  }

  test('pending until the signed link is followed; the confirmation is recorded with time, IP and user agent', async () => {
    const formId = await createForm({ doubleOptIn: true });
    const response = await submit(formId, { email: 'doi@example.com', consent_email: true });
    expect(response.body).toMatchObject({ accepted: true, confirmationRequired: true });
    const contact = (await t.api<{ items: Array<{ id: string; consent: { email: { status: string } } }> }>('GET', '/v1/contacts?email=doi@example.com')).body.items[0]!;
    expect(contact.consent.email.status).toBe('pending');
    const pendingView = await t.api<{ reachable: { email: boolean } }>('GET', `/v1/contacts/${contact.id}`);
    expect(pendingView.body.reachable.email).toBe(false);

    await t.runtime.idle();
    const emails = await inboxFor('doi@example.com');
    expect(emails).toHaveLength(1);
    const link = /https?:\/\/[^\s"<]+\/f\/confirm\/[A-Za-z0-9_.-]+/.exec(emails[0]!.body.text ?? '')?.[0];
    expect(link).toBeDefined();

    // A tampered token changes nothing.
    const tampered = link!.slice(0, -3) + (link!.endsWith('AAA') ? 'BBB' : 'AAA');
    const bad = await fetch(tampered, { headers: { 'user-agent': 'mail-client/2' } });
    expect(bad.status).toBe(400);
    expect((await t.api<{ contact: { consent: { email: { status: string } } } }>('GET', `/v1/contacts/${contact.id}`)).body.contact.consent.email.status).toBe('pending');

    const confirmed = await fetch(link!, { headers: { 'user-agent': 'mail-client/2' } });
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain('confirmed');
    const view = await t.api<{ contact: { consent: { email: { status: string; confirmedAt: string } } }; reachable: { email: boolean } }>('GET', `/v1/contacts/${contact.id}`);
    expect(view.body.contact.consent.email.status).toBe('confirmed');
    expect(view.body.reachable.email).toBe(true);
    const records = (await scanTable('consents')).filter((r) => r.contactId === contact.id).sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
    expect(records.map((r) => [r.action, r.status])).toEqual([
      ['granted', 'pending'],
      ['confirmed', 'confirmed'],
    ]);
    expect(records[1]).toMatchObject({ source: 'confirmation', ip: '127.0.0.1', userAgent: 'mail-client/2', doubleOptIn: 'confirmed' });

    // The link again: already confirmed, nothing new recorded.
    expect((await fetch(link!)).status).toBe(200);
    expect((await scanTable('consents')).filter((r) => r.contactId === contact.id)).toHaveLength(2);

    await t.runtime.idle();
    const scored = await t.api<{ contact: { scores: { lead: number } } }>('GET', `/v1/contacts/${contact.id}`);
    expect(scored.body.contact.scores.lead).toBe(10 + 15);
  });

  test('a garbage or expired token → 400 page', async () => {
    const garbage = await t.api<string>('GET', '/f/confirm/not-a-token', { token: null });
    expect(garbage.status).toBe(400);
    expect(garbage.headers.get('content-type')).toContain('text/html');
    const { signToken } = await import('../../shared/tokens.ts');
    const expired = await signToken('doi', { c: 'x', r: 'y', h: 'z', f: 'w' }, { expiresInSeconds: 60, now: new Date(Date.now() - 3600_000) });
    const response = await t.api<string>('GET', `/f/confirm/${expired}`, { token: null });
    expect(response.status).toBe(400);
    expect(response.text).toContain('expired');
  });
});
