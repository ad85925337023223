import { DeleteCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { batchGetAll, documentClient } from '../aws/dynamodb.ts';
import { keyedHash } from '../aws/secrets.ts';
import type { Channel } from './model.ts';

/**
 * Why an address must not receive marketing on a channel. Which of them may be lifted, and by
 * whom, is the consent rule below: withdrawn consent stays withdrawn until the person proves it
 * is them (or a marketer records consent evidence); a hard bounce is never lifted by consent.
 */
export type SuppressionReason = 'unsubscribed' | 'opted_out' | 'erased' | 'manual' | 'bounced' | 'complained';

/**
 * Reasons that mean "the person (or a marketer for them) said no": an unsolicited form post
 * cannot bring the channel back; it asks the owner to confirm instead (double opt-in, START).
 */
export const WITHDRAWAL_REASONS: readonly SuppressionReason[] = ['unsubscribed', 'opted_out', 'complained', 'manual'];

/** Lifted when the address's owner proves it is them: a double opt-in confirmation, START/UNSTOP from the number. */
export const OWNER_CONFIRMATION_LIFTS: readonly SuppressionReason[] = WITHDRAWAL_REASONS;

/**
 * Lifted by an authenticated API call or import that records consent evidence. Erasure too: a
 * marketer holding new consent may add an erased person back; a public form never can.
 */
export const EVIDENCE_LIFTS: readonly SuppressionReason[] = [...WITHDRAWAL_REASONS, 'erased'];

export interface SuppressionEntry {
  at: string;
  source: string;
  note?: string;
}

export interface Suppression {
  key: string;
  channel: Channel;
  reasons: Partial<Record<SuppressionReason, SuppressionEntry>>;
  updatedAt: string;
}

/**
 * The suppression list, keyed by channel and a keyed hash of the address (never the address
 * itself): it can answer "is this address suppressed?" for a known address, and it keeps
 * working after a contact is erased without holding their PII.
 */
export class SuppressionStore {
  constructor(
    private readonly table: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
    private readonly hash: (purpose: string, value: string) => Promise<string> = keyedHash,
  ) {}

  async keyFor(channel: Channel, address: string): Promise<string> {
    return `${channel}#${await this.hash('suppression', address)}`;
  }

  async get(channel: Channel, address: string): Promise<Suppression | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.table, Key: { key: await this.keyFor(channel, address) }, ConsistentRead: true }));
    return fromItem(result.Item);
  }

  /** Suppression state for several addresses in one read (send-time and segment checks). */
  async getMany(entries: Array<{ channel: Channel; address: string }>): Promise<Map<string, Suppression>> {
    const keys = await Promise.all(entries.map((e) => this.keyFor(e.channel, e.address)));
    const found = new Map<string, Suppression>();
    for (const item of await batchGetAll(this.db, this.table, [...new Set(keys)].map((key) => ({ key })))) {
      const suppression = fromItem(item);
      if (suppression) found.set(suppression.key, suppression);
    }
    const byAddress = new Map<string, Suppression>();
    entries.forEach((e, index) => {
      const item = found.get(keys[index]!);
      if (item) byAddress.set(`${e.channel}:${e.address}`, item);
    });
    return byAddress;
  }

  /** Adds a reason (one attribute per reason, so concurrent reasons never overwrite each other). */
  async add(channel: Channel, address: string, reason: SuppressionReason, entry: SuppressionEntry): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { key: await this.keyFor(channel, address) },
        UpdateExpression: 'SET channel = :c, updatedAt = :at, #r = :e',
        ExpressionAttributeNames: { '#r': `${REASON_PREFIX}${reason}` },
        ExpressionAttributeValues: { ':c': channel, ':at': entry.at, ':e': entry },
      }),
    );
  }

  /** Lifts the given reasons (new consent lifts the consent-related ones); deletes the entry when none is left. */
  async lift(channel: Channel, address: string, reasons: readonly SuppressionReason[], at: string): Promise<SuppressionReason[]> {
    const current = await this.get(channel, address);
    if (!current) return [];
    const lifted = reasons.filter((r) => current.reasons[r]);
    if (lifted.length === 0) return [];
    const remaining = Object.keys(current.reasons).filter((r) => !lifted.includes(r as SuppressionReason));
    const names = Object.fromEntries(lifted.map((r, i) => [`#r${i}`, `${REASON_PREFIX}${r}`]));
    try {
      if (remaining.length === 0) {
        await this.db.send(
          new DeleteCommand({ TableName: this.table, Key: { key: current.key }, ConditionExpression: 'updatedAt = :u', ExpressionAttributeValues: { ':u': current.updatedAt } }),
        );
      } else {
        await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { key: current.key },
            UpdateExpression: `REMOVE ${Object.keys(names).join(', ')} SET updatedAt = :at`,
            ConditionExpression: 'updatedAt = :u',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ':at': at, ':u': current.updatedAt },
          }),
        );
      }
    } catch (error) {
      // Changed meanwhile (e.g. a bounce arrived): read again.
      if (error instanceof ConditionalCheckFailedException) return this.lift(channel, address, reasons, at);
      throw error;
    }
    return lifted;
  }
}

const REASON_PREFIX = 'reason_';

function fromItem(item: Record<string, unknown> | undefined): Suppression | undefined {
  if (!item) return undefined;
  const reasons: Suppression['reasons'] = {};
  for (const [name, value] of Object.entries(item)) {
    if (name.startsWith(REASON_PREFIX)) reasons[name.slice(REASON_PREFIX.length) as SuppressionReason] = value as SuppressionEntry;
  }
  if (Object.keys(reasons).length === 0) return undefined;
  return { key: String(item.key), channel: item.channel as Channel, reasons, updatedAt: String(item.updatedAt) };
}
