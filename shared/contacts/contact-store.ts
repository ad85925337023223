import { randomUUID } from 'node:crypto';
import {
  DeleteCommand,
  GetCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { batchGetAll, documentClient, type TransactItem } from '../aws/dynamodb.ts';
import { defaultScores } from '../scoring/model.ts';
import { BadRequestError, ConflictError, TooManyRequestsError } from '../errors.ts';
import { buildConsentRecord, type ConsentRecord, type NewConsentRecord } from './consents.ts';
import type { Channel, ChannelConsent, Contact, ContactInput, ConsentStatus, TimeZoneSource } from './model.ts';

export interface ContactTables {
  contacts: string;
  contactLookups: string;
  consents: string;
}

/** Lookup item keys: one item per unique address, so two contacts can never hold the same one. */
export const emailLookupKey = (email: string): string => `email#${email}`;
export const phoneLookupKey = (phone: string): string => `phone#${phone}`;

/** A consent change to apply with the write, with its proof record. */
export interface ConsentGrant {
  channel: Channel;
  /** The status this grant asks for; a pending (double opt-in) grant never downgrades a confirmed consent. */
  status: ConsentStatus;
  record: Omit<NewConsentRecord, 'contactId' | 'channel' | 'status' | 'action' | 'at' | 'addressHash'> & {
    action?: NewConsentRecord['action'];
    at?: string;
    /** Keyed hash of the address (filled in by the contact service). */
    addressHash?: string;
    /** A deterministic record id (imports, so that a replay recognises its own record); random when absent. */
    id?: string;
  };
}

export interface ConsentChange {
  channel: Channel;
  from: ConsentStatus | undefined;
  to: ConsentStatus;
  record: ConsentRecord;
}

export interface UpsertOptions {
  consents?: ConsentGrant[];
  /** On an identity conflict (email and phone belong to two contacts): keep the email's contact and skip the phone, or refuse. */
  onIdentityConflict?: 'prefer-email' | 'reject';
  now?: Date;
}

export interface UpsertResult {
  contact: Contact;
  created: boolean;
  /** Top-level fields (and attributes.<name>) that changed. */
  changed: string[];
  consentChanges: ConsentChange[];
  /** Consent records written (status changes and repeated grants alike). */
  consentRecords: ConsentRecord[];
  /** What could not be applied, e.g. a phone that belongs to another contact. */
  warnings: string[];
}

export interface ContactPatch {
  email?: string | null;
  phone?: string | null;
  country?: string | null;
  attributes?: Record<string, string | number | boolean | null>;
  tags?: string[];
  timezone?: string | null;
  timezoneSource?: TimeZoneSource;
}

export class IdentityConflictError extends ConflictError {
  override name = 'IdentityConflictError';
  constructor(message: string) {
    super(message, 'identity_conflict');
  }
}

/**
 * Optimistic-concurrency attempts before a writer gives up. With full-jitter back-off capped at
 * 400 ms this is several seconds of retrying: far more than 50 simultaneous writers of one
 * contact need, and still well inside API Gateway's 29 s.
 */
export const MAX_ATTEMPTS = 25;

/** Jittered back-off between optimistic-concurrency retries, so racing writers spread out instead of colliding again. */
export const backoff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(400, 10 * 2 ** attempt)));
const TIMEZONE_RANK: Record<TimeZoneSource, number> = { explicit: 3, form: 2, phone: 1 };

/** A transaction lost a race (a condition failed or a conflicting transaction ran): read again and retry. */
export function isRace(error: unknown): boolean {
  return error instanceof TransactionCanceledException;
}

/**
 * A write that kept losing races to other writers of the same contact: the caller can simply
 * send the request again (429 with Retry-After), and nothing of it was written.
 */
export class ContentionError extends TooManyRequestsError {
  override name = 'ContentionError';
  constructor(what: string) {
    super(1);
    this.message = `${what} is being changed by many requests at once; try again in a moment`;
  }
}

export function newContact(id: string, now: string): Contact {
  return { id, attributes: {}, tags: [], consent: {}, scores: defaultScores(), suppressed: {}, activity: {}, createdAt: now, updatedAt: now, version: 0 };
}

