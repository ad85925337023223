/**
 * Public (unauthenticated) input against existing people: a stranger's form post never
 * rewrites a contact, never restores withdrawn consent, and floods of one address lose nothing.
 * Each test is the hostile version of a public route: someone else's address, a replayed link,
 * 50 identical requests at once.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import { signToken } from '../../shared/tokens.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => {
  await t?.stop();
});

interface ContactView {
  contact: {
    id: string;
    email?: string;
    phone?: string;
    version: number;
    scores?: { lead: number };
    attributes: Record<string, unknown>;
    tags: string[];
    timezone?: string;
    consent: Record<string, { status: string } | undefined>;
  };
  suppressed: { email: { reasons: string[] } | null; sms: { reasons: string[] } | null };
  reachable: { email: boolean; sms: boolean };
}
interface TimelineItem {
  type: string;
  id: string;
  data?: { held?: { status: string; input: Record<string, unknown> }; from?: { ip: string; userAgent: string; origin?: string }; submitted?: Record<string, unknown> };
}
interface InboxEmail {
  subject: string;
  destination: { to: string[] };
  body: { text?: string };
}

const form = (overrides: Record<string, unknown> = {}) => ({
  name: 'Newsletter',
  fields: [
    { name: 'email', type: 'email', required: true },
    { name: 'phone', type: 'phone' },
    { name: 'first_name', type: 'text', attribute: 'firstName' },
  ],
  allowedOrigins: ['https://shop.example.com'],
  consent: { email: { text: 'Send me the newsletter', version: 'n1' }, sms: { text: 'Text me offers', version: 's1' } },
  doubleOptIn: false,
  defaultCountry: 'GB',
  tags: ['newsletter'],
  rateLimit: { perIpPerMinute: 1000, perFormPerMinute: 10000 },
  ...overrides,
});

async function createForm(overrides: Record<string, unknown> = {}): Promise<string> {
  const response = await t.api<{ form: { id: string } }>('POST', '/v1/forms', { body: form(overrides) });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.form.id;
}

/** A marketer's contact with consent evidence on both channels. */
async function marketerContact(email: string, phone: string, name = 'Alice'): Promise<ContactView> {
  const response = await t.api<ContactView>('POST', '/v1/contacts', {
    body: { email, phone, attributes: { firstName: name }, tags: ['vip'], consent: { email: { status: 'confirmed', wordingVersion: 'api1' }, sms: { status: 'confirmed', wordingVersion: 'api1' } } },
  });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body;
}

const post = (formId: string, body: Record<string, unknown>, headers: Record<string, string> = {}) => t.api<Record<string, unknown>>('POST', `/f/${formId}`, { body, token: null, headers });
const view = async (id: string) => (await t.api<ContactView>('GET', `/v1/contacts/${id}`)).body;
const timeline = async (id: string) => (await t.api<{ items: TimelineItem[] }>('GET', `/v1/contacts/${id}/timeline?limit=100`)).body.items;

