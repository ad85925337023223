import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand, paginateQuery, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { batchGetAll, documentClient, executeAll, insertStatement, partiqlTable, type StatementOutcome } from '../aws/dynamodb.ts';
import type { Channel } from './model.ts';

export type SendStatus = 'holdout' | 'queued' | 'deferred' | 'sending' | 'sent' | 'failed' | 'skipped' | 'paused' | 'cancelled';

/**
 * One contact in one run of a campaign: partition "<campaignId>#<runId>", sort key contactId.
 * Keyed by contact (not contact + channel) so a re-run of a launch can never message a person
 * twice, even if their best channel changed in between; the channel is an attribute.
 */
export interface SendRecord {
  pk: string;
  sk: string;
  sendId: string;
  campaignId: string;
  runId: string;
  contactId: string;
  channel?: Channel;
  variant?: string;
  status: SendStatus;
  /** Why it was skipped or failed. */
  reason?: string;
  createdAt: string;
  /** Deferred until (quiet hours, local-time schedules); indexed through dueShard while deferred. */
  dueAt?: string;
  dueShard?: string;
  leaseUntil?: string;
  attempts: number;
  sentAt?: string;
  providerMessageId?: string;
  cost?: number;
  error?: string;
  /** The contact's response propensity on the channel at launch (the forecast is their sum). */
  propensity?: number;
  /** P(goal) from the goal's propensity model at the channel and planned hour (the goal forecast is their sum); absent without an active model. */
  goalPropensity?: number;
  /** E[value of a goal conversion] the goal forecast's revenue used. */
  goalValue?: number;
  /** Predicted uplift of a targeted campaign's contact (treated or held out): the targeting score. */
  uplift?: number;
}

export const sendPk = (campaignId: string, runId: string): string => `${campaignId}#${runId}`;

/**
 * The reserved pseudo-campaign of transactional messages (POST /v1/messages): their send records
 * live under "transactional#<messageId>" and their send ids read "transactional:<messageId>:<contact>",
 * so erasure and delivery events find them like any send. Campaign ids are UUIDs, so it cannot
 * collide; nothing counts it as a campaign (its timeline entries carry no campaignId).
 */
export const TRANSACTIONAL = 'transactional';
/** The sort key of a transactional message's one item (shared/messages/message-store.ts). */
export const TRANSACTIONAL_SK = 'message';
/** Whether a send id names a transactional message rather than a campaign's send. */
export const isTransactionalSendId = (sendId: string): boolean => sendId.startsWith(`${TRANSACTIONAL}:`);
export const sendIdOf = (campaignId: string, runId: string, contactId: string): string => `${campaignId}:${runId}:${contactId}`;
export function parseSendId(sendId: string): { campaignId: string; runId: string; contactId: string } | undefined {
  const parts = sendId.split(':');
  if (parts.length !== 3 || parts.some((p) => !p)) return undefined;
  return { campaignId: parts[0]!, runId: parts[1]!, contactId: parts[2]! };
}

/** Deferred sends are spread over shards of a sparse index so the dispatcher never reads one hot partition. */
export const DUE_SHARDS = 16;
export const dueShardOf = (contactId: string): string => `due#${[...contactId].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % DUE_SHARDS}`;

export type ClaimOutcome = { claimed: true; record: SendRecord } | { claimed: false; record: SendRecord | undefined };

/** Send states after which nothing more happens to a send; anything else is cancelled when its contact is erased. */
const FINAL: readonly SendStatus[] = ['holdout', 'sent', 'failed', 'skipped', 'cancelled'];

