import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => {
  await t?.stop();
});

interface ContactView {
  contact: { id: string; email?: string; phone?: string; version: number; attributes: Record<string, unknown>; consent: Record<string, { status: string }>; timezone?: string; timezoneSource?: string };
  suppressed: { email: { reasons: string[] } | null; sms: { reasons: string[] } | null };
  reachable: { email: boolean; sms: boolean };
  created?: boolean;
}

async function scanAll(): Promise<Record<string, Array<Record<string, unknown>>>> {
  const out: Record<string, Array<Record<string, unknown>>> = {};
  for (const [name, table] of Object.entries(t.runtime.tableNames)) {
    const items: Array<Record<string, unknown>> = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await documentClient.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    out[name] = items;
  }
  return out;
}

const createContact = (body: Record<string, unknown>) => t.api<ContactView>('POST', '/v1/contacts', { body });

describe('contacts API', () => {
  test('upsert with email and phone: normalised, time zone inferred from the phone, consent evidence recorded', async () => {
    const response = await createContact({
      email: 'Lin@Example.org',
      phone: '(415) 555-2671',
      country: 'us',
      attributes: { plan: 'pro' },
      consent: { email: { status: 'confirmed', wordingVersion: 'crm-2025', capturedAt: '2025-03-01T10:00:00Z' } },
    });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    expect(response.body.contact).toMatchObject({ email: 'lin@example.org', phone: '+14155552671', timezone: 'America/Los_Angeles', timezoneSource: 'phone' });
    expect(response.body.contact.consent.email?.status).toBe('confirmed');
    expect(response.body.reachable).toEqual({ email: true, sms: false });

    // The same person by phone only, formatted differently: the same contact.
    const again = await createContact({ phone: '+1 415-555-2671', attributes: { plan: 'enterprise' } });
    expect(again.status).toBe(200);
    expect(again.body.contact.id).toBe(response.body.contact.id);
    expect(again.body.contact.attributes).toEqual({ plan: 'enterprise' });
  });

  test('validation: bad phone, unknown time zone, consent without wording version → 400 with paths', async () => {
    const response = await t.api<{ error: { issues: Array<{ path: string }> } }>('POST', '/v1/contacts', {
      body: { email: 'v@example.com', phone: '123', timezone: 'Mars/Base', consent: { sms: { status: 'confirmed' } } },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.issues.map((i) => i.path).sort()).toEqual(expect.arrayContaining(['consent.sms.wordingVersion', 'phone', 'timezone']));
  });

  test('attributes within every limit but over the 400 KB an item holds → 413 and no contact, not a 500 from the write', async () => {
    // 100 attributes of 2048 four-byte characters: 800 KB stored, a body under the 1 MiB limit.
    const attributes = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`a${i}`, '😀'.repeat(2048)]));
    const created = await t.api<{ error: { code: string } }>('POST', '/v1/contacts', { body: { email: 'too-big@example.com', attributes } });
    expect(created.status).toBe(413);
    expect(created.body.error.code).toBe('payload_too_large');
    expect((await t.api<{ items: unknown[] }>('GET', '/v1/contacts?email=too-big@example.com')).body.items).toEqual([]);
    const id = (await t.api<{ contact: { id: string } }>('POST', '/v1/contacts', { body: { email: 'grows@example.com' } })).body.contact.id;
    expect((await t.api('PATCH', `/v1/contacts/${id}`, { body: { attributes } })).status).toBe(413);
  });

  test('PATCH changes fields; moving to an address another contact holds → 409; attributes set to null are removed', async () => {
    const a = await createContact({ email: 'patch-a@example.com', attributes: { city: 'Leeds', tier: 1 } });
    await createContact({ email: 'patch-b@example.com' });
    const patched = await t.api<ContactView>('PATCH', `/v1/contacts/${a.body.contact.id}`, { body: { attributes: { city: 'York', tier: null }, timezone: 'Europe/London' } });
    expect(patched.status).toBe(200);
    expect(patched.body.contact.attributes).toEqual({ city: 'York' });
    expect(patched.body.contact).toMatchObject({ timezone: 'Europe/London', timezoneSource: 'explicit' });
    const conflict = await t.api('PATCH', `/v1/contacts/${a.body.contact.id}`, { body: { email: 'PATCH-B@example.com' } });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ error: { code: 'identity_conflict' } });
    const moved = await t.api<ContactView>('PATCH', `/v1/contacts/${a.body.contact.id}`, { body: { email: 'patch-c@example.com' } });
    expect(moved.body.contact.email).toBe('patch-c@example.com');
    expect((await t.api<{ items: unknown[] }>('GET', '/v1/contacts?email=patch-a@example.com')).body.items).toHaveLength(0);
    expect((await t.api<{ items: Array<{ id: string }> }>('GET', '/v1/contacts?email=patch-c@example.com')).body.items[0]?.id).toBe(a.body.contact.id);
  });

  test('suppressions: an address suppressed through the API shows on the contact and makes it unreachable', async () => {
    const c = await createContact({ email: 'supp@example.com', consent: { email: { status: 'confirmed', wordingVersion: 'v1' } } });
    expect(c.body.reachable.email).toBe(true);
    const suppressed = await t.api('POST', '/v1/suppressions', { body: { email: 'SUPP@example.com', channel: 'email', reason: 'manual' } });
    expect(suppressed.status).toBe(201);
    const view = await t.api<ContactView>('GET', `/v1/contacts/${c.body.contact.id}`);
    expect(view.body.suppressed.email?.reasons).toEqual(['manual']);
    expect(view.body.reachable.email).toBe(false);
    const mismatch = await t.api('POST', '/v1/suppressions', { body: { phone: '+14155550100', channel: 'email', reason: 'manual' } });
    expect(mismatch.status).toBe(400);
    // The suppression table holds no address in clear.
    const tables = await scanAll();
    expect(JSON.stringify(tables.suppressions)).not.toContain('supp@example.com');
  });
});

