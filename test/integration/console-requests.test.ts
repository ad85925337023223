/**
 * The requests the console's Contacts, Templates, Forms and Sites pages build from what a marketer
 * typed, sent to the real API: the API accepts what the pages send, refuses what they refuse at
 * the same paths (so the browser's errors and the API's land beside the same control), and a
 * duplicated form is the same form under a new name.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { lookupQuery } from '../../console/src/pages/contacts/lookup.ts';
import { checkForm, draftOf, EMPTY_FORM, embedSnippet, formBody, newField, type FormDraft, type SavedForm } from '../../console/src/pages/forms/model.ts';
import { draftOf as siteDraftOf, EMPTY_SITE, siteBody, type SiteView } from '../../console/src/pages/sites/types.ts';
import { draftIssues, EMPTY, templateBody } from '../../console/src/pages/templates/model.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => {
  await t?.stop();
});

type ErrorAnswer = { error: { issues: Array<{ path: string; message: string }> } };
const paths = (issues: Array<{ path: string }>) => [...new Set(issues.map((i) => i.path))].sort();

describe('forms', () => {
  // A marketer's mistakes: a field name with a space and a select without options, an http origin,
  // email consent wording without its version, double opt-in.
  const mistaken = (): FormDraft => ({
    ...EMPTY_FORM,
    name: 'Spring',
    fields: [newField('email'), { ...newField('select'), name: 'Bad Name' }],
    allowedOrigins: 'https://ok.example.com\nhttp://shop.example.com',
    emailConsentText: 'Send me offers',
    doubleOptIn: true,
  });

  test('the browser check and the API refuse a form at the same paths, and nothing is created', async () => {
    const body = formBody(mistaken());
    const browser = checkForm(body);
    const api = await t.api<ErrorAnswer>('POST', '/v1/forms', { body });
    expect(api.status).toBe(400);
    expect(paths(browser)).toEqual(['allowedOrigins[1]', 'consent.email.version', 'fields[1].name', 'fields[1].options']);
    expect(paths(browser)).toEqual(paths(api.body.error.issues));
    const list = await t.api<{ items: unknown[] }>('GET', '/v1/forms');
    expect(list.body.items).toEqual([]);
  });

  test('what the browser accepts, the API creates; "Duplicate" makes the same form under a new name', async () => {
    const draft: FormDraft = {
      ...mistaken(),
      fields: [newField('email'), { ...newField('select'), name: 'plan', label: 'Plan', options: 'free\npro', attribute: 'planChoice' }, { ...newField('text'), name: 'first_name', maxLength: '80' }, newField('phone')],
      allowedOrigins: 'https://ok.example.com',
      emailConsentVersion: '2026-12',
      smsConsentText: 'Texts too',
      smsConsentVersion: 's1',
      defaultCountry: 'gb',
      tags: 'spring, newsletter',
      captchaProvider: 'turnstile',
      captchaSiteKey: 'key-1',
      perIpPerMinute: '5',
      redirectUrl: 'https://ok.example.com/thanks',
      submitLabel: 'Join',
    };
    expect(checkForm(formBody(draft))).toEqual([]);
    const created = await t.api<{ form: SavedForm; links: { embed: string } }>('POST', '/v1/forms', { body: formBody(draft) });
    expect(created.status).toBe(201);
    const original = created.body.form;

    const duplicate = draftOf(original);
    expect(duplicate.name).toBe('Copy of Spring');
    const copy = await t.api<{ form: SavedForm }>('POST', '/v1/forms', { body: formBody(duplicate) });
    expect(copy.status).toBe(201);
    const strip = ({ id: _id, name: _name, createdAt: _c, updatedAt: _u, ...rest }: SavedForm) => rest;
    expect(copy.body.form.id).not.toBe(original.id);
    expect(strip(copy.body.form)).toEqual(strip(original));

    // The snippet frames the API's own embed page, which serves the form.
    const snippet = embedSnippet(created.body.links.embed, 'Spring "sale" <b>');
    expect(snippet).toContain(`src="${created.body.links.embed}"`);
    expect(snippet).toContain('title="Spring &quot;sale&quot; &lt;b>"');
    const embed = await fetch(created.body.links.embed);
    expect(embed.status).toBe(200);
    expect(await embed.text()).toContain('Texts too');
  });
});

describe('templates', () => {
  test('an empty draft: the browser names the fields the API names, per channel', async () => {
    for (const channel of ['email', 'sms'] as const) {
      const draft = { ...EMPTY, channel };
      const api = await t.api<ErrorAnswer>('POST', '/v1/templates', { body: templateBody(draft) });
      expect(api.status).toBe(400);
      expect(paths(draftIssues(draft))).toEqual(paths(api.body.error.issues));
    }
  });

  test('a subject with a line break is refused by both at subject', async () => {
    const draft = { ...EMPTY, name: 'x', subject: 'a\nb', html: '<p>x</p>', text: 'x' };
    expect(paths(draftIssues(draft))).toEqual(['subject']);
    const api = await t.api<ErrorAnswer>('POST', '/v1/templates', { body: templateBody(draft) });
    expect(paths(api.body.error.issues)).toEqual(['subject']);
  });

  test('switching channel keeps the other fields in the draft but sends only the channel\'s', async () => {
    const draft = { ...EMPTY, channel: 'sms' as const, name: ' Hi ', subject: 'left over', html: '<p>x</p>', text: 'x', body: 'Hi {{contact.firstName}}' };
    expect(draftIssues(draft)).toEqual([]);
    const saved = await t.api<{ template: { id: string; channel: string; name: string; body: string } }>('POST', '/v1/templates', { body: templateBody(draft) });
    expect(saved.status).toBe(201);
    expect(saved.body.template).toMatchObject({ channel: 'sms', name: 'Hi', body: 'Hi {{contact.firstName}}' });
    expect(saved.body.template).not.toHaveProperty('subject');
  });
});

describe('sites', () => {
  test('create, then clearing the event names lifts the restriction; a bad origin is refused at its line', async () => {
    const bad = await t.api<ErrorAnswer>('POST', '/v1/sites', { body: siteBody({ ...EMPTY_SITE, name: 'Shop', allowedOrigins: 'https://a.example.com\nftp://b' }, false) });
    expect(bad.status).toBe(400);
    expect(paths(bad.body.error.issues)).toEqual(['allowedOrigins[1]']);

    const created = await t.api<SiteView>('POST', '/v1/sites', { body: siteBody({ ...EMPTY_SITE, name: 'Shop', allowedOrigins: 'https://a.example.com', eventNames: 'purchase, signup' }, false) });
    expect(created.status).toBe(201);
    expect(created.body.site.eventNames).toEqual(['purchase', 'signup']);
    const draft = { ...siteDraftOf(created.body.site), eventNames: ' ', perIpPerMinute: '7' };
    const patched = await t.api<SiteView>('PATCH', `/v1/sites/${created.body.site.id}`, { body: siteBody(draft, true) });
    expect(patched.status).toBe(200);
    expect(patched.body.site.eventNames).toBeUndefined();
    expect(patched.body.site.rateLimit).toEqual({ perIpPerMinute: 7, perSitePerMinute: 3000 });

    const notNumber = await t.api<ErrorAnswer>('PATCH', `/v1/sites/${created.body.site.id}`, { body: siteBody({ ...draft, perSitePerMinute: 'lots' }, true) });
    expect(notNumber.status).toBe(400);
    expect(paths(notNumber.body.error.issues)).toEqual(['rateLimit.perSitePerMinute']);
  });
});

describe('contact search', () => {
  test('the search box finds a contact by email in any case, or by a local number with its country; a stranger\'s address finds nothing', async () => {
    const created = await t.api<{ contact: { id: string } }>('POST', '/v1/contacts', { body: { email: 'ada@example.com', phone: '+447400123456' } });
    expect(created.status).toBe(201);
    const id = created.body.contact.id;
    const find = (term: string, country = '') => t.api<{ items: Array<{ id: string }> }>('GET', `/v1/contacts?${new URLSearchParams(lookupQuery(term, country))}`);
    expect((await find(' Ada@Example.com ')).body.items.map((c) => c.id)).toEqual([id]);
    expect((await find('07400 123456', 'GB')).body.items.map((c) => c.id)).toEqual([id]);
    expect((await find('+44 7400 123456')).body.items.map((c) => c.id)).toEqual([id]);
    expect((await find('someone@example.com')).body.items).toEqual([]);
    const bad = await find('07400 123456');
    expect(bad.status).toBe(400);
    expect(paths((bad.body as unknown as ErrorAnswer).error.issues)).toEqual(['query.phone']);
  });
});
