import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { documentClient } from '../aws/dynamodb.ts';
import { BadRequestError } from '../errors.ts';

/** One entry on a contact's timeline: something the person did or that happened to them. */
export interface Interaction {
  contactId: string;
  /** `<occurredAt ISO>#<id>`: sorts by time, unique per source event. */
  sk: string;
  /** Idempotency key: the provider event id, EventBridge event id or client idempotency key. */
  id: string;
  type: string;
  occurredAt: string;
  recordedAt: string;
  campaignId?: string;
  sendId?: string;
  channel?: 'email' | 'sms';
  data?: Record<string, unknown>;
}

export const interactionSortKey = (occurredAt: string, id: string): string => `${occurredAt}#${id}`;

export interface TimelinePage {
  items: Interaction[];
  nextCursor?: string;
}

/**
 * The interactions table: a time series per contact (partition contactId, sort key
 * occurredAt#id). Writes are conditional on the item not existing, so a redelivered or
 * repeated event never records twice.
 */
export class Timeline {
  constructor(
    private readonly table: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  /** Records the interaction; returns false when it was already recorded. */
  async record(interaction: Omit<Interaction, 'sk' | 'recordedAt'>, now = new Date()): Promise<boolean> {
    const item: Interaction = { ...interaction, sk: interactionSortKey(interaction.occurredAt, interaction.id), recordedAt: now.toISOString() };
    try {
      await this.db.send(new PutCommand({ TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(sk)' }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Newest first, `limit` a page, continuing from an opaque cursor. */
  async page(contactId: string, limit: number, cursor?: string): Promise<TimelinePage> {
    let exclusiveStartKey: Record<string, unknown> | undefined;
    if (cursor) {
      try {
        const sk = Buffer.from(cursor, 'base64url').toString('utf8');
        if (!sk.includes('#')) throw new Error('bad cursor');
        exclusiveStartKey = { contactId, sk };
      } catch {
        throw new BadRequestError('cursor is not valid', 'invalid_cursor');
      }
    }
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'contactId = :c',
        ExpressionAttributeValues: { ':c': contactId },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: exclusiveStartKey,
      }),
    );
    const items = (result.Items ?? []) as Interaction[];
    const last = result.LastEvaluatedKey?.sk as string | undefined;
    return { items, nextCursor: last ? Buffer.from(last, 'utf8').toString('base64url') : undefined };
  }
}
