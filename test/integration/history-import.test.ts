/**
 * The history import in bulk (shared/imports/history-import.ts): a history sent in several parts,
 * overlapping, repeated or at once, counts each send once on its campaign; a part that crashes
 * part-way and is processed again writes every record once and ends with exact counts; the
 * NDJSON chunk processor of history jobs reports each row's fate at its file line; site visits,
 * page views and custom events in a history (route and job file) land once each on the contact's
 * timeline, whoever the contact and whichever way they arrive.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { documentClient, queryAll } from '../../shared/aws/dynamodb.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { ContactStore } from '../../shared/contacts/contact-store.ts';
import { LeadScorer } from '../../shared/contacts/lead-scoring.ts';
import { Timeline } from '../../shared/contacts/timeline.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import type { ImportChunk } from '../../shared/imports/chunk.ts';
import { historyChunkProcessor, importedCampaignId, type HistoryDeps } from '../../shared/imports/history-import.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
const ids: string[] = [];
const CONTACTS = 40;
beforeAll(async () => {
  t = await startTestRuntime();
  useProjectSecret(process.env.TOUCHLOOP_SECRET_ARN!);
  const rows = ['email,consent_email,consent_email_version', ...Array.from({ length: CONTACTS }, (_, i) => `bulk${i}@example.com,yes,v1`)];
  const imported = await t.api('POST', '/v1/contacts/import', { rawBody: rows.join('\n'), headers: { 'content-type': 'text/csv' } });
  expect(imported.status, imported.text).toBeLessThan(300);
  for (let i = 0; i < CONTACTS; i++) ids.push((await t.api<{ items: Array<{ id: string }> }>('GET', `/v1/contacts?email=bulk${i}@example.com`)).body.items[0]!.id);
}, 120_000);
afterAll(async () => {
  await t?.stop();
});

const DAY = 86_400_000;
const launchedAt = new Date(Date.now() - 50 * DAY).toISOString();
const at = (hours: number) => new Date(Date.parse(launchedAt) + hours * 3_600_000).toISOString();
const campaignOf = (externalId: string) => ({ externalId, name: `History ${externalId}`, launchedAt, goal: { event: 'purchase', attributionWindowDays: 7, model: 'last_touch' }, costPerMessage: { email: 0.003, sms: 0.05 } });
const send = (i: number, variant = 'A') => ({ contact: { email: `bulk${i}@example.com` }, channel: i % 4 === 3 ? 'sms' : 'email', sentAt: at(0), holdout: i % 5 === 4, variant });

interface StoredCampaign {
  counters: { targeted: number; sent: number; holdout: number };
  variants: Array<{ name: string }>;
  channels: string[];
  holdoutPercent: number;
  spent: number;
}
interface SendItem {
  contactId: string;
  status: string;
  variant: string;
  channel: string;
  cost?: number;
}

const sendRecords = async (campaignId: string): Promise<SendItem[]> => {
  const items: SendItem[] = [];
  for await (const item of queryAll(documentClient, { TableName: t.runtime.tableNames.sends!, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `${campaignId}#1` }, ConsistentRead: true })) items.push(item as unknown as SendItem);
  return items;
};

/** What the send records say the campaign's counts are: the independent computation the stored counts must equal. */
const countsOfRecords = (records: SendItem[]) => {
  const sent = records.filter((r) => r.status === 'sent');
  const holdout = records.length - sent.length;
  return {
    counters: { targeted: records.length, sent: sent.length, holdout },
    variants: [...new Set(sent.map((r) => r.variant))].sort(),
    channels: [...new Set(sent.map((r) => r.channel))].sort(),
    holdoutPercent: records.length ? Math.round((1000 * holdout) / records.length) / 10 : 0,
    spent: sent.reduce((sum, r) => sum + (r.cost ?? 0), 0),
  };
};