describe('import', () => {
  const csv = [
    'email,phone,country,first_name,tags,consent_email,consent_email_version',
    'imp1@example.com,,,Ann,vip;beta,yes,imp-v1',
    'IMP2@example.com,+44 7400 111222,,Bob,,,',
    'not-an-email,,,Bad,,,',
    'imp3@example.com,07400 333444,GB,Cy,,no,imp-v1',
    ',,,Nobody,,,',
  ].join('\n');

  test('valid rows stored, invalid rows reported with line numbers; re-running the same import changes nothing', async () => {
    const first = await t.api<{ summary: Record<string, number>; rows: Array<{ row: number; line: number; status: string; issues?: Array<{ path: string }> }> }>('POST', '/v1/contacts/import', {
      rawBody: csv,
      headers: { 'content-type': 'text/csv' },
    });
    expect(first.status, first.text).toBe(200);
    expect(first.body.summary).toEqual({ total: 5, created: 3, updated: 0, unchanged: 0, failed: 2 });
    expect(first.body.rows.filter((r) => r.status === 'failed').map((r) => [r.row, r.line, r.issues?.[0]?.path])).toEqual([
      [3, 4, 'email'],
      [5, 6, 'email'],
    ]);
    await t.runtime.idle();
    const before = await scanAll();
    const entriesBefore = t.runtime.bus.counters.entries;

    const second = await t.api<{ summary: Record<string, number> }>('POST', '/v1/contacts/import', { rawBody: csv, headers: { 'content-type': 'text/csv' } });
    expect(second.body.summary).toEqual({ total: 5, created: 0, updated: 0, unchanged: 3, failed: 2 });
    await t.runtime.idle();
    const after = await scanAll();
    for (const table of ['contacts', 'contactLookups', 'consents', 'interactions']) {
      expect(after[table], table).toEqual(before[table]);
    }
    expect(t.runtime.bus.counters.entries).toBe(entriesBefore);

    const ann = (await t.api<{ items: Array<{ attributes: Record<string, unknown>; tags: string[]; consent: Record<string, { status: string }> }> }>('GET', '/v1/contacts?email=imp1@example.com')).body.items[0]!;
    expect(ann).toMatchObject({ attributes: { first_name: 'Ann' }, tags: ['vip', 'beta'], consent: { email: { status: 'confirmed' } } });
  });

  test('NDJSON works too, and a bad content type or oversized import is refused whole', async () => {
    const ndjson = '{"email":"nd1@example.com","attributes":{"score":3}}\n{"email":"nd2@example.com","extra":1}\n';
    const response = await t.api<{ summary: Record<string, number> }>('POST', '/v1/contacts/import', { rawBody: ndjson, headers: { 'content-type': 'application/x-ndjson' } });
    expect(response.body.summary).toMatchObject({ created: 1, failed: 1 });
    const wrongType = await t.api('POST', '/v1/contacts/import', { rawBody: ndjson, headers: { 'content-type': 'application/xml' } });
    expect(wrongType.status).toBe(400);
    const tooMany = 'email\n' + Array.from({ length: 10_001 }, (_, i) => `many${i}@example.com`).join('\n');
    const limited = await t.api('POST', '/v1/contacts/import', { rawBody: tooMany, headers: { 'content-type': 'text/csv' } });
    expect(limited.status).toBe(400);
    expect((await t.api<{ items: unknown[] }>('GET', '/v1/contacts?email=many0@example.com')).body.items).toHaveLength(0);
  });
});

