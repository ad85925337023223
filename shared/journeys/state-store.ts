import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { batchGetAll, documentClient, queryAll, type TransactItem } from '../aws/dynamodb.ts';

/** Where an entry stands. `paused`: parked while its journey is paused (out of the due index). */
export type EntryStatus = 'active' | 'waiting' | 'paused' | 'holdout' | 'exited';

/** One contact's pass through one journey. */
export interface JourneyEntry {
  contactId: string;
  sk: string;
  journeyId: string;
  /** The byJourney index's partition (the journey id). */
  journeyEntry: string;
  /** 1 for the contact's first entry into this journey, 2 for the next… */
  entry: number;
  /** The definition version it entered with (and keeps). */
  version: number;
  status: EntryStatus;
  stepId: string;
  /** Steps taken so far: every move is conditional on it. */
  seq: number;
  enteredAt: string;
  /** What entered it: `event:<timeline id>`, `run:<run key>`, `check:<n>`. */
  trigger: string;
  /** Which stats shard counts it. */
  shard: number;
  /** A timed wait or a wait for an event's timeout: when it falls due; indexed through dueShard while waiting. */
  dueAt?: string;
  dueShard?: string;
  /** The key of the event a wait_for_event listens for (see triggerKeys). */
  waitingFor?: string;
  /** Paused entries remember what they were. */
  parkedFrom?: 'active' | 'waiting';
  /** The event a paused wait was listening for arrived during the pause (its key): the resume releases the wait. */
  releasedBy?: string;
  /** Responses to this entry's messages: "<stepId>:<type>" (a string set). */
  responses?: Set<string> | string[];
  /** The goal conversions counted for it within the attribution window (timeline ids; a string set) and their revenue. */
  goalEvents?: Set<string> | string[];
  goalRevenue?: number;
  /** The goal as it was when the contact entered: which event, and how long after entry it counts. */
  goal: { event: string; windowDays: number };
  /** The send record of its last message (resume releases it if the pause held it). */
  lastSend?: { campaignId: string; runId: string };
  exitReason?: string;
  exitedAt?: string;
}

/** The entry rules' state for one contact and journey. */
export interface JourneyLedger {
  contactId: string;
  sk: string;
  journeyId: string;
  entries: number;
  lastEnteredAt?: string;
  /** The entry in progress, if any: a contact is in a journey at most once at a time. */
  activeEntry?: number;
  /** The trigger of the last entry: the same trigger redelivered enters no one. */
  lastTrigger?: string;
}

export const ledgerSk = (journeyId: string): string => `${journeyId}#ledger`;
export const entrySk = (journeyId: string, entry: number): string => `${journeyId}#e${String(entry).padStart(6, '0')}`;
const isEntrySk = (sk: string): boolean => /#e\d{6}$/.test(sk);

/** Waits are spread over shards of the sparse due index, as deferred sends are. */
export const WAIT_SHARDS = 16;
export const waitShardOf = (contactId: string): string => `jdue#${[...contactId].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % WAIT_SHARDS}`;

/** What a step does to its entry, applied behind the `seq` gate. */
export interface EntryChange {
  set?: Record<string, unknown>;
  remove?: string[];
  /** Ends the contact's pass: clears the ledger's active entry in the same transaction. */
  exits?: boolean;
}

/**
 * The journeyStates table. Everything about one contact sits in one partition, so an event needs
 * one query to find every journey the contact is in. Every step moves the entry with a
 * transaction conditioned on its `seq` (and status): a redelivered wake-up, a crash's retry or
 * two events at once can each try, and only one moves it.
 */
