import { createHash, randomUUID } from 'node:crypto';
import { ConsentChanged, ContactUpdated } from '../../events/contacts.ts';
import { makeEvent, type OutgoingEvent } from '../../events/contract.ts';
import type { TransactItem } from '../aws/dynamodb.ts';
import { forEachLimit } from '../concurrency.ts';
import type { ValidationIssue } from '../errors.ts';
import type { ChunkProcessor, ImportChunk, ImportRowOutcome } from '../imports/chunk.ts';
import { wordingHash } from './evidence.ts';
import type { ContactService } from './contact-service.ts';
import { ErasedAddressError } from './contact-service.ts';
import {
  applyConsents,
  backoff,
  ContentionError,
  emailLookupKey,
  isRace,
  MAX_ATTEMPTS,
  mergeInput,
  newContact,
  phoneLookupKey,
  type ConsentGrant,
  type ContactStore,
  type UpsertResult,
} from './contact-store.ts';
import type { ConsentRecord } from './consents.ts';
import { InvalidEmailError, normalizeEmail } from './email.ts';
import { importFormatFor, parseImport, type ImportRecord, type RawImportRow } from './import-parse.ts';
import type { Channel, Contact, ContactInput, ImportLineMark } from './model.ts';
import { InvalidPhoneError, normalizePhone } from './phone.ts';
import { EVIDENCE_LIFTS, type Suppression, type SuppressionStore } from './suppressions.ts';
import { canonicalTimeZone, isValidTimeZone, timeZoneForPhone } from './timezone.ts';

export type RowStatus = 'created' | 'updated' | 'unchanged' | 'failed';

export interface RowResult {
  row: number;
  line: number;
  status: RowStatus;
  contactId?: string;
  issues?: ValidationIssue[];
}

export interface ImportResult {
  summary: Record<RowStatus, number> & { total: number };
  rows: RowResult[];
}

/** What importing contacts needs: the stores, the service (address hashes, suppression upkeep) and the event publisher. */
export interface ContactImportDeps {
  service: ContactService;
  store: ContactStore;
  suppressions: SuppressionStore;
  publish: (events: OutgoingEvent[]) => Promise<void>;
}

export interface ContactImportOptions {
  /** Who imports (the JWT subject), recorded on consent evidence. */
  actor?: string;
  /**
   * The import these rows belong to; with the row's file line it identifies each write, so that
   * the same rows imported again under the same job id (a chunk replayed after a crash) report
   * what they did the first time and write nothing more. A fresh id when absent.
   */
  origin?: { jobId: string };
  now?: Date;
  /** Transactions in flight at once (default 2, see WRITE_CONCURRENCY). */
  writeConcurrency?: number;
}

/** Normalises one parsed record into the store's input and consent grants, or the row's issues. */
export function prepareRecord(record: ImportRecord, actor: string | undefined): { input: ContactInput; grants: ConsentGrant[] } | { issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  let email: string | undefined;
  let phone: { e164: string; country?: string } | undefined;
  if (record.email !== undefined && record.email.trim() !== '') {
    try {
      email = normalizeEmail(record.email);
    } catch (error) {
      issues.push({ path: 'email', message: error instanceof InvalidEmailError ? error.message : 'is not a valid email address' });
    }
  }
  if (record.phone !== undefined && record.phone.trim() !== '') {
    try {
      phone = normalizePhone(record.phone, record.country);
    } catch (error) {
      issues.push({ path: 'phone', message: error instanceof InvalidPhoneError ? error.message : 'is not a valid phone number' });
    }
  }
  if (record.timezone !== undefined && !isValidTimeZone(record.timezone)) issues.push({ path: 'timezone', message: 'must be an IANA time zone such as Europe/Berlin' });
  for (const channel of ['email', 'sms'] as const) {
    if (record.consent?.[channel] && !(channel === 'email' ? email : phone)) {
      issues.push({ path: `consent.${channel}`, message: `needs ${channel === 'email' ? 'an email' : 'a phone'} on the row` });
    }
  }
  if (issues.length) return { issues };
  if (!email && !phone) return { issues: [{ path: 'email', message: 'a row needs an email or a phone' }] };
  const input: ContactInput = {
    email,
    phone: phone?.e164,
    country: phone?.country ?? record.country?.toUpperCase(),
    attributes: record.attributes,
    tags: record.tags,
  };
  if (record.timezone) {
    input.timezone = canonicalTimeZone(record.timezone);
    input.timezoneSource = 'explicit';
  } else if (phone) {
    const inferred = timeZoneForPhone(phone.e164);
    if (inferred) Object.assign(input, { timezone: inferred.timezone, timezoneSource: 'phone' });
  }
  const grants: ConsentGrant[] = [];
  for (const channel of ['email', 'sms'] as const) {
    const consent = record.consent?.[channel];
    if (!consent) continue;
    grants.push({
      channel,
      status: consent.status,
      record: {
        source: 'import',
        wordingVersion: consent.wordingVersion,
        ...(consent.text ? { wordingHash: wordingHash(consent.text) } : {}),
        ...(consent.capturedAt ? { capturedAt: consent.capturedAt } : {}),
        ...(actor ? { actor } : {}),
        doubleOptIn: 'not_required',
      },
    });
  }
  return { input, grants };
}

