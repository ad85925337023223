import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, test } from 'vitest';
import * as z from 'zod';
import { STREAM_SCHEMA, StreamEvent } from '../../events/stream.ts';
import { FirehoseStreamSink } from '../../shared/aws/firehose.ts';
import { packLines, publishTableChanges, streamEventId, streamEventOf, type TableChange } from '../../shared/stream/event-stream.ts';

const entry = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  contactId: 'c-1',
  sk: '2026-12-01T10:00:00.000Z#camp-1:run-1:c-1',
  id: 'camp-1:run-1:c-1',
  type: 'sent',
  occurredAt: '2026-12-01T10:00:00.000Z',
  recordedAt: '2026-12-01T10:00:00.100Z',
  campaignId: 'camp-1',
  sendId: 'camp-1:run-1:c-1',
  channel: 'email',
  data: { variant: 'B', runId: 'run-1', providerMessageId: 'ses-1' },
  ...overrides,
});
const insert = (seq: number, image: Record<string, unknown> = entry({ sk: `2026-12-01T10:00:00.000Z#e${seq}` })): TableChange => ({ sequenceNumber: String(seq).padStart(21, '0'), eventName: 'INSERT', newImage: image });

describe('timeline entries as stream events', () => {
  test('a send carries its campaign, send, run, channel and variant; the id is stable per entry and distinct between entries', () => {
    const event = streamEventOf(entry())!;
    expect(StreamEvent.strict().parse(event)).toEqual({
      schema: STREAM_SCHEMA,
      id: streamEventId('c-1', '2026-12-01T10:00:00.000Z#camp-1:run-1:c-1'),
      type: 'sent',
      occurredAt: '2026-12-01T10:00:00.000Z',
      recordedAt: '2026-12-01T10:00:00.100Z',
      contactId: 'c-1',
      campaignId: 'camp-1',
      sendId: 'camp-1:run-1:c-1',
      runId: 'run-1',
      channel: 'email',
      variant: 'B',
      data: { providerMessageId: 'ses-1' },
    });
    expect(streamEventOf(entry())!.id).toBe(event.id);
    expect(streamEventOf(entry({ sk: '2026-12-01T10:00:00.000Z#other' }))!.id).not.toBe(event.id);
    expect(streamEventOf(entry({ contactId: 'c-2' }))!.id).not.toBe(event.id);
  });

  test('a conversion carries name, value and currency; personal data in an entry never reaches the stream', () => {
    const conversion = streamEventOf(entry({ type: 'converted', channel: undefined, data: { name: 'purchase', value: 19.99, currency: 'EUR', source: 'api', orderEmail: 'ada@example.com' } }))!;
    expect(conversion).toMatchObject({ type: 'converted', name: 'purchase', value: 19.99, currency: 'EUR', data: { source: 'api' } });
    const reply = streamEventOf(entry({ type: 'sms_received', channel: 'sms', data: { keyword: null, body: 'call me on +447400123456' } }))!;
    const click = streamEventOf(entry({ type: 'clicked', data: { link: 'https://shop.example.com', linkIndex: 0, userAgent: 'Mozilla/5.0' } }))!;
    const form = streamEventOf(entry({ type: 'form_submitted', data: { formId: 'f-1', values: { email: 'ada@example.com' }, ip: '203.0.113.9' } }))!;
    expect(reply.data).toEqual({});
    expect(click.data).toEqual({ link: 'https://shop.example.com', linkIndex: 0 });
    expect(form.data).toEqual({ formId: 'f-1' });
    const published = JSON.stringify([conversion, reply, click, form]);
    for (const secret of ['ada@example.com', '+447400123456', 'Mozilla', '203.0.113.9']) expect(published).not.toContain(secret);
  });

  test("a form submission as the contact service records it: the site it came from, never the submitter's IP, user agent or values", () => {
    // contact-service.ts stores `from: { ip, userAgent, origin }` and the submitted values on every form_submitted entry.
    const submitted = streamEventOf(
      entry({
        type: 'form_submitted',
        channel: undefined,
        data: { formId: 'f-1', submissionId: 's-1', created: true, submitted: { email: 'ada@example.com', attributes: {} }, from: { ip: '203.0.113.9', userAgent: 'Mozilla/5.0 (X11)', origin: 'https://www.example.com' } },
      }),
    )!;
    expect(submitted.data).toEqual({ formId: 'f-1', submissionId: 's-1', from: { origin: 'https://www.example.com' } });
    const withoutOrigin = streamEventOf(entry({ type: 'form_submitted', channel: undefined, data: { formId: 'f-1', from: { ip: '203.0.113.9', userAgent: 'curl/8' } } }))!;
    expect(withoutOrigin.data).toEqual({ formId: 'f-1' });
    const published = JSON.stringify([submitted, withoutOrigin]);
    for (const secret of ['ada@example.com', '203.0.113.9', 'Mozilla', 'curl/8']) expect(published).not.toContain(secret);
  });

  test("erasure's move of a history to a pseudonym is not an event; an item that is no timeline entry throws", () => {
    expect(streamEventOf(entry({ contactId: 'erased#0b9d', data: undefined }))).toBeUndefined();
    expect(() => streamEventOf({ contactId: 'c-1', sk: 'x' })).toThrow();
  });
});

