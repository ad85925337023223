/**
 * Counts that are right: unsubscribes tied to the send and campaign that carried them (one-click
 * email and SMS STOP) and counted per variant and channel; a report from launch with live counts
 * and the time its measured figures are as of; a history imported in several requests; holdout
 * members counted from the send records, not from the timelines a run happens to read; a run's
 * completion time; replayed clicks and opens counted once.
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import { processAttributionTask, type AttributionDeps } from '../../shared/attribution/orchestrate.ts';
import type { CampaignReportView } from '../../shared/attribution/report-view.ts';
import { AttributionStore, type AttributionTables, type RunRecord } from '../../shared/attribution/run.ts';
import { sesEvent } from '../helpers/ses.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => {
  await t?.stop();
});

const DAY = 86_400_000;

/** The report as the API answers it (the type the handler builds it with). */
type ReportView = CampaignReportView;
interface Campaign {
  id: string;
  runId: string;
  status: string;
  counters: { targeted: number; sent: number; holdout: number };
  variants: Array<{ name: string }>;
  channels: string[];
  holdoutPercent: number;
  spent: number;
}
interface Email {
  destination: { to: string[] };
  body: { html: string };
}

async function emailsSince(count: number): Promise<Email[]> {
  return ((await (await fetch(`${t.runtime.urls.ses}/store`)).json()) as { emails: Email[] }).emails.slice(count);
}
async function emailCount(): Promise<number> {
  return (await emailsSince(0)).length;
}
const link = (email: Email, pattern: RegExp) => pattern.exec(email.body.html)![1]!.replace(/&amp;/g, '&');

async function launch(body: Record<string, unknown>): Promise<Campaign> {
  const created = await t.api<{ campaign: Campaign }>('POST', '/v1/campaigns', { body });
  expect(created.status, created.text).toBe(201);
  const launched = await t.api('POST', `/v1/campaigns/${created.body.campaign.id}/launch`);
  expect(launched.status, launched.text).toBe(202);
  await t.runtime.idle(60_000);
  return (await t.api<{ campaign: Campaign }>('GET', `/v1/campaigns/${created.body.campaign.id}`)).body.campaign;
}

async function sendRecords(campaign: Campaign): Promise<Array<{ contactId: string; status: string; variant?: string; sendId: string }>> {
  const result = await documentClient.send(new QueryCommand({ TableName: t.runtime.tableNames.sends!, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `${campaign.id}#${campaign.runId}` } }));
  return result.Items as Array<{ contactId: string; status: string; variant?: string; sendId: string }>;
}

async function runAttribution(from: string, to: string): Promise<RunRecord> {
  const started = await t.api<{ run: { runId: string } }>('POST', '/v1/attribution/runs', { body: { from, to } });
  expect(started.status, started.text).toBe(202);
  await t.runtime.idle(60_000);
  return (await t.api<{ run: RunRecord }>('GET', `/v1/attribution/runs/${started.body.run.runId}`)).body.run;
}
const today = () => new Date(Math.floor(Date.now() / DAY) * DAY).toISOString();
const report = async (id: string) => (await t.api<{ report: ReportView }>('GET', `/v1/campaigns/${id}/report`)).body.report;

/** Moves every timeline entry of a contact to long before the run's lookback: a contact "created long ago" with nothing recent. */
async function backdateTimeline(contactId: string, daysAgo: number): Promise<void> {
  const items = (await documentClient.send(new QueryCommand({ TableName: t.runtime.tableNames.interactions!, KeyConditionExpression: 'contactId = :c', ExpressionAttributeValues: { ':c': contactId } }))).Items ?? [];
  const old = new Date(Date.now() - daysAgo * DAY).toISOString();
  for (const item of items) {
    await documentClient.send(new DeleteCommand({ TableName: t.runtime.tableNames.interactions!, Key: { contactId, sk: item.sk } }));
    await documentClient.send(new PutCommand({ TableName: t.runtime.tableNames.interactions!, Item: { ...item, occurredAt: old, sk: `${old}#${String(item.id)}` } }));
  }
}

