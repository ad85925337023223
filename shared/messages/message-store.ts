import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { documentClient } from '../aws/dynamodb.ts';
import { sendIdOf, sendPk, TRANSACTIONAL, TRANSACTIONAL_SK, type SendRecord, type SendStatus } from '../campaigns/send-store.ts';

/**
 * A transactional message's send record, in the sends table under the reserved pseudo-campaign
 * (partition "transactional#<messageId>", sort key "message"): one item per idempotency key. It
 * is the idempotency record too — it holds the request's fingerprint and the result a replay
 * answers — so there is no second item that could disagree with it.
 *
 * The sort key is fixed (not the contact id, as campaign sends have) so that two requests with
 * one key can never create two items, even if the address became a contact's in between. The
 * send id keeps the campaign sends' shape (`transactional:<messageId>:<contactId or "address">`).
 *
 * Statuses (SendStatus): sending (claimed, with a lease) → sent | failed; queued (the provider
 * throttled or failed transiently: the next request with the key may claim it again); skipped
 * (refused before any provider call: suppressed or erased recipient).
 */
export interface MessageRecord extends SendRecord {
  kind: 'transactional';
  messageId: string;
  /** Keyed hash of the request body: the same key with another body is a conflict. */
  fingerprint: string;
  recipient: 'contact' | 'address';
  templateId: string;
  templateVersion: number;
  /** Client labels kept with the message (not sent). */
  metadata?: Record<string, string>;
  tags?: string[];
  /** Delivery events by type (delivered, bounced, complained, delivery_failed…) → when the first one happened. */
  outcomes: Record<string, string>;
}

export const MESSAGE_SK = TRANSACTIONAL_SK;
export const messagePk = (messageId: string): string => sendPk(TRANSACTIONAL, messageId);
/** The send id of a message: the contact's id, or "address" for a bare address. */
export const messageSendId = (messageId: string, contactId: string | undefined): string => sendIdOf(TRANSACTIONAL, messageId, contactId ?? 'address');

export type ClaimResult = { claimed: MessageRecord } | { existing: MessageRecord | undefined };

export class MessageStore {
  constructor(
    private readonly table: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  async get(messageId: string): Promise<MessageRecord | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: messagePk(messageId), sk: MESSAGE_SK }, ConsistentRead: true }));
    return result.Item as MessageRecord | undefined;
  }

  /**
   * The claim before the provider call: the record is written as `sending` with a lease if there
   * is none for the key, or moved queued → sending when an earlier attempt with the same body was
   * given back (throttling). Anything else — another request holds it, it is settled, or another
   * body — is answered with the record as it is.
   */
  async claim(record: MessageRecord, leaseSeconds: number, now: Date): Promise<ClaimResult> {
    const claimed: MessageRecord = { ...record, status: 'sending', leaseUntil: new Date(now.getTime() + leaseSeconds * 1000).toISOString() };
    const { pk, sk, attempts: _attempts, ...fields } = claimed;
    const names: Record<string, string> = { '#s': 'status', '#pk': 'pk' };
    const values: Record<string, unknown> = { ':queued': 'queued', ':fp': record.fingerprint, ':one': 1 };
    // A re-claim after throttling keeps the time the message was first asked for.
    const sets = Object.entries(fields).map(([key, value], i) => {
      names[`#f${i}`] = key;
      values[`:f${i}`] = value;
      return key === 'createdAt' ? `#f${i} = if_not_exists(#f${i}, :f${i})` : `#f${i} = :f${i}`;
    });
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk, sk },
          UpdateExpression: `SET ${sets.join(', ')} ADD attempts :one`,
          ConditionExpression: 'attribute_not_exists(#pk) OR (#s = :queued AND fingerprint = :fp)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { claimed: result.Attributes as MessageRecord };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { existing: await this.get(record.messageId) };
      throw error;
    }
  }

  /**
   * A refusal, recorded once for the key (so a replay answers it again): on a new key, or over an
   * attempt with the same body that the provider throttled (the address was suppressed since).
   * False when the key has another record.
   */
  async refuse(record: MessageRecord): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...record, status: 'skipped' },
          ConditionExpression: 'attribute_not_exists(pk) OR (#s = :queued AND fingerprint = :fp)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':queued': 'queued', ':fp': record.fingerprint },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Moves a message from one status to another (conditional on the current one), setting fields and dropping the lease. */
  async move(messageId: string, from: SendStatus, to: SendStatus, fields: Record<string, unknown> = {}): Promise<MessageRecord | undefined> {
    const names: Record<string, string> = { '#s': 'status' };
    const values: Record<string, unknown> = { ':from': from, ':to': to };
    const sets = ['#s = :to'];
    Object.entries(fields).forEach(([key, value], i) => {
      names[`#f${i}`] = key;
      values[`:f${i}`] = value;
      sets.push(`#f${i} = :f${i}`);
    });
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: messagePk(messageId), sk: MESSAGE_SK },
          UpdateExpression: `SET ${sets.join(', ')} REMOVE leaseUntil`,
          ConditionExpression: '#s = :from',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes as MessageRecord;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /**
   * A delivery event of the message (SES, SMS status): the first time of each type is kept. Only
   * an existing message is updated — an event naming an id Touchloop never made writes nothing.
   * Returns whether the message exists.
   */
  async recordOutcome(messageId: string, type: string, occurredAt: string): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: messagePk(messageId), sk: MESSAGE_SK },
          UpdateExpression: 'SET outcomes.#t = if_not_exists(outcomes.#t, :at)',
          ConditionExpression: 'attribute_exists(pk) AND kind = :kind',
          ExpressionAttributeNames: { '#t': type },
          ExpressionAttributeValues: { ':at': occurredAt, ':kind': 'transactional' },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
