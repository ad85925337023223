import { createHash } from 'node:crypto';
import * as z from 'zod';
import { STREAM_SCHEMA, type StreamEvent } from '../../events/stream.ts';
import { logger } from '../logger.ts';

/**
 * The timeline → public event stream. Every send and interaction lands once on a contact's
 * timeline (the interactions table, conditional puts), so the table's change stream is the one
 * place that sees each of them exactly once: its INSERTs become stream events. REMOVEs (erasure)
 * are not events, MODIFYs only mark a held form submission applied, and the INSERTs erasure
 * makes when it moves a history to a pseudonym (`erased#…`) are moves, not new events.
 */

/** Keys of an entry's `data` that may leave Touchloop: no address, message text, user agent or submitted values. */
const PUBLIC_DATA_KEYS = new Set([
  'link',
  'linkIndex',
  'bounceType',
  'bounceSubType',
  'feedbackType',
  'reason',
  'source',
  'from',
  'origin',
  'changed',
  'keyword',
  'providerMessageId',
  'imported',
  'formId',
  'submissionId',
  'url',
  'path',
  'referrer',
  'title',
  'properties',
  // Transactional messages (POST /v1/messages): the flag and the message's opaque id.
  'transactional',
  'messageId',
]);

/**
 * `from` is a plain value on most entries, but a form submission's is `{ ip, userAgent, origin }`
 * (shared/contacts/contact-service.ts): only the site it came from leaves Touchloop.
 */
function publicFrom(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const origin = (value as { origin?: unknown }).origin;
  return typeof origin === 'string' && origin !== '' ? { origin } : undefined;
}

/** The interaction item as the table holds it (shared/contacts/timeline.ts), as much as the stream reads. */
const TimelineItem = z.object({
  contactId: z.string().min(1),
  sk: z.string().min(1),
  type: z.string().min(1),
  occurredAt: z.string().min(1),
  recordedAt: z.string().min(1),
  campaignId: z.string().optional(),
  sendId: z.string().optional(),
  channel: z.enum(['email', 'sms']).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});

/** The event's stable id: the same timeline entry always gives the same id (readers deduplicate on it). */
export const streamEventId = (contactId: string, sk: string): string => createHash('sha256').update(`${contactId}\n${sk}`).digest('hex').slice(0, 32);

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const finite = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/** A timeline item as a stream event; undefined for an erasure's move to a pseudonym. Throws on an item that is not a timeline entry. */
export function streamEventOf(image: Record<string, unknown>): StreamEvent | undefined {
  const item = TimelineItem.parse(image);
  if (item.contactId.startsWith('erased#')) return undefined;
  const raw = item.data ?? {};
  const data = Object.fromEntries(
    Object.entries(raw)
      .filter(([key, value]) => PUBLIC_DATA_KEYS.has(key) && value !== undefined && value !== null)
      .map(([key, value]) => [key, key === 'from' ? publicFrom(value) : value] as const)
      .filter(([, value]) => value !== undefined),
  );
  const event: StreamEvent = {
    schema: STREAM_SCHEMA,
    id: streamEventId(item.contactId, item.sk),
    type: item.type,
    occurredAt: item.occurredAt,
    recordedAt: item.recordedAt,
    contactId: item.contactId,
    data,
  };
  if (item.campaignId) event.campaignId = item.campaignId;
  if (item.sendId) event.sendId = item.sendId;
  if (item.channel) event.channel = item.channel;
  const runId = text(raw.runId);
  if (runId) event.runId = runId;
  const variant = text(raw.variant);
  if (variant) event.variant = variant;
  const name = text(raw.name);
  if (name) event.name = name;
  const value = finite(raw.value);
  if (value !== undefined) event.value = value;
  const currency = text(raw.currency);
  if (currency) event.currency = currency;
  return event;
}

/**
 * Firehose's limits (PutRecordBatch: 500 records and 4 MiB a call, 1,000 KiB a record) with room
 * to spare. Firehose bills ingestion per record rounded up to 5 KB, so many NDJSON lines go into
 * one record: a million ~400-byte events cost what 0.4 GB costs, not 5 GB.
 */
export interface PackLimits {
  recordBytes: number;
  recordsPerCall: number;
  bytesPerCall: number;
}
export const FIREHOSE_LIMITS: PackLimits = { recordBytes: 900 * 1024, recordsPerCall: 500, bytesPerCall: 3.5 * 1024 * 1024 };