describe('an email campaign counted from launch to report', () => {
  test('live counts from launch; one-click unsubscribes tied to the send, per variant and channel; replayed clicks and opens once; holdout members from the send records', async () => {
    const rows = ['email,tags,consent_email,consent_email_version', ...Array.from({ length: 40 }, (_, i) => `count${i}@example.com,count,yes,v1`)];
    const imported = await t.api<{ summary: { created: number } }>('POST', '/v1/contacts/import', { rawBody: rows.join('\n'), headers: { 'content-type': 'text/csv' } });
    expect(imported.body.summary.created).toBe(40);
    const template = (
      await t.api<{ template: { id: string } }>('POST', '/v1/templates', {
        body: { channel: 'email', name: 'Count', subject: 'Hi', html: '<html><body><a href="https://shop.example.com/deal">Deal</a> <a href="{{unsubscribeUrl}}">Unsubscribe</a></body></html>', text: 'Deal' },
      })
    ).body.template.id;
    const segment = (await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name: 'Count', rule: { field: 'tags', op: 'contains', value: 'count' } } })).body.segment.id;
    const before = await emailCount();
    const campaign = await launch({
      name: 'Counted',
      segmentId: segment,
      channels: ['email'],
      variants: [
        { name: 'A', weight: 1, templates: { email: template } },
        { name: 'B', weight: 1, templates: { email: template } },
      ],
      holdoutPercent: 25,
      schedule: { type: 'immediate' },
      limits: { sendRatePerSecond: { email: 1000 } },
      goal: { event: 'purchase', attributionWindowDays: 7 },
    });
    expect(campaign.counters.sent + campaign.counters.holdout).toBe(40);
    expect(campaign.counters.holdout).toBeGreaterThan(0);

    // The report exists from launch: live counts, nothing measured yet, and it says so.
    let view = await report(campaign.id);
    expect(view.measured).toBeNull();
    expect(view.funnel).toBeNull();
    expect(view.live).toMatchObject({ targeted: 40, sent: campaign.counters.sent, holdout: campaign.counters.holdout, opened: 0, clicked: 0, unsubscribed: 0 });
    const page = await t.api<string>('GET', `/v1/campaigns/${campaign.id}/report.html`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-measured="none"');
    expect(page.text).toContain(`data-live="sent">${campaign.counters.sent}<`);

    const emails = await emailsSince(before);
    expect(emails).toHaveLength(campaign.counters.sent);
    const records = await sendRecords(campaign);
    const contacts = (await t.api<{ items: Array<{ id: string; email: string }> }>('GET', '/v1/contacts?limit=200')).body.items;
    const idOf = new Map(contacts.map((c) => [c.email, c.id]));
    const variantOf = new Map(records.map((r) => [r.contactId, r.variant]));
    const byVariant = (v: string) => emails.filter((e) => variantOf.get(idOf.get(e.destination.to[0]!)!) === v);
    const [a1] = byVariant('A');
    const [b1, b2, b3] = byVariant('B');
    expect(a1 && b1 && b2 && b3).toBeTruthy();

    // One-click unsubscribes (RFC 8058 posts): one from A, two from B — one of them replayed.
    for (const email of [a1!, b1!, b2!, b2!]) {
      const r = await fetch(link(email, /href="([^"]+\/u\/[^"]+)"/), { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(r.status).toBe(200);
    }
    // b3 clicks the same link five times and loads the pixel three times; then buys.
    const b3Id = idOf.get(b3!.destination.to[0]!)!;
    const leadBefore = (await t.api<{ contact: { scores: { lead?: number } } }>('GET', `/v1/contacts/${b3Id}`)).body.contact.scores.lead ?? 0;
    for (let i = 0; i < 5; i++) expect((await fetch(link(b3!, /href="([^"]+\/t\/c\/[^"]+)"/), { redirect: 'manual' })).status).toBe(302);
    for (let i = 0; i < 3; i++) await fetch(link(b3!, /src="([^"]+\/t\/o\/[^"]+)"/));
    const leadAfter = (await t.api<{ contact: { scores: { lead?: number } } }>('GET', `/v1/contacts/${b3Id}`)).body.contact.scores.lead ?? 0;
    expect(leadAfter - leadBefore).toBe(3);
    const bought = await t.api('POST', '/v1/events', { body: { contactId: b3Id, name: 'purchase', value: 12.5, occurredAt: new Date().toISOString(), idempotencyKey: 'count-order-1' } });
    expect(bought.status, bought.text).toBe(201);
    // Provider events: a delivery and a complaint.
    const a1Id = idOf.get(a1!.destination.to[0]!)!;
    const tags = (contactId: string) => ({ touchloop_campaign: campaign.id, touchloop_run: campaign.runId, touchloop_contact: contactId });
    t.runtime.bus.putEvents([
      sesEvent('Delivery', 'Email Delivered', { messageId: 'count-d1', to: b3!.destination.to[0]!, tags: tags(b3Id) }, { delivery: { timestamp: new Date().toISOString() } }),
      sesEvent('Complaint', 'Email Complaint Received', { messageId: 'count-c1', to: a1!.destination.to[0]!, tags: tags(a1Id) }, { complaint: { timestamp: new Date().toISOString(), complaintFeedbackType: 'abuse' } }),
    ]);
    await t.runtime.idle();

    const timeline = (await t.api<{ items: Array<{ type: string }> }>('GET', `/v1/contacts/${b3Id}/timeline?limit=50`)).body.items;
    expect(timeline.filter((i) => i.type === 'clicked')).toHaveLength(1);
    expect(timeline.filter((i) => i.type === 'opened')).toHaveLength(1);
    const b2Timeline = (await t.api<{ items: Array<{ type: string; campaignId?: string; sendId?: string }> }>('GET', `/v1/contacts/${idOf.get(b2!.destination.to[0]!)}/timeline?limit=50`)).body.items;
    const unsubscribed = b2Timeline.filter((i) => i.type === 'unsubscribed');
    expect(unsubscribed).toEqual([expect.objectContaining({ campaignId: campaign.id, sendId: `${campaign.id}:${campaign.runId}:${idOf.get(b2!.destination.to[0]!)}` })]);

    // Live, before any run.
    view = await report(campaign.id);
    expect(view.measured).toBeNull();
    expect(view.live).toMatchObject({ sent: campaign.counters.sent, delivered: 1, opened: 1, clicked: 1, unsubscribed: 3, complained: 1, converted: 1, revenue: 12.5 });

    // Holdout members with nothing recent on their timeline (created long ago) are members all the same.
    const holdoutIds = records.filter((r) => r.status === 'holdout').map((r) => r.contactId);
    for (const id of holdoutIds) await backdateTimeline(id, 400);

    const run = await runAttribution(today(), new Date(Date.parse(today()) + 2 * DAY).toISOString());
    expect(run.status).toBe('completed');
    expect(Date.parse(run.completedAt!)).toBeGreaterThanOrEqual(Date.parse(run.startedAt));
    view = await report(campaign.id);
    expect(view.measured).toMatchObject({ runId: run.runId });
    expect(view.runId).toBe(run.runId);
    expect(view.funnel).toMatchObject({ sent: campaign.counters.sent, unsubscribed: 3, opened: 1, clicked: 1, complained: 1, delivered: 1 });
    expect(view.holdout).toMatchObject({ members: campaign.counters.holdout });
    expect(view.lift).not.toBeNull(); // a lift needs holdout members: with none counted there would be none
    const variant = (name: string) => view.variants.find((v) => v.variant === name)!;
    expect(variant('A')).toMatchObject({ members: records.filter((r) => r.status === 'sent' && r.variant === 'A').length, unsubscribed: 1, clicked: 0 });
    expect(variant('B')).toMatchObject({ members: records.filter((r) => r.status === 'sent' && r.variant === 'B').length, unsubscribed: 2, clicked: 1, opened: 1 });
    expect(view.channels).toEqual([expect.objectContaining({ channel: 'email', sent: campaign.counters.sent, unsubscribed: 3 })]);
    expect(view.live.unsubscribed).toBe(3);
  }, 180_000);
});