const storedCounts = async (campaignId: string) => {
  const campaign = (await t.api<{ campaign: StoredCampaign }>('GET', `/v1/campaigns/${campaignId}`)).body.campaign;
  return { counters: { targeted: campaign.counters.targeted, sent: campaign.counters.sent, holdout: campaign.counters.holdout }, variants: campaign.variants.map((v) => v.name), channels: campaign.channels, holdoutPercent: campaign.holdoutPercent, spent: campaign.spent };
};

const expectCountsMatchRecords = async (campaignId: string) => {
  const expected = countsOfRecords(await sendRecords(campaignId));
  const stored = await storedCounts(campaignId);
  expect({ ...stored, spent: undefined }).toEqual({ ...expected, spent: undefined });
  expect(stored.spent).toBeCloseTo(expected.spent, 9);
  return expected;
};

type TimelineItem = { id: string; sk: string; type: string; occurredAt: string; campaignId?: string; sendId?: string; data?: Record<string, unknown> };
const timelineOf = async (contactId: string) =>
  ((await documentClient.send(new QueryCommand({ TableName: t.runtime.tableNames.interactions!, KeyConditionExpression: 'contactId = :c', ExpressionAttributeValues: { ':c': contactId }, ConsistentRead: true }))).Items ?? []) as TimelineItem[];

const SHOP = 'https://shop.example.com';
const BEHAVIOUR_TYPES = ['visited', 'page_viewed', 'custom'];
/** The visits, page views and custom events on these contacts' timelines whose data mentions `tag` (each test's events carry their own). */
const eventEntriesOf = async (tag: string, contactIds: string[]) =>
  (await Promise.all(contactIds.map((id) => timelineOf(id)))).flat().filter((e) => BEHAVIOUR_TYPES.includes(e.type) && JSON.stringify(e.data).includes(tag));

describe('a history sent in several parts', () => {
  test('overlapping parts and a repeated part count each send once: the campaign counts equal what the send records say', async () => {
    const campaign = campaignOf('parts-overlapping');
    const first = await t.api<{ campaignId: string; created: boolean; summary: { sends: number; holdout: number } }>('POST', '/v1/campaigns/import', { body: { campaign, sends: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => send(i)) } });
    expect(first.status, first.text).toBe(201);
    expect(first.body.summary).toMatchObject({ sends: 8, holdout: 2 });
    // Overlaps 6..9 (in another variant: the records of the first part stay as they were).
    const second = await t.api<{ created: boolean; summary: { sends: number; holdout: number } }>('POST', '/v1/campaigns/import', { body: { campaign, sends: [6, 7, 8, 9, 10, 11, 12, 13, 14].map((i) => send(i, 'B')) } });
    expect(second.status, second.text).toBe(200);
    expect(second.body.summary).toMatchObject({ sends: 4, holdout: 1 });
    // The same request again: nothing new.
    const again = await t.api<{ summary: { sends: number; holdout: number } }>('POST', '/v1/campaigns/import', { body: { campaign, sends: [6, 7, 8, 9, 10, 11, 12, 13, 14].map((i) => send(i, 'B')) } });
    expect(again.body.summary).toMatchObject({ sends: 0, holdout: 0 });

    const id = first.body.campaignId;
    const records = await sendRecords(id);
    expect(records.length).toBe(15);
    expect(records.filter((r) => [6, 7, 8, 9].map((i) => ids[i]).includes(r.contactId)).every((r) => r.variant === 'A')).toBe(true);
    const counts = await expectCountsMatchRecords(id);
    expect(counts).toMatchObject({ counters: { targeted: 15, sent: 12, holdout: 3 }, variants: ['A', 'B'], channels: ['email', 'sms'], holdoutPercent: 20 });
    // One `sent` entry per sent contact, whatever the parts.
    const entries = (await timelineOf(ids[7]!)).filter((e) => e.campaignId === id && e.type === 'sent');
    expect(entries).toHaveLength(1);
  }, 60_000);

  test('parts sent at once, overlapping each other and repeated, still count each send once', async () => {
    const campaign = campaignOf('parts-at-once');
    const parts = [
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
      [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24],
      [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 0, 1, 2],
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
    ];
    const answers = await Promise.all(parts.map((part, n) => t.api<{ summary: { sends: number; holdout: number } }>('POST', '/v1/campaigns/import', { body: { campaign, sends: part.map((i) => send(i, `V${n % 3}`)) } })));
    expect(answers.map((a) => a.status).every((s) => s === 200 || s === 201)).toBe(true);
    const id = importedCampaignId('parts-at-once');
    const counts = await expectCountsMatchRecords(id);
    expect(counts.counters.targeted).toBe(30);
  }, 60_000);
});

