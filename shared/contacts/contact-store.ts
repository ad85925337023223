import { randomUUID } from 'node:crypto';
import { GetCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TransactionCanceledException, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { documentClient } from '../aws/dynamodb.ts';

export type AttributeValue = string | number | boolean | null;

export interface Contact {
  id: string;
  email?: string;
  attributes: Record<string, AttributeValue>;
  createdAt: string;
  updatedAt: string;
  /** Optimistic-concurrency counter, incremented on every write. */
  version: number;
}

export interface ContactTables {
  contacts: string;
  contactLookups: string;
}

export interface UpsertResult {
  contact: Contact;
  created: boolean;
  changed: string[];
}

/** Lookup item key: one item per unique address, so two contacts can never hold the same one. */
export const emailLookupKey = (email: string): string => `email#${email}`;

const MAX_ATTEMPTS = 5;

/**
 * Contacts and their uniqueness items. A new contact and its lookup item are written in one
 * transaction conditioned on the lookup not existing, so concurrent first submissions of one
 * address create exactly one contact; the loser re-reads and updates the winner's contact.
 */
export class ContactStore {
  constructor(
    private readonly tables: ContactTables,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  async get(id: string): Promise<Contact | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.tables.contacts, Key: { id } }));
    return result.Item as Contact | undefined;
  }

  async findIdByEmail(email: string): Promise<string | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tables.contactLookups, Key: { key: emailLookupKey(email) }, ConsistentRead: true }),
    );
    return result.Item?.contactId as string | undefined;
  }

  /** Creates the contact for an (already normalised) email, or merges attributes into the existing one. */
  async upsertByEmail(email: string, attributes: Record<string, AttributeValue>, now = new Date()): Promise<UpsertResult> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const existingId = await this.findIdByEmail(email);
      if (existingId) {
        const updated = await this.mergeAttributes(existingId, attributes, now);
        if (updated) return updated;
        continue; // lookup pointed at a contact being erased or rewritten: read again
      }
      const contact: Contact = {
        id: randomUUID(),
        email,
        attributes,
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
        version: 1,
      };
      try {
        await this.db.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: this.tables.contactLookups,
                  Item: { key: emailLookupKey(email), contactId: contact.id, createdAt: contact.createdAt },
                  ConditionExpression: 'attribute_not_exists(#k)',
                  ExpressionAttributeNames: { '#k': 'key' },
                },
              },
              { Put: { TableName: this.tables.contacts, Item: contact, ConditionExpression: 'attribute_not_exists(id)' } },
            ],
          }),
        );
        return { contact, created: true, changed: ['email', ...Object.keys(attributes).map((k) => `attributes.${k}`)] };
      } catch (error) {
        // Another writer claimed the address first (or a transaction conflict): read again.
        if (error instanceof TransactionCanceledException) continue;
        throw error;
      }
    }
    throw new Error(`Could not upsert contact for ${email} after ${MAX_ATTEMPTS} attempts`);
  }

  private async mergeAttributes(id: string, attributes: Record<string, AttributeValue>, now: Date): Promise<UpsertResult | undefined> {
    const current = await this.get(id);
    if (!current) return undefined;
    const changedKeys = Object.keys(attributes).filter((k) => current.attributes[k] !== attributes[k]);
    if (changedKeys.length === 0) return { contact: current, created: false, changed: [] };
    const merged = { ...current.attributes, ...attributes };
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.tables.contacts,
          Key: { id },
          UpdateExpression: 'SET attributes = :a, updatedAt = :u, version = version + :one',
          ConditionExpression: 'version = :v',
          ExpressionAttributeValues: { ':a': merged, ':u': now.toISOString(), ':one': 1, ':v': current.version },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { contact: result.Attributes as Contact, created: false, changed: changedKeys.map((k) => `attributes.${k}`) };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined; // concurrent write: retry from the top
      throw error;
    }
  }
}