export class SendStore {
  constructor(
    private readonly table: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  /**
   * Erasure: the contact's send records in the given campaign runs move to the pseudonym (key,
   * contactId and send id), keeping what campaign counts and lift need (status, channel, variant,
   * cost, times) and dropping the provider's message id and error text; a send that has not gone
   * out yet is cancelled. Returns how many moved.
   */
  async pseudonymise(contactId: string, pseudonym: string, runs: Array<{ campaignId: string; runId: string }>): Promise<number> {
    const keys = [...new Map(runs.map((r) => [sendPk(r.campaignId, r.runId), { pk: sendPk(r.campaignId, r.runId), sk: contactId }])).values()];
    const found = (await batchGetAll(this.db, this.table, keys, { consistent: true })) as unknown as SendRecord[];
    for (const record of found) {
      const { providerMessageId: _id, error: _error, leaseUntil: _lease, dueAt: _due, dueShard: _shard, ...kept } = record;
      const moved: SendRecord = {
        ...kept,
        sk: pseudonym,
        contactId: pseudonym,
        sendId: sendIdOf(record.campaignId, record.runId, pseudonym),
        ...(FINAL.includes(record.status) ? {} : { status: 'cancelled', reason: 'erased' }),
      };
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Delete: { TableName: this.table, Key: { pk: record.pk, sk: contactId } } },
            { Put: { TableName: this.table, Item: moved } },
          ],
        }),
      );
    }
    return found.length;
  }

  /**
   * Erasure of transactional messages (by message id, from the person's timeline): each record
   * that still names the contact moves to the pseudonym, dropping the provider's message id,
   * error text and the client's metadata. Returns how many moved.
   */
  async pseudonymiseMessages(contactId: string, pseudonym: string, messageIds: string[]): Promise<number> {
    let moved = 0;
    for (const messageId of new Set(messageIds)) {
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: sendPk(TRANSACTIONAL, messageId), sk: TRANSACTIONAL_SK },
            UpdateExpression: 'SET contactId = :p, sendId = :s REMOVE providerMessageId, #e, metadata',
            ConditionExpression: 'contactId = :c',
            ExpressionAttributeNames: { '#e': 'error' },
            ExpressionAttributeValues: { ':p': pseudonym, ':s': sendIdOf(TRANSACTIONAL, messageId, pseudonym), ':c': contactId },
          }),
        );
        moved++;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    return moved;
  }

  /** The launch's idempotent write: a second put for the same campaign run and contact is refused. */
  async create(record: SendRecord): Promise<boolean> {
    try {
      await this.db.send(new PutCommand({ TableName: this.table, Item: record, ConditionExpression: 'attribute_not_exists(pk)' }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * create() for many records of one page, 25 conditional INSERTs a request (one write unit each,
   * as the single puts): returns the records that were new. A refusal other than an existing
   * record (after retries of throttling) throws once the rest are written.
   */
  async createMany(records: SendRecord[]): Promise<SendRecord[]> {
    const unique = [...new Map(records.map((r) => [`${r.pk}\u0000${r.sk}`, r])).values()];
    const outcomes = await executeAll(this.db, unique.map((record) => insertStatement(this.table, record as unknown as Record<string, unknown>)));
    const failure = outcomes.find((o) => !o.done && o.code !== 'DuplicateItem');
    if (failure && !failure.done) throw new Error(`send records not written: ${failure.code} ${failure.message}`);
    return unique.filter((_, i) => outcomes[i]!.done);
  }

  /** The run's send records of these contacts (strongly consistent, 100 keys a request), by contact id. */
  async getMany(campaignId: string, runId: string, contactIds: string[]): Promise<Map<string, SendRecord>> {
    const pk = sendPk(campaignId, runId);
    const items = (await batchGetAll(this.db, this.table, [...new Set(contactIds)].map((sk) => ({ pk, sk })), { consistent: true })) as unknown as SendRecord[];
    return new Map(items.map((record) => [record.contactId, record]));
  }

  /**
   * claim() for many queued records of one run at once (conditional UPDATEs, 25 a request): the
   * outcome per record, in order; a claimed record comes back as it now is.
   */
  async claimMany(records: SendRecord[], leaseSeconds: number, now = new Date()): Promise<Array<{ claimed: SendRecord } | { refused: StatementOutcome }>> {
    const leaseUntil = new Date(now.getTime() + leaseSeconds * 1000).toISOString();
    const outcomes = await executeAll(
      this.db,
      records.map((r) => ({
        Statement: `UPDATE ${partiqlTable(this.table)} SET "status" = 'sending' SET "leaseUntil" = ? SET "attempts" = "attempts" + 1 WHERE "pk" = ? AND "sk" = ? AND "status" = 'queued'`,
        Parameters: [leaseUntil, r.pk, r.sk],
      })),
    );
    return records.map((r, i) => (outcomes[i]!.done ? { claimed: { ...r, status: 'sending', leaseUntil, attempts: r.attempts + 1 } } : { refused: outcomes[i]! }));
  }

  /** sending → sent for many claimed records (conditional UPDATEs, 25 a request), the lease removed: whether each moved. */
  async markSentMany(sent: Array<Pick<SendRecord, 'pk' | 'sk' | 'sentAt' | 'providerMessageId' | 'cost'> & { segments?: number }>): Promise<StatementOutcome[]> {
    return executeAll(
      this.db,
      sent.map((s) => ({
        Statement: `UPDATE ${partiqlTable(this.table)} SET "status" = 'sent' SET "sentAt" = ? SET "providerMessageId" = ? SET "cost" = ?${s.segments !== undefined ? ' SET "segments" = ?' : ''} REMOVE "leaseUntil" WHERE "pk" = ? AND "sk" = ? AND "status" = 'sending'`,
        Parameters: [s.sentAt, s.providerMessageId, s.cost ?? 0, ...(s.segments !== undefined ? [s.segments] : []), s.pk, s.sk],
      })),
    );
  }

  async get(campaignId: string, runId: string, contactId: string): Promise<SendRecord | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: sendPk(campaignId, runId), sk: contactId }, ConsistentRead: true }));
    return result.Item as SendRecord | undefined;
  }

  /** queued → sending with a lease: only one worker can hold a send at a time. */
  async claim(campaignId: string, runId: string, contactId: string, leaseSeconds: number, now = new Date()): Promise<ClaimOutcome> {
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: sendPk(campaignId, runId), sk: contactId },
          UpdateExpression: 'SET #s = :sending, leaseUntil = :lease ADD attempts :one',
          ConditionExpression: '#s = :queued',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':sending': 'sending', ':queued': 'queued', ':lease': new Date(now.getTime() + leaseSeconds * 1000).toISOString(), ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { claimed: true, record: result.Attributes as SendRecord };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { claimed: false, record: await this.get(campaignId, runId, contactId) };
      throw error;
    }
  }

  /** Moves a send from one status to another (conditional on the current one), setting fields with it. */
  async move(record: Pick<SendRecord, 'campaignId' | 'runId' | 'contactId'>, from: SendStatus | SendStatus[], to: SendStatus, fields: Record<string, unknown> = {}, remove: string[] = []): Promise<boolean> {
    const froms = [from].flat();
    const names: Record<string, string> = { '#s': 'status' };
    const values: Record<string, unknown> = { ':to': to };
    froms.forEach((f, i) => (values[`:f${i}`] = f));
    const sets = ['#s = :to'];
    Object.entries(fields).forEach(([key, value], i) => {
      names[`#x${i}`] = key;
      values[`:x${i}`] = value;
      sets.push(`#x${i} = :x${i}`);
    });
    const removes = remove.map((key, i) => {
      names[`#r${i}`] = key;
      return `#r${i}`;
    });
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: sendPk(record.campaignId, record.runId), sk: record.contactId },
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: `#s IN (${froms.map((_, i) => `:f${i}`).join(', ')})`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Deferred sends due by `until`, one shard at a time (sparse index byDue). */
  async due(shard: string, until: Date, limit: number): Promise<SendRecord[]> {
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'byDue',
        KeyConditionExpression: 'dueShard = :shard AND dueAt <= :until',
        ExpressionAttributeValues: { ':shard': shard, ':until': until.toISOString() },
        Limit: limit,
      }),
    );
    return (result.Items ?? []) as SendRecord[];
  }

  /** Every send of a run with a given status (resume after pause). */
  async *withStatus(campaignId: string, runId: string, status: SendStatus): AsyncGenerator<SendRecord[]> {
    const pages = paginateQuery(
      { client: this.db },
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        FilterExpression: '#s = :status',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':pk': sendPk(campaignId, runId), ':status': status },
      },
    );
    for await (const page of pages) yield (page.Items ?? []) as SendRecord[];
  }
}
