/**
 * The history import in bulk (shared/imports/history-import.ts): a history sent in several parts,
 * overlapping, repeated or at once, counts each send once on its campaign; a part that crashes
 * part-way and is processed again writes every record once and ends with exact counts; the
 * NDJSON chunk processor of history jobs reports each row's fate at its file line.
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

const timelineOf = async (contactId: string) =>
  ((await documentClient.send(new QueryCommand({ TableName: t.runtime.tableNames.interactions!, KeyConditionExpression: 'contactId = :c', ExpressionAttributeValues: { ':c': contactId }, ConsistentRead: true }))).Items ?? []) as Array<{ id: string; type: string; campaignId?: string }>;

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

/** A document client whose base client fails every write after the first `after` (a worker dying part-way), counting the writes that landed. */
function crashingClient(after: number) {
  const raw = new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB, region: process.env.AWS_REGION ?? 'us-east-1' });
  const state = { writes: 0, landed: [] as string[] };
  raw.middlewareStack.add(
    (next, context) => async (args) => {
      const write = /^(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems)Command$/.test(context.commandName ?? '');
      if (write && ++state.writes > after) throw new Error('injected crash');
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

const historyFile = (externalId: string) => {
  const lines: unknown[] = [];
  for (let i = 0; i < 30; i++) lines.push({ send: send(i, i % 2 ? 'B' : 'A') });
  for (let i = 0; i < 30; i += 2) lines.push({ interaction: { contact: { email: `bulk${i}@example.com` }, type: 'opened', occurredAt: at(2) } });
  for (let i = 0; i < 30; i += 6) lines.push({ interaction: { contact: { email: `bulk${i}@example.com` }, type: 'clicked', occurredAt: at(3), link: 'https://shop.example.com/' } });
  for (let i = 0; i < 30; i += 10) lines.push({ conversion: { contact: { email: `bulk${i}@example.com` }, name: 'purchase', value: 10 + i, occurredAt: at(20) } });
  return { header: JSON.stringify({ campaign: campaignOf(externalId) }), text: lines.map((l) => JSON.stringify(l)).join('\n') };
};

describe('a history chunk that crashes part-way and is processed again', () => {
  test.each([2, 5, 9, 14])('after %i writes: every record written once, every row created once, exact counts; a third run writes nothing', async (after) => {
    const externalId = `crash-after-${after}`;
    const file = historyFile(externalId);
    const chunk: ImportChunk = { jobId: `job-crash-${after}`, kind: 'history', format: 'ndjson', index: 0, header: file.header, text: file.text, firstLine: 2 };

    const crashing = crashingClient(after);
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
