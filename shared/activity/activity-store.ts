import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { batchGetAll, batchWriteAll, documentClient } from '../aws/dynamodb.ts';
import { forEachLimit } from '../concurrency.ts';
import { ACTIVITY_RETENTION_DAYS, activityKeys } from './activity.ts';

/** The contact attribute listing the months that have an activity item (a string set). */
export const ACTIVITY_MONTHS_ATTRIBUTE = 'activityMonths';

/** "2026-11": the UTC month an interaction's counters are kept under. */
export const activityMonthOf = (instant: string | number): string => new Date(instant).toISOString().slice(0, 7);

/** The month item expires (DynamoDB TTL) once every counter in it is past retention. */
export function activityMonthExpiry(month: string): number {
  const [year, mon] = month.split('-').map(Number) as [number, number];
  return Math.floor(Date.UTC(year, mon, 1) / 1000) + (ACTIVITY_RETENTION_DAYS + 1) * 86_400;
}

/** The oldest month a rule can still read counters from. */
export const oldestActivityMonth = (nowMs: number): string => activityMonthOf(nowMs - ACTIVITY_RETENTION_DAYS * 86_400_000);

/** The month before a "YYYY-MM" month. */
export function previousMonth(month: string): string {
  const [year, mon] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(year, mon - 2, 1)).toISOString().slice(0, 7);
}

/**
 * The months whose items a reader fetches, oldest first: the contact's listed months within
 * retention (and not before `sinceMs` when the reader needs no more), plus the current and the
 * previous month, which are read whether listed or not — recent events bump their month without
 * touching the contact, and the nightly run lists those months.
 */
export function monthsToRead(listed: Iterable<string> | undefined, nowMs: number, sinceMs?: number): string[] {
  const current = activityMonthOf(nowMs);
  const oldest = sinceMs === undefined ? oldestActivityMonth(nowMs) : [oldestActivityMonth(nowMs), activityMonthOf(sinceMs)].sort()[1]!;
  const months = new Set([...(listed ?? [])].filter((m) => m >= oldest && m <= current));
  months.add(current);
  if (previousMonth(current) >= oldest) months.add(previousMonth(current));
  return [...months].sort();
}

/** Counter attributes of a month item (everything but its key and expiry). */
const BOOKKEEPING = new Set(['contactId', 'month', 'expiresAt']);

export type ActivityCounters = Record<string, number>;

/** A contact item's own (older) counter map plus its month items' counters. */
export function mergeActivity(own: ActivityCounters | undefined, months: Array<Record<string, unknown>>): ActivityCounters {
  const merged: ActivityCounters = { ...(own ?? {}) };
  for (const item of months) {
    for (const [key, value] of Object.entries(item)) {
      if (BOOKKEEPING.has(key) || typeof value !== 'number') continue;
      merged[key] = (merged[key] ?? 0) + value;
    }
  }
  return merged;
}

export type BumpOutcome = 'counted' | 'no-contact';

type CountedInteraction = { contactId: string; type: string; channel?: string; campaignId?: string; occurredAt: string; data?: Record<string, unknown> };

interface WithActivity {
  id: string;
  activity?: ActivityCounters;
  activityMonths?: Iterable<string>;
}

/**
 * Behaviour counters, one small item per contact and UTC month (table `activity`: partition
 * contactId, sort key "YYYY-MM", TTL once the month is past retention). A counter bump rewrites
 * only that month's item — about one write unit — never the contact item, whose size
 * (attributes, consent, scores) would otherwise set the cost of every send and response.
 *
 * Readers fetch the current and previous month always, and older months the contact lists
 * (`activityMonths`, a string set). The nightly run lists the months of the interactions it
 * passes, in the score update it already writes; an interaction older than the previous month
 * (a late event, a historical import) lists its month at once. Counters stored on the contact
 * item before this table existed are still read and merged.
 */
