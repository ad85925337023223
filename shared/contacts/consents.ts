import { randomUUID } from 'node:crypto';
import { TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient, newestFirstPage, queryAll } from '../aws/dynamodb.ts';
import { decodeCursor, encodeCursor } from '../http/cursor.ts';
import type { Channel, ConsentStatus } from './model.ts';

/** What happened to consent, as recorded: the proof behind every marketing message. */
export type ConsentAction = 'granted' | 'confirmed' | 'withdrawn';
export type DoubleOptInState = 'pending' | 'confirmed' | 'not_required' | 'already_confirmed';

export interface ConsentRecord {
  contactId: string;
  /** `<at>#<channel>#<id>`: chronological per contact. */
  sk: string;
  id: string;
  channel: Channel;
  action: ConsentAction;
  /** The channel's consent status after this record. */
  status: ConsentStatus;
  at: string;
  /** form, api, import, confirmation, unsubscribe, sms-keyword… */
  source: string;
  formId?: string;
  wordingVersion?: string;
  /** SHA-256 of the exact wording shown, so the text can be proven later without storing it per record. */
  wordingHash?: string;
  ip?: string;
  userAgent?: string;
  doubleOptIn?: DoubleOptInState;
  /** Who recorded it through the API (the marketer's token subject). */
  actor?: string;
  /** When the consent was originally captured, for imported evidence. */
  capturedAt?: string;
  /** Keyed hash of the address the consent was for (survives erasure). */
  addressHash: string;
  erasedAt?: string;
}

export type NewConsentRecord = Omit<ConsentRecord, 'sk' | 'id'>;

/** A record's sort key, as buildConsentRecord writes it. */
const CONSENT_SORT_KEY = /^\d{4}-\d{2}-\d{2}T[^#]+#(?:email|sms)#[^#]+$/;

/** `id` is given by writers that must find their own record again (an import replayed after a crash); random otherwise. */
export function buildConsentRecord(input: NewConsentRecord & { id?: string }): ConsentRecord {
  const id = input.id ?? randomUUID();
  return { ...input, id, sk: `${input.at}#${input.channel}#${id}` };
}

/** Fields kept when a person is erased: no PII, only that consent existed, when, and for which hashed address. */
export function anonymisedConsentRecord(record: ConsentRecord, erasedAt: string, pseudonym = record.contactId): ConsentRecord {
  return {
    contactId: pseudonym,
    sk: record.sk,
    id: record.id,
    channel: record.channel,
    action: record.action,
    status: record.status,
    at: record.at,
    source: record.source,
    addressHash: record.addressHash,
    erasedAt,
  };
}

export class ConsentLog {
  constructor(
    private readonly table: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  /** The contact's consent records, oldest first. */
  async list(contactId: string): Promise<ConsentRecord[]> {
    const items: ConsentRecord[] = [];
    for await (const item of queryAll(this.db, { TableName: this.table, KeyConditionExpression: 'contactId = :c', ExpressionAttributeValues: { ':c': contactId }, ConsistentRead: true })) {
      items.push(item as unknown as ConsentRecord);
    }
    return items;
  }

  /** The contact's consent records, newest first, `limit` a page, continuing from a cursor this method returned for the same contact. */
  async page(contactId: string, limit: number, cursor?: string): Promise<{ items: ConsentRecord[]; nextCursor?: string }> {
    const scope = `consents/${contactId}`;
    const after = cursor === undefined ? undefined : { contactId, sk: decodeCursor(cursor, scope, 1, ([sk]) => CONSENT_SORT_KEY.test(sk!))[0] };
    const { items, last } = await newestFirstPage(this.db, this.table, { name: 'contactId', value: contactId }, limit, { after, consistent: true });
    return { items: items as unknown as ConsentRecord[], ...(last ? { nextCursor: encodeCursor(scope, [String(last.sk)]) } : {}) };
  }

  /**
   * Erasure: each record moves to the erased person's pseudonym in its anonymised form — proof
   * that consent existed for a hashed address, and when, with nothing that links to the contact id.
   */
  async anonymise(contactId: string, erasedAt: string, pseudonym: string): Promise<number> {
    const records = await this.list(contactId);
    for (const record of records) {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Delete: { TableName: this.table, Key: { contactId, sk: record.sk } } },
            { Put: { TableName: this.table, Item: anonymisedConsentRecord(record, erasedAt, pseudonym) } },
          ],
        }),
      );
    }
    return records.length;
  }
}