/** Applies an input onto a contact and says what changed (pure). */
export function mergeInput(contact: Contact, input: ContactInput): { next: Contact; changed: string[] } {
  const next: Contact = structuredClone(contact);
  const changed: string[] = [];
  if (input.email !== undefined && input.email !== contact.email) {
    next.email = input.email;
    changed.push('email');
  }
  if (input.phone !== undefined && input.phone !== contact.phone) {
    next.phone = input.phone;
    changed.push('phone');
  }
  if (input.country !== undefined && input.country !== contact.country) {
    next.country = input.country;
    changed.push('country');
  }
  for (const [name, value] of Object.entries(input.attributes ?? {})) {
    if (contact.attributes[name] !== value) {
      next.attributes[name] = value;
      changed.push(`attributes.${name}`);
    }
  }
  const newTags = [...new Set(input.tags ?? [])].filter((t) => !contact.tags.includes(t));
  if (newTags.length) {
    next.tags = [...contact.tags, ...newTags];
    changed.push('tags');
  }
  if (input.timezone) {
    const incoming = TIMEZONE_RANK[input.timezoneSource ?? 'explicit'];
    const current = contact.timezoneSource ? TIMEZONE_RANK[contact.timezoneSource] : 0;
    // A better-sourced zone replaces a guess (even the same zone: its source improves); a guess never replaces what the person told us.
    if (input.timezone !== contact.timezone ? incoming >= current : incoming > current) {
      next.timezone = input.timezone;
      next.timezoneSource = input.timezoneSource ?? 'explicit';
      changed.push('timezone');
    }
  }
  return { next, changed };
}

/** Applies consent grants onto a contact's state (pure): the new state and the records proving it. */
export function applyConsents(contact: Contact, grants: Array<ConsentGrant & { record: { at: string } }>, contactId: string): { next: Contact; changes: ConsentChange[]; records: ConsentRecord[] } {
  const next: Contact = structuredClone(contact);
  const changes: ConsentChange[] = [];
  const records: ConsentRecord[] = [];
  for (const grant of grants) {
    const previous = next.consent[grant.channel];
    const from = previous?.status;
    // Ticking a double-opt-in form again must not undo a confirmation already given.
    const to: ConsentStatus = grant.status === 'pending' && from === 'confirmed' ? 'confirmed' : grant.status;
    const action = grant.record.action ?? (to === 'withdrawn' ? 'withdrawn' : to === 'confirmed' && from === 'pending' && grant.status === 'confirmed' ? 'confirmed' : 'granted');
    const record = buildConsentRecord({
      ...grant.record,
      contactId,
      channel: grant.channel,
      action,
      status: to,
      doubleOptIn: grant.status === 'pending' && from === 'confirmed' ? 'already_confirmed' : grant.record.doubleOptIn,
      addressHash: grant.record.addressHash ?? '',
    });
    records.push(record);
    const state: ChannelConsent = {
      status: to,
      updatedAt: record.at,
      source: record.formId ?? record.source,
      ...(record.wordingVersion ? { wordingVersion: record.wordingVersion } : previous?.wordingVersion ? { wordingVersion: previous.wordingVersion } : {}),
      ...(to === 'confirmed' ? { confirmedAt: from === 'confirmed' && previous?.confirmedAt ? previous.confirmedAt : record.at } : {}),
    };
    next.consent[grant.channel] = state;
    if (from !== to) changes.push({ channel: grant.channel, from, to, record });
  }
  return { next, changes, records };
}


/**
 * Contacts, their uniqueness items and consent records. Every write is one transaction:
 * the contact (conditioned on its version), the lookup items it claims (conditioned on not
 * existing) or releases (conditioned on still being its own), and the consent records
 * (append-only). Concurrent submissions of one address therefore create exactly one contact;
 * a writer that loses a race reads again and retries.
 */
