import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TooManyRequestsError } from '../../shared/errors.ts';
import { RateLimiter, type RateLimit } from '../../shared/rate-limit.ts';
import { startFileDynamoDb } from '../helpers/dynamodb.ts';

const table = `rate-limit-test-${randomBytes(4).toString('hex')}`;
const dynamodb = await startFileDynamoDb();
const client = new DynamoDBClient({ endpoint: dynamodb.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
const db = DynamoDBDocumentClient.from(client);
const limiter = new RateLimiter(table, db);

beforeAll(async () => {
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
    }),
  );
});
afterAll(async () => {
  await client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
  client.destroy();
  await dynamodb.stop();
});

let counter = 0;
/** A fresh counter name per use, so tests never share a window. */
const freshKey = (name: string): string => `${name}#${++counter}#${randomBytes(3).toString('hex')}`;

/** A window start far in the future (TTL never touches it), aligned to 3600 s and so to 60 s too. */
const HOUR_START = Date.UTC(2100, 0, 1, 0, 0, 0);

/** The error a hit throws, or undefined when it passes. */
async function outcome(promise: Promise<void>): Promise<unknown> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error;
  }
}

async function expectLimited(promise: Promise<void>): Promise<TooManyRequestsError> {
  const error = await outcome(promise);
  expect(error).toBeInstanceOf(TooManyRequestsError);
  return error as TooManyRequestsError;
}

describe('RateLimiter (fixed windows in DynamoDB Local)', () => {
  test('hits up to the limit pass; the next one throws with Retry-After within the window', async () => {
    // Prepare
    const limit: RateLimit = { key: freshKey('ip'), limit: 3, windowSeconds: 60 };
    const now = HOUR_START + 15_000;
    // Act
    for (let i = 0; i < 3; i++) await limiter.hit([limit], now + i);
    const error = await expectLimited(limiter.hit([limit], now + 3));
    // Assess: 15 s into a 60 s window, 45 s are left.
    expect(error.retryAfterSeconds).toBe(45);
    expect(error.status).toBe(429);
    // Every hit counts, refused ones too: the counter holds the attempts of this window.
    const item = await db.send(new GetCommand({ TableName: table, Key: { key: `${limit.key}#${Math.floor(now / 60_000)}` }, ConsistentRead: true }));
    expect(item.Item).toMatchObject({ hits: 4, expiresAt: (Math.floor(now / 60_000) + 1) * 60 + 60 });
  });

  test('(property) Retry-After is the rest of the window, rounded up, between 1 and the window', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(1, 10, 60, 3600), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), async (windowSeconds, fraction) => {
        // Prepare: a point somewhere inside a window.
        const offsetMs = Math.floor(fraction * windowSeconds * 1000);
        const now = HOUR_START + offsetMs;
        const limit: RateLimit = { key: freshKey('retry'), limit: 1, windowSeconds };
        await limiter.hit([limit], now);
        // Act
        const error = await expectLimited(limiter.hit([limit], now));
        // Assess
        expect(error.retryAfterSeconds).toBe(Math.max(1, Math.ceil(windowSeconds - offsetMs / 1000)));
        expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
        expect(error.retryAfterSeconds).toBeLessThanOrEqual(windowSeconds);
      }),
      { numRuns: 40 },
    );
  });

  test('the next window starts from zero; the window boundary is exact', async () => {
    // Prepare: the limit reached at the last millisecond of a window.
    const limit: RateLimit = { key: freshKey('window'), limit: 2, windowSeconds: 60 };
    const lastMs = HOUR_START + 60_000 - 1;
    await limiter.hit([limit], lastMs);
    await limiter.hit([limit], lastMs);
    const refused = await expectLimited(limiter.hit([limit], lastMs));
    // Act
    const first = await outcome(limiter.hit([limit], lastMs + 1));
    const second = await outcome(limiter.hit([limit], lastMs + 1));
    const third = await outcome(limiter.hit([limit], lastMs + 1));
    // Assess
    expect(refused.retryAfterSeconds).toBe(1);
    expect([first, second]).toEqual([undefined, undefined]);
    expect(third).toBeInstanceOf(TooManyRequestsError);
    expect((third as TooManyRequestsError).retryAfterSeconds).toBe(60);
  });

  test('20 concurrent hits with limit 10: exactly 10 pass and 10 are refused', async () => {
    // Prepare
    const limit: RateLimit = { key: freshKey('burst'), limit: 10, windowSeconds: 60 };
    const now = HOUR_START + 30_000;
    // Act
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => outcome(limiter.hit([limit], now))));
    // Assess
    expect(outcomes.filter((o) => o === undefined)).toHaveLength(10);
    expect(outcomes.filter((o) => o instanceof TooManyRequestsError)).toHaveLength(10);
  });

  test('several limits at once: every counter is hit; the first exceeded limit in the list decides', async () => {
    // Prepare: a per-minute and a per-hour limit; 30 s into both windows.
    const now = HOUR_START + 30_000;
    const perMinute = (key: string): RateLimit => ({ key, limit: 1, windowSeconds: 60 });
    const perHour = (key: string): RateLimit => ({ key, limit: 1, windowSeconds: 3600 });
    const minuteFirst = [perMinute(freshKey('a-min')), perHour(freshKey('a-hour'))];
    const hourFirst = [perHour(freshKey('b-hour')), perMinute(freshKey('b-min'))];
    const onlyHour = [perMinute(freshKey('c-min')), perHour(freshKey('c-hour'))];
    await limiter.hit(minuteFirst, now);
    await limiter.hit(hourFirst, now);
    await limiter.hit(onlyHour, now);
    // Act
    const minuteWins = await expectLimited(limiter.hit(minuteFirst, now));
    const hourWins = await expectLimited(limiter.hit(hourFirst, now));
    // The minute counter in a new minute is fresh; only the hour limit is exceeded.
    const hourOnly = await expectLimited(limiter.hit(onlyHour, now + 60_000));
    // Assess
    expect(minuteWins.retryAfterSeconds).toBe(30);
    expect(hourWins.retryAfterSeconds).toBe(3570);
    expect(hourOnly.retryAfterSeconds).toBe(3510);
    // Both counters were incremented by the refused hit (each hit is one write per limit).
    const hourKey = `${hourFirst[0]!.key}#${Math.floor(now / 3_600_000)}`;
    const minuteKey = `${hourFirst[1]!.key}#${Math.floor(now / 60_000)}`;
    const [hour, minute] = await Promise.all([hourKey, minuteKey].map((key) => db.send(new GetCommand({ TableName: table, Key: { key }, ConsistentRead: true }))));
    expect([hour?.Item?.hits, minute?.Item?.hits]).toEqual([2, 2]);
  });

  test('limits are independent per key', async () => {
    // Prepare
    const a: RateLimit = { key: freshKey('ip-a'), limit: 1, windowSeconds: 60 };
    const b: RateLimit = { key: freshKey('ip-b'), limit: 1, windowSeconds: 60 };
    const now = HOUR_START + 1_000;
    await limiter.hit([a], now);
    // Act
    const other = await outcome(limiter.hit([b], now));
    const same = await outcome(limiter.hit([a], now));
    // Assess
    expect(other).toBeUndefined();
    expect(same).toBeInstanceOf(TooManyRequestsError);
  });
});