describe('a flood of one link', () => {
  test('50 identical clicks, pixel loads and one-click unsubscribes at once: every request answered, each lands once (timeline, lead points, live counts)', async () => {
    const rows = ['email,tags,consent_email,consent_email_version', ...Array.from({ length: 3 }, (_, i) => `flood${i}@example.com,flood,yes,v1`)];
    await t.api('POST', '/v1/contacts/import', { rawBody: rows.join('\n'), headers: { 'content-type': 'text/csv' } });
    const template = (
      await t.api<{ template: { id: string } }>('POST', '/v1/templates', {
        body: { channel: 'email', name: 'Flood', subject: 'Hi', html: '<html><body><a href="https://shop.example.com/flood">Deal</a> <a href="{{unsubscribeUrl}}">Unsubscribe</a></body></html>', text: 'Deal' },
      })
    ).body.template.id;
    const segment = (await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name: 'Flood', rule: { field: 'tags', op: 'contains', value: 'flood' } } })).body.segment.id;
    const before = await emailCount();
    const campaign = await launch({ name: 'Flood', segmentId: segment, channels: ['email'], variants: [{ name: 'A', weight: 1, templates: { email: template } }], holdoutPercent: 0, schedule: { type: 'immediate' }, limits: { sendRatePerSecond: { email: 1000 } } });
    const email = (await emailsSince(before))[0]!;
    const contactId = (await t.api<{ items: Array<{ id: string }> }>('GET', `/v1/contacts?email=${email.destination.to[0]!}`)).body.items[0]!.id;
    const lead = async () => (await t.api<{ contact: { scores: { lead?: number } } }>('GET', `/v1/contacts/${contactId}`)).body.contact.scores.lead ?? 0;
    const leadBefore = await lead();

    const many = (n: number, request: () => Promise<Response>) => Promise.all(Array.from({ length: n }, request)).then((rs) => rs.map((r) => r.status));
    const clicks = await many(50, () => fetch(link(email, /href="([^"]+\/t\/c\/[^"]+)"/), { redirect: 'manual' }));
    const opens = await many(50, () => fetch(link(email, /src="([^"]+\/t\/o\/[^"]+)"/)));
    const unsubscribes = await many(50, () => fetch(link(email, /href="([^"]+\/u\/[^"]+)"/), { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    expect(new Set(clicks)).toEqual(new Set([302]));
    expect(new Set(opens)).toEqual(new Set([200]));
    expect(new Set(unsubscribes)).toEqual(new Set([200]));
    await t.runtime.idle();

    const timeline = (await t.api<{ items: Array<{ type: string }> }>('GET', `/v1/contacts/${contactId}/timeline?limit=100`)).body.items;
    expect(timeline.filter((i) => i.type === 'clicked')).toHaveLength(1);
    expect(timeline.filter((i) => i.type === 'opened')).toHaveLength(1);
    expect(timeline.filter((i) => i.type === 'unsubscribed')).toHaveLength(1);
    expect((await lead()) - leadBefore).toBe(3);
    expect((await report(campaign.id)).live).toMatchObject({ clicked: 1, opened: 1, unsubscribed: 1 });
  }, 120_000);
});

