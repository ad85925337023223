import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { documentClient } from './aws/dynamodb.ts';

/**
 * Markers of work already done ("this event's confirmation email went out"), kept for a while
 * by TTL. `claim` is a conditional put: true the first time for a key, false after.
 */
export class IdempotencyMarkers {
  constructor(
    private readonly table: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  async has(key: string): Promise<boolean> {
    const result = await this.db.send(new GetCommand({ TableName: this.table, Key: { key }, ConsistentRead: true }));
    return result.Item !== undefined;
  }

  async claim(key: string, ttlSeconds = 7 * 24 * 3600, now = Date.now()): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { key, at: new Date(now).toISOString(), expiresAt: Math.floor(now / 1000) + ttlSeconds },
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
   * The time a key was first seen: claims it with `now`, or reads back the time an earlier claim
   * stored. Gives events that carry no timestamp of their own (Twilio callbacks) a stable one, so a
   * repeat lands on the same timeline key instead of a second entry.
   */
  async firstSeenAt(key: string, ttlSeconds = 30 * 24 * 3600, now = Date.now()): Promise<string> {
    if (await this.claim(key, ttlSeconds, now)) return new Date(now).toISOString();
    const result = await this.db.send(new GetCommand({ TableName: this.table, Key: { key }, ConsistentRead: true }));
    return (result.Item?.at as string | undefined) ?? new Date(now).toISOString();
  }

  /** The item a transaction puts to make its other writes happen once. */
  markerPut(key: string, ttlSeconds = 7 * 24 * 3600, now = Date.now()) {
    return {
      Put: {
        TableName: this.table,
        Item: { key, at: new Date(now).toISOString(), expiresAt: Math.floor(now / 1000) + ttlSeconds },
        ConditionExpression: 'attribute_not_exists(#k)',
        ExpressionAttributeNames: { '#k': 'key' },
      },
    };
  }
}
