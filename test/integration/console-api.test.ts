/**
 * The API pieces the marketers' console reads (docs/console-design.md, "Pages, routes, gaps"):
 * a campaign's live responses on the campaign itself, a contact's consent evidence, a preview of
 * an unsaved template, and a form's submissions. Each through the local runtime, with the hostile
 * versions: replays that must not count twice, unknown ids, tampered and foreign cursors.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ConsentRecordResource } from '../../shared/contacts/resources.ts';
import type { FormSubmissionResource } from '../../shared/forms/submissions.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => {
  await t?.stop();
});

interface InboxEmail {
  destination: { to: string[] };
  body: { html?: string };
}
async function inboxHtml(address: string): Promise<string> {
  const emails = ((await (await fetch(`${t.runtime.urls.ses}/store`)).json()) as { emails: InboxEmail[] }).emails;
  const mine = emails.filter((e) => e.destination.to.includes(address));
  expect(mine, `one email to ${address}`).toHaveLength(1);
  return mine[0]!.body.html ?? '';
}

async function created<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await t.api<T>(method, path, { body });
  expect(response.status, `${method} ${path}: ${response.text}`).toBeLessThan(300);
  return response.body;
}

interface Issue {
  path: string;
  message: string;
}
type ErrorBody = { error: { code: string; issues?: Issue[] } };
const pathsOf = (body: unknown) => ((body as ErrorBody).error.issues ?? []).map((i) => i.path);
const randomId = () => crypto.randomUUID();

const formDefinition = (name: string, overrides: Record<string, unknown> = {}) => ({
  name,
  fields: [
    { name: 'email', type: 'email', required: true },
    { name: 'first_name', type: 'text', attribute: 'firstName' },
  ],
  allowedOrigins: ['https://shop.example.com'],
  consent: { email: { text: 'Send me the newsletter', version: 'news-1' } },
  doubleOptIn: false,
  rateLimit: { perIpPerMinute: 1000, perFormPerMinute: 10000 },
  ...overrides,
});
const submit = (formId: string, body: Record<string, unknown>, headers: Record<string, string> = {}) => t.api('POST', `/f/${formId}`, { body, token: null, headers });

describe('campaign responses', () => {
  type Responses = Record<'delivered' | 'opened' | 'clicked' | 'unsubscribed' | 'bounced' | 'complained' | 'converted' | 'revenue', number>;
  const zeros: Responses = { delivered: 0, opened: 0, clicked: 0, unsubscribed: 0, bounced: 0, complained: 0, converted: 0, revenue: 0 };

  test('a draft shows zeros; after a launch, a tracked click and an unsubscribe (each sent twice), GET and the list show each once', async () => {
    for (const who of ['resp-a', 'resp-b']) {
      await created('POST', '/v1/contacts', { email: `${who}@example.com`, tags: ['responses'], consent: { email: { status: 'confirmed', wordingVersion: 'v1' } } });
    }
    const template = (
      await created<{ template: { id: string } }>('POST', '/v1/templates', {
        channel: 'email',
        name: 'Responses',
        subject: 'Hi',
        html: '<html><body><a href="https://shop.example.com/sale">sale</a></body></html>',
        text: 'sale',
      })
    ).template.id;
    const segment = (await created<{ segment: { id: string } }>('POST', '/v1/segments', { name: 'Responses', rule: { field: 'tags', op: 'contains', value: 'responses' } })).segment.id;
    const campaign = (
      await created<{ campaign: { id: string; responses: Responses } }>('POST', '/v1/campaigns', {
        name: 'Responses',
        segmentId: segment,
        channels: ['email'],
        variants: [{ name: 'A', weight: 1, templates: { email: template } }],
        holdoutPercent: 0,
        schedule: { type: 'immediate' },
        goal: { event: 'purchase', attributionWindowDays: 7, model: 'last_touch' },
      })
    ).campaign;
    expect(campaign.responses).toEqual(zeros);

    expect((await t.api('POST', `/v1/campaigns/${campaign.id}/launch`)).status).toBe(202);
    await t.runtime.idle(60_000);
    const html = await inboxHtml('resp-a@example.com');
    const click = /href="([^"]+\/t\/c\/[^"]+)"/.exec(html)![1]!;
    const unsubscribe = /href="([^"]+\/u\/[^"]+)"/.exec(html)![1]!;
    expect((await fetch(click, { redirect: 'manual' })).status).toBe(302);
    const oneClick = () => fetch(unsubscribe, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect((await oneClick()).status).toBe(200);
    await t.runtime.idle();
    const once = (await created<{ campaign: { responses: Responses; counters: { sent: number } } }>('GET', `/v1/campaigns/${campaign.id}`)).campaign;
    expect(once.counters.sent).toBe(2);
    expect(once.responses).toMatchObject({ clicked: 1, unsubscribed: 1, converted: 0, revenue: 0 });

    // The replayed unsubscribe changes nothing; the list item carries the same responses as GET.
    expect((await oneClick()).status).toBe(200);
    await t.runtime.idle();
    const again = (await created<{ campaign: { responses: Responses } }>('GET', `/v1/campaigns/${campaign.id}`)).campaign;
    expect(again.responses.unsubscribed).toBe(1);
    const listed = (await created<{ items: Array<{ id: string; responses: Responses }> }>('GET', '/v1/campaigns')).items.find((c) => c.id === campaign.id)!;
    expect(listed.responses).toEqual(again.responses);
    // The same counts the live report reads.
    const report = (await created<{ report: { live: Responses } }>('GET', `/v1/campaigns/${campaign.id}/report`)).report.live;
    expect(report).toMatchObject(again.responses);
  }, 120_000);
});

describe('GET /v1/contacts/{id}/consents', () => {
  type ConsentItem = ConsentRecordResource;
  type ConsentPage = { items: ConsentItem[]; nextCursor?: string };

  test('a contact who gave (double opt-in), confirmed and withdrew consent: three records newest first, with their evidence, paged', async () => {
    const formId = (await created<{ form: { id: string } }>('POST', '/v1/forms', formDefinition('Consents', { doubleOptIn: true }))).form.id;
    expect((await submit(formId, { email: 'evidence@example.com', consent_email: true }, { 'user-agent': 'browser/1' })).status).toBe(200);
    await t.runtime.idle();
    const emails = ((await (await fetch(`${t.runtime.urls.ses}/store`)).json()) as { emails: Array<{ destination: { to: string[] }; body: { text?: string } }> }).emails;
    const text = emails.find((e) => e.destination.to.includes('evidence@example.com'))!.body.text ?? '';
    const link = /https?:\/\/[^\s"<]+\/f\/confirm\/[A-Za-z0-9_.-]+/.exec(text)![0];
    expect((await fetch(link, { headers: { 'user-agent': 'mail-client/2' } })).status).toBe(200);
    const withdrawn = await created<{ contact: { id: string } }>('POST', '/v1/contacts', { email: 'evidence@example.com', consent: { email: { status: 'withdrawn', wordingVersion: 'news-1' } } });
    const id = withdrawn.contact.id;

    const all = await t.api<ConsentPage>('GET', `/v1/contacts/${id}/consents`);
    expect(all.status, all.text).toBe(200);
    expect(all.body.nextCursor).toBeUndefined();
    expect(all.body.items.map((r) => [r.action, r.status, r.source])).toEqual([
      ['withdrawn', 'withdrawn', 'api'],
      ['confirmed', 'confirmed', 'confirmation'],
      ['granted', 'pending', 'form'],
    ]);
    const [withdrawal, confirmation, grant] = all.body.items as [ConsentItem, ConsentItem, ConsentItem];
    expect(grant).toMatchObject({ channel: 'email', formId, wordingVersion: 'news-1', ip: '127.0.0.1', userAgent: 'browser/1', doubleOptIn: 'pending' });
    expect(grant.wordingHash).toMatch(/^[0-9a-f]{64}$/);
    expect(confirmation).toMatchObject({ channel: 'email', ip: '127.0.0.1', userAgent: 'mail-client/2', doubleOptIn: 'confirmed' });
    expect(withdrawal).toMatchObject({ channel: 'email', wordingVersion: 'news-1', actor: 'local-marketer' });
    expect(grant.at < confirmation.at && confirmation.at < withdrawal.at).toBe(true);
    // Storage keys and the keyed address hash stay out.
    for (const key of ['sk', 'contactId', 'addressHash']) expect(all.text).not.toContain(`"${key}"`);

    // Two pages of two and one: the same records in the same order.
    const first = await t.api<ConsentPage>('GET', `/v1/contacts/${id}/consents?limit=2`);
    expect(first.body.items.map((r) => r.id)).toEqual(all.body.items.slice(0, 2).map((r) => r.id));
    const second = await t.api<ConsentPage>('GET', `/v1/contacts/${id}/consents?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((r) => r.id)).toEqual([grant.id]);
    expect(second.body.nextCursor).toBeUndefined();

    // Hostile: someone else's cursor, a tampered one, limits out of range, an unknown or malformed id.
    const other = (await created<{ contact: { id: string } }>('POST', '/v1/contacts', { email: 'evidence-other@example.com', consent: { email: { status: 'confirmed', wordingVersion: 'v1' } } })).contact.id;
    await created('POST', '/v1/contacts', { email: 'evidence-other@example.com', consent: { email: { status: 'withdrawn', wordingVersion: 'v1' } } });
    const foreign = (await t.api<ConsentPage>('GET', `/v1/contacts/${other}/consents?limit=1`)).body.nextCursor!;
    expect(foreign).toBeDefined();
    const misused = await t.api('GET', `/v1/contacts/${id}/consents?cursor=${foreign}`);
    expect([misused.status, pathsOf(misused.body)]).toEqual([400, ['query.cursor']]);
    const tampered = await t.api('GET', `/v1/contacts/${id}/consents?cursor=${first.body.nextCursor!.slice(0, -4)}AAAA`);
    expect([tampered.status, pathsOf(tampered.body)]).toEqual([400, ['query.cursor']]);
    const garbage = await t.api('GET', `/v1/contacts/${id}/consents?cursor=${Buffer.from(JSON.stringify([`consents/${id}`, 'not-a-key'])).toString('base64url')}`);
    expect([garbage.status, pathsOf(garbage.body)]).toEqual([400, ['query.cursor']]);
    for (const limit of ['0', '101', 'x']) {
      const refused = await t.api('GET', `/v1/contacts/${id}/consents?limit=${limit}`);
      expect([refused.status, pathsOf(refused.body)]).toEqual([400, ['query.limit']]);
    }
    expect((await t.api('GET', `/v1/contacts/${randomId()}/consents`)).status).toBe(404);
    const malformed = await t.api('GET', '/v1/contacts/not-an-id/consents');
    expect([malformed.status, pathsOf(malformed.body)]).toEqual([400, ['params.id']]);
    expect((await t.api('GET', `/v1/contacts/${id}/consents`, { token: null })).status).toBe(401);

    // Erasure leaves nothing under the contact's id: the anonymised records belong to a pseudonym.
    expect((await t.api('DELETE', `/v1/contacts/${id}`)).status).toBe(204);
    expect((await t.api('GET', `/v1/contacts/${id}/consents`)).status).toBe(404);
    expect((await t.api<ConsentPage>('GET', `/v1/contacts/${other}/consents`)).body.items).toHaveLength(2);
  }, 60_000);
});

describe('POST /v1/templates/render', () => {
  interface EmailPreview {
    channel: 'email';
    preview: boolean;
    subject: string;
    html: string;
    text: string;
    addedFooter: boolean;
  }
  interface SmsPreview {
    channel: 'sms';
    preview: boolean;
    body: string;
    segments: { encoding: string; characters: number; segments: number; perSegment: number };
    addedOptOut: boolean;
  }
  const draft = {
    channel: 'email',
    name: 'Draft',
    subject: 'Hi {{default contact.firstName "there"}}',
    html: '<p>Hello {{contact.firstName}} {{contact.lastName}} <a href="https://shop.example.com/sale">sale</a> <a href="{{unsubscribeUrl}}">leave</a></p>',
    text: 'Hello {{contact.firstName}} {{unsubscribeUrl}}',
  };

  test('a draft renders for sample data or a contact exactly as the saved template does, inert, and saves nothing', async () => {
    const contact = (await created<{ contact: { id: string } }>('POST', '/v1/contacts', { email: 'draft-reader@example.com', attributes: { firstName: 'Ada', lastName: 'Lovelace' } })).contact.id;
    const before = (await created<{ items: unknown[] }>('GET', '/v1/templates')).items.length;

    const sample = await t.api<EmailPreview>('POST', '/v1/templates/render', { body: draft });
    expect(sample.status, sample.text).toBe(200);
    expect(sample.body).toMatchObject({ channel: 'email', preview: true, subject: 'Hi Sam' });
    expect(sample.body.html).toContain('Hello Sam Sample');

    const forContact = await t.api<EmailPreview>('POST', '/v1/templates/render', { body: { ...draft, contactId: contact } });
    expect(forContact.status, forContact.text).toBe(200);
    expect(forContact.body.subject).toBe('Hi Ada');
    const own = [...`${forContact.body.html} ${forContact.body.text}`.matchAll(/https?:\/\/[^\s"<]+/g)].map((m) => m[0]).filter((l) => l.startsWith(t.runtime.urls.api));
    expect(own.length).toBeGreaterThan(0);
    for (const link of own) expect(link).toBe(`${t.runtime.urls.api}/u/preview`);

    // The draft, once saved, previews the same; and a name is not needed to preview.
    const saved = (await created<{ template: { id: string } }>('POST', '/v1/templates', draft)).template.id;
    const savedPreview = await t.api<EmailPreview>('POST', `/v1/templates/${saved}/render`, { body: { contactId: contact } });
    expect(savedPreview.body).toEqual(forContact.body);
    const { name: _name, ...unnamed } = draft;
    expect((await t.api<EmailPreview>('POST', '/v1/templates/render', { body: { ...unnamed, contactId: contact } })).body).toEqual(forContact.body);
    expect((await created<{ items: unknown[] }>('GET', '/v1/templates')).items.length).toBe(before + 1);

    // Transactional: left as written, no footer added.
    const transactional = await t.api<EmailPreview>('POST', '/v1/templates/render', { body: { ...draft, html: '<p>Receipt</p>', marketing: false } });
    expect(transactional.body).toMatchObject({ html: '<p>Receipt</p>', addedFooter: false });
  });

  test('each edit of a draft renders its own content (no preview reuses another draft\u2019s compiled parts)', async () => {
    const outputs: string[] = [];
    for (const word of ['one', 'two', 'three']) {
      const response = await t.api<EmailPreview>('POST', '/v1/templates/render', { body: { ...draft, subject: `Draft ${word} {{contact.firstName}}` } });
      outputs.push(response.body.subject);
    }
    expect(outputs).toEqual(['Draft one Sam', 'Draft two Sam', 'Draft three Sam']);
  });

  test('an SMS draft answers its rendered body with its segment count', async () => {
    const plain = await t.api<SmsPreview>('POST', '/v1/templates/render', { body: { channel: 'sms', body: 'Hi {{contact.firstName}}, sale today' } });
    expect(plain.status, plain.text).toBe(200);
    expect(plain.body).toMatchObject({ channel: 'sms', preview: true, body: 'Hi Sam, sale today\nReply STOP to opt out', addedOptOut: true });
    expect(plain.body.segments).toEqual({ encoding: 'GSM-7', characters: plain.body.body.length, segments: 1, perSegment: 160 });
    const emoji = await t.api<SmsPreview>('POST', '/v1/templates/render', { body: { channel: 'sms', body: `Hi {{contact.firstName}} 🎉 ${'x'.repeat(70)}`, marketing: false } });
    expect(emoji.body.segments).toMatchObject({ encoding: 'UCS-2', segments: 2, perSegment: 67 });
  });

  test('a broken draft is a 400 at its field; an unknown contact a 404 at contactId; without a token a 401', async () => {
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ ...draft, html: '<p>{{#if contact.firstName}}unclosed</p>' }, ['html']],
      [{ ...draft, html: '<p>{{{contact.firstName}}}</p>' }, ['html']],
      [{ ...draft, subject: '{{> partial}}', text: '{{log "x"}}' }, ['subject', 'text']],
      [{ ...draft, subject: 'two\nlines' }, ['subject']],
      [{ ...draft, contactId: 'nope' }, ['contactId']],
      [{ ...draft, campaignId: 'x' }, ['campaignId']],
      [{ channel: 'sms', body: '{{#each}}' }, ['body']],
      [{ channel: 'sms', body: 'x'.repeat(1601) }, ['body']],
      [{ channel: 'push', body: 'x' }, ['channel']],
    ];
    for (const [body, paths] of cases) {
      const response = await t.api('POST', '/v1/templates/render', { body });
      expect([response.status, pathsOf(response.body).sort()], JSON.stringify(body)).toEqual([400, paths]);
    }
    const parseError = await t.api<ErrorBody>('POST', '/v1/templates/render', { body: { ...draft, html: '<p>{{contact.firstName</p>' } });
    expect(parseError.body.error.issues![0]!.message).toMatch(/Parse error/);

    const unknown = await t.api<ErrorBody>('POST', '/v1/templates/render', { body: { ...draft, contactId: randomId() } });
    expect([unknown.status, unknown.body.error.code, pathsOf(unknown.body)]).toEqual([404, 'not_found', ['contactId']]);
    expect((await t.api('POST', '/v1/templates/render', { body: draft, token: null })).status).toBe(401);
  });
});

describe('GET /v1/forms/{id}/submissions', () => {
  type Submission = FormSubmissionResource;
  type SubmissionPage = { items: Submission[]; nextCursor?: string };
  const list = (formId: string, query = '') => t.api<SubmissionPage>('GET', `/v1/forms/${formId}/submissions${query}`);
  const newForm = async (name: string) => (await created<{ form: { id: string } }>('POST', '/v1/forms', formDefinition(name))).form.id;

  test('three submissions to A and one to B: A lists its three newest first with what they recorded, pages by two, filters by time', async () => {
    const [a, b] = [await newForm('Submissions A'), await newForm('Submissions B')];
    const origins: Array<Record<string, string>> = [{}, { origin: 'https://shop.example.com' }, {}];
    for (const [i, headers] of origins.entries()) {
      expect((await submit(a, { email: `sub-a${i}@example.com`, first_name: `A${i}`, consent_email: true }, headers)).status).toBe(200);
    }
    expect((await submit(b, { email: 'sub-b@example.com', consent_email: true })).status).toBe(200);

    const all = await list(a);
    expect(all.status, all.text).toBe(200);
    expect(all.body.nextCursor).toBeUndefined();
    expect(all.body.items.map((s) => s.fields.email)).toEqual(['sub-a2@example.com', 'sub-a1@example.com', 'sub-a0@example.com']);
    const [newest, middle, oldest] = all.body.items as [Submission, Submission, Submission];
    expect(newest.at > middle.at && middle.at > oldest.at).toBe(true);
    expect(middle).toMatchObject({ created: true, origin: 'https://shop.example.com', fields: { email: 'sub-a1@example.com', attributes: { firstName: 'A1' }, tags: [] } });
    expect(Object.keys(middle.fields).sort()).toEqual(['attributes', 'email', 'tags']);
    const contact = (await created<{ items: Array<{ id: string }> }>('GET', '/v1/contacts?email=sub-a1@example.com')).items[0]!.id;
    expect(middle.contactId).toBe(contact);
    // The submission id is the timeline entry's.
    const timeline = await created<{ items: Array<{ id: string; type: string }> }>('GET', `/v1/contacts/${contact}/timeline`);
    expect(timeline.items.find((e) => e.type === 'form_submitted')!.id).toBe(middle.submissionId);
    expect((await list(b)).body.items.map((s) => s.fields.email)).toEqual(['sub-b@example.com']);

    const first = await list(a, '?limit=2');
    expect(first.body.items.map((s) => s.submissionId)).toEqual([newest.submissionId, middle.submissionId]);
    const second = await list(a, `?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((s) => s.submissionId)).toEqual([oldest.submissionId]);
    expect(second.body.nextCursor).toBeUndefined();

    // Time range, inclusive, any offset.
    expect((await list(a, `?from=${encodeURIComponent(middle.at)}`)).body.items.map((s) => s.submissionId)).toEqual([newest.submissionId, middle.submissionId]);
    expect((await list(a, `?to=${encodeURIComponent(middle.at)}`)).body.items.map((s) => s.submissionId)).toEqual([middle.submissionId, oldest.submissionId]);
    const shifted = new Date(middle.at).toISOString().replace('Z', '+00:00');
    expect((await list(a, `?from=${encodeURIComponent(shifted)}&to=${encodeURIComponent(shifted)}`)).body.items.map((s) => s.submissionId)).toEqual([middle.submissionId]);

    // Hostile: B's cursor on A, a tampered cursor, a cursor outside the range asked for, bad bounds and limits, unknown and malformed ids, no token.
    const foreign = (await list(b, '?limit=1')).body.nextCursor!;
    expect(foreign).toBeDefined();
    const refusals: Array<[string, string[]]> = [
      [`?cursor=${foreign}`, ['query.cursor']],
      [`?cursor=${first.body.nextCursor!.slice(0, -4)}AAAA`, ['query.cursor']],
      [`?cursor=${Buffer.from(JSON.stringify([`submissions/${a}`, middle.at, 'not-a-contact', `${middle.at}#x`])).toString('base64url')}`, ['query.cursor']],
      [`?cursor=${first.body.nextCursor}&to=${encodeURIComponent(oldest.at)}`, ['query.cursor']],
      [`?from=${encodeURIComponent(newest.at)}&to=${encodeURIComponent(oldest.at)}`, ['query.to']],
      ['?from=yesterday', ['query.from']],
      ['?limit=101', ['query.limit']],
      ['?limit=0', ['query.limit']],
    ];
    for (const [query, paths] of refusals) {
      const refused = await list(a, query);
      expect([refused.status, pathsOf(refused.body)], query).toEqual([400, paths]);
    }
    expect((await list(randomId())).status).toBe(404);
    const malformed = await t.api('GET', '/v1/forms/nope/submissions');
    expect([malformed.status, pathsOf(malformed.body)]).toEqual([400, ['params.id']]);
    expect((await t.api('GET', `/v1/forms/${a}/submissions`, { token: null })).status).toBe(401);
  });

  test('a known address submitting again holds its changes (pending, then applied); an erased person\u2019s submissions leave the list', async () => {
    const c = await newForm('Submissions C');
    expect((await submit(c, { email: 'sub-held@example.com', first_name: 'Held', consent_email: true })).status).toBe(200);
    expect((await submit(c, { email: 'sub-held@example.com', first_name: 'Changed', consent_email: true })).status).toBe(200);
    const [again, first] = (await list(c)).body.items as [Submission, Submission];
    expect(first).toMatchObject({ created: true, fields: { attributes: { firstName: 'Held' } } });
    expect(first.held).toBeUndefined();
    expect(again).toMatchObject({ created: false, held: 'pending', contactId: first.contactId, fields: { attributes: { firstName: 'Changed' } } });

    const applied = await t.api('POST', `/v1/contacts/${again.contactId}/submissions/${again.submissionId}/apply`);
    expect(applied.status, applied.text).toBe(200);
    expect((await list(c)).body.items.map((s) => s.held)).toEqual(['applied', undefined]);

    expect((await t.api('DELETE', `/v1/contacts/${first.contactId}`)).status).toBe(204);
    expect((await list(c)).body).toEqual({ items: [] });
  });
});
