/**
 * The API pieces the marketers' console reads (docs/console-design.md, "Pages, routes, gaps"):
 * a campaign's live responses on the campaign itself, a contact's consent evidence, a preview of
 * an unsaved template, and a form's submissions. Each through the local runtime, with the hostile
 * versions: replays that must not count twice, unknown ids, tampered and foreign cursors.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
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
