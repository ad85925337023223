/**
 * Public answers show the model, not the storage: contact, contact list, timeline and campaign
 * responses have their documented fields and none of the storage's bookkeeping (behaviour
 * counter keys, the months that hold them, versions, sort and index keys, the launch fan-out,
 * the forecast's running sums, run lists).
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

const STORAGE = ['activityMonths', '"version"', '"sk"', 'typeDay', 'fanout', 'forecastSums', 'runIds', '|c:', '|email|', '"suppressed":[', '"contactId"'];
const CONTACT_FIELDS = ['attributes', 'behaviour', 'consent', 'createdAt', 'email', 'id', 'scores', 'tags', 'updatedAt'];

test('contact, list, timeline and campaign answers carry their documented fields and no storage keys', async () => {
  const created = await t.api<{ contact: { id: string } }>('POST', '/v1/contacts', { body: { email: 'shape@example.com', tags: ['shape'], consent: { email: { status: 'confirmed', wordingVersion: 'v1' } } } });
  const id = created.body.contact.id;
  const template = (await t.api<{ template: { id: string } }>('POST', '/v1/templates', { body: { channel: 'email', name: 'S', subject: 'Hi', html: '<html><body><a href="https://shop.example.com">x</a></body></html>', text: 'x' } })).body.template.id;
  const segment = (await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name: 'S', rule: { field: 'tags', op: 'contains', value: 'shape' } } })).body.segment.id;
  const campaign = (
    await t.api<{ campaign: { id: string } }>('POST', '/v1/campaigns', {
      body: { name: 'S', segmentId: segment, channels: ['email'], variants: [{ name: 'A', weight: 1, templates: { email: template } }], holdoutPercent: 0, schedule: { type: 'immediate' }, goal: { event: 'purchase', attributionWindowDays: 7, model: 'last_touch' } },
    })
  ).body.campaign.id;
  await t.api('POST', `/v1/campaigns/${campaign}/launch`);
  await t.runtime.idle(60_000);
  // A click on the tracked link gives the contact behaviour counters (storage keys like "clicked|c:<campaign>|<hour>").
  const store = (await (await fetch(`${t.runtime.urls.ses}/store`)).json()) as { emails: Array<{ destination: { to: string[] }; body: { html: string } }> };
  const html = store.emails.find((e) => e.destination.to.includes('shape@example.com'))!.body.html;
  await fetch(/href="([^"]+\/t\/c\/[^"]+)"/.exec(html)![1]!, { redirect: 'manual' });
  await t.runtime.idle();

  const answers = {
    view: await t.api<{ contact: Record<string, unknown> }>('GET', `/v1/contacts/${id}`),
    lookup: await t.api<{ items: Array<Record<string, unknown>> }>('GET', '/v1/contacts?email=shape@example.com'),
    list: await t.api<{ items: Array<Record<string, unknown>> }>('GET', '/v1/contacts?limit=10'),
    timeline: await t.api<{ items: Array<Record<string, unknown>> }>('GET', `/v1/contacts/${id}/timeline`),
    campaign: await t.api<{ campaign: Record<string, unknown> }>('GET', `/v1/campaigns/${campaign}`),
    campaigns: await t.api<{ items: Array<Record<string, unknown>> }>('GET', '/v1/campaigns'),
  };
  for (const [name, answer] of Object.entries(answers)) {
    expect(answer.status, name).toBe(200);
    for (const key of STORAGE) expect(answer.text, `${name} holds ${key}`).not.toContain(key);
  }
  expect(Object.keys(answers.view.body.contact).sort()).toEqual(CONTACT_FIELDS);
  expect(answers.view.body.contact.behaviour).toMatchObject({ last30Days: { email: { sent: 1, clicked: 1 } } });
  expect(Object.keys(answers.lookup.body.items[0]!).sort()).toEqual(CONTACT_FIELDS.filter((f) => f !== 'behaviour'));
  const clicked = answers.timeline.body.items.find((i) => i.type === 'clicked')!;
  expect(Object.keys(clicked).sort()).toEqual(['campaignId', 'channel', 'data', 'id', 'occurredAt', 'recordedAt', 'sendId', 'type']);
  expect(Object.keys(answers.campaign.body.campaign).sort()).toEqual(
    ['channels', 'completedAt', 'costPerMessage', 'counters', 'createdAt', 'createdBy', 'forecast', 'forecastModel', 'goal', 'holdoutPercent', 'id', 'launchedAt', 'limits', 'marketing', 'name', 'responses', 'runId', 'schedule', 'segmentId', 'segmentVersion', 'spent', 'status', 'updatedAt', 'variants'].sort(),
  );
}, 120_000);