export class ActivityStore {
  constructor(
    private readonly table: string,
    private readonly contactsTable: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  /** The update that adds one interaction to its month item (also used inside transactions). */
  bumpUpdate(interaction: CountedInteraction) {
    const keys = activityKeys(interaction);
    const month = activityMonthOf(interaction.occurredAt);
    return {
      TableName: this.table,
      Key: { contactId: interaction.contactId, month },
      UpdateExpression: `SET expiresAt = :ttl ADD ${keys.map((_, i) => `#k${i} :one`).join(', ')}`,
      ExpressionAttributeNames: Object.fromEntries(keys.map((k, i) => [`#k${i}`, k])),
      ExpressionAttributeValues: { ':one': 1, ':ttl': activityMonthExpiry(month) },
    };
  }

  /** The contact update that lists a month (idempotent; bumps the version so whole-item writers re-read). */
  linkUpdate(contactId: string, month: string) {
    return {
      TableName: this.contactsTable,
      Key: { id: contactId },
      UpdateExpression: `SET version = version + :one ADD ${ACTIVITY_MONTHS_ATTRIBUTE} :month`,
      ConditionExpression: 'attribute_exists(id)',
      ExpressionAttributeValues: { ':one': 1, ':month': new Set([month]) },
    };
  }

  /**
   * Adds one interaction to the contact's counters: one write to its month item. Only an
   * interaction older than the previous month also lists its month on the contact (readers do
   * not fetch such a month unless listed); that write is the one that can tell a missing contact.
   */
  async bump(interaction: CountedInteraction, nowMs = Date.now()): Promise<BumpOutcome> {
    await this.db.send(new UpdateCommand(this.bumpUpdate(interaction)));
    const month = activityMonthOf(interaction.occurredAt);
    if (month >= previousMonth(activityMonthOf(nowMs))) return 'counted';
    try {
      await this.db.send(new UpdateCommand(this.linkUpdate(interaction.contactId, month)));
      return 'counted';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'no-contact';
      throw error;
    }
  }

  /**
   * Adds many interactions at once (imports): one update per contact and month, adding every
   * counter of that month's interactions together, instead of one per interaction; and, for
   * months older than the previous one that `listed` does not show the contact listing yet, one
   * update per contact listing them all. At most `parallel` updates in flight.
   */
  async bumpMany(interactions: CountedInteraction[], listed: (contactId: string) => Iterable<string> | undefined, options: { nowMs?: number; parallel?: number } = {}): Promise<void> {
    const recent = previousMonth(activityMonthOf(options.nowMs ?? Date.now()));
    const byMonth = new Map<string, { contactId: string; month: string; counts: Map<string, number> }>();
    const toList = new Map<string, Set<string>>();
    for (const interaction of interactions) {
      const month = activityMonthOf(interaction.occurredAt);
      const slot = `${interaction.contactId}#${month}`;
      let entry = byMonth.get(slot);
      if (!entry) byMonth.set(slot, (entry = { contactId: interaction.contactId, month, counts: new Map() }));
      for (const key of activityKeys(interaction)) entry.counts.set(key, (entry.counts.get(key) ?? 0) + 1);
      if (month < recent && !new Set(listed(interaction.contactId) ?? []).has(month)) {
        const months = toList.get(interaction.contactId) ?? new Set<string>();
        months.add(month);
        toList.set(interaction.contactId, months);
      }
    }
    const updates = [
      ...[...byMonth.values()].map(({ contactId, month, counts }) => {
        const keys = [...counts.keys()];
        return {
          TableName: this.table,
          Key: { contactId, month },
          UpdateExpression: `SET expiresAt = :ttl ADD ${keys.map((_, i) => `#k${i} :n${i}`).join(', ')}`,
          ExpressionAttributeNames: Object.fromEntries(keys.map((k, i) => [`#k${i}`, k])),
          ExpressionAttributeValues: { ':ttl': activityMonthExpiry(month), ...Object.fromEntries(keys.map((k, i) => [`:n${i}`, counts.get(k)!])) },
        };
      }),
      ...[...toList].map(([contactId, months]) => ({ ...this.linkUpdate(contactId, ''), ExpressionAttributeValues: { ':one': 1, ':month': months } })),
    ];
    await forEachLimit(updates, options.parallel ?? 32, async (update) => {
      try {
        await this.db.send(new UpdateCommand(update));
      } catch (error) {
        // A listing for a contact erased meanwhile: there is nothing to list the month on.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    });
  }

  /**
   * Copies of the contacts whose `activity` holds their full counters (own map + month items) —
   * a view for reading: never write one back as a whole contact item. Reads the months
   * `monthsToRead` names for every contact with BatchGetItem (100 keys a request); `sinceMs` limits them for readers that look back less than the retention (frequency caps).
   */
  async attach<T extends WithActivity>(contacts: T[], options: { nowMs?: number; consistent?: boolean; sinceMs?: number } = {}): Promise<T[]> {
    const nowMs = options.nowMs ?? Date.now();
    const keys = contacts.flatMap((c) => monthsToRead(c.activityMonths, nowMs, options.sinceMs).map((month) => ({ contactId: c.id, month })));
    if (!keys.length) return contacts;
    const byContact = new Map<string, Array<Record<string, unknown>>>();
    for (const item of await batchGetAll(this.db, this.table, keys, { consistent: options.consistent })) {
      const list = byContact.get(String(item.contactId)) ?? [];
      list.push(item);
      byContact.set(String(item.contactId), list);
    }
    return contacts.map((contact) => {
      const months = byContact.get(contact.id);
      return months ? { ...contact, activity: mergeActivity(contact.activity, months) } : contact;
    });
  }

  /** Deletes every month item of a contact (erasure): the listed ones and the two recent ones. */
  async erase(contactId: string, listed: Iterable<string> | undefined, nowMs = Date.now()): Promise<void> {
    const months = new Set([...(listed ?? []), ...monthsToRead(undefined, nowMs)]);
    await batchWriteAll(this.db, this.table, [...months].map((month) => ({ DeleteRequest: { Key: { contactId, month } } })));
  }
}