describe('privacy: export and erasure', () => {
  test('export holds everything stored about the person; erasure leaves no PII in any table and blocks a silent re-add', async () => {
    const formResponse = await t.api<{ form: { id: string } }>('POST', '/v1/forms', {
      body: {
        name: 'Privacy',
        fields: [
          { name: 'email', type: 'email', required: true },
          { name: 'phone', type: 'phone' },
          { name: 'first_name', type: 'text', attribute: 'firstName' },
        ],
        consent: { email: { text: 'Email me', version: 'p1' }, sms: { text: 'Text me', version: 'p1' } },
        defaultCountry: 'GB',
        rateLimit: { perIpPerMinute: 1000, perFormPerMinute: 1000 },
      },
    });
    const formId = formResponse.body.form.id;
    const email = 'erase.me@example.com';
    const phone = '+447400987654';
    const userAgent = 'PrivacyBrowser/9.9 (unique-agent-string)';
    const submitted = await t.api('POST', `/f/${formId}`, {
      token: null,
      body: { email, phone, first_name: 'Zebedee', consent_email: true, consent_sms: true },
      headers: { 'user-agent': userAgent },
    });
    expect(submitted.status).toBe(200);
    await t.runtime.idle();
    const id = (await t.api<{ items: Array<{ id: string }> }>('GET', `/v1/contacts?email=${email}`)).body.items[0]!.id;

    const exported = await t.api<{ contact: { id: string; email: string; phone: string }; lookups: unknown[]; consentRecords: Array<{ ip: string }>; interactions: Array<{ type: string }>; suppressions: unknown }>(
      'GET',
      `/v1/contacts/${id}/export`,
    );
    expect(exported.status).toBe(200);
    expect(exported.body.contact).toMatchObject({ id, email, phone });
    expect(exported.body.lookups).toHaveLength(2);
    expect(exported.body.consentRecords).toHaveLength(2);
    expect(exported.body.consentRecords[0]!.ip).toBe('127.0.0.1');
    expect(exported.body.interactions.map((i) => i.type)).toEqual(expect.arrayContaining(['contact_created', 'form_submitted', 'consent_confirmed']));
    expect(exported.body.suppressions).toEqual({ email: null, sms: null });
    // Everything the tables hold for this person is in the export.
    const tables = await scanAll();
    const own = (name: string, key: string) => tables[name]!.filter((item) => item[key] === id).length;
    expect(exported.body.consentRecords).toHaveLength(own('consents', 'contactId'));
    expect(exported.body.interactions).toHaveLength(own('interactions', 'contactId'));

    const erased = await t.api('DELETE', `/v1/contacts/${id}`);
    expect(erased.status).toBe(204);
    await t.runtime.idle();
    const after = JSON.stringify(await scanAll());
    for (const pii of [email, phone, 'Zebedee', userAgent, 'erase.me']) expect(after, pii).not.toContain(pii);
    expect((await t.api('GET', `/v1/contacts/${id}`)).status).toBe(404);
    expect((await t.api('DELETE', `/v1/contacts/${id}`)).status).toBe(404);
    // Consent records remain as hashed proof with timestamps, moved to a pseudonym (nothing holds the contact id).
    const consentsAfter = (await scanAll()).consents!;
    expect(consentsAfter.filter((r) => r.contactId === id)).toEqual([]);
    const anonymised = consentsAfter.filter((r) => exported.body.consentRecords.some((c) => (c as { id?: string }).id === r.id));
    expect(anonymised).toHaveLength(2);
    expect(String(anonymised[0]!.contactId)).toMatch(/^erased#/);
    for (const record of anonymised) {
      expect(Object.keys(record).sort()).toEqual(['action', 'addressHash', 'at', 'channel', 'contactId', 'erasedAt', 'id', 'sk', 'source', 'status']);
    }

    // Without new consent the address cannot come back: API and import refuse, a form stores nothing.
    const api = await createContact({ email });
    expect(api.status).toBe(409);
    expect(api.body).toMatchObject({ error: { code: 'address_erased' } });
    const imported = await t.api<{ rows: Array<{ status: string }> }>('POST', '/v1/contacts/import', { rawBody: `email\n${email}\n`, headers: { 'content-type': 'text/csv' } });
    expect(imported.body.rows[0]!.status).toBe('failed');
    const silent = await t.api('POST', `/f/${formId}`, { token: null, body: { email, first_name: 'Again' } });
    expect(silent.status).toBe(200);
    expect((await t.api<{ items: unknown[] }>('GET', `/v1/contacts?email=${email}`)).body.items).toHaveLength(0);

    // A form never lifts an erasure, not even with consent ticked: still nothing stored.
    const consented = await t.api('POST', `/f/${formId}`, { token: null, body: { email, consent_email: true } });
    expect(consented.status).toBe(200);
    expect((await t.api<{ items: unknown[] }>('GET', `/v1/contacts?email=${email}`)).body.items).toHaveLength(0);

    // A marketer's consent evidence can: the erasure suppression is lifted for that channel.
    const withEvidence = await createContact({ email, consent: { email: { status: 'confirmed', wordingVersion: 'p1' } } });
    expect(withEvidence.status).toBe(201);
    const back = (await t.api<{ items: Array<{ id: string }> }>('GET', `/v1/contacts?email=${email}`)).body.items;
    expect(back).toHaveLength(1);
    const view = await t.api<ContactView>('GET', `/v1/contacts/${back[0]!.id}`);
    expect(view.body.suppressed.email).toBeNull();
    expect(view.body.reachable.email).toBe(true);
  });
});
