import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import type { DynamoDbLocal } from '../../infra/local/dynamodb-local.ts';
import { startFileDynamoDb } from '../helpers/dynamodb.ts';
import { DynamoDbMeter } from '../helpers/dynamodb-meter.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
let meter: DynamoDbMeter;
let dynamodb: DynamoDbLocal | undefined;
beforeAll(async () => {
  dynamodb = await startFileDynamoDb();
  meter = new DynamoDbMeter(dynamodb.endpoint);
  t = await startTestRuntime({ dynamodbEndpoint: await meter.start() });
});
afterAll(async () => {
  await t?.stop();
  await meter?.stop();
  await dynamodb?.stop();
});

interface Created {
  job: { id: string; status: string; url: string };
  upload: { url: string; method: string; headers: Record<string, string>; expiresAt: string };
}
interface JobView {
  id: string;
  status: string;
  rows: { total: number | null; done: number };
  chunks: { total: number | null; done: number };
  summary: { created: number; updated: number; unchanged: number; failed: number };
  ratePerSecond: number | null;
  errors: Array<{ line: number; issues: Array<{ path: string; message: string }> }>;
  errorsUrl?: string;
  error?: { code: string; message: string };
}

async function createJob(body: Record<string, unknown>): Promise<Created> {
  const response = await t.api<Created>('POST', '/v1/imports', { body });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

async function upload(created: Created, file: string | Buffer): Promise<Response> {
  return fetch(created.upload.url, { method: created.upload.method, headers: created.upload.headers, body: file });
}

async function job(id: string): Promise<JobView> {
  const response = await t.api<{ job: JobView }>('GET', `/v1/imports/${id}`);
  expect(response.status, response.text).toBe(200);
  return response.body.job;
}

async function countItems(table: string): Promise<number> {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documentClient.send(new ScanCommand({ TableName: t.runtime.tableNames[table], Select: 'COUNT', ExclusiveStartKey: start }));
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
}

describe('import jobs', () => {
  test('a CSV uploaded to the presigned URL is split, imported and reported with per-row errors at their file lines', async () => {
    const created = await createJob({ kind: 'contacts', format: 'csv' });
    expect(created.job.status).toBe('awaiting_upload');
    expect(created.job.url).toBe(`${t.runtime.urls.api}/v1/imports/${created.job.id}`);
    expect(created.upload).toMatchObject({ method: 'PUT', headers: { 'content-type': 'text/csv' } });
    expect(Date.parse(created.upload.expiresAt)).toBeGreaterThan(Date.now());
    // No checksum of an empty body signed into the URL (S3 would refuse the real file).
    expect(new URL(created.upload.url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-type;host');
    expect([...new URL(created.upload.url).searchParams.keys()].filter((k) => k.toLowerCase().startsWith('x-amz-checksum'))).toEqual([]);

    // A quoted field spanning two lines, a blank line and a bad address: line numbers are the file's.
    const file = ['email,first_name,notes', 'ada@example.org,Ada,"two', 'lines"', '', 'not-an-email,Bad,x', 'grace@example.org,Grace,y'].join('\n');
    const put = await upload(created, file);
    expect(put.status).toBe(200);
    await t.runtime.idle();

    const view = await job(created.job.id);
    expect(view).toMatchObject({ status: 'completed', rows: { total: 3, done: 3 }, chunks: { total: 1, done: 1 }, summary: { created: 2, updated: 0, unchanged: 0, failed: 1 } });
    expect(view.errors).toEqual([{ line: 5, issues: [expect.objectContaining({ path: 'email' })] }]);
    expect(view.ratePerSecond).toBeGreaterThan(0);
    expect(view.errorsUrl).toBe(`${created.job.url}/errors`);

    const errors = await t.api('GET', `/v1/imports/${created.job.id}/errors`);
    expect(errors.status).toBe(302);
    const download = await fetch(errors.headers.get('location')!);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toContain('attachment');
    const csv = await download.text();
    expect(csv.split('\r\n')[0]).toBe('line,path,message');
    expect(csv).toMatch(/^5,email,/m);

    const ada = await t.api<{ items: Array<{ attributes: Record<string, unknown> }> }>('GET', '/v1/contacts?email=ada@example.org');
    expect(ada.body.items[0]?.attributes.notes).toBe('two\nlines');
  });

  test('the same upload notified twice imports once (a redelivered S3 notification changes nothing)', async () => {
    const created = await createJob({ kind: 'contacts', format: 'ndjson' });
    const lines = Array.from({ length: 30 }, (_, i) => JSON.stringify({ email: `twice${i}@example.org` })).join('\n');
    await upload(created, lines);
    await t.runtime.idle();
    const first = await job(created.job.id);
    // The notification again, as S3 may deliver it more than once.
    t.runtime.queues.get('importUploads')!.send(JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: [...t.runtime.buckets.keys()][0]! }, object: { key: `uploads/${created.job.id}` } } }] }));
    await t.runtime.idle();
    const second = await job(created.job.id);
    expect(first).toMatchObject({ status: 'completed', summary: { created: 30 } });
    expect(second.summary).toEqual(first.summary);
    expect(second.rows).toEqual({ total: 30, done: 30 });
  });

  test('bad requests get 4xx with the field and reason, and write nothing', async () => {
    meter.reset();
    const unknownKind = await t.api<{ error: { issues: Array<{ path: string }> } }>('POST', '/v1/imports', { body: { kind: 'mailchimp', format: 'csv' } });
    expect(unknownKind.status).toBe(400);
    expect(unknownKind.body.error.issues[0]!.path).toBe('kind');
    const badFormat = await t.api<{ error: { issues: Array<{ path: string }> } }>('POST', '/v1/imports', { body: { kind: 'history', format: 'csv' } });
    expect(badFormat.status).toBe(400);
    expect(badFormat.body.error.issues[0]!.path).toBe('format');
    expect((await t.api('POST', '/v1/imports', { body: { kind: 'contacts', format: 'csv', extra: 1 } })).status).toBe(400);
    expect((await t.api('GET', '/v1/imports/not-a-uuid')).status).toBe(400);
    expect((await t.api('GET', '/v1/imports/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await t.api('GET', '/v1/imports?cursor=bm9wZQ')).status).toBe(400);
    expect((await t.api('POST', '/v1/imports', { body: { kind: 'contacts', format: 'csv' }, token: null })).status).toBe(401);
    expect(meter.units.writesByTable).toEqual({});
  });

  test('the errors file waits for the job to finish; a job without failed rows has none', async () => {
    const waiting = await createJob({ kind: 'contacts', format: 'csv' });
    expect((await t.api('GET', `/v1/imports/${waiting.job.id}/errors`)).status).toBe(409);
    const clean = await createJob({ kind: 'contacts', format: 'csv' });
    await upload(clean, 'email\nclean@example.org\n');
    await t.runtime.idle();
    expect((await job(clean.job.id)).status).toBe('completed');
    expect((await t.api('GET', `/v1/imports/${clean.job.id}/errors`)).status).toBe(404);
  });

  test('a file that cannot be split fails the job as a whole, importing nothing', async () => {
    const empty = await createJob({ kind: 'contacts', format: 'ndjson' });
    await upload(empty, '\n\n');
    const unclosed = await createJob({ kind: 'contacts', format: 'csv' });
    const before = await countItems('contacts');
    // A quote that never closes would swallow the rest of the file: refused, not half-imported.
    await upload(unclosed, `email,notes\nopen@example.org,"never closed\n${'x,y\n'.repeat(300_000)}`);
    await t.runtime.idle();
    expect(await job(empty.job.id)).toMatchObject({ status: 'failed', error: { code: 'empty_file' }, rows: { done: 0 } });
    expect(await job(unclosed.job.id)).toMatchObject({ status: 'failed', error: { code: 'row_too_long', message: expect.stringContaining('closing quote') } });
    expect(await countItems('contacts')).toBe(before);
  });

  test('an expired upload URL is refused', async () => {
    const created = await createJob({ kind: 'contacts', format: 'csv' });
    const url = new URL(created.upload.url);
    url.searchParams.set('X-Amz-Date', '20200101T000000Z');
    const response = await fetch(url, { method: 'PUT', headers: created.upload.headers, body: 'email\nlate@example.org\n' });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('expired');
    await t.runtime.idle();
    expect((await job(created.job.id)).status).toBe('awaiting_upload');
  });

  test('jobs are listed newest first, a page at a time', async () => {
    const a = await createJob({ kind: 'contacts', format: 'csv' });
    const b = await createJob({ kind: 'contacts', format: 'csv' });
    const page = await t.api<{ items: Array<{ id: string }>; nextCursor?: string }>('GET', '/v1/imports?limit=1');
    expect(page.status).toBe(200);
    expect(page.body.items.map((j) => j.id)).toEqual([b.job.id]);
    const next = await t.api<{ items: Array<{ id: string }> }>('GET', `/v1/imports?limit=1&cursor=${page.body.nextCursor}`);
    expect(next.body.items.map((j) => j.id)).toEqual([a.job.id]);
  });

  test('a Pinpoint endpoint export through a job: a user\'s endpoints far apart in the file still make one contact; unsupported channels fail their line', async () => {
    const endpoint = (user: number, channel: string, address: string, optOut = 'NONE') =>
      JSON.stringify({ Id: `ep-${user}-${channel}`, ChannelType: channel, Address: address, EndpointStatus: 'ACTIVE', OptOut: optOut, User: { UserId: `pp-${user}`, UserAttributes: { Tier: [`t${user % 3}`] } } });
    const users = 1_500;
    const lines = [
      ...Array.from({ length: users }, (_, i) => endpoint(i, 'EMAIL', `pp${i}@example.org`)),
      endpoint(99_999, 'APNS', 'device-token'),
      // The same people's phones, more than a chunk further down.
      ...Array.from({ length: users }, (_, i) => endpoint(i, 'SMS', `+4479460${String(i).padStart(5, '0')}`, i === 7 ? 'ALL' : 'NONE')),
    ];
    const created = await createJob({ kind: 'pinpoint-endpoints' });
    await upload(created, lines.join('\n'));
    await t.runtime.idle(300_000);
    const view = await job(created.job.id);
    expect(view).toMatchObject({ status: 'completed', rows: { total: 3_001, done: 3_001 } });
    expect(view.chunks.total).toBeGreaterThan(1);
    expect(view.summary.failed).toBe(1);
    expect(view.errors).toEqual([{ line: users + 1, issues: [expect.objectContaining({ message: expect.stringContaining('APNS') })] }]);
    for (const i of [0, 7, 1_499]) {
      const found = await t.api<{ items: Array<{ id: string; phone?: string; attributes: Record<string, unknown> }> }>('GET', `/v1/contacts?email=pp${i}@example.org`);
      expect(found.body.items, `user ${i}`).toHaveLength(1);
      expect(found.body.items[0]).toMatchObject({ phone: `+4479460${String(i).padStart(5, '0')}`, attributes: { Tier: `t${i % 3}` } });
    }
    const optedOut = await t.api<{ items: Array<{ consent: Record<string, { status: string }> }> }>('GET', '/v1/contacts?email=pp7@example.org');
    expect(optedOut.body.items[0]!.consent.sms?.status).toBe('withdrawn');
  }, 600_000);

  test('Pinpoint options are checked when the job is created: a segment import needs its name', async () => {
    const missing = await t.api<{ error: { issues: Array<{ path: string }> } }>('POST', '/v1/imports', { body: { kind: 'pinpoint-segment', format: 'csv' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.issues.map((i) => i.path)).toContain('options');
    const badConsent = await t.api<{ error: { issues: Array<{ path: string }> } }>('POST', '/v1/imports', { body: { kind: 'pinpoint-endpoints', options: { consent: { consent: 'sure' } } } });
    expect(badConsent.status).toBe(400);
    expect(badConsent.body.error.issues[0]!.path).toMatch(/^options\.consent/);
    const segment = await createJob({ kind: 'pinpoint-segment', options: { segmentName: 'Spring buyers' } });
    await upload(segment, 'ChannelType,Address,User.UserId\nEMAIL,seg1@example.org,s1\nEMAIL,seg2@example.org,s2\n');
    await t.runtime.idle();
    expect(await job(segment.job.id)).toMatchObject({ status: 'completed', summary: { created: 2, failed: 0 } });
    const tagged = await t.api<{ items: Array<{ tags: string[] }> }>('GET', '/v1/contacts?email=seg2@example.org');
    expect(tagged.body.items[0]!.tags).toContain('pinpoint:Spring buyers');
  });

  test('a 12,000-row contacts job with workers crashing mid-way completes with every row once (larger jobs: npm run bench -- import)', async () => {
    const created = await createJob({ kind: 'contacts', format: 'csv' });
    const rows = Array.from({ length: 12_000 }, (_, i) => `bulk${i}@example.org,Bulk ${i},${i % 7}`);
    await upload(created, `email,name,bucket\n${rows.join('\n')}\n`);

    // Two crashes: a worker dies part-way through a chunk's rows (its write requests to the
    // contacts table fail for a while once a quarter of the file's have gone through), and another
    // dies after importing a chunk but before recording it (that chunk's completion fails a few
    // times, after 6 of its 12 chunks were recorded).
    let contactWrites = 0;
    let contactFaults = 0;
    let completions = 0;
    let completionFaults = 0;
    const contactsTable = t.runtime.tableNames.contacts!;
    const importsTable = t.runtime.tableNames.imports!;
    meter.fault = (operation, request) => {
      const text = JSON.stringify(request);
      if (text.includes(contactsTable) && ['TransactWriteItems', 'PutItem', 'BatchWriteItem', 'UpdateItem', 'BatchExecuteStatement'].includes(operation)) {
        contactWrites++;
        if (contactWrites > 72 && contactFaults < 8) return ++contactFaults > 0;
      }
      if (operation === 'TransactWriteItems' && text.includes(importsTable) && text.includes('chunksDone')) {
        if (completions >= 6 && completionFaults < 4) return ++completionFaults > 0;
        completions++;
      }
      return false;
    };
    try {
      // The job, not the whole pipeline: each new contact's event still goes on to its timeline afterwards.
      for (const deadline = Date.now() + 600_000; (await job(created.job.id)).status !== 'completed' && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 1000));
    } finally {
      meter.fault = undefined;
    }
    expect(contactFaults).toBe(8);
    expect(completionFaults).toBe(4);
    const view = await job(created.job.id);
    expect(view).toMatchObject({ status: 'completed', rows: { total: 12_000, done: 12_000 }, chunks: { total: 12, done: 12 }, summary: { created: 12_000, updated: 0, unchanged: 0, failed: 0 } });
    // Every row once: one contact and one lookup per address.
    const lookups = await documentClient.send(new QueryCommand({ TableName: t.runtime.tableNames.contactLookups, KeyConditionExpression: '#k = :k', ExpressionAttributeNames: { '#k': 'key' }, ExpressionAttributeValues: { ':k': 'email#bulk11999@example.org' } }));
    expect(lookups.Items).toHaveLength(1);
    let bulk = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await documentClient.send(new ScanCommand({ TableName: contactsTable, FilterExpression: 'begins_with(email, :p)', ExpressionAttributeValues: { ':p': 'bulk' }, Select: 'COUNT', ExclusiveStartKey: start }));
      bulk += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    expect(bulk).toBe(12_000);
    expect(t.runtime.deadLetterQueues.get('importChunks')!.stats().visible).toBe(0);
  }, 900_000);
});