describe('SMS STOP', () => {
  test('a STOP is an unsubscribe from the campaign whose message it answers, counted live and in the report', async () => {
    const sms = (await t.api<{ template: { id: string } }>('POST', '/v1/templates', { body: { channel: 'sms', name: 'Stop', body: 'Flash sale today' } })).body.template.id;
    for (const [i, phone] of ['+447400222001', '+447400222002'].entries()) {
      const r = await t.api('POST', '/v1/contacts', { body: { phone, tags: ['stopper'], attributes: { n: i }, consent: { sms: { status: 'confirmed', wordingVersion: 's1' } } } });
      expect(r.status, r.text).toBe(201);
    }
    const segment = (await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name: 'Stoppers', rule: { field: 'tags', op: 'contains', value: 'stopper' } } })).body.segment.id;
    const campaign = await launch({
      name: 'Stop me',
      segmentId: segment,
      channels: ['sms'],
      variants: [{ name: 'A', weight: 1, templates: { sms } }],
      holdoutPercent: 0,
      schedule: { type: 'immediate' },
      limits: { sendRatePerSecond: { sms: 100 }, quietHours: { sms: null } },
    });
    expect(campaign.counters.sent).toBe(2);
    expect((await t.api('POST', '/_local/sms/inbound', { token: null, body: { from: '+447400222001', body: 'STOP' } })).status).toBe(202);
    await t.runtime.idle();

    const contact = (await t.api<{ items: Array<{ id: string }> }>('GET', '/v1/contacts?phone=%2B447400222001')).body.items[0]!;
    const entries = (await t.api<{ items: Array<{ type: string; campaignId?: string; sendId?: string; channel?: string }> }>('GET', `/v1/contacts/${contact.id}/timeline?limit=50`)).body.items;
    expect(entries.filter((i) => i.type === 'unsubscribed')).toEqual([expect.objectContaining({ channel: 'sms', campaignId: campaign.id, sendId: `${campaign.id}:${campaign.runId}:${contact.id}` })]);
    expect((await report(campaign.id)).live.unsubscribed).toBe(1);

    await runAttribution(today(), new Date(Date.parse(today()) + DAY).toISOString());
    const view = await report(campaign.id);
    expect(view.funnel).toMatchObject({ sent: 2, unsubscribed: 1 });
    expect(view.channels).toEqual([expect.objectContaining({ channel: 'sms', sent: 2, unsubscribed: 1 })]);
    expect(view.variants).toEqual([expect.objectContaining({ variant: 'A', members: 2, unsubscribed: 1 })]);
  }, 120_000);
});