/** Evidence already on the contact (same status, same wording version) is not recorded again: re-imports change nothing. */
export function newGrantsOnly(contact: Contact | undefined, grants: ConsentGrant[]): ConsentGrant[] {
  return grants.filter((g) => {
    const current = contact?.consent[g.channel as Channel];
    return !(current && current.status === g.status && current.wordingVersion === g.record.wordingVersion);
  });
}

/**
 * Transactions in flight at once by default, and the items one carries (DynamoDB's limit for
 * TransactWriteItems). DynamoDB Local serialises transactions: with 8 of 100 items in flight it
 * wrote a quarter of the items per second that 1 or 2 did (measured on 2 cores), so the default
 * is 2; on AWS, where transactions on distinct items run in parallel, callers raise it.
 */
const WRITE_CONCURRENCY = 2;
const MAX_TRANSACTION_ITEMS = 100;
/** Lookups read in parallel, 100 keys per BatchGetItem. */
const READ_CONCURRENCY = 8;
/** PutEvents calls in flight at once, 10 events each. */
const PUBLISH_CONCURRENCY = 8;

const IDENTITY_CONFLICT = 'The email and the phone belong to two different contacts';

/** A row ready to be applied: normalised input, consent grants and the lookup keys of its addresses. */
interface Candidate {
  line: number;
  input: ContactInput;
  grants: ConsentGrant[];
  keys: string[];
}

/** What the rows of one import saw when they were read: address owners, those contacts and the addresses' suppressions. */
interface Snapshot {
  owners: Map<string, string>;
  contacts: Map<string, Contact>;
  suppressions: Map<string, Suppression>;
}

/** A contact written (or found written by an earlier run) by the import, for suppression upkeep afterwards. */
interface Written {
  result: UpsertResult;
  grants: ConsentGrant[];
}

/** What applying a group of rows that share addresses or a contact comes to. */
interface GroupPlan {
  outcomes: ImportRowOutcome[];
  /** One transaction's items (the contact, its lookups, consent records); empty when nothing changes. */
  items: TransactItem[];
  events: OutgoingEvent[];
  written: Written[];
  /** The rows touch more than one contact: applied one row at a time instead. */
  spansContacts: boolean;
}