/**
 * A document client whose base client fails every write after the first `after` (a worker dying
 * part-way), counting the writes that landed. With `from`, writes count from the first one whose
 * command and input match it (a crash inside one phase of the part, wherever that phase starts).
 */
function crashingClient(after: number, from?: RegExp) {
  const raw = new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB, region: process.env.AWS_REGION ?? 'us-east-1' });
  const state = { writes: 0, counting: !from, landed: [] as string[] };
  raw.middlewareStack.add(
    (next, context) => async (args) => {
      const write = /^(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems)Command$/.test(context.commandName ?? '');
      if (write && !state.counting) state.counting = from!.test(`${context.commandName} ${JSON.stringify(args.input)}`);
      if (write && state.counting && ++state.writes > after) throw new Error('injected crash');
      const result = await next(args);
      if (write) state.landed.push(`${context.commandName} ${JSON.stringify(args.input).slice(0, 400)}`);
      return result;
    },
    { step: 'initialize', name: 'injectedCrash' },
  );
  return { db: DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } }), state, destroy: () => raw.destroy() };
}

function depsWith(db: DynamoDBDocumentClient): HistoryDeps {
  const n = t.runtime.tableNames;
  return {
    contacts: new ContactStore({ contacts: n.contacts!, contactLookups: n.contactLookups!, consents: n.consents! }, db),
    timeline: new Timeline(n.interactions!, n.contacts!, n.activity!, db),
    scorer: new LeadScorer(n.contacts!, new IdempotencyMarkers(n.idempotency!, db), db),
    tables: { campaigns: n.campaigns!, sends: n.sends! },
    db,
  };
}

