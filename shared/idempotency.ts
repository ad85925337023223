import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { documentClient } from './aws/dynamodb.ts';
import * as z from 'zod';
import { keyedHash } from './aws/secrets.ts';

/** A client's idempotency key (an order number, a request id), as every API that takes one accepts it. */
export const IdempotencyKey = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');

/**
 * Markers of work already done ("this event's confirmation email went out"), kept for a while
 * by TTL. `claim` is a conditional put: true the first time for a key, false after.
 */
export class IdempotencyMarkers {
  constructor(
    private readonly table: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
    private readonly hash: (purpose: string, value: string) => Promise<string> = keyedHash,
  ) {}

  /**
   * Keys name what was done and to whom (a contact id, a client's order number): they are stored
   * only as a keyed hash, so the table holds nothing that links back to a person or a client's key.
   */
  private stored(key: string): Promise<string> {
    return this.hash('idempotency-marker', key);
  }

  async has(key: string): Promise<boolean> {
    const result = await this.db.send(new GetCommand({ TableName: this.table, Key: { key: await this.stored(key) }, ConsistentRead: true }));
    return result.Item !== undefined;
  }

  /** Removes a marker (work claimed but not done, so a retry may do it). */
  async release(key: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: { key: await this.stored(key) } }));
  }

  async claim(key: string, ttlSeconds = 7 * 24 * 3600, now = Date.now()): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { key: await this.stored(key), at: new Date(now).toISOString(), expiresAt: Math.floor(now / 1000) + ttlSeconds },
          ConditionExpression: 'attribute_not_exists(#k)',
          ExpressionAttributeNames: { '#k': 'key' },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * The time first given for a key: the first call stores `at` (default: now) and returns it, later
   * calls return what the first stored. Gives repeats of an event the same timeline key even when
   * the time they carry differs (Twilio callbacks carry none; a reloaded thank-you page sends a new one).
   */
  async firstSeenAt(key: string, at?: string, ttlSeconds = 90 * 24 * 3600, now = Date.now()): Promise<string> {
    const value = at ?? new Date(now).toISOString();
    const stored = await this.stored(key);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { key: stored, at: value, expiresAt: Math.floor(now / 1000) + ttlSeconds },
          ConditionExpression: 'attribute_not_exists(#k)',
          ExpressionAttributeNames: { '#k': 'key' },
        }),
      );
      return value;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const result = await this.db.send(new GetCommand({ TableName: this.table, Key: { key: stored }, ConsistentRead: true }));
    return (result.Item?.at as string | undefined) ?? value;
  }

  /** The item a transaction puts to make its other writes happen once. */
  async markerPut(key: string, ttlSeconds = 7 * 24 * 3600, now = Date.now()) {
    return {
      Put: {
        TableName: this.table,
        Item: { key: await this.stored(key), at: new Date(now).toISOString(), expiresAt: Math.floor(now / 1000) + ttlSeconds },
        ConditionExpression: 'attribute_not_exists(#k)',
        ExpressionAttributeNames: { '#k': 'key' },
      },
    };
  }
}
