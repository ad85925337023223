/**
 * Template previews of a real contact are inert: following every link in the preview, as a
 * marketer clicking around would, changes nothing about the contact.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => {
  await t?.stop();
});

interface ContactView {
  contact: { id: string; consent: Record<string, { status: string } | undefined> };
  reachable: { email: boolean; sms: boolean };
}

test('a preview carries a marked preview unsubscribe link and no live token; clicking it and POSTing it (one-click) unsubscribes no one', async () => {
  const contact = await t.api<ContactView>('POST', '/v1/contacts', {
    body: { email: 'preview-me@example.com', phone: '+447400300001', consent: { email: { status: 'confirmed', wordingVersion: 'v1' }, sms: { status: 'confirmed', wordingVersion: 'v1' } } },
  });
  const id = contact.body.contact.id;
  const email = await t.api<{ template: { id: string } }>('POST', '/v1/templates', {
    body: { channel: 'email', name: 'Preview', subject: 'Hi {{contact.firstName}}', html: '<p>Hello <a href="https://shop.example.com/sale">sale</a> <a href="{{unsubscribeUrl}}">leave</a></p>', text: 'Hello {{unsubscribeUrl}}' },
  });
  const sms = await t.api<{ template: { id: string } }>('POST', '/v1/templates', { body: { channel: 'sms', name: 'Preview SMS', body: 'Sale today {{unsubscribeUrl}}' } });

  const renderedEmail = await t.api<{ html: string; text: string; preview: boolean }>('POST', `/v1/templates/${email.body.template.id}/render`, { body: { contactId: id } });
  const renderedSms = await t.api<{ body: string; preview: boolean }>('POST', `/v1/templates/${sms.body.template.id}/render`, { body: { contactId: id } });
  expect(renderedEmail.status).toBe(200);
  expect(renderedEmail.body.preview).toBe(true);
  const links = [...`${renderedEmail.body.html} ${renderedEmail.body.text} ${renderedSms.body.body}`.matchAll(/https?:\/\/[^\s"<]+/g)].map((m) => m[0]);
  const own = links.filter((l) => l.startsWith(t.runtime.urls.api));
  expect(own.length).toBeGreaterThan(0);
  // No signed token (payload.mac) and no tracking redirect anywhere in the preview.
  for (const link of own) {
    expect(link).toBe(`${t.runtime.urls.api}/u/preview`);
    expect(link).not.toMatch(/\/t\/[co]\//);
  }
  expect(links).toContain('https://shop.example.com/sale');

  for (const link of own) {
    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('preview');
    const oneClick = await fetch(link, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(oneClick.status).toBe(200);
  }
  await t.runtime.idle();
  const after = await t.api<ContactView>('GET', `/v1/contacts/${id}`);
  expect(after.body.contact.consent.email?.status).toBe('confirmed');
  expect(after.body.contact.consent.sms?.status).toBe('confirmed');
  expect(after.body.reachable).toEqual({ email: true, sms: true });
});
