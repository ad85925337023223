import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { executeAll, insertStatement } from '../../shared/aws/dynamodb.ts';
import { SendStore, sendIdOf, sendPk, type SendRecord } from '../../shared/campaigns/send-store.ts';
import { DynamoDbMeter } from '../helpers/dynamodb-meter.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
let sends: SendStore;
let sendsTable: string;

beforeAll(async () => {
  t = await startTestRuntime();
  sendsTable = t.runtime.tableNames.sends!;
  sends = new SendStore(sendsTable);
});
afterAll(async () => {
  await t?.stop();
});

/** Queued send records of a fresh campaign run, one per contact. */
function queuedRecords(count: number, campaignId = randomUUID()): SendRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const contactId = `c-${String(i).padStart(4, '0')}`;
    return { pk: sendPk(campaignId, '1'), sk: contactId, sendId: sendIdOf(campaignId, '1', contactId), campaignId, runId: '1', contactId, status: 'queued', createdAt: new Date().toISOString(), attempts: 0, channel: 'email', variant: 'A' };
  });
}

describe('batched send-record writes (BatchExecuteStatement): each stays a conditional single-item write', () => {
  test('two audience workers writing the same page at once: every record is created by exactly one of them, and a replay creates nothing', async () => {
    // Prepare
    const records = queuedRecords(60);
    const other = records.map((r) => ({ ...r, createdAt: '2000-01-01T00:00:00.000Z', variant: 'B' }));

    // Act
    const [a, b] = await Promise.all([sends.createMany(records), sends.createMany(other)]);
    const replay = await sends.createMany(records);

    // Assess
    const createdBy = new Map<string, string>();
    for (const r of a) createdBy.set(r.contactId, 'a');
    for (const r of b) {
      expect(createdBy.has(r.contactId), `${r.contactId} created twice`).toBe(false);
      createdBy.set(r.contactId, 'b');
    }
    expect(createdBy.size).toBe(60);
    expect(replay).toEqual([]);
    const stored = await sends.getMany(records[0]!.campaignId, '1', records.map((r) => r.contactId));
    for (const [contactId, by] of createdBy) expect(stored.get(contactId)!.variant).toBe(by === 'a' ? 'A' : 'B');
  });

  test('three senders claiming the same 40 sends at once: each send is claimed once, with one attempt and a lease', async () => {
    // Prepare
    const records = queuedRecords(40);
    await sends.createMany(records);

    // Act
    const outcomes = await Promise.all([0, 1, 2].map(() => sends.claimMany(records, 120)));

    // Assess
    for (let i = 0; i < records.length; i++) {
      const claimedBy = outcomes.filter((o) => 'claimed' in o[i]!);
      expect(claimedBy, records[i]!.contactId).toHaveLength(1);
      for (const o of outcomes) if ('refused' in o[i]!) expect(o[i]).toEqual({ refused: { done: false, code: 'ConditionalCheckFailed', message: expect.any(String) } });
    }
    const stored = await sends.getMany(records[0]!.campaignId, '1', records.map((r) => r.contactId));
    for (const r of stored.values()) {
      expect(r.status).toBe('sending');
      expect(r.attempts).toBe(1);
      expect(Date.parse(r.leaseUntil!)).toBeGreaterThan(Date.now());
    }
  });

  test('marking sent moves only sends that are being sent; the lease goes, the provider id and time are kept', async () => {
    // Prepare
    const records = queuedRecords(3);
    await sends.createMany(records);
    await sends.claimMany(records.slice(0, 2), 120);
    await sends.move(records[1]!, 'sending', 'failed', { reason: 'outcome_unknown' }, ['leaseUntil']);
    const sentAt = new Date().toISOString();

    // Act
    const moved = await sends.markSentMany(records.map((r, i) => ({ pk: r.pk, sk: r.sk, sentAt, providerMessageId: `m-${i}`, cost: 0.25 })));

    // Assess
    expect(moved.map((o) => (o.done ? 'done' : o.code))).toEqual(['done', 'ConditionalCheckFailed', 'ConditionalCheckFailed']);
    const stored = await sends.getMany(records[0]!.campaignId, '1', records.map((r) => r.contactId));
    expect(stored.get('c-0000')).toMatchObject({ status: 'sent', sentAt, providerMessageId: 'm-0', cost: 0.25, attempts: 1 });
    expect(stored.get('c-0000')!.leaseUntil).toBeUndefined();
    expect(stored.get('c-0001')).toMatchObject({ status: 'failed', reason: 'outcome_unknown' });
    expect(stored.get('c-0002')).toMatchObject({ status: 'queued', attempts: 0 });
  });

  test('an attribute name that is not a plain identifier is refused before anything is sent', () => {
    expect(() => insertStatement(sendsTable, { pk: 'p', sk: 's', "x': 1, 'y": 2 })).toThrow(RangeError);
    expect(() => insertStatement('bad"table', { pk: 'p' })).toThrow(RangeError);
  });
});

describe('the DynamoDB meter prices PartiQL writes as DynamoDB bills the single writes', () => {
  test('an INSERT costs what the same PutItem costs (small and 2.5 KB items); an UPDATE of a 2.5 KB item costs 3 units; a refused one costs 1', async () => {
    // Prepare
    const meter = new DynamoDbMeter(t.runtime.urls.dynamodb);
    const endpoint = await meter.start();
    const raw = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'm', secretAccessKey: 'm' } });
    const db = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
    const pk = randomUUID();
    const small = { pk, sk: 'small', status: 'queued', attempts: 0 };
    const large = { pk, sk: 'large', status: 'queued', attempts: 0, note: 'x'.repeat(2500) };
    try {
      // Act: the single writes
      await db.send(new PutCommand({ TableName: sendsTable, Item: { ...small, sk: 'small-put' } }));
      const putSmall = meter.units.write;
      await db.send(new PutCommand({ TableName: sendsTable, Item: { ...large, sk: 'large-put' } }));
      const putLarge = meter.units.write - putSmall;
      meter.reset();
      // Act: the same items as statements
      await executeAll(db, [insertStatement(sendsTable, small)]);
      const insertSmall = meter.units.write;
      await executeAll(db, [insertStatement(sendsTable, large)]);
      const insertLarge = meter.units.write - insertSmall;
      meter.reset();
      const updated = await executeAll(db, [{ Statement: `UPDATE "${sendsTable}" SET "status" = 'sending' WHERE "pk" = ? AND "sk" = ? AND "status" = 'queued'`, Parameters: [pk, 'large'] }]);
      const update = meter.units.write;
      meter.reset();
      const refused = await executeAll(db, [insertStatement(sendsTable, small)]);

      // Assess
      expect([putSmall, putLarge]).toEqual([1, 3]);
      expect([insertSmall, insertLarge]).toEqual([putSmall, putLarge]);
      expect(updated).toEqual([{ done: true }]);
      expect(update).toBe(3);
      expect(refused).toEqual([{ done: false, code: 'DuplicateItem', message: expect.any(String) }]);
      expect(meter.units.write).toBe(1);
      expect(meter.units.writesByTable[sendsTable] ?? 0).toBe(0);
      expect((await db.send(new GetCommand({ TableName: sendsTable, Key: { pk, sk: 'large' } }))).Item?.status).toBe('sending');
    } finally {
      raw.destroy();
      await meter.stop();
    }
  });
});