async function inboxFor(address: string): Promise<InboxEmail[]> {
  const store = (await (await fetch(`${t.runtime.urls.ses}/store`)).json()) as { emails: InboxEmail[] };
  return store.emails.filter((e) => e.destination.to.includes(address));
}
const confirmLinks = async (address: string) =>
  (await inboxFor(address)).map((e) => /https?:\/\/[^\s"<]+\/f\/confirm\/[A-Za-z0-9_.-]+/.exec(e.body.text ?? '')?.[0]).filter((l): l is string => Boolean(l));

async function scan(table: string): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documentClient.send(new ScanCommand({ TableName: t.runtime.tableNames[table], ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** What a stranger must not change: every value and address of the contact. */
const values = (v: ContactView) => ({ email: v.contact.email, phone: v.contact.phone, attributes: v.contact.attributes, tags: v.contact.tags, timezone: v.contact.timezone });

describe('a stranger posts someone else’s address', () => {
  test.each([
    ['a single-opt-in form', false],
    ['a double-opt-in form', true],
  ])('on %s: nothing of the contact changes, the submission is on its timeline, and the owner’s confirmation applies it once', async (_, doubleOptIn) => {
    const email = `victim-${doubleOptIn ? 'doi' : 'soi'}@example.com`;
    const owner = await marketerContact(email, doubleOptIn ? '+447400100002' : '+447400100001');
    const before = values(owner);
    const formId = await createForm({ doubleOptIn });
    const newPhone = doubleOptIn ? '+447400199992' : '+447400199991';

    // Any case, no Origin header, a new name and someone else's phone.
    const attack = await post(formId, { email: email.toUpperCase(), phone: newPhone, first_name: 'Mallory', consent_email: true, consent_sms: true }, { 'user-agent': 'attacker/1' });
    expect(attack.status, JSON.stringify(attack.body)).toBe(200);
    // The answer is what a new address gets: it does not say the address is known.
    expect(attack.body).toMatchObject({ accepted: true, confirmationRequired: doubleOptIn });
    await t.runtime.idle();

    const after = await view(owner.contact.id);
    // Only the form's own tag is added (the marketer's label for the form; the submitter cannot choose it).
    expect(values(after)).toEqual({ ...before, tags: ['vip', 'newsletter'] });
    expect(after.contact.consent.email?.status).toBe('confirmed');
    expect(after.contact.consent.sms?.status).toBe('confirmed');
    expect((await scan('contactLookups')).filter((l) => l.key === `phone#${newPhone}`)).toEqual([]);

    const entry = (await timeline(owner.contact.id)).find((i) => i.type === 'form_submitted')!;
    expect(entry.data?.from).toMatchObject({ ip: '127.0.0.1', userAgent: 'attacker/1' });
    expect(entry.data?.submitted).toMatchObject({ email, phone: newPhone, attributes: { firstName: 'Mallory' } });
    expect(entry.data?.held).toMatchObject({ status: 'pending', input: { phone: newPhone, attributes: { firstName: 'Mallory' } } });
    // The email consent is recorded (the owner already had it); the SMS consent goes with the held phone.
    const records = (await scan('consents')).filter((r) => r.contactId === owner.contact.id && r.source === 'form');
    expect(records.map((r) => r.channel)).toEqual(['email']);

    // The owner is asked at the address on file, and only there.
    const links = await confirmLinks(email);
    expect(links).toHaveLength(1);
    expect((await inboxFor('attacker@example.com')).length).toBe(0);
    const confirmed = await fetch(links[0]!, { headers: { 'user-agent': 'owner-mail/1' } });
    expect(confirmed.status).toBe(200);
    await t.runtime.idle();
    const applied = await view(owner.contact.id);
    expect(applied.contact).toMatchObject({ phone: newPhone, attributes: { firstName: 'Mallory' } });
    expect(applied.contact.consent.sms?.status).toBe('confirmed');
    const heldAfter = (await timeline(owner.contact.id)).find((i) => i.type === 'form_submitted')!;
    expect(heldAfter.data?.held?.status).toBe('applied');

    // A replayed link applies nothing again: a marketer's later change stays.
    const patched = await t.api('PATCH', `/v1/contacts/${owner.contact.id}`, { body: { attributes: { firstName: 'Alice' } } });
    expect(patched.status).toBe(200);
    const replay = await fetch(links[0]!);
    expect(replay.status).toBe(200);
    expect(await replay.text()).toContain('already');
    expect((await view(owner.contact.id)).contact.attributes.firstName).toBe('Alice');
  });

  test('a marketer can apply a held submission through the API, once; strangers cannot', async () => {
    const email = 'held-api@example.com';
    const owner = await marketerContact(email, '+447400100010');
    const formId = await createForm();
    expect((await post(formId, { email, first_name: 'Bob' })).status).toBe(200);
    const entry = (await timeline(owner.contact.id)).find((i) => i.type === 'form_submitted')!;
    const path = `/v1/contacts/${owner.contact.id}/submissions/${entry.id}/apply`;
    expect((await t.api('POST', path, { token: null })).status).toBe(401);
    const applied = await t.api<ContactView & { changed: string[] }>('POST', path);
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect(applied.body.contact.attributes.firstName).toBe('Bob');
    expect(applied.body.changed).toEqual(['attributes.firstName']);
    expect((await t.api<{ error: { code: string } }>('POST', path)).body.error.code).toBe('already_applied');
    expect((await t.api('POST', `/v1/contacts/${owner.contact.id}/submissions/00000000-0000-4000-8000-000000000000/apply`)).status).toBe(404);
  });

  test('a submission that changes nothing holds nothing and sends no email', async () => {
    const email = 'same@example.com';
    const owner = await marketerContact(email, '+447400100020');
    const formId = await createForm();
    expect((await post(formId, { email, phone: '+447400100020', first_name: 'Alice', consent_email: true })).status).toBe(200);
    await t.runtime.idle();
    const entry = (await timeline(owner.contact.id)).find((i) => i.type === 'form_submitted')!;
    expect(entry.data?.held).toBeUndefined();
    expect(await inboxFor(email)).toHaveLength(0);
  });

  test('a new address with someone else’s phone makes a new contact without that phone; the phone’s owner is untouched', async () => {
    const owner = await marketerContact('phone-owner@example.com', '+447400100030');
    const formId = await createForm();
    expect((await post(formId, { email: 'newcomer@example.com', phone: '+447400100030', first_name: 'Eve', consent_sms: true })).status).toBe(200);
    await t.runtime.idle();
    expect(values(await view(owner.contact.id))).toEqual(values(owner));
    const newcomer = (await t.api<{ items: Array<{ id: string; phone?: string; consent: Record<string, unknown> }> }>('GET', '/v1/contacts?email=newcomer@example.com')).body.items;
    expect(newcomer).toHaveLength(1);
    expect(newcomer[0]!.phone).toBeUndefined();
    expect(newcomer[0]!.consent.sms).toBeUndefined();
  });
});

describe('withdrawn consent stays withdrawn until the person proves it is them', () => {
  async function unsubscribedContact(email: string): Promise<string> {
    const owner = await marketerContact(email, `+4474002${String(Math.floor(Math.random() * 1e5)).padStart(5, '0')}`);
    const token = await signToken('unsubscribe', { s: 'send-x', c: owner.contact.id, ch: 'email' });
    expect((await t.api('POST', `/u/${token}`, { token: null, rawBody: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(200);
    await t.runtime.idle();
    expect((await view(owner.contact.id)).reachable.email).toBe(false);
    return owner.contact.id;
  }

  test('after an unsubscribe a single-opt-in post does not restore email; the confirmation it triggers does, and an older link never does', async () => {
    const email = 'came-back@example.com';
    const id = await unsubscribedContact(email);
    const formId = await createForm();
    expect((await post(formId, { email, consent_email: true })).status).toBe(200);
    await t.runtime.idle();
    let state = await view(id);
    expect(state.contact.consent.email?.status).toBe('pending');
    expect(state.suppressed.email?.reasons).toEqual(['unsubscribed']);
    expect(state.reachable.email).toBe(false);

    const [first] = await confirmLinks(email);
    expect(first).toBeDefined();
    // Unsubscribed again after the link was sent, then a stranger posts once more: the old link is dead.
    const token = await signToken('unsubscribe', { s: 'send-y', c: id, ch: 'email' });
    await t.api('POST', `/u/${token}`, { token: null, rawBody: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    await new Promise((resolve) => setTimeout(resolve, 5)); // the next post's records are later than the withdrawal
    expect((await post(formId, { email, consent_email: true })).status).toBe(200);
    await t.runtime.idle();
    expect((await fetch(first!)).status).toBe(400);
    expect((await view(id)).reachable.email).toBe(false);

    const links = await confirmLinks(email);
    expect(links).toHaveLength(2);
    expect((await fetch(links[1]!)).status).toBe(200);
    state = await view(id);
    expect(state.contact.consent.email?.status).toBe('confirmed');
    expect(state.suppressed.email).toBeNull();
    expect(state.reachable.email).toBe(true);
  });

  test.each(['complained', 'manual'] as const)('after a %s suppression a form post keeps the address suppressed', async (reason) => {
    const email = `sup-${reason}@example.com`;
    const owner = await marketerContact(email, reason === 'manual' ? '+447400100041' : '+447400100042');
    expect((await t.api('POST', '/v1/suppressions', { body: { channel: 'email', email, reason } })).status).toBe(201);
    const formId = await createForm();
    expect((await post(formId, { email, consent_email: true })).status).toBe(200);
    await t.runtime.idle();
    const state = await view(owner.contact.id);
    expect(state.suppressed.email?.reasons).toEqual([reason]);
    expect(state.reachable.email).toBe(false);
    // The consent the contact had stays as it was; the owner is asked to confirm, and that lifts the suppression.
    expect(state.contact.consent.email?.status).toBe('confirmed');
    const links = await confirmLinks(email);
    expect(links).toHaveLength(1);
    expect((await fetch(links[0]!)).status).toBe(200);
    expect((await view(owner.contact.id)).reachable.email).toBe(true);
  });

  test('a hard bounce is not lifted by a form, nor by the confirmation', async () => {
    const email = 'bounced@example.com';
    const owner = await marketerContact(email, '+447400100050');
    await t.api('POST', '/v1/suppressions', { body: { channel: 'email', email, reason: 'bounced' } });
    await t.api('POST', '/v1/suppressions', { body: { channel: 'email', email, reason: 'unsubscribed' } });
    const formId = await createForm();
    expect((await post(formId, { email, consent_email: true })).status).toBe(200);
    await t.runtime.idle();
    const [link] = await confirmLinks(email);
    expect((await fetch(link!)).status).toBe(200);
    const state = await view(owner.contact.id);
    expect(state.suppressed.email?.reasons).toEqual(['bounced']);
    expect(state.reachable.email).toBe(false);
  });

  test('after STOP a form post does not restore SMS; START from the number does', async () => {
    const phone = '+447400100060';
    const owner = await marketerContact('stopper@example.com', phone);
    expect((await t.api('POST', '/_local/sms/inbound', { token: null, body: { from: phone, body: 'STOP' } })).status).toBe(202);
    await t.runtime.idle();
    const formId = await createForm();
    expect((await post(formId, { email: 'stopper@example.com', phone, consent_sms: true })).status).toBe(200);
    await t.runtime.idle();
    let state = await view(owner.contact.id);
    expect(state.contact.consent.sms?.status).toBe('pending');
    expect(state.suppressed.sms?.reasons).toEqual(['opted_out']);
    expect(state.reachable.sms).toBe(false);

    await t.api('POST', '/_local/sms/inbound', { token: null, body: { from: phone, body: 'START' } });
    await t.runtime.idle();
    state = await view(owner.contact.id);
    expect(state.contact.consent.sms?.status).toBe('confirmed');
    expect(state.reachable.sms).toBe(true);
  });

  test('an unsubscribed address without a contact is not restored by a new contact’s form post either', async () => {
    const email = 'listed-only@example.com';
    await t.api('POST', '/v1/suppressions', { body: { channel: 'email', email, reason: 'unsubscribed' } });
    const formId = await createForm();
    expect((await post(formId, { email, consent_email: true })).status).toBe(200);
    const contact = (await t.api<{ items: Array<{ id: string }> }>('GET', `/v1/contacts?email=${email}`)).body.items[0]!;
    const state = await view(contact.id);
    expect(state.contact.consent.email?.status).toBe('pending');
    expect(state.reachable.email).toBe(false);
  });
});

describe('no lost submissions under contention', () => {
  test.each([
    ['single-opt-in', false],
    ['double-opt-in', true],
  ])('50 parallel %s posts of one address in mixed case: all accepted, one contact, a consent record each, one email', async (_, doubleOptIn) => {
    const formId = await createForm({ doubleOptIn });
    const address = `flood-${doubleOptIn ? 'doi' : 'soi'}@example.com`;
    const cased = (i: number) => (i % 3 === 0 ? address.toUpperCase() : i % 3 === 1 ? ` ${address}` : address.replace('flood', 'FlOoD'));
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => post(formId, { email: cased(i), first_name: 'Flo', consent_email: true })));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    await t.runtime.idle();
    const contacts = (await scan('contacts')).filter((c) => c.email === address);
    expect(contacts).toHaveLength(1);
    const records = (await scan('consents')).filter((r) => r.contactId === contacts[0]!.id);
    expect(records).toHaveLength(50);
    expect((await timeline(String(contacts[0]!.id))).filter((i) => i.type === 'form_submitted')).toHaveLength(50);
    expect(await inboxFor(address)).toHaveLength(doubleOptIn ? 1 : 0);
    // The flood is worth one submission's lead points.
    expect((await view(String(contacts[0]!.id))).contact).toMatchObject({ scores: { lead: 10 } });
  });

  test('50 parallel identical POST /v1/contacts with consent evidence: all 2xx, one contact, every consent record', async () => {
    const body = { email: 'Api.Flood@Example.com', attributes: { plan: 'pro' }, consent: { email: { status: 'confirmed', wordingVersion: 'api-flood' } } };
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => t.api<ContactView>('POST', '/v1/contacts', { body: { ...body, email: i % 2 ? body.email : body.email.toLowerCase() } })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(49);
    const contacts = (await scan('contacts')).filter((c) => c.email === 'api.flood@example.com');
    expect(contacts).toHaveLength(1);
    expect((await scan('consents')).filter((r) => r.contactId === contacts[0]!.id)).toHaveLength(50);
  });

  test('50 parallel POST /v1/contacts that each change the contact: every answer is a 2xx or a 429 with Retry-After, and one contact holds the last', async () => {
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => t.api<ContactView>('POST', '/v1/contacts', { body: { email: 'writers@example.com', attributes: { n: i } } })));
    for (const r of responses) {
      expect([200, 201, 429], JSON.stringify(r.body)).toContain(r.status);
      if (r.status === 429) expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    const contacts = (await scan('contacts')).filter((c) => c.email === 'writers@example.com');
    expect(contacts).toHaveLength(1);
    const accepted = responses.filter((r) => r.status < 300).map((r) => r.body.contact.attributes.n);
    expect(accepted).toContain((contacts[0]!.attributes as { n: number }).n);
  });
});