/** A v4-shaped UUID derived from a seed: the same row of the same job always names the same record. */
function stableId(seed: string): string {
  const hash = createHash('sha256').update(seed).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x40;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const changeIdOf = (jobId: string, line: number) => `${jobId}#${line}`;
const suppressionKey = (channel: Channel, address: string) => `${channel}:${address}`;
const addressPairs = (before: Contact | undefined, after: Contact): Array<[string | undefined, string | undefined, (v: string) => string]> => [
  [before?.email, after.email, emailLookupKey],
  [before?.phone, after.phone, phoneLookupKey],
];

/** A row's events, from what it changed: the same whether computed now or rebuilt from its mark on a replay. */
function eventsOf(contactId: string, line: number, mark: ImportLineMark, jobId: string): OutgoingEvent[] {
  const events: OutgoingEvent[] = [];
  if (mark.s === 'unchanged') return events;
  const changed = mark.c ?? [];
  if (mark.s === 'created' || changed.length > 0) {
    events.push(makeEvent(ContactUpdated, { contactId, created: mark.s === 'created', changed, origin: 'import', occurredAt: mark.at, changeId: changeIdOf(jobId, line) }));
  }
  for (const [channel, from, to, consentRecordId] of mark.k ?? []) {
    events.push(makeEvent(ConsentChanged, { contactId, channel, from, to, source: 'import', consentRecordId, occurredAt: mark.at }));
  }
  return events;
}

/**
 * Applies a group of rows (in file order) onto what the snapshot says, in memory: each row's
 * outcome, and — when the rows write one contact — one transaction carrying the contact with
 * every row's mark, the lookup items it claims or releases and the new consent records. Rows
 * already marked by this job (a replay) report their mark and change nothing.
 */
function planGroup(rows: Candidate[], snapshot: Snapshot, store: ContactStore, context: { jobId: string; at: string }): GroupPlan {
  const { jobId, at } = context;
  const outcomes: ImportRowOutcome[] = [];
  const events: OutgoingEvent[] = [];
  const written: Written[] = [];
  const owners = new Map<string, string | undefined>();
  const ownerOf = (key: string) => (owners.has(key) ? owners.get(key) : snapshot.owners.get(key));
  const working = new Map<string, Contact>();
  const marks = new Map<string, Map<number, ImportLineMark>>();
  const grantsOf = new Map<string, ConsentGrant[]>();
  const changedOf = new Map<string, Set<string>>();
  const records: ConsentRecord[] = [];
  const touched = new Set<string>();
  const fail = (line: number, path: string, message: string) => outcomes.push({ line, status: 'failed', issues: [{ path, message }] });
  const markOn = (id: string) => marks.get(id) ?? marks.set(id, new Map()).get(id)!;

  for (const row of rows) {
    const ids = [...new Set(row.keys.map(ownerOf).filter((id): id is string => id !== undefined))];
    if (ids.length > 1) {
      fail(row.line, 'phone', IDENTITY_CONFLICT);
      continue;
    }
    const ownerId = ids[0];
    const current = ownerId === undefined ? undefined : (working.get(ownerId) ?? snapshot.contacts.get(ownerId));
    if (ownerId !== undefined && !current) {
      // A lookup item without its contact: an erasure is under way.
      fail(row.line, row.input.email ? 'email' : 'phone', 'belongs to a contact that is being erased; import the row again in a moment');
      continue;
    }
    const earlier = current?.importMark?.job === jobId ? current.importMark.lines[String(row.line)] : undefined;
    if (current && earlier) {
      outcomes.push({ line: row.line, status: earlier.s, id: current.id });
      events.push(...eventsOf(current.id, row.line, earlier, jobId));
      written.push({ result: { contact: current, created: earlier.s === 'created', changed: earlier.c ?? [], consentChanges: [], consentRecords: [], warnings: [] }, grants: row.grants });
      continue;
    }
    const erased = (['email', 'sms'] as const).find((channel) => {
      const address = channel === 'email' ? row.input.email : row.input.phone;
      const givesConsent = row.grants.some((g) => g.channel === channel && g.status !== 'withdrawn');
      return address !== undefined && !givesConsent && snapshot.suppressions.get(suppressionKey(channel, address))?.reasons.erased;
    });
    if (erased) {
      fail(row.line, erased === 'email' ? 'email' : 'phone', new ErasedAddressError(erased).message);
      continue;
    }
    const grants = newGrantsOnly(current, row.grants).map((g) => ({ ...g, record: { ...g.record, at, id: stableId(`${jobId}#${row.line}#consent#${g.channel}`) } }));
    const base = current ?? newContact(stableId(`${jobId}#${row.line}#contact`), at);
    const merged = mergeInput(base, row.input);
    const consent = applyConsents(merged.next, grants, base.id);
    if (current && merged.changed.length === 0 && consent.records.length === 0) {
      outcomes.push({ line: row.line, status: 'unchanged', id: current.id });
      markOn(current.id).set(row.line, { s: 'unchanged', at });
      continue;
    }
    const next = consent.next;
    for (const [old, now, keyOf] of addressPairs(current, next)) {
      if (old === now) continue;
      if (old) owners.set(keyOf(old), undefined);
      if (now) owners.set(keyOf(now), next.id);
    }
    working.set(next.id, next);
    touched.add(next.id);
    records.push(...consent.records);
    grantsOf.set(next.id, [...(grantsOf.get(next.id) ?? []), ...grants]);
    const changed = changedOf.get(next.id) ?? changedOf.set(next.id, new Set()).get(next.id)!;
    for (const field of [...merged.changed, ...consent.changes.map((c) => `consent.${c.channel}`)]) changed.add(field);
    const mark: ImportLineMark = {
      s: current ? 'updated' : 'created',
      at,
      ...(merged.changed.length ? { c: merged.changed } : {}),
      ...(consent.changes.length ? { k: consent.changes.map((c): NonNullable<ImportLineMark['k']>[number] => [c.channel, c.from ?? null, c.to, c.record.id]) } : {}),
    };
    markOn(next.id).set(row.line, mark);
    outcomes.push({ line: row.line, status: mark.s, id: next.id });
    events.push(...eventsOf(next.id, row.line, mark, jobId));
  }

  if (touched.size > 1) return { outcomes, items: [], events, written, spansContacts: true };
  const [id] = touched;
  if (id === undefined) return { outcomes, items: [], events, written, spansContacts: false };
  const initial = snapshot.contacts.get(id);
  const final = working.get(id)!;
  final.updatedAt = at;
  final.version = (initial?.version ?? 0) + 1;
  final.importMark = {
    job: jobId,
    lines: { ...(initial?.importMark?.job === jobId ? initial.importMark.lines : {}), ...Object.fromEntries(marks.get(id) ?? []) },
  };
  const changed = [...(changedOf.get(id) ?? [])];
  written.push({ result: { contact: final, created: !initial, changed: initial ? changed : ['created', ...changed], consentChanges: [], consentRecords: [], warnings: [] }, grants: grantsOf.get(id) ?? [] });
  const items = [store.contactPut(final, initial), ...store.lookupChanges(initial, final, at), ...records.map((r) => store.consentPut(r))];
  return { outcomes, items, events, written, spansContacts: false };
}

/** Rows that share an address or a contact, each group in file order (union-find over keys and owners). */
function groupRows(candidates: Candidate[], owners: Map<string, string>): Candidate[][] {
  const parent = candidates.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  const firstWith = new Map<string, number>();
  candidates.forEach((candidate, i) => {
    const handles = [...candidate.keys, ...candidate.keys.flatMap((k) => (owners.has(k) ? [`contact#${owners.get(k)}`] : []))];
    for (const handle of handles) {
      const first = firstWith.get(handle);
      if (first === undefined) firstWith.set(handle, i);
      else parent[find(i)] = find(first);
    }
  });
  const groups = new Map<number, Candidate[]>();
  candidates.forEach((candidate, i) => {
    const root = find(i);
    groups.set(root, [...(groups.get(root) ?? []), candidate]);
  });
  return [...groups.values()];
}

/** Owners, contacts and suppressions of the candidates' addresses: strongly consistent bulk reads, in parallel. */
async function readSnapshot(candidates: Candidate[], deps: ContactImportDeps): Promise<Snapshot> {
  const keys = [...new Set(candidates.flatMap((c) => c.keys))];
  const slices = <T>(items: T[]) => Array.from({ length: Math.ceil(items.length / 100) }, (_, i) => items.slice(i * 100, i * 100 + 100));
  const addresses = candidates.flatMap((c) => [
    ...(c.input.email ? [{ channel: 'email' as const, address: c.input.email }] : []),
    ...(c.input.phone ? [{ channel: 'sms' as const, address: c.input.phone }] : []),
  ]);
  const owners = new Map<string, string>();
  const suppressions = new Map<string, Suppression>();
  await Promise.all([
    forEachLimit(slices(keys), READ_CONCURRENCY, async (slice) => {
      for (const [key, id] of await deps.store.resolveKeys(slice)) owners.set(key, id);
    }),
    forEachLimit(slices(addresses), READ_CONCURRENCY, async (slice) => {
      for (const [key, suppression] of await deps.suppressions.getMany(slice)) suppressions.set(key, suppression);
    }),
  ]);
  const contacts = new Map<string, Contact>();
  await forEachLimit(slices([...new Set(owners.values())]), READ_CONCURRENCY, async (slice) => {
    for (const [id, contact] of await deps.store.getMany(slice)) contacts.set(id, contact);
  });
  return { owners, contacts, suppressions };
}

/**
 * Imports parsed rows as contacts and says what happened to each (in the rows' order). Rows are
 * normalised, then everything they need is read in bulk; rows that share an address or a
 * contact are applied together in file order, in memory, and each such group's writes (the
 * contact with the rows' marks, the lookup items it claims under the same uniqueness
 * conditions as a single upsert, the consent records) join a TransactWriteItems call of up to
 * 100 items, several in flight. A cancelled call (a form submission or another writer got
 * there first) is retried group by group with fresh reads. Events go out in PutEvents calls of
 * ten, in parallel, each carrying its change's id for consumers to dedupe.
 *
 * Replay-exact: every contact write carries, per row, `<jobId>#<line>` and what the row did,
 * so the same rows under the same job id — a chunk replayed after a crash — report the same
 * status, write nothing more and publish the same events again (deduplicated downstream).
 */
export async function importContactRows(rows: RawImportRow[], deps: ContactImportDeps, options: ContactImportOptions = {}): Promise<ImportRowOutcome[]> {
  const jobId = options.origin?.jobId ?? randomUUID();
  const at = (options.now ?? new Date()).toISOString();
  const outcomes = new Map<number, ImportRowOutcome>();
  const candidates: Candidate[] = [];
  for (const row of rows) {
    if (!row.record || row.problems.length > 0) {
      outcomes.set(row.line, { line: row.line, status: 'failed', issues: row.problems });
      continue;
    }
    const prepared = prepareRecord(row.record, options.actor);
    if ('issues' in prepared) {
      outcomes.set(row.line, { line: row.line, status: 'failed', issues: prepared.issues });
      continue;
    }
    const keys = [prepared.input.email ? emailLookupKey(prepared.input.email) : undefined, prepared.input.phone ? phoneLookupKey(prepared.input.phone) : undefined].filter(
      (k): k is string => k !== undefined,
    );
    candidates.push({ line: row.line, input: prepared.input, grants: prepared.grants, keys });
  }
  await Promise.all(
    candidates.map(async (c) => {
      if (c.grants.length) c.grants = await deps.service.withAddressHashes(c.grants, c.input);
    }),
  );

  const snapshot = await readSnapshot(candidates, deps);

  const events: OutgoingEvent[] = [];
  const written: Written[] = [];
  const settle = (plan: GroupPlan) => {
    for (const outcome of plan.outcomes) outcomes.set(outcome.line, outcome);
    events.push(...plan.events);
    written.push(...plan.written);
  };

  /** One row at a time, each with fresh reads and its own transaction, retried when it loses a race. */
  const rowByRow = async (group: Candidate[]) => {
    for (const row of group) {
      for (let attempt = 1; ; attempt++) {
        const fresh = await readSnapshot([row], deps);
        const plan = planGroup([row], fresh, deps.store, { jobId, at });
        try {
          if (plan.items.length) await deps.store.transact(plan.items);
          settle(plan);
          break;
        } catch (error) {
          if (!isRace(error)) throw error;
          if (attempt >= MAX_ATTEMPTS) throw new ContentionError('A contact in this import');
          await backoff(attempt);
        }
      }
    }
  };

  const batches: Array<{ items: TransactItem[]; plans: Array<{ group: Candidate[]; plan: GroupPlan }> }> = [];
  const oneByOne: Candidate[][] = [];
  for (const group of groupRows(candidates, snapshot.owners)) {
    const plan = planGroup(group, snapshot, deps.store, { jobId, at });
    if (plan.spansContacts || plan.items.length > MAX_TRANSACTION_ITEMS) oneByOne.push(group);
    else if (plan.items.length === 0) settle(plan);
    else {
      let batch = batches.at(-1);
      if (!batch || batch.items.length + plan.items.length > MAX_TRANSACTION_ITEMS) batches.push((batch = { items: [], plans: [] }));
      batch.items.push(...plan.items);
      batch.plans.push({ group, plan });
    }
  }

  await Promise.all([
    forEachLimit(batches, options.writeConcurrency ?? WRITE_CONCURRENCY, async (batch) => {
      try {
        await deps.store.transact(batch.items);
      } catch (error) {
        if (!isRace(error)) throw error;
        for (const { group } of batch.plans) await rowByRow(group);
        return;
      }
      for (const { plan } of batch.plans) settle(plan);
    }),
    forEachLimit(oneByOne, options.writeConcurrency ?? WRITE_CONCURRENCY, rowByRow),
  ]);

  // Suppression upkeep, only where an address has an entry: consent evidence lifts a withdrawal
  // or an erasure, and a contact that gained a suppressed address carries its reasons.
  const suppressed = written.filter(({ result: { contact } }) =>
    (contact.email && snapshot.suppressions.has(suppressionKey('email', contact.email))) || (contact.phone && snapshot.suppressions.has(suppressionKey('sms', contact.phone))),
  );
  await forEachLimit(suppressed, WRITE_CONCURRENCY, ({ result, grants }) => deps.service.afterWrite(result, 'import', { grants, lift: EVIDENCE_LIFTS, collect: [] }));

  const calls = Array.from({ length: Math.ceil(events.length / 10) }, (_, i) => events.slice(i * 10, i * 10 + 10));
  await forEachLimit(calls, PUBLISH_CONCURRENCY, (call) => deps.publish(call));

  return rows.map((row) => outcomes.get(row.line)!);
}

/** The chunk processor of `contacts` import jobs: parses the chunk (CSV under the file's header, or NDJSON) and imports its rows under the job's id. */
export function contactsChunkProcessor(deps: ContactImportDeps): ChunkProcessor {
  return async (chunk: ImportChunk) => {
    if (chunk.kind !== 'contacts') throw new Error(`The contacts chunk processor was handed a ${chunk.kind} chunk`);
    const rows = parseImport(chunk.text, chunk.format, { ...(chunk.header !== undefined ? { header: chunk.header } : {}), firstLine: chunk.firstLine });
    return importContactRows(rows, deps, { ...(chunk.actor ? { actor: chunk.actor } : {}), origin: { jobId: chunk.jobId } });
  };
}

/**
 * Imports up to 10,000 contacts from NDJSON or CSV in one request (the synchronous route): the
 * fast path above under a fresh import id. Every row gets a result; invalid rows are reported
 * and skipped, valid ones stored; rows that change nothing cost no writes and publish no
 * events, so re-running an import is a no-op.
 */
export async function runImport(body: string, contentType: string | undefined, deps: ContactImportDeps, actor: string | undefined): Promise<ImportResult> {
  const raw = parseImport(body, importFormatFor(contentType));
  const outcomes = await importContactRows(raw, deps, { ...(actor ? { actor } : {}), origin: { jobId: randomUUID() } });
  const rows: RowResult[] = raw.map((row, i) => {
    const outcome = outcomes[i]!;
    return { row: row.row, line: row.line, status: outcome.status, ...(outcome.id ? { contactId: outcome.id } : {}), ...(outcome.issues ? { issues: outcome.issues } : {}) };
  });
  const summary = { total: rows.length, created: 0, updated: 0, unchanged: 0, failed: 0 };
  for (const r of rows) summary[r.status]++;
  return { summary, rows };
}