describe('packing NDJSON lines into Firehose records', () => {
  test('lines keep their order, records stay within the byte limit and calls within the record and byte limits', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(i % 7 === 0 ? 60 : 10)}"}`);
    const limits = { recordBytes: 100, recordsPerCall: 4, bytesPerCall: 300 };
    const calls = packLines(lines, limits);
    const records = calls.flat();
    expect(records.map((r) => r.data.toString('utf8')).join('')).toBe(lines.map((l) => `${l}\n`).join(''));
    for (const record of records) expect(record.data.length).toBeLessThanOrEqual(100);
    for (const call of calls) {
      expect(call.length).toBeLessThanOrEqual(4);
      expect(call.reduce((n, r) => n + r.data.length, 0)).toBeLessThanOrEqual(300);
    }
    expect(records.reduce((n, r) => n + r.count, 0)).toBe(50);
    expect(records.length).toBeLessThan(lines.length);
  });

  test('a line longer than a record can hold is refused rather than split', () => {
    expect(() => packLines(['x'.repeat(200)], { recordBytes: 100, recordsPerCall: 4, bytesPerCall: 300 })).toThrow(/record limit/);
  });
});

describe('publishing table changes through Firehose', () => {
  const firehose = new FirehoseClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const mock = mockClient(firehose);
  const sink = new FirehoseStreamSink('events', firehose, 3, 0);
  beforeEach(() => mock.reset());

  test('only INSERTs are events: REMOVEs and MODIFYs are skipped; a whole batch goes out in one record of one call', async () => {
    mock.on(PutRecordBatchCommand).resolves({ FailedPutCount: 0, RequestResponses: [{ RecordId: 'r' }] });
    const outcome = await publishTableChanges([insert(1), { sequenceNumber: '2', eventName: 'REMOVE' }, { sequenceNumber: '3', eventName: 'MODIFY', newImage: entry() }, insert(4)], sink);
    expect(outcome).toEqual({ published: 2, skipped: 2, calls: 1 });
    const sent = mock.commandCalls(PutRecordBatchCommand)[0]!.args[0].input;
    expect(sent.DeliveryStreamName).toBe('events');
    const lines = Buffer.from(sent.Records![0]!.Data!).toString('utf8').trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual([streamEventId('c-1', '2026-12-01T10:00:00.000Z#e1'), streamEventId('c-1', '2026-12-01T10:00:00.000Z#e4')]);
  });

  test('records Firehose reports failed (FailedPutCount) are sent again, alone; success then means nothing to retry', async () => {
    mock
      .on(PutRecordBatchCommand)
      .resolvesOnce({ FailedPutCount: 1, RequestResponses: [{ RecordId: 'a' }, { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' }] })
      .resolves({ FailedPutCount: 0, RequestResponses: [{ RecordId: 'b' }] });
    const changes = Array.from({ length: 4 }, (_, i) => insert(i + 1));
    const outcome = await publishTableChanges(changes, sink, { recordBytes: 700, recordsPerCall: 500, bytesPerCall: 4_000_000 });
    expect(outcome.retryFrom).toBeUndefined();
    expect(outcome.published).toBe(4);
    const calls = mock.commandCalls(PutRecordBatchCommand).map((c) => c.args[0].input.Records!);
    expect(calls.map((records) => records.length)).toEqual([2, 1]);
    expect(Buffer.from(calls[1]![0]!.Data!)).toEqual(Buffer.from(calls[0]![1]!.Data!));
  });

  test('a record Firehose keeps refusing becomes the batch item failure at its first event; no later call is made', async () => {
    mock.on(PutRecordBatchCommand).resolves({ FailedPutCount: 1, RequestResponses: [{ ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' }] });
    const changes = Array.from({ length: 6 }, (_, i) => insert(i + 1));
    // Two events per record, one record per call: three calls, the first refused.
    const outcome = await publishTableChanges(changes, sink, { recordBytes: 900, recordsPerCall: 1, bytesPerCall: 4_000_000 });
    expect(outcome).toMatchObject({ published: 0, retryFrom: changes[0]!.sequenceNumber, calls: 1 });
    expect(mock.commandCalls(PutRecordBatchCommand)).toHaveLength(3);
  });

  test('a refusal in a later call keeps what went before: the failure names the first event of the refused record', async () => {
    mock
      .on(PutRecordBatchCommand)
      .resolvesOnce({ FailedPutCount: 0, RequestResponses: [{ RecordId: 'a' }] })
      .rejects(new Error('socket hang up'));
    const changes = [insert(1), insert(2), { sequenceNumber: '000000000000000000003', eventName: 'REMOVE' as const }, insert(4), insert(5)];
    const outcome = await publishTableChanges(changes, sink, { recordBytes: 900, recordsPerCall: 1, bytesPerCall: 4_000_000 });
    expect(outcome).toMatchObject({ published: 2, retryFrom: changes[3]!.sequenceNumber });
  });

  test('a change that is no timeline entry stops the batch there (after publishing what came before it)', async () => {
    mock.on(PutRecordBatchCommand).resolves({ FailedPutCount: 0, RequestResponses: [{ RecordId: 'a' }] });
    const changes = [insert(1), insert(2, { contactId: 'c-1' }), insert(3)];
    const outcome = await publishTableChanges(changes, sink);
    expect(outcome).toMatchObject({ published: 1, retryFrom: changes[1]!.sequenceNumber });
  });
});

describe('the stream schema is a versioned contract', () => {
  type Schema = { type?: string; properties?: Record<string, Schema>; required?: string[] };
  const file = path.join(import.meta.dirname, '..', 'contracts', 'touchloop.event.v1.json');
  test('touchloop.event/1 keeps every field, its type, and what is always present (UPDATE_CONTRACTS=1 writes a missing file)', () => {
    const current = z.toJSONSchema(StreamEvent) as Schema;
    if (!existsSync(file)) {
      if (process.env.UPDATE_CONTRACTS !== '1') throw new Error(`${file} is missing: run with UPDATE_CONTRACTS=1 to write it`);
      writeFileSync(file, `${JSON.stringify(current, null, 2)}\n`);
    }
    const committed = JSON.parse(readFileSync(file, 'utf8')) as Schema;
    const problems: string[] = [];
    for (const [name, prop] of Object.entries(committed.properties ?? {})) {
      const now = current.properties?.[name];
      if (!now) problems.push(`${name}: removed`);
      else if (JSON.stringify(now.type) !== JSON.stringify(prop.type)) problems.push(`${name}: type ${prop.type} → ${now.type}`);
    }
    for (const name of committed.required ?? []) if (!(current.required ?? []).includes(name)) problems.push(`${name}: no longer always present`);
    expect(problems).toEqual([]);
    expect(Object.keys(committed.properties ?? {})).toContain('id');
  });
});