describe('history imported in several requests', () => {
  test('the campaign counts, variants, holdout share and spend of every request together; a repeated row counts once', async () => {
    const rows = ['email,consent_email,consent_email_version', ...Array.from({ length: 12 }, (_, i) => `split${i}@example.com,yes,v1`)];
    await t.api('POST', '/v1/contacts/import', { rawBody: rows.join('\n'), headers: { 'content-type': 'text/csv' } });
    const launchedAt = new Date(Date.now() - 20 * DAY).toISOString();
    const campaign = { externalId: 'split-history-1', name: 'Split history', launchedAt, costPerMessage: { email: 0.002 } };
    const send = (i: number, variant: string) => ({ contact: { email: `split${i}@example.com` }, channel: 'email', sentAt: launchedAt, holdout: i % 6 === 5, variant });
    const first = await t.api<{ campaignId: string; created: boolean }>('POST', '/v1/campaigns/import', { body: { campaign, sends: [0, 1, 2, 3, 4, 5].map((i) => send(i, 'A')) } });
    expect(first.status, first.text).toBe(201);
    const second = await t.api<{ created: boolean; summary: { sends: number; holdout: number } }>('POST', '/v1/campaigns/import', { body: { campaign, sends: [...[6, 7, 8, 9, 10, 11].map((i) => send(i, 'B')), send(0, 'A'), send(1, 'A')] } });
    expect(second.status, second.text).toBe(200);
    expect(second.body.summary).toMatchObject({ sends: 5, holdout: 1 });

    const stored = (await t.api<{ campaign: Campaign }>('GET', `/v1/campaigns/${first.body.campaignId}`)).body.campaign;
    expect(stored.counters).toMatchObject({ targeted: 12, sent: 10, holdout: 2 });
    expect(stored.variants.map((v) => v.name)).toEqual(['A', 'B']);
    expect(stored.channels).toEqual(['email']);
    expect(stored.holdoutPercent).toBeCloseTo(16.7, 1);
    expect(stored.spent).toBeCloseTo(0.02, 6);
  }, 60_000);
});

