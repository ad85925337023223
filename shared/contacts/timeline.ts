import { GetCommand, PutCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { documentClient, executeAll, insertStatement, newestFirstPage, queryAll, type TransactItem } from '../aws/dynamodb.ts';
import { forEachLimit } from '../concurrency.ts';
import { BadRequestError } from '../errors.ts';
import { ActivityStore, activityMonthOf } from '../activity/activity-store.ts';
import { claimAll, type ClaimStatus } from '../write-once.ts';

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
  /** "<type>#<UTC day>" for the kinds the attribution run looks up by day (conversions); indexed sparsely. */
  typeDay?: string;
  /** The form of a form_submitted entry, and only there: the key of the sparse index byForm (a form's submissions). */
  formId?: string;
  /** The import part (job chunk or request) that wrote an imported entry: a replay of that part recognises it. */
  origin?: string;
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
export type RecordOutcome = 'recorded' | 'duplicate' | 'no-contact';

export class Timeline {
  /** The month items that hold the behaviour counters (see ActivityStore). */
  readonly activity: ActivityStore;

  constructor(
    private readonly table: string,
    contactsTable: string,
    activityTable: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {
    this.activity = new ActivityStore(activityTable, contactsTable, db);
  }

  /**
   * Records the interaction once: a repeated event is a duplicate, and nothing is recorded for
   * a contact that does not exist (erased while the event was in flight). The entry, its
   * counters and the listing of its month on the contact move in one transaction (the path for
   * low-volume facts; recordFast is the one for sends and provider events).
   */
  async record(interaction: Omit<Interaction, 'sk' | 'recordedAt'>, now = new Date()): Promise<RecordOutcome> {
    const item: Interaction = { ...interaction, sk: interactionSortKey(interaction.occurredAt, interaction.id), recordedAt: now.toISOString() };
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(sk)' } },
            { Update: this.activity.bumpUpdate(interaction) },
            { Update: this.activity.linkUpdate(interaction.contactId, activityMonthOf(interaction.occurredAt)) },
          ],
        }),
      );
      return 'recorded';
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const [put, , contact] = error.CancellationReasons ?? [];
        if (put?.Code === 'ConditionalCheckFailed') return 'duplicate';
        if (contact?.Code === 'ConditionalCheckFailed') return 'no-contact';
      }
      throw error;
    }
  }

  /**
   * The cheaper path for high-volume facts (sends, provider events) whose source already makes
   * them happen once (a send record's state machine, a provider event id): a conditional put of
   * the entry, then — only if it was new — the bump of its month's counter item, as two plain
   * writes of about one write unit each. A crash between the two loses one counter increment.
   * The contact is not read or written (except to list a month older than the previous one), so
   * an event for an erased contact is recorded rather than refused ('no-contact' only then).
   */
  async recordFast(interaction: Omit<Interaction, 'sk' | 'recordedAt'>, now = new Date()): Promise<RecordOutcome> {
    const item: Interaction = { ...interaction, sk: interactionSortKey(interaction.occurredAt, interaction.id), recordedAt: now.toISOString() };
    try {
      await this.db.send(new PutCommand({ TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(sk)' }));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'duplicate';
      throw error;
    }
    return (await this.activity.bump(interaction)) === 'counted' ? 'recorded' : 'no-contact';
  }

  /**
   * Records many entries of one import part at once: each entry once (see claimAll — batched
   * writes stamped with `origin`, so a replay of the part finds its own entries and writes none
   * again), and the counters of the entries written now bumped together (ActivityStore.bumpMany,
   * one update per contact and month); `listed` gives the months a contact already lists. As with
   * recordFast, a crash between the entries and their counters loses those counter increments:
   * the replay finds the entries written and does not count them again.
   */
  async recordMany(
    interactions: Array<Omit<Interaction, 'sk' | 'recordedAt' | 'origin'>>,
    origin: string,
    listed: (contactId: string) => Iterable<string> | undefined,
    now = new Date(),
  ): Promise<ClaimStatus[]> {
    const recordedAt = now.toISOString();
    const items: Interaction[] = interactions.map((interaction) => ({ ...interaction, sk: interactionSortKey(interaction.occurredAt, interaction.id), recordedAt }));
    const claims = await claimAll(this.db, this.table, ['contactId', 'sk'], items as unknown as Array<Record<string, unknown>>, origin, 'batch');
    await this.activity.bumpMany(
      items.filter((_, index) => claims[index]!.status === 'fresh'),
      listed,
      { nowMs: now.getTime() },
    );
    return claims.map((claim) => claim.status);
  }

  /**
   * recordFast() for many entries (a send batch's): the entries as conditional INSERTs, 25 a
   * request (a write unit each, as the single puts), then the counters of those that were new,
   * a few at a time. Outcomes in the order given; a refusal other than a duplicate throws once
   * the rest are recorded.
   */
  async recordFastMany(interactions: Array<Omit<Interaction, 'sk' | 'recordedAt'>>, now = new Date()): Promise<RecordOutcome[]> {
    const recordedAt = now.toISOString();
    const items: Interaction[] = interactions.map((interaction) => ({ ...interaction, sk: interactionSortKey(interaction.occurredAt, interaction.id), recordedAt }));
    // One statement per key: a request naming a key twice is refused whole.
    const first = new Map<string, number>();
    items.forEach((item, i) => first.has(`${item.contactId}\u0000${item.sk}`) || first.set(`${item.contactId}\u0000${item.sk}`, i));
    const unique = [...first.values()];
    const written = await executeAll(this.db, unique.map((i) => insertStatement(this.table, items[i] as unknown as Record<string, unknown>)));
    const outcomes: RecordOutcome[] = items.map(() => 'duplicate');
    let failure: string | undefined;
    const fresh: number[] = [];
    unique.forEach((i, k) => {
      const outcome = written[k]!;
      if (outcome.done) fresh.push(i);
      else if (outcome.code !== 'DuplicateItem') failure ??= `${outcome.code} ${outcome.message}`;
    });
    await forEachLimit(fresh, 8, async (i) => {
      outcomes[i] = (await this.activity.bump(interactions[i]!, now.getTime())) === 'counted' ? 'recorded' : 'no-contact';
    });
    if (failure) throw new Error(`timeline entries not written: ${failure}`);
    return outcomes;
  }

  /**
   * The entry as a conditional Put for a transaction that must land with it (a form submission
   * and its consent records). Its counters are bumped after the transaction (`activity.bump`).
   */
  entryPut(interaction: Omit<Interaction, 'sk' | 'recordedAt'>, now = new Date()): { item: Interaction; put: TransactItem } {
    const item: Interaction = { ...interaction, sk: interactionSortKey(interaction.occurredAt, interaction.id), recordedAt: now.toISOString() };
    return { item, put: { Put: { TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(sk)' } } };
  }

  /** One entry by its key. */
  async get(contactId: string, sk: string): Promise<Interaction | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.table, Key: { contactId, sk }, ConsistentRead: true }));
    return result.Item as Interaction | undefined;
  }

  /** The contact's entry with this id (and type), newest first; undefined when there is none. */
  async findById(contactId: string, id: string, type?: string): Promise<Interaction | undefined> {
    for await (const item of queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'contactId = :c',
      FilterExpression: type ? 'id = :id AND #t = :t' : 'id = :id',
      ExpressionAttributeNames: type ? { '#t': 'type' } : undefined,
      ExpressionAttributeValues: { ':c': contactId, ':id': id, ...(type ? { ':t': type } : {}) },
      ScanIndexForward: false,
      ConsistentRead: true,
    })) {
      return item as unknown as Interaction;
    }
    return undefined;
  }

  /**
   * Marks the held part of a form submission as applied, for the transaction that applies it:
   * conditioned on it still being pending, so a replayed confirmation link applies it once.
   */
  heldAppliedUpdate(contactId: string, sk: string, at: string, by: string): TransactItem {
    return {
      Update: {
        TableName: this.table,
        Key: { contactId, sk },
        UpdateExpression: 'SET #d.#h.#s = :applied, #d.#h.appliedAt = :at, #d.#h.appliedBy = :by',
        ConditionExpression: '#d.#h.#s = :pending',
        ExpressionAttributeNames: { '#d': 'data', '#h': 'held', '#s': 'status' },
        ExpressionAttributeValues: { ':applied': 'applied', ':pending': 'pending', ':at': at, ':by': by },
      },
    };
  }

  /**
   * The contact's newest entry of some types (and channel; with a campaign) in [since, before]: the send an inbound
   * STOP answers, the touch a conversion follows. Reads newest first and stops at the first match.
   */
  async latest(contactId: string, match: { types: string[]; channel?: 'email' | 'sms'; campaign?: boolean }, since: string, before: string): Promise<Interaction | undefined> {
    const filters = [`#t IN (${match.types.map((_, i) => `:t${i}`).join(', ')})`, ...(match.channel ? ['channel = :ch'] : []), ...(match.campaign ? ['attribute_exists(campaignId)'] : [])];
    for await (const item of queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'contactId = :c AND sk BETWEEN :from AND :to',
      FilterExpression: filters.join(' AND '),
      ExpressionAttributeNames: { '#t': 'type' },
      ExpressionAttributeValues: { ':c': contactId, ':from': since, ':to': before, ...Object.fromEntries(match.types.map((t, i) => [`:t${i}`, t])), ...(match.channel ? { ':ch': match.channel } : {}) },
      ScanIndexForward: false,
      ConsistentRead: true,
    })) {
      return item as unknown as Interaction;
    }
    return undefined;
  }

  /** Every interaction of a contact, oldest first (exports, erasure). */
  async all(contactId: string): Promise<Interaction[]> {
    const items: Interaction[] = [];
    for await (const item of queryAll(this.db, { TableName: this.table, KeyConditionExpression: 'contactId = :c', ExpressionAttributeValues: { ':c': contactId } })) items.push(item as unknown as Interaction);
    return items;
  }

  /**
   * Moves the contact's interactions to the erased person's pseudonym and strips their data:
   * campaign counts stay right, nothing links them to the person any more — the contact id is
   * replaced wherever it appears (entry ids and send ids carry it).
   */
  async anonymise(contactId: string, pseudonym: string, items?: Interaction[]): Promise<number> {
    items ??= await this.all(contactId);
    const swap = (value: string) => value.split(contactId).join(pseudonym);
    for (let i = 0; i < items.length; i += 50) {
      const chunk = items.slice(i, i + 50);
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: chunk.flatMap((item) => [
            { Delete: { TableName: this.table, Key: { contactId, sk: item.sk } } },
            {
              Put: {
                TableName: this.table,
                Item: {
                  contactId: pseudonym,
                  sk: swap(item.sk),
                  id: swap(item.id),
                  type: item.type,
                  occurredAt: item.occurredAt,
                  recordedAt: item.recordedAt,
                  ...(item.campaignId ? { campaignId: item.campaignId } : {}),
                  ...(item.sendId ? { sendId: swap(item.sendId) } : {}),
                  ...(item.channel ? { channel: item.channel } : {}),
                },
              },
            },
          ]),
        }),
      );
    }
    return items.length;
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
    const { items, last } = await newestFirstPage(this.db, this.table, { name: 'contactId', value: contactId }, limit, { after: exclusiveStartKey });
    const lastSk = last?.sk as string | undefined;
    return { items: items as unknown as Interaction[], nextCursor: lastSk ? Buffer.from(lastSk, 'utf8').toString('base64url') : undefined };
  }
}
