import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../aws/dynamodb.ts';
import type { Contact } from '../contacts/model.ts';
import { ActivityStore } from '../activity/activity-store.ts';
import { toEvalContact, type EvalContact } from './contact-view.ts';

export interface AudienceMember {
  contact: EvalContact;
  item: Contact;
}

export interface AudiencePage {
  segment: number;
  members: AudienceMember[];
  scanned: number;
  /** Read capacity DynamoDB reports for this page. */
  consumedCapacity: number;
  /** Where the scan of this segment continues; undefined when the segment is done. */
  lastKey?: Record<string, unknown>;
}

export interface ScanOptions {
  table: string;
  /** The month items of the behaviour counters (see ActivityStore). */
  activityTable: string;
  /**
   * How far back behaviour counters are read: all retained (default), from an instant (the rule
   * reads none but frequency caps need a week), or not at all (`null`: nothing reads them).
   */
  activitySinceMs?: number | null;
  test: (contact: EvalContact) => boolean;
  segment: number;
  totalSegments: number;
  /** Items read per request (DynamoDB also stops at 1 MB). */
  pageSize?: number;
  startKey?: Record<string, unknown>;
  db?: DynamoDBDocumentClient;
  now?: Date;
}

/**
 * Pages of one parallel-scan segment of the contacts table, filtered by a compiled rule in
 * memory. A caller that must stop (a Lambda near its timeout) keeps `lastKey` and resumes
 * there in another invocation: this is how campaign launch fans the scan out on AWS.
 */
export async function* scanSegment(options: ScanOptions): AsyncGenerator<AudiencePage> {
  const db = options.db ?? documentClient;
  const nowMs = (options.now ?? new Date()).getTime();
  const activity = new ActivityStore(options.activityTable, options.table, db);
  let startKey = options.startKey;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: options.table,
        Segment: options.segment,
        TotalSegments: options.totalSegments,
        Limit: options.pageSize ?? 500,
        ExclusiveStartKey: startKey,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    const members: AudienceMember[] = [];
    // Behaviour counters come with the page: one BatchGetItem per 100 listed months.
    const items = (page.Items ?? []) as Contact[];
    for (const raw of options.activitySinceMs === null ? items : await activity.attach(items, { nowMs, sinceMs: options.activitySinceMs })) {
      const contact = toEvalContact(raw, nowMs);
      if (options.test(contact)) members.push({ contact, item: raw });
    }
    startKey = page.LastEvaluatedKey;
    yield {
      segment: options.segment,
      members,
      scanned: page.ScannedCount ?? 0,
      consumedCapacity: page.ConsumedCapacity?.CapacityUnits ?? 0,
      lastKey: startKey,
    };
  } while (startKey);
}

/**
 * Every member of a rule's audience, page by page, reading all scan segments concurrently
 * (in one process: previews and the local runtime; on AWS each segment can run in its own
 * invocation through `scanSegment`).
 */
export async function* streamAudience(options: Omit<ScanOptions, 'segment' | 'startKey'>): AsyncGenerator<AudiencePage> {
  const iterators = Array.from({ length: options.totalSegments }, (_, segment) => scanSegment({ ...options, segment }));
  const pending = new Map<number, Promise<{ index: number; result: IteratorResult<AudiencePage> }>>();
  const pull = (index: number) => pending.set(index, iterators[index]!.next().then((result) => ({ index, result })));
  iterators.forEach((_, index) => pull(index));
  while (pending.size > 0) {
    const { index, result } = await Promise.race(pending.values());
    if (result.done) {
      pending.delete(index);
      continue;
    }
    pull(index);
    yield result.value;
  }
}