describe("an attribution run's completion", () => {
  const deps = (): AttributionDeps => {
    const names = t.runtime.tableNames;
    const tables: AttributionTables = {
      interactions: names.interactions!,
      contacts: names.contacts!,
      campaigns: names.campaigns!,
      sends: names.sends!,
      attribution: names.attribution!,
      attributionRuns: names.attributionRuns!,
      attributionParts: names.attributionParts!,
      reports: names.reports!,
    };
    return { tables, store: new AttributionStore(tables), segments: 1, queueUrl: () => 'unused', segmentTables: { segments: names.segments!, segmentStats: names.segmentStats!, activity: names.activity! } };
  };
  const runRecord = async (d: AttributionDeps, runId: string) => (await documentClient.send(new GetCommand({ TableName: d.tables.attributionRuns, Key: { runId } }))).Item as RunRecord;

  test('completedAt is when the run completed, not when its last part started', async () => {
    const d = deps();
    const run = await d.store.createRun(new Date(Date.parse(today()) - DAY), new Date(today()), 1);
    // The clock moves on while the last part does its work (merging, reports, segment statistics).
    const started = new Date();
    const finished = new Date(started.getTime() + 7 * 60_000);
    let calls = 0;
    const clock = () => (calls++ === 0 ? started : finished);
    const outcome = await processAttributionTask({ runId: run.runId, from: run.from, to: run.to, segment: 0, totalSegments: 1 }, d, () => 600_000, async () => 0, clock);
    expect(outcome).toBe('run-done');
    const stored = await runRecord(d, run.runId);
    expect(stored.status).toBe('completed');
    expect(stored.completedAt).toBe(finished.toISOString());
  });

  test('a last message redelivered after its finalisation failed completes the run; a duplicate of a finished one changes nothing', async () => {
    const d = deps();
    const run = await d.store.createRun(new Date(Date.parse(today()) - DAY), new Date(today()), 2);
    const task = (segment: number) => ({ runId: run.runId, from: run.from, to: run.to, segment, totalSegments: 2 });
    // A redelivered first segment must not count twice (it would finish the run before segment 1).
    expect(await processAttributionTask(task(0), d, () => 600_000, async () => 0)).toBe('segment-done');
    expect(await processAttributionTask(task(0), d, () => 600_000, async () => 0)).toBe('segment-done');
    expect((await runRecord(d, run.runId)).status).toBe('running');
    // The last segment's finalisation fails once (a throttled write, a timeout); SQS redelivers the message.
    const failing: AttributionDeps = { ...d, store: Object.assign(Object.create(d.store) as AttributionStore, { completeRun: async () => Promise.reject(new Error('throttled')) }) };
    await expect(processAttributionTask(task(1), failing, () => 600_000, async () => 0)).rejects.toThrow('throttled');
    expect(await processAttributionTask(task(1), d, () => 600_000, async () => 0)).toBe('run-done');
    const stored = await runRecord(d, run.runId);
    expect(stored.status).toBe('completed');
    expect((await d.store.getRun(run.runId))!.segmentsDone).toBe(2);
    // Once completed, another copy of the message is only a finished segment.
    expect(await processAttributionTask(task(1), d, () => 600_000, async () => 0)).toBe('segment-done');
  });
});