/** One Firehose record: NDJSON lines [first, first + count) of the batch. */
export interface PackedRecord {
  data: Buffer;
  first: number;
  count: number;
}

/** Packs lines (in order) into records of at most `recordBytes`, and records into calls within the per-call limits. */
export function packLines(lines: string[], limits: PackLimits = FIREHOSE_LIMITS): PackedRecord[][] {
  const records: PackedRecord[] = [];
  let parts: Buffer[] = [];
  let size = 0;
  let first = 0;
  const close = (next: number) => {
    if (parts.length) records.push({ data: Buffer.concat(parts, size), first, count: next - first });
    parts = [];
    size = 0;
    first = next;
  };
  lines.forEach((line, i) => {
    const bytes = Buffer.from(`${line}\n`, 'utf8');
    if (bytes.length > limits.recordBytes) throw new Error(`stream event ${i} is ${bytes.length} bytes, over the ${limits.recordBytes}-byte record limit`);
    if (size + bytes.length > limits.recordBytes) close(i);
    parts.push(bytes);
    size += bytes.length;
  });
  close(lines.length);
  const calls: PackedRecord[][] = [];
  let call: PackedRecord[] = [];
  let callBytes = 0;
  for (const record of records) {
    if (call.length && (call.length >= limits.recordsPerCall || callBytes + record.data.length > limits.bytesPerCall)) {
      calls.push(call);
      call = [];
      callBytes = 0;
    }
    call.push(record);
    callBytes += record.data.length;
  }
  if (call.length) calls.push(call);
  return calls;
}

/** Where packed records go (Firehose PutRecordBatch); answers the indexes still failed after its own retries. */
export interface StreamSink {
  putRecords(records: Buffer[]): Promise<{ failed: number[] }>;
}

/** A change of the interactions table, its image already in plain JSON. */
export interface TableChange {
  sequenceNumber: string;
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  newImage?: Record<string, unknown>;
}

export interface PublishOutcome {
  published: number;
  /** Changes that are not events (REMOVE, MODIFY, erasure moves). */
  skipped: number;
  /** PutRecordBatch calls made. */
  calls: number;
  /** The sequence number to retry from (Lambda's batch item failure): everything from it on is published again. */
  retryFrom?: string;
}

/**
 * Publishes a batch of table changes in order. On the first record Firehose keeps refusing (or a
 * change that is no timeline entry) it stops and answers where to retry from: events before it are
 * published once, events after it are sent again with the retry (at least once, same ids).
 */
export async function publishTableChanges(changes: TableChange[], sink: StreamSink, limits: PackLimits = FIREHOSE_LIMITS): Promise<PublishOutcome> {
  const lines: string[] = [];
  const sources: number[] = [];
  let skipped = 0;
  let stopAt: number | undefined;
  for (const [index, change] of changes.entries()) {
    if (change.eventName !== 'INSERT' || !change.newImage) {
      skipped++;
      continue;
    }
    let event: StreamEvent | undefined;
    try {
      event = streamEventOf(change.newImage);
    } catch (error) {
      logger.error('table change is not a timeline entry', { sequenceNumber: change.sequenceNumber, error: error as Error });
      stopAt = index;
      break;
    }
    if (!event) {
      skipped++;
      continue;
    }
    lines.push(JSON.stringify(event));
    sources.push(index);
  }
  let published = 0;
  let calls = 0;
  for (const call of packLines(lines, limits)) {
    calls++;
    let failed: number[];
    try {
      ({ failed } = await sink.putRecords(call.map((r) => r.data)));
    } catch (error) {
      logger.error('event stream put failed', { error: error as Error });
      failed = call.map((_, i) => i);
    }
    if (failed.length) {
      const firstFailed = call[Math.min(...failed)]!;
      return { published: published + (firstFailed.first - (call[0]?.first ?? 0)), skipped, calls, retryFrom: changes[sources[firstFailed.first]!]!.sequenceNumber };
    }
    published += call.reduce((n, r) => n + r.count, 0);
  }
  return { published, skipped, calls, ...(stopAt !== undefined ? { retryFrom: changes[stopAt]!.sequenceNumber } : {}) };
}