/** A history's site events: visits of contacts sent to and held out, keyed page views, custom events of contacts the campaign never targeted; `tag` in each. */
const eventLines = (tag: string) => [
  ...Array.from({ length: 10 }, (_, k) => ({ event: { contact: { email: `bulk${3 * k}@example.com` }, type: 'visit', occurredAt: at(4), url: `${SHOP}/${tag}/landing?utm_source=mail`, referrer: 'https://mail.example.org/inbox' } })),
  ...[0, 10, 20].map((i) => ({ event: { contact: { contactId: ids[i] }, type: 'page_view', occurredAt: at(5), idempotencyKey: `${tag}:pv:${i}`, url: `${SHOP}/${tag}/p/${i}`, title: 'Product' } })),
  ...[35, 36].map((i) => ({ event: { contact: { email: `bulk${i}@example.com` }, type: 'custom', occurredAt: at(6), name: 'added_to_cart', properties: { tag, quantity: i - 34 } } })),
];
const EVENT_CONTACTS = [...Array.from({ length: 10 }, (_, k) => 3 * k), 10, 20, 35, 36];
/** The conditional put of a visit's, page view's or custom event's timeline entry. */
const EVENT_ENTRY = /^PutItemCommand .*"type":(\{"S":)?"(visited|page_viewed|custom)"/;

const historyFile = (externalId: string) => {
  const lines: unknown[] = [];
  for (let i = 0; i < 30; i++) lines.push({ send: send(i, i % 2 ? 'B' : 'A') });
  for (let i = 0; i < 30; i += 2) lines.push({ interaction: { contact: { email: `bulk${i}@example.com` }, type: 'opened', occurredAt: at(2) } });
  for (let i = 0; i < 30; i += 6) lines.push({ interaction: { contact: { email: `bulk${i}@example.com` }, type: 'clicked', occurredAt: at(3), link: 'https://shop.example.com/' } });
  for (let i = 0; i < 30; i += 10) lines.push({ conversion: { contact: { email: `bulk${i}@example.com` }, name: 'purchase', value: 10 + i, occurredAt: at(20) } });
  lines.push(...eventLines(externalId));
  return { header: JSON.stringify({ campaign: campaignOf(externalId) }), text: lines.map((l) => JSON.stringify(l)).join('\n') };
};

describe('a history chunk that crashes part-way and is processed again', () => {
  // Events are recorded last: crashes counted from the first event's entry land inside that phase.
  test.each([
    ['after 2 writes', 2],
    ['after 5 writes', 5],
    ['after 9 writes', 9],
    ['after 14 writes', 14],
    ['at the first event entry', 0, EVENT_ENTRY],
    ['between the first event entry and what follows it', 1, EVENT_ENTRY],
    ['after 9 writes of the event phase', 9, EVENT_ENTRY],
  ] as Array<[string, number, RegExp?]>)('%s: every record written once, every row created once, exact counts; a third run writes nothing', async (label, after, from) => {
    const externalId = `crash-${label.replace(/\W+/g, '-')}`;
    const file = historyFile(externalId);
    const chunk: ImportChunk = { jobId: `job-${externalId}`, kind: 'history', format: 'ndjson', index: 0, header: file.header, text: file.text, firstLine: 2 };

    const crashing = crashingClient(after, from);
    await expect(historyChunkProcessor(depsWith(crashing.db))(chunk)).rejects.toThrow('injected crash');
    crashing.destroy();

    const healthy = crashingClient(Number.POSITIVE_INFINITY);
    const outcomes = await historyChunkProcessor(depsWith(healthy.db))(chunk);
    const rows = file.text.split('\n').length;
    expect(outcomes).toHaveLength(rows);
    expect(outcomes.map((o) => o.line)).toEqual(Array.from({ length: rows }, (_, i) => i + 2));
    expect(outcomes.filter((o) => o.status !== 'created').map((o) => [o.line, o.status])).toEqual([]);

    const id = importedCampaignId(externalId);
    const counts = await expectCountsMatchRecords(id);
    expect(counts.counters).toEqual({ targeted: 30, sent: 24, holdout: 6 });
    for (const i of [0, 6, 12]) {
      const entries = (await timelineOf(ids[i]!)).filter((e) => e.campaignId === id || e.type === 'converted');
      const types = entries.map((e) => e.type).sort();
      expect(types.filter((type) => type !== 'converted')).toEqual(i % 5 === 4 ? ['clicked', 'opened'] : ['clicked', 'opened', 'sent']);
      expect(new Set(entries.map((e) => e.id)).size).toBe(entries.length);
    }
    // Each event once, on its contact's timeline, tied to no campaign.
    const events = await eventEntriesOf(externalId, EVENT_CONTACTS.map((i) => ids[i]!));
    expect(events.map((e) => e.type).sort()).toEqual([...Array.from({ length: 2 }, () => 'custom'), ...Array.from({ length: 3 }, () => 'page_viewed'), ...Array.from({ length: 10 }, () => 'visited')]);
    expect(events.filter((e) => e.campaignId !== undefined || e.sendId !== undefined)).toEqual([]);

    // A third run (a duplicate delivery of the chunk): the same outcomes, and not one write lands.
    const third = crashingClient(Number.POSITIVE_INFINITY);
    expect(await historyChunkProcessor(depsWith(third.db))(chunk)).toEqual(outcomes);
    expect(third.state.landed).toEqual([]);
    healthy.destroy();
    third.destroy();
    await expectCountsMatchRecords(id);
  }, 60_000);
});

describe('the history chunk processor', () => {
  test('reports each row at its file line: bad JSON, an unknown row kind, a bad field and an unknown contact fail with a path; the other rows import', async () => {
    const lines = [
      JSON.stringify({ send: send(30) }),
      '{"send": {',
      JSON.stringify({ visit: { contact: { email: 'bulk31@example.com' } } }),
      JSON.stringify({ send: { ...send(31), channel: 'fax' } }),
      JSON.stringify({ send: send(32) }),
      '',
      JSON.stringify({ interaction: { contact: { email: 'nobody@example.com' }, type: 'opened', occurredAt: at(1) } }),
      JSON.stringify({ interaction: { contact: { email: 'bulk30@example.com' }, type: 'opened', occurredAt: new Date(Date.now() + DAY).toISOString() } }),
    ];
    const chunk: ImportChunk = { jobId: 'job-errors', kind: 'history', format: 'ndjson', index: 3, header: JSON.stringify({ campaign: campaignOf('chunk-errors') }), text: lines.join('\n'), firstLine: 101 };
    const outcomes = await historyChunkProcessor(depsWith(documentClient))(chunk);
    expect(outcomes.map((o) => [o.line, o.status, ...(o.issues ?? []).map((i) => i.path)])).toEqual([
      [101, 'created'],
      [102, 'failed', ''],
      [103, 'failed', ''],
      [104, 'failed', 'send.channel'],
      [105, 'created'],
      [107, 'failed', 'interaction.contact'],
      [108, 'failed', 'interaction.occurredAt'],
    ]);
    expect(outcomes[0]!.id).toBe(ids[30]);
    const stored = (await documentClient.send(new GetCommand({ TableName: t.runtime.tableNames.campaigns!, Key: { id: importedCampaignId('chunk-errors') }, ConsistentRead: true }))).Item as StoredCampaign;
    expect(stored.counters).toMatchObject({ targeted: 2, sent: 2, holdout: 0 });
  }, 60_000);

  test('a file whose campaign line is not valid fails every row at the campaign field, writing nothing', async () => {
    const header = JSON.stringify({ campaign: { ...campaignOf('bad-header'), launchedAt: 'yesterday' } });
    const chunk: ImportChunk = { jobId: 'job-bad-header', kind: 'history', format: 'ndjson', index: 0, header, text: [JSON.stringify({ send: send(33) }), JSON.stringify({ send: send(34) })].join('\n'), firstLine: 2 };
    const outcomes = await historyChunkProcessor(depsWith(documentClient))(chunk);
    expect(outcomes.map((o) => [o.line, o.status, o.issues?.[0]?.path])).toEqual([
      [2, 'failed', 'campaign.launchedAt'],
      [3, 'failed', 'campaign.launchedAt'],
    ]);
    expect((await t.api('GET', `/v1/campaigns/${importedCampaignId('bad-header')}`)).status).toBe(404);
  });
});

interface ImportSummary {
  sends: number;
  holdout: number;
  interactions: number;
  conversions: number;
  events: number;
  failed: number;
}
interface ImportAnswer {
  campaignId: string;
  created: boolean;
  summary: ImportSummary;
  failures: Array<{ index: number; path: string; message: string }>;
}
const importHistory = (body: unknown) => t.api<ImportAnswer>('POST', '/v1/campaigns/import', { body });
const NO_CONTACT = 'no such contact (import or create the contacts first)';

describe('site visits, page views and custom events in a history', () => {
  test('through the route: events of contacts sent to, held out and never targeted land once each, tied to no campaign; the same request again and an overlapping one add nothing twice', async () => {
    const tag = 'events-route';
    const events = [
      { contact: { email: 'bulk0@example.com' }, type: 'visit', occurredAt: at(3), url: `${SHOP}/${tag}/spring?email=bulk0@example.com#top`, referrer: 'https://mail.example.org/inbox?id=1' },
      { contact: { email: 'bulk4@example.com' }, type: 'visit', occurredAt: at(3), url: `${SHOP}/${tag}/spring` },
      { contact: { contactId: ids[38] }, type: 'page_view', occurredAt: at(4), url: `${SHOP}/${tag}/p/1`, title: ' Mug ', idempotencyKey: `${tag}-pv-1` },
      { contact: { email: 'BULK39@Example.com' }, type: 'custom', occurredAt: at(5), name: 'trial_started', properties: { tag, seats: 3, annual: false } },
    ];
    const body = { campaign: campaignOf(tag), sends: [0, 1, 2, 3, 4].map((i) => send(i)), events };
    const first = await importHistory(body);
    expect(first.status, first.text).toBe(201);
    expect(first.body.summary).toEqual({ sends: 4, holdout: 1, interactions: 0, conversions: 0, events: 4, failed: 0 });
    expect(first.body.failures).toEqual([]);

    // Recorded as POST /v1/events records them (only a page's origin and path, the referrer's origin), source `import`.
    const origin = expect.stringMatching(/^job:/);
    const of = (i: number) => eventEntriesOf(tag, [ids[i]!]);
    const [treated, heldOut, untargeted, custom] = [await of(0), await of(4), await of(38), await of(39)];
    expect(treated).toEqual([expect.objectContaining({ type: 'visited', occurredAt: at(3), data: { landing: `${SHOP}/${tag}/spring`, path: `/${tag}/spring`, referrer: 'https://mail.example.org', source: 'import', importOrigin: origin } })]);
    expect(heldOut).toEqual([expect.objectContaining({ type: 'visited', data: { landing: `${SHOP}/${tag}/spring`, path: `/${tag}/spring`, source: 'import', importOrigin: origin } })]);
    expect(untargeted).toEqual([expect.objectContaining({ type: 'page_viewed', occurredAt: at(4), data: { url: `${SHOP}/${tag}/p/1`, path: `/${tag}/p/1`, title: 'Mug', source: 'import', importOrigin: origin } })]);
    expect(custom).toEqual([expect.objectContaining({ type: 'custom', occurredAt: at(5), data: { name: 'trial_started', properties: { tag, seats: 3, annual: false }, source: 'import', importOrigin: origin } })]);
    expect([...treated, ...heldOut, ...untargeted, ...custom].filter((e) => 'campaignId' in e || 'sendId' in e)).toEqual([]);

    const again = await importHistory(body);
    expect(again.status, again.text).toBe(200);
    expect(again.body.summary).toEqual({ sends: 0, holdout: 0, interactions: 0, conversions: 0, events: 0, failed: 0 });

    // Another campaign's history carrying the same visit (no key: derived from the row, not the
    // campaign) and the same keyed page view (the contact named another way), and one new visit.
    const overlapping = await importHistory({ campaign: campaignOf(`${tag}-other`), sends: [send(5)], events: [events[0], { ...events[2], contact: { email: 'bulk38@example.com' } }, { ...events[1], contact: { email: 'bulk5@example.com' } }] });
    expect(overlapping.status, overlapping.text).toBe(201);
    expect(overlapping.body.summary).toMatchObject({ sends: 1, events: 1, failed: 0 });
    for (const i of [0, 4, 5, 38, 39]) expect(await eventEntriesOf(tag, [ids[i]!]), `bulk${i}`).toHaveLength(1);
  }, 60_000);

  test('the same events in requests sent at once (one request four times, and overlapping ones): each recorded once and counted once across all the answers', async () => {
    const tag = 'events-at-once';
    const visit = (i: number) => ({ contact: { email: `bulk${i}@example.com` }, type: 'visit', occurredAt: at(9), url: `${SHOP}/${tag}` });
    const repeated = { campaign: campaignOf(tag), sends: [send(0)], events: [0, 1, 2, 3, 4, 5].map(visit) };
    const bodies = [repeated, repeated, repeated, repeated, { campaign: campaignOf(tag), sends: [send(1)], events: [3, 4, 5, 6, 7].map(visit) }, { campaign: campaignOf(`${tag}-b`), sends: [send(2)], events: [6, 7, 8, 9].map(visit) }];
    const answers = await Promise.all(bodies.map((body) => importHistory(body)));
    expect(answers.map((a) => a.status).every((s) => s === 200 || s === 201), answers.map((a) => a.text).join('\n')).toBe(true);
    expect(answers.reduce((sum, a) => sum + a.body.summary.events, 0)).toBe(10);
    expect(answers.flatMap((a) => a.body.failures)).toEqual([]);
    for (let i = 0; i < 10; i++) expect(await eventEntriesOf(tag, [ids[i]!]), `bulk${i}`).toHaveLength(1);
  }, 60_000);

  test('bad event rows: 400 naming each field and nothing written; a row naming no contact fails alone at events[i].contact', async () => {
    const tag = 'events-bad';
    const who = { email: 'bulk37@example.com' };
    const good = { contact: who, type: 'visit', occurredAt: at(3), url: `${SHOP}/${tag}` };
    const bad = await t.api<{ error: { issues: Array<{ path: string; message: string }> } }>('POST', '/v1/campaigns/import', {
      body: {
        campaign: campaignOf(tag),
        sends: [send(37)],
        events: [
          good,
          { contact: who, type: 'page_view', occurredAt: at(3) },
          { contact: who, type: 'purchase', occurredAt: at(3) },
          { contact: who, type: 'custom', occurredAt: at(3), name: 'a|b', properties: { nested: { x: 1 } } },
          { contact: who, type: 'visit', occurredAt: new Date(Date.now() + DAY).toISOString() },
          { contact: { fax: '+15555550100' }, type: 'visit', occurredAt: at(3) },
          { contact: who, type: 'visit', occurredAt: at(3), url: 'javascript:alert(1)', campaignId: 'x' },
          { contact: who, type: 'custom', occurredAt: at(3), name: 'x', idempotencyKey: '' },
        ],
      },
    });
    expect(bad.status, bad.text).toBe(400);
    expect(bad.body.error.issues.map((i) => i.path).sort()).toEqual([
      'events[1].url',
      'events[2].type',
      'events[3].name',
      'events[3].properties.nested',
      'events[4].occurredAt',
      'events[5].contact',
      'events[6].campaignId',
      'events[6].url',
      'events[7].idempotencyKey',
    ]);
    const tooMany = await t.api<{ error: { issues: Array<{ path: string }> } }>('POST', '/v1/campaigns/import', { body: { campaign: campaignOf(tag), sends: [send(37)], events: Array.from({ length: 20_001 }, () => good) } });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.issues.map((i) => i.path)).toEqual(['events']);
    expect((await t.api('GET', `/v1/campaigns/${importedCampaignId(tag)}`)).status).toBe(404);
    expect(await eventEntriesOf(tag, [ids[37]!])).toEqual([]);

    const partly = await importHistory({ campaign: campaignOf(tag), sends: [send(37)], events: [good, { ...good, contact: { email: 'nobody@example.com' } }, { ...good, contact: { contactId: '6b0f3c1e-0000-4000-8000-00000000dead' } }] });
    expect(partly.status, partly.text).toBe(201);
    expect(partly.body.failures).toEqual([
      { index: 1, path: 'events[1].contact', message: NO_CONTACT },
      { index: 2, path: 'events[2].contact', message: NO_CONTACT },
    ]);
    expect(partly.body.summary).toEqual({ sends: 1, holdout: 0, interactions: 0, conversions: 0, events: 1, failed: 2 });
    expect(await eventEntriesOf(tag, [ids[37]!])).toHaveLength(1);
  }, 60_000);

  test('the same event through POST /v1/events and through a history is one timeline entry, whichever comes first', async () => {
    const tag = 'events-both-ways';
    const contactId = ids[37]!;
    const pageView = { type: 'page_view', occurredAt: at(7), idempotencyKey: `${tag}-1`, url: `${SHOP}/${tag}/a`, title: 'A' };
    const custom = { type: 'custom', occurredAt: at(8), idempotencyKey: `${tag}-2`, name: 'trial_started', properties: { tag } };

    const viaApi = await t.api('POST', '/v1/events', { body: { ...pageView, contactId } });
    expect(viaApi.status, viaApi.text).toBe(201);
    const imported = await importHistory({ campaign: campaignOf(tag), sends: [send(37)], events: [{ ...pageView, contact: { email: 'bulk37@example.com' } }, { ...custom, contact: { contactId } }] });
    expect(imported.status, imported.text).toBe(201);
    expect(imported.body.summary).toMatchObject({ events: 1, failed: 0 });
    const thenApi = await t.api('POST', '/v1/events', { body: { ...custom, email: 'bulk37@example.com' } });
    expect(thenApi.status, thenApi.text).toBe(200);
    expect(thenApi.body).toEqual({ type: 'custom', contactId, recorded: false, duplicate: true });

    const entries = await eventEntriesOf(tag, [contactId]);
    expect(entries.map((e) => [e.type, e.data?.source]).sort()).toEqual([
      ['custom', 'import'],
      ['page_viewed', 'api'],
    ]);
  }, 60_000);

  test('through an import job: {"event": …} lines land once each, a bad line fails alone at event.<field>, and the same file again adds nothing', async () => {
    const tag = 'events-job';
    const visit = (i: number) => ({ event: { contact: { email: `bulk${i}@example.com` }, type: 'visit', occurredAt: at(2), url: `${SHOP}/${tag}` } });
    const lines = [
      { campaign: campaignOf(tag) },
      { send: send(21) },
      { send: send(24) }, // held out
      visit(21), // line 4
      visit(24),
      { event: { contact: { email: 'bulk38@example.com' }, type: 'custom', occurredAt: at(3), name: 'trial_started', properties: { tag } } },
      { event: { contact: { email: 'bulk21@example.com' }, type: 'page_view', occurredAt: at(2) } }, // line 7: no url
      { event: { contact: { email: 'nobody@example.com' }, type: 'visit', occurredAt: at(2) } }, // line 8
      visit(21), // line 9: the row of line 4 again
    ];
    const file = lines.map((line) => JSON.stringify(line)).join('\n');
    const runJob = async () => {
      const created = await t.api<{ job: { id: string }; upload: { url: string; method: string; headers: Record<string, string> } }>('POST', '/v1/imports', { body: { kind: 'history', format: 'ndjson' } });
      expect(created.status, created.text).toBe(201);
      const put = await fetch(created.body.upload.url, { method: created.body.upload.method, headers: created.body.upload.headers, body: file });
      expect(put.status).toBe(200);
      await t.runtime.idle();
      return (await t.api<{ job: { status: string; rows: { total: number; done: number }; summary: Record<string, number>; errors: Array<{ line: number; issues: Array<{ path: string; message: string }> }> } }>('GET', `/v1/imports/${created.body.job.id}`)).body.job;
    };

    const first = await runJob();
    expect(first).toMatchObject({ status: 'completed', rows: { total: 8, done: 8 }, summary: { created: 5, updated: 0, unchanged: 1, failed: 2 } });
    expect(first.errors).toEqual([
      { line: 7, issues: [{ path: 'event.url', message: expect.any(String) }] },
      { line: 8, issues: [{ path: 'event.contact', message: NO_CONTACT }] },
    ]);
    const entries = async () => (await Promise.all([21, 24, 38].map((i) => eventEntriesOf(tag, [ids[i]!])))).map((list) => list.map((e) => e.type));
    expect(await entries()).toEqual([['visited'], ['visited'], ['custom']]);

    const second = await runJob();
    expect(second).toMatchObject({ status: 'completed', summary: { created: 0, updated: 0, unchanged: 6, failed: 2 } });
    expect(await entries()).toEqual([['visited'], ['visited'], ['custom']]);
  }, 60_000);
});
