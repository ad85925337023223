import type { OutgoingEvent } from '../../events/contract.ts';
import type { ValidationIssue } from '../errors.ts';
import { wordingHash } from './api-schemas.ts';
import type { ContactService } from './contact-service.ts';
import { ErasedAddressError } from './contact-service.ts';
import { applyConsents, emailLookupKey, IdentityConflictError, mergeInput, phoneLookupKey, type ConsentGrant, type ContactStore } from './contact-store.ts';
import { InvalidEmailError, normalizeEmail } from './email.ts';
import { importFormatFor, parseImport, type ImportRecord } from './import-parse.ts';
import type { Channel, Contact, ContactInput } from './model.ts';
import { InvalidPhoneError, normalizePhone } from './phone.ts';
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

interface PreparedRow {
  row: number;
  line: number;
  input: ContactInput;
  grants: ConsentGrant[];
  keys: string[];
}

const CONCURRENCY = 16;

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
 * Imports up to 10,000 contacts from NDJSON or CSV. Every row gets a result; invalid rows are
 * reported and skipped, valid ones stored. Existing contacts and their lookups are read in
 * bulk first, so rows that change nothing cost no writes and publish no events, which makes
 * re-running an import a no-op. Rows sharing an address are applied in file order.
 */
export async function runImport(
  body: string,
  contentType: string | undefined,
  deps: { service: ContactService; store: ContactStore; publish: (events: OutgoingEvent[]) => Promise<void> },
  actor: string | undefined,
): Promise<ImportResult> {
  const raw = parseImport(body, importFormatFor(contentType));
  const results: RowResult[] = [];
  const prepared: PreparedRow[] = [];
  for (const row of raw) {
    if (!row.record || row.problems.length > 0) {
      results.push({ row: row.row, line: row.line, status: 'failed', issues: row.problems });
      continue;
    }
    const outcome = prepareRecord(row.record, actor);
    if ('issues' in outcome) {
      results.push({ row: row.row, line: row.line, status: 'failed', issues: outcome.issues });
      continue;
    }
    const keys = [outcome.input.email ? emailLookupKey(outcome.input.email) : undefined, outcome.input.phone ? phoneLookupKey(outcome.input.phone) : undefined].filter(
      (k): k is string => k !== undefined,
    );
    prepared.push({ row: row.row, line: row.line, input: outcome.input, grants: outcome.grants, keys });
  }

  // Bulk reads: who holds each address, and those contacts.
  const owners = await deps.store.resolveKeys(prepared.flatMap((p) => p.keys));
  const existing = await deps.store.getMany([...new Set(owners.values())]);

  const events: OutgoingEvent[] = [];
  const chains = new Map<string, Promise<void>>();
  let running = 0;
  const waiting: Array<() => void> = [];
  const slot = async () => {
    if (running >= CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
  };
  const release = () => {
    running--;
    waiting.shift()?.();
  };

  const processRow = async (p: PreparedRow): Promise<RowResult> => {
    const ids = [...new Set(p.keys.map((k) => owners.get(k)).filter((id): id is string => id !== undefined))];
    const known = ids.length === 1 ? existing.get(ids[0]!) : undefined;
    const grants = newGrantsOnly(known, p.grants);
    if (known) {
      const merged = mergeInput(known, p.input);
      const consent = applyConsents(merged.next, grants.map((g) => ({ ...g, record: { ...g.record, at: new Date().toISOString() } })), known.id);
      if (merged.changed.length === 0 && consent.records.length === 0) return { row: p.row, line: p.line, status: 'unchanged', contactId: known.id };
    }
    try {
      const collected: OutgoingEvent[] = [];
      const result = await deps.service.upsert(p.input, 'import', { consents: grants, onIdentityConflict: 'reject', collectEvents: collected });
      events.push(...collected);
      // Later rows with the same address see this row's outcome.
      existing.set(result.contact.id, result.contact);
      for (const k of p.keys) owners.set(k, result.contact.id);
      if (!result.created && result.changed.length === 0 && result.consentRecords.length === 0) return { row: p.row, line: p.line, status: 'unchanged', contactId: result.contact.id };
      return { row: p.row, line: p.line, status: result.created ? 'created' : 'updated', contactId: result.contact.id };
    } catch (error) {
      if (error instanceof IdentityConflictError || error instanceof ErasedAddressError) {
        return { row: p.row, line: p.line, status: 'failed', issues: [{ path: error instanceof ErasedAddressError ? 'email' : 'phone', message: error.message }] };
      }
      throw error;
    }
  };

  const rowPromises = prepared.map((p) => {
    // Rows that share an address wait for the previous row with that address.
    const previous = Promise.all(p.keys.map((k) => chains.get(k) ?? Promise.resolve()));
    const done = previous.then(async () => {
      await slot();
      try {
        return await processRow(p);
      } finally {
        release();
      }
    });
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    for (const k of p.keys) chains.set(k, settled);
    return done;
  });
  results.push(...(await Promise.all(rowPromises)));
  await deps.publish(events);

  results.sort((a, b) => a.row - b.row);
  const summary = { total: results.length, created: 0, updated: 0, unchanged: 0, failed: 0 };
  for (const r of results) summary[r.status]++;
  return { summary, rows: results };
}
