/**
 * Erasure leaves nothing that links back: after a person with a full history (form consent,
 * a campaign email they opened and clicked, an imported past campaign in which they were in the
 * holdout, a conversion with the client's own order number, an unsubscribe, lead points) is
 * erased, no item in any table holds their contact id, an address, or the client's key in clear,
 * while the campaigns' counts stay as they were.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => {
  await t?.stop();
});

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

/** Sets (DynamoDB string sets) as sorted arrays, so JSON shows them. */
const json = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (v instanceof Set ? [...v].sort() : v));

test('after DELETE /v1/contacts/{id} no table holds the contact id, an address or a client idempotency key; campaign counts are kept', async () => {
  const email = 'whole.life@example.com';
  const phone = '+447400444001';
  const orderKey = 'ORDER-SECRET-4711';
  const form = await t.api<{ form: { id: string } }>('POST', '/v1/forms', {
    body: {
      name: 'Erasure',
      fields: [
        { name: 'email', type: 'email', required: true },
        { name: 'phone', type: 'phone' },
      ],
      consent: { email: { text: 'Email me', version: 'e1' }, sms: { text: 'Text me', version: 'e1' } },
      tags: ['erasure'],
      defaultCountry: 'GB',
      rateLimit: { perIpPerMinute: 1000, perFormPerMinute: 1000 },
    },
  });
  expect((await t.api('POST', `/f/${form.body.form.id}`, { token: null, body: { email, phone, consent_email: true, consent_sms: true } })).status).toBe(200);
  // Others in the same campaigns, so the counts have something to keep.
  for (let i = 0; i < 3; i++) await t.api('POST', '/v1/contacts', { body: { email: `other${i}@example.com`, tags: ['erasure'], consent: { email: { status: 'confirmed', wordingVersion: 'e1' } } } });
  await t.runtime.idle();
  const id = (await t.api<{ items: Array<{ id: string }> }>('GET', `/v1/contacts?email=${email}`)).body.items[0]!.id;

  // A campaign email, opened and clicked through the real endpoints.
  const template = (await t.api<{ template: { id: string } }>('POST', '/v1/templates', { body: { channel: 'email', name: 'E', subject: 'Hi', html: '<html><body><a href="https://shop.example.com/x">x</a></body></html>', text: 'x' } })).body.template.id;
  const segment = (await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name: 'E', rule: { field: 'tags', op: 'contains', value: 'erasure' } } })).body.segment.id;
  const campaign = (
    await t.api<{ campaign: { id: string } }>('POST', '/v1/campaigns', {
      body: { name: 'E', segmentId: segment, channels: ['email'], variants: [{ name: 'A', weight: 1, templates: { email: template } }], holdoutPercent: 0, schedule: { type: 'immediate' }, goal: { event: 'purchase', attributionWindowDays: 7, model: 'last_touch' } },
    })
  ).body.campaign.id;
  expect((await t.api('POST', `/v1/campaigns/${campaign}/launch`)).status).toBeLessThan(300);
  await t.runtime.idle(60_000);
  const store = (await (await fetch(`${t.runtime.urls.ses}/store`)).json()) as { emails: Array<{ destination: { to: string[] }; body: { html: string } }> };
  const mine = store.emails.find((e) => e.destination.to.includes(email) && e.body.html.includes('/t/c/'))!;
  expect(mine).toBeDefined();
  await fetch(/src="([^"]+\/t\/o\/[^"]+)"/.exec(mine.body.html)![1]!);
  expect((await fetch(/href="([^"]+\/t\/c\/[^"]+)"/.exec(mine.body.html)![1]!, { redirect: 'manual' })).status).toBe(302);

  // A conversion with the client's own order number, and a past campaign where the person was in the holdout.
  expect((await t.api('POST', '/v1/events', { body: { contactId: id, name: 'purchase', value: 12, occurredAt: new Date().toISOString(), idempotencyKey: orderKey } })).status).toBe(201);
  const launched = new Date(Date.now() - 10 * 86_400_000).toISOString();
  const imported = await t.api<{ campaignId: string }>('POST', '/v1/campaigns/import', {
    body: {
      campaign: { externalId: 'erasure-history', name: 'Past', launchedAt: launched, goal: { event: 'purchase', attributionWindowDays: 7, model: 'last_touch' }, costPerMessage: { email: 0.001 } },
      sends: [
        { contact: { email }, channel: 'email', sentAt: launched, holdout: true, variant: 'A' },
        { contact: { email: 'other0@example.com' }, channel: 'email', sentAt: launched, holdout: false, variant: 'A' },
      ],
      interactions: [],
      conversions: [],
    },
  });
  expect(imported.status, imported.text).toBe(201);

  // Then the one-click unsubscribe from the campaign email.
  const unsubscribe = /href="([^"]+\/u\/[^"]+)"/.exec(mine.body.html)![1]!;
  expect((await fetch(unsubscribe, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(200);
  await t.runtime.idle();

  // The id really was everywhere before (so the search below is not vacuous).
  const before = await scanAll();
  const holding = (tables: typeof before, needle: string) =>
    Object.entries(tables)
      .filter(([, items]) => items.some((item) => json(item).includes(needle)))
      .map(([name]) => name)
      .sort();
  expect(holding(before, id)).toEqual(expect.arrayContaining(['consents', 'contactLookups', 'contacts', 'interactions', 'sends', 'activity']));
  const countsBefore = (await t.api<{ campaign: { counters: Record<string, unknown> } }>('GET', `/v1/campaigns/${campaign}`)).body.campaign.counters;
  const sendsBefore = before.sends!.length;

  expect((await t.api('DELETE', `/v1/contacts/${id}`)).status).toBe(204);
  await t.runtime.idle();

  const after = await scanAll();
  for (const needle of [id, email, phone, 'whole.life', orderKey]) expect(holding(after, needle), needle).toEqual([]);
  // The history is still there, under a pseudonym: consent proof, timeline entries and send records (the holdout one too).
  const pseudonyms = new Set(after.consents!.filter((r) => String(r.contactId).startsWith('erased#')).map((r) => String(r.contactId)));
  expect(pseudonyms.size).toBe(1);
  const [pseudonym] = [...pseudonyms];
  expect(after.interactions!.filter((i) => i.contactId === pseudonym).length).toBeGreaterThan(3);
  expect(after.sends!.filter((s) => s.contactId === pseudonym).map((s) => s.status).sort()).toEqual(['holdout', 'sent']);
  expect(after.sends!.length).toBe(sendsBefore);
  expect((await t.api<{ campaign: { counters: Record<string, unknown> } }>('GET', `/v1/campaigns/${campaign}`)).body.campaign.counters).toEqual(countsBefore);
}, 120_000);