export class ContactStore {
  constructor(
    readonly tables: ContactTables,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  async get(id: string, consistent = false): Promise<Contact | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.tables.contacts, Key: { id }, ConsistentRead: consistent }));
    return result.Item as Contact | undefined;
  }

  async findIdByKey(key: string): Promise<string | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.tables.contactLookups, Key: { key }, ConsistentRead: true }));
    return result.Item?.contactId as string | undefined;
  }

  async findByEmail(email: string): Promise<Contact | undefined> {
    const id = await this.findIdByKey(emailLookupKey(email));
    return id ? this.get(id, true) : undefined;
  }

  async findByPhone(phone: string): Promise<Contact | undefined> {
    const id = await this.findIdByKey(phoneLookupKey(phone));
    return id ? this.get(id, true) : undefined;
  }

  /** Lookup items for many keys at once (imports): key → contactId. */
  async resolveKeys(keys: string[]): Promise<Map<string, string>> {
    const items = await batchGetAll(this.db, this.tables.contactLookups, [...new Set(keys)].map((key) => ({ key })), { consistent: true });
    return new Map(items.map((item) => [String(item.key), String(item.contactId)]));
  }

  /** Contacts by id, many at once. */
  async getMany(ids: string[]): Promise<Map<string, Contact>> {
    const items = await batchGetAll(this.db, this.tables.contacts, [...new Set(ids)].map((id) => ({ id })), { consistent: true });
    return new Map(items.map((item) => [String(item.id), item as unknown as Contact]));
  }

  /** A page of contacts (unordered), for listing. */
  async page(limit: number, cursor?: string): Promise<{ items: Contact[]; nextCursor?: string }> {
    let start: Record<string, unknown> | undefined;
    if (cursor) {
      const id = Buffer.from(cursor, 'base64url').toString('utf8');
      if (!/^[0-9a-f-]{36}$/.test(id)) throw new BadRequestError('cursor is not valid', 'invalid_cursor');
      start = { id };
    }
    const result = await this.db.send(new ScanCommand({ TableName: this.tables.contacts, Limit: limit, ExclusiveStartKey: start }));
    const last = result.LastEvaluatedKey?.id as string | undefined;
    return { items: (result.Items ?? []) as Contact[], nextCursor: last ? Buffer.from(last).toString('base64url') : undefined };
  }

  /** Creates or updates the contact identified by the input's email and/or phone. */
  async upsert(input: ContactInput, options: UpsertOptions = {}): Promise<UpsertResult> {
    if (!input.email && !input.phone) throw new BadRequestError('A contact needs an email or a phone');
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const now = options.now ?? new Date();
      const emailKey = input.email ? emailLookupKey(input.email) : undefined;
      const phoneKey = input.phone ? phoneLookupKey(input.phone) : undefined;
      const [emailOwner, phoneOwner] = await Promise.all([
        emailKey ? this.findIdByKey(emailKey) : undefined,
        phoneKey ? this.findIdByKey(phoneKey) : undefined,
      ]);
      const warnings: string[] = [];
      let effective = input;
      if (emailOwner && phoneOwner && emailOwner !== phoneOwner) {
        if (options.onIdentityConflict === 'reject') {
          throw new IdentityConflictError('The email and the phone belong to two different contacts');
        }
        // The email is the stronger identity: update its contact and leave the phone where it is.
        effective = { ...input, phone: undefined };
        warnings.push('phone belongs to another contact and was not changed');
      }
      const ownerId = emailOwner ?? phoneOwner;
      const existing = ownerId ? await this.get(ownerId, true) : undefined;
      if (ownerId && !existing) {
        await backoff(attempt); // lookup without contact: an erasure in progress; read again
        continue;
      }
      try {
        const result = await this.writeOnce(existing, effective, options.consents ?? [], { now });
        return { ...result, warnings };
      } catch (error) {
        if (!isRace(error)) throw error;
        await backoff(attempt);
      }
    }
    throw new ContentionError('This contact');
  }

  /**
   * One attempt at writing an input and consent grants onto a contact (or a new one), as one
   * transaction with `extra` items (e.g. the timeline entry of a form submission). A race
   * (another writer, an address claimed meanwhile) throws for the caller to re-read and retry
   * (`isRace`). When only consent records are new — the same consent given again — they are
   * appended without rewriting the contact item, so many repeats of one submission never
   * contend for the contact's version.
   */
  async writeOnce(existing: Contact | undefined, input: ContactInput, grants: ConsentGrant[], options: { now?: Date; extra?: TransactItem[]; newId?: string } = {}): Promise<Omit<UpsertResult, 'warnings'>> {
    const now = options.now ?? new Date();
    const extra = options.extra ?? [];
    const at = now.toISOString();
    const base = existing ?? newContact(options.newId ?? randomUUID(), at);
    const merged = mergeInput(base, input);
    const consent = applyConsents(merged.next, grants.map((g) => ({ ...g, record: { ...g.record, at: g.record.at ?? at } })), base.id);
    const next = consent.next;
    const changed = [...merged.changed, ...consent.changes.map((c) => `consent.${c.channel}`)];
    const recordPuts: TransactItem[] = consent.records.map((record) => ({ Put: { TableName: this.tables.consents, Item: record, ConditionExpression: 'attribute_not_exists(sk)' } }));
    if (existing && changed.length === 0) {
      if (recordPuts.length + extra.length > 0) await this.db.send(new TransactWriteCommand({ TransactItems: [...recordPuts, ...extra] }));
      return { contact: existing, created: false, changed: [], consentChanges: [], consentRecords: consent.records };
    }
    next.updatedAt = at;
    next.version = base.version + 1;
    const items: TransactItem[] = [];
    items.push({
      Put: {
        TableName: this.tables.contacts,
        Item: next,
        ...(existing
          ? { ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': existing.version } }
          : { ConditionExpression: 'attribute_not_exists(id)' }),
      },
    });
    items.push(...this.lookupChanges(existing, next, at), ...recordPuts, ...extra);
    await this.db.send(new TransactWriteCommand({ TransactItems: items }));
    return { contact: next, created: !existing, changed: existing ? changed : ['created', ...changed], consentChanges: consent.changes, consentRecords: consent.records };
  }

  /** Many rows' items in one TransactWriteItems call (at most 100 items, no item twice): all written or none. */
  async transact(items: TransactItem[]): Promise<void> {
    await this.db.send(new TransactWriteCommand({ TransactItems: items }));
  }

  /** The contact item's put: conditioned on the version read, or on not existing yet. */
  contactPut(next: Contact, existing: Contact | undefined): TransactItem {
    return {
      Put: {
        TableName: this.tables.contacts,
        Item: next,
        ...(existing ? { ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': existing.version } } : { ConditionExpression: 'attribute_not_exists(id)' }),
      },
    };
  }

  /** An append-only consent record's put. */
  consentPut(record: ConsentRecord): TransactItem {
    return { Put: { TableName: this.tables.consents, Item: record, ConditionExpression: 'attribute_not_exists(sk)' } };
  }

  /** Lookup items to claim (new addresses) and release (replaced addresses). */
  lookupChanges(before: Contact | undefined, after: Contact, at: string): TransactItem[] {
    const items: TransactItem[] = [];
    const pairs: Array<[string | undefined, string | undefined, (v: string) => string]> = [
      [before?.email, after.email, emailLookupKey],
      [before?.phone, after.phone, phoneLookupKey],
    ];
    for (const [old, current, keyOf] of pairs) {
      if (old === current) continue;
      if (current) {
        items.push({
          Put: {
            TableName: this.tables.contactLookups,
            Item: { key: keyOf(current), contactId: after.id, createdAt: at },
            ConditionExpression: 'attribute_not_exists(#k)',
            ExpressionAttributeNames: { '#k': 'key' },
          },
        });
      }
      if (old) {
        items.push({
          Delete: {
            TableName: this.tables.contactLookups,
            Key: { key: keyOf(old) },
            ConditionExpression: 'contactId = :id',
            ExpressionAttributeValues: { ':id': after.id },
          },
        });
      }
    }
    return items;
  }

  /** Applies a marketer's patch; changing an address to one another contact holds → 409. */
  async patch(id: string, patch: ContactPatch, now = new Date()): Promise<UpsertResult | undefined> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const existing = await this.get(id, true);
      if (!existing) return undefined;
      const next: Contact = structuredClone(existing);
      const changed: string[] = [];
      const setOrClear = <K extends 'email' | 'phone' | 'country' | 'timezone'>(field: K, value: Contact[K] | null | undefined) => {
        if (value === undefined) return;
        if (value === null) {
          if (next[field] !== undefined) {
            delete next[field];
            changed.push(field);
          }
        } else if (next[field] !== value) {
          next[field] = value;
          changed.push(field);
        }
      };
      setOrClear('email', patch.email);
      setOrClear('phone', patch.phone);
      setOrClear('country', patch.country);
      setOrClear('timezone', patch.timezone);
      if (patch.timezone) next.timezoneSource = patch.timezoneSource ?? 'explicit';
      if (patch.timezone === null) delete next.timezoneSource;
      if (!next.email && !next.phone) throw new BadRequestError('A contact needs an email or a phone; it cannot lose both');
      for (const [name, value] of Object.entries(patch.attributes ?? {})) {
        if (value === null) {
          if (name in next.attributes) {
            delete next.attributes[name];
            changed.push(`attributes.${name}`);
          }
        } else if (next.attributes[name] !== value) {
          next.attributes[name] = value;
          changed.push(`attributes.${name}`);
        }
      }
      if (patch.tags && JSON.stringify(patch.tags) !== JSON.stringify(existing.tags)) {
        next.tags = [...new Set(patch.tags)];
        changed.push('tags');
      }
      if (changed.length === 0) return { contact: existing, created: false, changed: [], consentChanges: [], consentRecords: [], warnings: [] };
      next.updatedAt = now.toISOString();
      next.version = existing.version + 1;
      try {
        await this.db.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: { TableName: this.tables.contacts, Item: next, ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': existing.version } } },
              ...this.lookupChanges(existing, next, next.updatedAt),
            ],
          }),
        );
        return { contact: next, created: false, changed, consentChanges: [], consentRecords: [], warnings: [] };
      } catch (error) {
        if (!isRace(error)) throw error;
        await backoff(attempt);
        // Either a concurrent write (retry) or the new address is another contact's (conflict).
        const reasons = (error as TransactionCanceledException).CancellationReasons ?? [];
        if (reasons.slice(1).some((r) => r.Code === 'ConditionalCheckFailed')) {
          const owner = await Promise.all([
            patch.email ? this.findIdByKey(emailLookupKey(patch.email)) : undefined,
            patch.phone ? this.findIdByKey(phoneLookupKey(patch.phone)) : undefined,
          ]);
          if (owner.some((o) => o && o !== id)) throw new IdentityConflictError('That address already belongs to another contact');
        }
      }
    }
    throw new ContentionError(`Contact ${id}`);
  }

  /** Changes consent on one channel of an existing contact (confirmation, unsubscribe), with its record. */
  async changeConsent(id: string, grant: ConsentGrant, now = new Date()): Promise<UpsertResult | undefined> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const existing = await this.get(id, true);
      if (!existing) return undefined;
      try {
        const result = await this.writeOnce(existing, {}, [{ ...grant, record: { ...grant.record, at: grant.record.at ?? now.toISOString() } }], { now });
        return { ...result, warnings: [] };
      } catch (error) {
        if (!isRace(error)) throw error;
        await backoff(attempt);
      }
    }
    throw new ContentionError(`Contact ${id}`);
  }

  /** Records the suppression reasons of one channel on the contact (denormalised for segment rules). */
  async setSuppressed(id: string, channel: Channel, reasons: string[]): Promise<void> {
    const update = () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.contacts,
          Key: { id },
          UpdateExpression: reasons.length ? 'SET suppressed.#c = :r, version = version + :one' : 'REMOVE suppressed.#c SET version = version + :one',
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeNames: { '#c': channel },
          ExpressionAttributeValues: { ':one': 1, ...(reasons.length ? { ':r': reasons } : {}) },
        }),
      );
    try {
      await update();
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return; // erased meanwhile
      // Items written before the map existed: create it, then set.
      if ((error as Error).name === 'ValidationException') {
        await this.db.send(
          new UpdateCommand({ TableName: this.tables.contacts, Key: { id }, UpdateExpression: 'SET suppressed = if_not_exists(suppressed, :e)', ExpressionAttributeValues: { ':e': {} } }),
        );
        await update();
        return;
      }
      throw error;
    }
  }

  /** Removes the contact and its lookup items (erasure). */
  async remove(contact: Contact): Promise<void> {
    const items: TransactItem[] = [{ Delete: { TableName: this.tables.contacts, Key: { id: contact.id } } }];
    if (contact.email) items.push({ Delete: { TableName: this.tables.contactLookups, Key: { key: emailLookupKey(contact.email) } } });
    if (contact.phone) items.push({ Delete: { TableName: this.tables.contactLookups, Key: { key: phoneLookupKey(contact.phone) } } });
    await this.db.send(new TransactWriteCommand({ TransactItems: items }));
  }

  /** The lookup items that point at a contact (for exports). */
  async lookupsOf(contact: Contact): Promise<Array<{ key: string; contactId: string }>> {
    const keys = [contact.email ? emailLookupKey(contact.email) : undefined, contact.phone ? phoneLookupKey(contact.phone) : undefined].filter(
      (k): k is string => k !== undefined,
    );
    const out: Array<{ key: string; contactId: string }> = [];
    for (const key of keys) {
      const result = await this.db.send(new GetCommand({ TableName: this.tables.contactLookups, Key: { key } }));
      if (result.Item) out.push(result.Item as { key: string; contactId: string });
    }
    return out;
  }

  /** Deletes a lookup item only if it still points at the contact. */
  async releaseLookup(key: string, contactId: string): Promise<void> {
    await this.db
      .send(new DeleteCommand({ TableName: this.tables.contactLookups, Key: { key }, ConditionExpression: 'contactId = :c', ExpressionAttributeValues: { ':c': contactId } }))
      .catch(() => undefined);
  }
}
