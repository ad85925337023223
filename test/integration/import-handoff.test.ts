import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { topology } from '../../infra/topology.ts';
import type { Topology } from '../../infra/topology-types.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

/**
 * The synchronous import routes hand a body they cannot finish in time over to an import job
 * (202), keeping 8 s back. Here both routes get 5 s instead of 29 s, so they hand over before
 * writing a row, whatever the machine's speed (a route that wrote some rows first is the
 * replay the 50,000-row job and the contact and history replay tests cover).
 */
const short = (name: 'contacts-api' | 'history-import', timeoutSeconds: number): Topology['functions'][string] => ({ ...topology.functions[name], timeoutSeconds });
let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime({ topology: { ...topology, functions: { ...topology.functions, 'contacts-api': short('contacts-api', 5), 'history-import': short('history-import', 5) } } });
});
afterAll(async () => {
  await t?.stop();
});

interface Job {
  status: string;
  rows: { total: number; done: number };
  summary: { created: number; updated: number; unchanged: number; failed: number };
}

describe('synchronous imports that run out of time become jobs', () => {
  test('10,000 contacts: 202 with the job; the job completes with every row created once', async () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => `late${i}@example.org,${i}`);
    const response = await t.api<{ job: { id: string; status: string; url: string } }>('POST', '/v1/contacts/import', { rawBody: `email,n\n${rows.join('\n')}\n`, headers: { 'content-type': 'text/csv' } });
    expect(response.status, response.text).toBe(202);
    expect(response.body.job.url).toBe(`${t.runtime.urls.api}/v1/imports/${response.body.job.id}`);
    await t.runtime.idle(600_000);
    const job = await t.api<{ job: Job }>('GET', `/v1/imports/${response.body.job.id}`);
    expect(job.body.job).toMatchObject({ status: 'completed', rows: { total: 10_000, done: 10_000 }, summary: { created: 10_000, updated: 0, unchanged: 0, failed: 0 } });
    const last = await t.api<{ items: Array<{ attributes: Record<string, unknown> }> }>('GET', '/v1/contacts?email=late9999@example.org');
    expect(last.body.items[0]?.attributes.n).toBe('9999');
  }, 900_000);

  test('a long history: 202 with the job; the campaign counts each send once and its visits reach the timelines; the same request again answers with the same job', async () => {
    const contacts = Array.from({ length: 3_000 }, (_, i) => `hist${i}@example.org`);
    const imported = await t.api('POST', '/v1/contacts/import', { rawBody: `email\n${contacts.slice(0, 500).join('\n')}\n`, headers: { 'content-type': 'text/csv' } });
    expect([200, 202]).toContain(imported.status);
    await t.runtime.idle(600_000);
    const sentAt = new Date(Date.now() - 5 * 86_400_000).toISOString();
    const body = {
      campaign: { externalId: 'handoff-1', name: 'Handed over', launchedAt: sentAt, goal: { event: 'purchase', attributionWindowDays: 7, model: 'last_touch' } },
      sends: contacts.slice(0, 500).flatMap((email, i) => [{ contact: { email }, channel: 'email', sentAt, holdout: i % 10 === 0 }]),
      interactions: contacts.slice(0, 500).flatMap((email) => Array.from({ length: 12 }, (_, k) => ({ contact: { email }, type: 'opened', occurredAt: new Date(Date.parse(sentAt) + (k + 1) * 60_000).toISOString() }))),
      // Site visits travel to the job as {"event": …} lines, for held-out contacts (hist0, hist10, …) as for the others.
      events: contacts.slice(0, 100).map((email) => ({ type: 'visit', contact: { email }, occurredAt: new Date(Date.parse(sentAt) + 3_600_000).toISOString(), url: 'https://shop.example.com/' })),
    };
    const first = await t.api<{ job?: { id: string } }>('POST', '/v1/campaigns/import', { body });
    expect(first.status, first.text).toBe(202);
    const again = await t.api<{ job?: { id: string } }>('POST', '/v1/campaigns/import', { body });
    expect(again.status).toBe(202);
    expect(again.body.job!.id).toBe(first.body.job!.id);
    await t.runtime.idle(600_000);
    const job = await t.api<{ job: Job }>('GET', `/v1/imports/${first.body.job!.id}`);
    expect(job.body.job).toMatchObject({ status: 'completed', rows: { total: 6_600, done: 6_600 } });
    const campaigns = await t.api<{ items: Array<{ name: string; counters: { targeted: number; sent: number; holdout: number } }> }>('GET', '/v1/campaigns');
    expect(campaigns.body.items.find((c) => c.name === 'Handed over')?.counters).toMatchObject({ targeted: 500, sent: 450, holdout: 50 });
    const heldOut = await t.api<{ items: Array<{ id: string }> }>('GET', '/v1/contacts?email=hist0@example.org');
    const timeline = await t.api<{ items: Array<{ type: string; data?: Record<string, unknown> }> }>('GET', `/v1/contacts/${heldOut.body.items[0]!.id}/timeline?limit=100`);
    expect(timeline.body.items.filter((entry) => entry.type === 'visited')).toEqual([expect.objectContaining({ data: expect.objectContaining({ source: 'import', landing: 'https://shop.example.com/' }) })]);
  }, 900_000);
});