export class JourneyStateStore {
  constructor(
    private readonly table: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  get tableName(): string {
    return this.table;
  }

  /** Every ledger and entry of the contact (all journeys, or one). */
  async forContact(contactId: string, journeyId?: string): Promise<{ ledgers: JourneyLedger[]; entries: JourneyEntry[] }> {
    const items: Array<Record<string, unknown>> = [];
    for await (const item of queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: journeyId ? 'contactId = :c AND begins_with(sk, :p)' : 'contactId = :c',
      ExpressionAttributeValues: { ':c': contactId, ...(journeyId ? { ':p': `${journeyId}#` } : {}) },
      ConsistentRead: true,
    })) items.push(item);
    return {
      ledgers: items.filter((i) => String(i.sk).endsWith('#ledger')) as unknown as JourneyLedger[],
      entries: items.filter((i) => isEntrySk(String(i.sk))) as unknown as JourneyEntry[],
    };
  }

  async ledger(contactId: string, journeyId: string): Promise<JourneyLedger | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.table, Key: { contactId, sk: ledgerSk(journeyId) }, ConsistentRead: true }));
    return result.Item as JourneyLedger | undefined;
  }

  async entry(contactId: string, journeyId: string, entry: number): Promise<JourneyEntry | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.table, Key: { contactId, sk: entrySk(journeyId, entry) }, ConsistentRead: true }));
    return result.Item as JourneyEntry | undefined;
  }

  /**
   * An entry and its ledger in one transaction, conditioned on the ledger being what the caller
   * read (entries count and no active entry): of two racing triggers for one contact, one enters.
   * Returns false when the race was lost (read again and decide again).
   */
  async enter(entry: JourneyEntry, previous: JourneyLedger | undefined, now: Date): Promise<boolean> {
    const active = entry.status === 'active';
    const ledgerCondition = previous ? 'entries = :prev AND attribute_not_exists(activeEntry)' : 'attribute_not_exists(contactId)';
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.table,
                Key: { contactId: entry.contactId, sk: ledgerSk(entry.journeyId) },
                UpdateExpression: `SET journeyId = :j, entries = :n, lastEnteredAt = :at, lastTrigger = :t${active ? ', activeEntry = :n' : ''}`,
                ConditionExpression: ledgerCondition,
                ExpressionAttributeValues: { ':j': entry.journeyId, ':n': entry.entry, ':at': now.toISOString(), ':t': entry.trigger, ...(previous ? { ':prev': previous.entries } : {}) },
              },
            },
            { Put: { TableName: this.table, Item: entry, ConditionExpression: 'attribute_not_exists(contactId)' } },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof TransactionCanceledException) return false;
      throw error;
    }
  }

  /** A ledger with no entry: the contact was in a segment_entry journey's segment when it started (so is not "newly matching" later). */
  async markSeen(contactId: string, journeyId: string): Promise<boolean> {
    try {
      await this.db.send(new PutCommand({ TableName: this.table, Item: { contactId, sk: ledgerSk(journeyId), journeyId, entries: 0, seen: true }, ConditionExpression: 'attribute_not_exists(contactId)' }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Moves the entry if it is still at `seq` in `status` (when it exits, in one transaction with the
   * ledger's active entry). `seq` always advances. False: someone else moved it first.
   */
  async gate(entry: JourneyEntry, change: EntryChange): Promise<boolean> {
    const names: Record<string, string> = { '#s': 'status' };
    const values: Record<string, unknown> = { ':seq': entry.seq, ':next': entry.seq + 1, ':was': entry.status };
    const sets = ['seq = :next'];
    Object.entries(change.set ?? {}).forEach(([key, value], i) => {
      names[`#x${i}`] = key;
      values[`:x${i}`] = value;
      sets.push(`#x${i} = :x${i}`);
    });
    const removes = (change.remove ?? []).map((key, i) => ((names[`#r${i}`] = key), `#r${i}`));
    const items: TransactItem[] = [
      {
        Update: {
          TableName: this.table,
          Key: { contactId: entry.contactId, sk: entry.sk },
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: 'seq = :seq AND #s = :was',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        },
      },
    ];
    if (change.exits) {
      items.push({
        Update: {
          TableName: this.table,
          Key: { contactId: entry.contactId, sk: ledgerSk(entry.journeyId) },
          UpdateExpression: 'REMOVE activeEntry',
          ConditionExpression: 'activeEntry = :n',
          ExpressionAttributeValues: { ':n': entry.entry },
        },
      });
    }
    try {
      // One item: a plain conditional update (half the write units of a transaction); with the ledger: a transaction.
      if (items.length === 1) await this.db.send(new UpdateCommand(items[0]!.Update as ConstructorParameters<typeof UpdateCommand>[0]));
      else await this.db.send(new TransactWriteCommand({ TransactItems: items }));
      return true;
    } catch (error) {
      if (error instanceof TransactionCanceledException || error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Notes on a paused entry that the event its wait listens for has come (still paused, still at its seq). */
  async noteEvent(entry: JourneyEntry, key: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { contactId: entry.contactId, sk: entry.sk },
          UpdateExpression: 'SET releasedBy = :k',
          ConditionExpression: 'seq = :seq AND #s = :paused',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':k': key, ':seq': entry.seq, ':paused': 'paused' },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** A response to one of the entry's messages (idempotent: a string set). */
  async addResponse(contactId: string, journeyId: string, entry: number, response: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { contactId, sk: entrySk(journeyId, entry) },
          UpdateExpression: 'ADD responses :r',
          ConditionExpression: 'attribute_exists(contactId)',
          ExpressionAttributeValues: { ':r': new Set([response]) },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** A goal conversion counted once for the entry (by its timeline id), with its revenue. */
  async markGoal(entry: Pick<JourneyEntry, 'contactId' | 'sk'>, eventId: string, revenue: number): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { contactId: entry.contactId, sk: entry.sk },
          UpdateExpression: 'ADD goalEvents :e, goalRevenue :v',
          ConditionExpression: 'attribute_exists(contactId) AND NOT contains(goalEvents, :id)',
          ExpressionAttributeValues: { ':e': new Set([eventId]), ':v': revenue, ':id': eventId },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Waits due by `until` in one shard of the index, oldest first. */
  async due(shard: string, until: Date, limit: number): Promise<Array<Pick<JourneyEntry, 'contactId' | 'sk' | 'dueAt'>>> {
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'byDue',
        KeyConditionExpression: 'dueShard = :s AND dueAt <= :until',
        ExpressionAttributeValues: { ':s': shard, ':until': until.toISOString() },
        Limit: limit,
      }),
    );
    return (result.Items ?? []) as Array<Pick<JourneyEntry, 'contactId' | 'sk' | 'dueAt'>>;
  }

  /**
   * The sweep's lease on a due wait: its due time moves on by the lease, conditioned on it being
   * unchanged, and the entry's seq comes back for the wake-up. A lost wake-up falls due again; a
   * doubled one is refused by the seq gate. undefined: someone else moved it.
   */
  async lease(key: { contactId: string; sk: string; dueAt: string }, until: Date): Promise<JourneyEntry | undefined> {
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { contactId: key.contactId, sk: key.sk },
          UpdateExpression: 'SET dueAt = :until',
          ConditionExpression: 'dueAt = :was AND #s = :waiting',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':until': until.toISOString(), ':was': key.dueAt, ':waiting': 'waiting' },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes as JourneyEntry;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /**
   * One page of a journey's entries, for the measurement, resume and stop sweeps: keys from the
   * byJourney index (keys only, so steps never rewrite it), then the entries themselves.
   */
  async page(journeyId: string, startKey: Record<string, unknown> | undefined, limit = 500): Promise<{ items: JourneyEntry[]; lastKey?: Record<string, unknown> }> {
    const result = await this.db.send(
      new QueryCommand({ TableName: this.table, IndexName: 'byJourney', KeyConditionExpression: 'journeyEntry = :j', ExpressionAttributeValues: { ':j': journeyId }, ExclusiveStartKey: startKey, Limit: limit }),
    );
    const keys = (result.Items ?? []).map((i) => ({ contactId: i.contactId, sk: i.sk }));
    const items = keys.length ? ((await batchGetAll(this.db, this.table, keys)) as unknown as JourneyEntry[]) : [];
    return { items, ...(result.LastEvaluatedKey ? { lastKey: result.LastEvaluatedKey } : {}) };
  }
}
