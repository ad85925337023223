import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { documentClient } from '../aws/dynamodb.ts';
import { keyedHash } from '../aws/secrets.ts';
import { PastInstant } from '../clock.ts';
import { forEachLimit } from '../concurrency.ts';
import { emailLookupKey, phoneLookupKey, type ContactStore } from '../contacts/contact-store.ts';
import { InvalidEmailError, normalizeEmail } from '../contacts/email.ts';
import type { LeadScorer } from '../contacts/lead-scoring.ts';
import { InvalidPhoneError, normalizePhone } from '../contacts/phone.ts';
import { interactionSortKey, type Interaction, type Timeline } from '../contacts/timeline.ts';
import { issuesFromZod, NotFoundError, type ValidationIssue } from '../errors.ts';
import { isStorableNumber, NUMBER_RANGE } from '../numbers.ts';
import { recordConversion } from '../responses/conversions.ts';
import { behaviourEntryId, behaviourEventRow, recordBehaviourEvent } from '../responses/behaviour-events.ts';
import { CampaignGoal, emptyCounters, type Campaign } from '../campaigns/model.ts';
import { sendIdOf, sendPk, type SendRecord } from '../campaigns/send-store.ts';
import { claimAll } from '../write-once.ts';
import { HISTORY_CHUNK_ROWS, mustHandOver, type ChunkProcessor, type ImportChunk, type ImportRowOutcome } from './chunk.ts';

const ContactRef = z.union([
  z.strictObject({ contactId: z.uuid('must be a contact id') }),
  z.strictObject({ email: z.string().max(320) }),
  z.strictObject({ phone: z.string().max(40), country: z.string().length(2).optional() }),
]);
type ContactRef = z.infer<typeof ContactRef>;
/** History is in the past: a send, interaction, conversion or event dated ahead of the clock is refused. */
const Instant = PastInstant;

/** The interaction types a history can carry (one list: extend it here and every route and file format takes the new type). */
export const HISTORY_INTERACTION_TYPES = ['delivered', 'opened', 'clicked', 'bounced', 'complained', 'unsubscribed'] as const;

export const HistoryCampaign = z.strictObject({
  /** Your id for the campaign in the old tool: importing it again changes nothing. */
  externalId: z.string().trim().min(1).max(200),
  name: z.string().trim().min(1).max(200),
  launchedAt: Instant,
  goal: CampaignGoal,
  costPerMessage: z.strictObject({ email: z.number().min(0).max(10).refine(isStorableNumber, NUMBER_RANGE).optional(), sms: z.number().min(0).max(10).refine(isStorableNumber, NUMBER_RANGE).optional() }).prefault({}),
});
export const HistorySend = z.strictObject({ contact: ContactRef, channel: z.enum(['email', 'sms']), sentAt: Instant, holdout: z.boolean().default(false), variant: z.string().trim().min(1).max(100).default('A') });
export const HistoryInteraction = z.strictObject({ contact: ContactRef, type: z.enum(HISTORY_INTERACTION_TYPES), occurredAt: Instant, link: z.url().optional() });
export const HistoryConversion = z.strictObject({
  contact: ContactRef,
  name: z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9_.:-]+$/),
  value: z.number().min(0).refine(isStorableNumber, NUMBER_RANGE).optional(),
  currency: z.string().regex(/^[A-Z]{3}$/).optional(),
  occurredAt: Instant,
  idempotencyKey: z.string().trim().min(1).max(200).optional(),
});
/**
 * A site visit, page view or custom event (`type: "visit" | "page_view" | "custom"`, the fields of
 * `POST /v1/events`). It is the contact's behaviour, not the campaign's: recorded for any contact —
 * sent to, held out or never targeted — with no campaign on the entry, and measured against each
 * campaign's holdout by the attribution run. Without an `idempotencyKey`, the key is derived from
 * the row (importedEventKey).
 */
export const HistoryEvent = behaviourEventRow(ContactRef, Instant);
export type HistoryCampaign = z.output<typeof HistoryCampaign>;
export type HistorySend = z.output<typeof HistorySend>;
export type HistoryInteraction = z.output<typeof HistoryInteraction>;
export type HistoryConversion = z.output<typeof HistoryConversion>;
export type HistoryEvent = z.output<typeof HistoryEvent>;

/** The JSON route's body: the campaign and up to 10,000 sends in one request. */
export const HistoryImport = z.strictObject({
  campaign: HistoryCampaign,
  sends: z.array(HistorySend).min(1).max(10_000),
  interactions: z.array(HistoryInteraction).max(20_000).default([]),
  conversions: z.array(HistoryConversion).max(20_000).default([]),
  events: z.array(HistoryEvent).max(20_000).default([]),
});
export type HistoryImport = z.output<typeof HistoryImport>;

/** One row of a history: what the JSON route's arrays and a history file's lines hold. */
export type HistoryRow = { send: HistorySend } | { interaction: HistoryInteraction } | { conversion: HistoryConversion } | { event: HistoryEvent };
const ROW_SCHEMAS = { send: HistorySend, interaction: HistoryInteraction, conversion: HistoryConversion, event: HistoryEvent } as const;

export interface HistoryDeps {
  contacts: ContactStore;
  timeline: Timeline;
  scorer: LeadScorer;
  tables: { campaigns: string; sends: string };
  db?: DynamoDBDocumentClient;
}

/**
 * What became of one row: `created` — the row's record is this part's (written now, `fresh`, or
 * by an earlier run of the same part); `unchanged` — it was already there from another part or an
 * earlier import; `failed` — with issues at paths inside the row.
 */
export interface HistoryRowResult {
  status: 'created' | 'unchanged' | 'failed';
  fresh: boolean;
  contactId?: string;
  issues?: ValidationIssue[];
}

export interface HistoryResult {
  campaignId: string;
  created: boolean;
  summary: { sends: number; holdout: number; interactions: number; conversions: number; events: number; failed: number };
  failures: Array<ValidationIssue & { index: number }>;
}

/** A stable id from the external id, shaped like a UUID, so a re-import addresses the same campaign. */
export function importedCampaignId(externalId: string): string {
  const h = createHash('sha256').update(`touchloop-import:${externalId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Requests and file rows handled at once for conversions (each is a few reads and writes of its own). */
const CONVERSION_PARALLEL = 16;
/** Events recorded at once (each is a contact read, a conditional put and a counter update). */
const EVENT_PARALLEL = 16;
const RUN_ID = '1';

/**
 * Imports one part of a past campaign's history (from Pinpoint or another tool): the campaign as
 * completed (created by the first part), the send records (holdout included), `sent` entries and
 * interactions on the timelines, the conversions, and the contacts' site visits, page views and
 * custom events. Everything is keyed deterministically and stamped with the part's `origin`, so
 * importing a row again changes nothing, a replay of the same part (after a crash) recognises its
 * own writes, and the campaign's counters are the sum of each part's own send records (see
 * commitPart), whatever parts, replays or crashes happened.
 *
 * Fast by batching: contacts are resolved with BatchGetItem (lookups, then contacts), send
 * records and timeline entries are written with BatchWriteItem (claimAll), behaviour counters
 * are bumped once per contact and month, conversions and events run 16 at a time.
 */
export async function importHistoryPart(campaign: HistoryCampaign, rows: HistoryRow[], origin: string, deps: HistoryDeps): Promise<{ campaignId: string; created: boolean; results: HistoryRowResult[] }> {
  const db = deps.db ?? documentClient;
  const campaignId = importedCampaignId(campaign.externalId);
  const results: HistoryRowResult[] = rows.map(() => ({ status: 'failed', fresh: false }));

  const contacts = await resolveContacts(rows.map((row) => contactOf(row)), deps.contacts);
  const contactIdOf = (index: number): string | undefined => {
    const resolved = contacts[index]!;
    if ('issue' in resolved) results[index] = { status: 'failed', fresh: false, issues: [{ path: 'contact', message: resolved.issue }] };
    return 'contactId' in resolved ? resolved.contactId : undefined;
  };

  // The campaign exists before its sends (a later part of the same history adds to it).
  const created = await createImportedCampaign(campaign, campaignId, db, deps.tables.campaigns);

  const sendRows: Array<{ index: number; record: SendRecord }> = [];
  const interactionRows: Array<{ index: number; entry: Omit<Interaction, 'sk' | 'recordedAt' | 'origin'> }> = [];
  const conversionRows: Array<{ index: number; contactId: string; conversion: HistoryConversion }> = [];
  const eventRows: Array<{ index: number; contactId: string; event: HistoryEvent; key: string }> = [];
  rows.forEach((row, index) => {
    const contactId = contactIdOf(index);
    if (!contactId) return;
    if ('send' in row) {
      const send = row.send;
      sendRows.push({
        index,
        record: {
          pk: sendPk(campaignId, RUN_ID),
          sk: contactId,
          sendId: sendIdOf(campaignId, RUN_ID, contactId),
          campaignId,
          runId: RUN_ID,
          contactId,
          channel: send.channel,
          variant: send.variant,
          status: send.holdout ? 'holdout' : 'sent',
          createdAt: send.sentAt,
          attempts: 0,
          ...(send.holdout ? {} : { sentAt: send.sentAt, cost: campaign.costPerMessage[send.channel] ?? 0 }),
        },
      });
    } else if ('interaction' in row) {
      const interaction = row.interaction;
      const occurredAt = new Date(interaction.occurredAt).toISOString();
      const sendId = sendIdOf(campaignId, RUN_ID, contactId);
      interactionRows.push({
        index,
        entry: { contactId, id: `import:${sendId}:${interaction.type}:${occurredAt}`, type: interaction.type, campaignId, sendId, occurredAt, data: { imported: true, ...(interaction.link ? { link: interaction.link } : {}) } },
      });
    } else if ('conversion' in row) {
      conversionRows.push({ index, contactId, conversion: row.conversion });
    } else {
      eventRows.push({ index, contactId, event: row.event, key: row.event.idempotencyKey ?? importedEventKey(row.event) });
    }
  });

  // Send records: one per contact and campaign run; whoever wrote one first owns it.
  const sendClaims = await claimAll(db, deps.tables.sends, ['pk', 'sk'], sendRows.map((row) => row.record as unknown as Record<string, unknown>), origin);
  const owned: SendRecord[] = [];
  sendClaims.forEach((claim, i) => {
    const { index, record } = sendRows[i]!;
    const mine = claim.status !== 'taken';
    results[index] = { status: mine ? 'created' : 'unchanged', fresh: claim.status === 'fresh', contactId: record.contactId };
    if (mine) owned.push(claim.stored as unknown as SendRecord);
  });

  // Timeline: the `sent` entries of this part's own sends and every interaction, once each.
  const sentEntries = owned
    .filter((record) => record.status === 'sent')
    .map((record) => ({ contactId: record.contactId, id: `import:${record.sendId}:sent`, type: 'sent', channel: record.channel, campaignId, sendId: record.sendId, occurredAt: new Date(record.sentAt!).toISOString(), data: { variant: record.variant, imported: true } }));
  const monthsOf = new Map<string, Iterable<string> | undefined>();
  for (const c of contacts) if ('contactId' in c) monthsOf.set(c.contactId, c.activityMonths);
  const statuses = await deps.timeline.recordMany([...sentEntries, ...interactionRows.map((row) => row.entry)], origin, (contactId) => monthsOf.get(contactId));
  interactionRows.forEach(({ index, entry }, i) => {
    const status = statuses[sentEntries.length + i]!;
    results[index] = { status: status === 'taken' ? 'unchanged' : 'created', fresh: status === 'fresh', contactId: entry.contactId };
  });

  // Conversions through the same recording as the API's (keyed, so a repeat records nothing).
  await forEachLimit(conversionRows, CONVERSION_PARALLEL, async ({ index, contactId, conversion }) => {
    const occurredAt = new Date(conversion.occurredAt).toISOString();
    const key = conversion.idempotencyKey ?? `import:${campaignId}:${contactId}:${conversion.name}:${occurredAt}:${conversion.value ?? ''}:${conversion.currency ?? ''}`;
    const result = await recordConversion({ contactId, name: conversion.name, value: conversion.value, currency: conversion.currency, occurredAt, idempotencyKey: key }, deps, 'import', { importOrigin: origin });
    // Already recorded: by this part before a crash (its own row, reported as the first run would), or by another.
    const own = !result.recorded && (await deps.timeline.get(contactId, interactionSortKey(occurredAt, `conversion:${await keyedHash('conversion-key', key)}`)))?.data?.importOrigin === origin;
    results[index] = { status: result.recorded || own ? 'created' : 'unchanged', fresh: result.recorded, contactId };
  });

  // Events through the API's recording too: the entry id is the type and the keyed hash of the
  // key, so an event already reported through POST /v1/events (same key and time) or imported by
  // another part is recorded once. No first-seen marker: a history carries fixed times (as for
  // conversions). A key a row of this part already used is that row's (the first one records).
  const firstOfKey = new Set<string>();
  const eventsToRecord = eventRows.filter(({ index, contactId, event, key }) => {
    const seen = `${contactId}\u0000${event.type}\u0000${key}`;
    if (!firstOfKey.has(seen)) return firstOfKey.add(seen);
    results[index] = { status: 'unchanged', fresh: false, contactId };
    return false;
  });
  await forEachLimit(eventsToRecord, EVENT_PARALLEL, async ({ index, contactId, event, key }) => {
    const { contact: _contact, idempotencyKey: _key, occurredAt: reported, ...fields } = event;
    const occurredAt = new Date(reported).toISOString();
    try {
      const result = await recordBehaviourEvent({ ...fields, contactId, occurredAt, idempotencyKey: key }, deps, 'import', { importOrigin: origin });
      // Already recorded: by this part before a crash (its own row, reported as the first run would), or by another.
      const own = !result.recorded && (await deps.timeline.get(contactId, interactionSortKey(occurredAt, await behaviourEntryId(event.type, key))))?.data?.importOrigin === origin;
      results[index] = { status: result.recorded || own ? 'created' : 'unchanged', fresh: result.recorded, contactId };
    } catch (error) {
      // Erased since the part resolved it: the row fails like any row naming no contact.
      if (!(error instanceof NotFoundError)) throw error;
      results[index] = { status: 'failed', fresh: false, issues: [{ path: 'contact', message: 'no such contact (import or create the contacts first)' }] };
    }
  });

  await commitPart(campaignId, origin, tallyOf(owned), db, deps.tables.campaigns);
  return { campaignId, created, results };
}

/**
 * The JSON route (`POST /v1/campaigns/import`). The request is cut into the parts an import job
 * of the same rows would have — the file being the campaign line then one row a line, a part
 * being a chunk of HISTORY_CHUNK_ROWS rows with origin `job:<id>:<first line>` — under a job id derived
 * from the request's content. The parts run one after the other while the API's time allows;
 * when it runs short the request becomes that import job (202), whose workers find the parts
 * already written as their own. The same request sent again (a client retrying after a timeout
 * or a crash) has the same id, so it recognises what it wrote before and completes the
 * campaign's counts, while its summary counts only what this call wrote: importing the same
 * history twice reports nothing new.
 */
export async function importHistory(
  input: HistoryImport,
  deps: HistoryDeps,
  later?: { remainingMs: () => number; queue: (id: string, ndjson: string) => Promise<{ id: string; status: string; url: string }> },
): Promise<HistoryResult | { job: { id: string; status: string; url: string } }> {
  // A request without events hashes as it did before they existed (a retry across an upgrade finds its parts).
  const { events: _events, ...withoutEvents } = input;
  const id = importedCampaignId(`request:${createHash('sha256').update(JSON.stringify(input.events.length ? input : withoutEvents)).digest('hex')}`);
  const lists: Array<readonly [string, HistoryRow[]]> = [
    ['sends', input.sends.map((send) => ({ send }))],
    ['interactions', input.interactions.map((interaction) => ({ interaction }))],
    ['conversions', input.conversions.map((conversion) => ({ conversion }))],
    ['events', input.events.map((event) => ({ event }))],
  ];
  const rows = lists.flatMap(([, listRows]) => listRows);
  /** The list and index within it of the row at `at` (rows are the lists one after the other). */
  const where = (at: number): [string, number] => {
    let offset = at;
    for (const [name, listRows] of lists) {
      if (offset < listRows.length) return [name, offset];
      offset -= listRows.length;
    }
    throw new Error(`no row at ${at}`);
  };
  let campaignId = importedCampaignId(input.campaign.externalId);
  let created = false;
  const results: HistoryRowResult[] = [];
  let msPerRow = 0;
  for (let start = 0; start < rows.length; start += HISTORY_CHUNK_ROWS) {
    if (later && mustHandOver(later.remainingMs(), msPerRow, Math.min(HISTORY_CHUNK_ROWS, rows.length - start))) return { job: await later.queue(id, [JSON.stringify({ campaign: input.campaign }), ...rows.map((row) => JSON.stringify(row))].join('\n')) };
    // File line 1 is the campaign: the row at index i is on line i + 2, as in the job's file.
    const began = Date.now();
    const part = await importHistoryPart(input.campaign, rows.slice(start, start + HISTORY_CHUNK_ROWS), `job:${id}:${start + 2}`, deps);
    msPerRow = Math.max(msPerRow, (Date.now() - began) / Math.min(HISTORY_CHUNK_ROWS, rows.length - start));
    campaignId = part.campaignId;
    created ||= part.created;
    results.push(...part.results);
  }
  const summary = { sends: 0, holdout: 0, interactions: 0, conversions: 0, events: 0, failed: 0 };
  const failures: HistoryResult['failures'] = [];
  results.forEach((result, at) => {
    const row = rows[at]!;
    const [list, index] = where(at);
    if (result.status === 'failed') {
      for (const issue of result.issues ?? []) failures.push({ index, path: `${list}[${index}].${issue.path}`, message: issue.message });
      return;
    }
    if (!result.fresh) return;
    if ('send' in row) summary[row.send.holdout ? 'holdout' : 'sends']++;
    else if ('interaction' in row) summary.interactions++;
    else if ('conversion' in row) summary.conversions++;
    else summary.events++;
  });
  summary.failed = failures.length;
  return { campaignId, created, summary, failures };
}

/**
 * The chunk processor of `history` import jobs. The file is NDJSON: its first line
 * `{"campaign": {...}}` (the JSON route's campaign, handed to every chunk as `chunk.header`), then
 * one row a line, `{"send": {...}}`, `{"interaction": {...}}`, `{"conversion": {...}}` or
 * `{"event": {...}}` with the fields of one item of the JSON route's arrays. A chunk is one part
 * whose origin is the job and its first line, so a chunk processed again after a crash finds its
 * own writes and reports the same rows as created.
 */
export function historyChunkProcessor(deps: HistoryDeps): ChunkProcessor {
  return async (chunk: ImportChunk): Promise<ImportRowOutcome[]> => {
    const lines = chunk.text.split('\n');
    const rows: HistoryRow[] = [];
    const lineOf: number[] = [];
    const outcomes: ImportRowOutcome[] = [];
    const header = parseHeader(chunk.header);
    lines.forEach((text, i) => {
      const line = chunk.firstLine + i;
      if (!text.trim()) return;
      const parsed = parseRow(text);
      if ('issues' in parsed || 'issues' in header) {
        outcomes.push({ line, status: 'failed', issues: 'issues' in header ? header.issues : (parsed as { issues: ValidationIssue[] }).issues });
        return;
      }
      rows.push(parsed.row);
      lineOf.push(line);
    });
    if (!rows.length || 'issues' in header) return outcomes;
    const origin = `job:${chunk.jobId}:${chunk.firstLine}`;
    const { results } = await importHistoryPart(header.campaign, rows, origin, deps);
    results.forEach((result, i) => {
      const kind = Object.keys(rows[i]!)[0]!;
      outcomes.push({
        line: lineOf[i]!,
        status: result.status,
        ...(result.contactId ? { id: result.contactId } : {}),
        ...(result.issues ? { issues: result.issues.map((issue) => ({ path: `${kind}.${issue.path}`, message: issue.message })) } : {}),
      });
    });
    return outcomes.sort((a, b) => a.line - b.line);
  };
}

const HistoryHeader = z.strictObject({ campaign: HistoryCampaign });

function parseJson(text: string): { value: unknown } | { issues: ValidationIssue[] } {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return { issues: [{ path: '', message: 'is not valid JSON' }] };
  }
}

function parseHeader(text: string | undefined): { campaign: HistoryCampaign } | { issues: ValidationIssue[] } {
  if (text === undefined) return { issues: [{ path: 'campaign', message: 'the file has no campaign line (its first line must be {"campaign": {...}})' }] };
  const json = parseJson(text);
  if ('issues' in json) return { issues: [{ path: 'campaign', message: 'the campaign line is not valid JSON' }] };
  const parsed = HistoryHeader.safeParse(json.value);
  return parsed.success ? parsed.data : { issues: issuesFromZod(parsed.error.issues) };
}

function parseRow(text: string): { row: HistoryRow } | { issues: ValidationIssue[] } {
  const json = parseJson(text);
  if ('issues' in json) return json;
  const value = json.value;
  const keys = value && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
  const kind = keys.length === 1 && keys[0]! in ROW_SCHEMAS ? (keys[0] as keyof typeof ROW_SCHEMAS) : undefined;
  if (!kind) return { issues: [{ path: '', message: 'must be an object with exactly one of send, interaction, conversion or event' }] };
  const parsed = ROW_SCHEMAS[kind].safeParse((value as Record<string, unknown>)[kind]);
  if (!parsed.success) return { issues: issuesFromZod(parsed.error.issues, kind) };
  return { row: { [kind]: parsed.data } as HistoryRow };
}

const contactOf = (row: HistoryRow): ContactRef => ('send' in row ? row.send.contact : 'interaction' in row ? row.interaction.contact : 'conversion' in row ? row.conversion.contact : row.event.contact);

/** The fields of a JSON object in a fixed order (keys sorted at every level), absent ones left out. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The idempotency key of an imported event that carries none:
 * `import:<type>:<occurredAt as UTC ISO>:<SHA-256 hex of the event's other fields>`, those fields
 * (url, referrer, title; name, properties — as imported, before the timeline trims a page to its
 * origin and path) as JSON with keys sorted. The contact and the campaign are left out: the entry
 * is on the contact's own timeline whichever way the row names them, and the same event in the
 * history of two campaigns is one visit. So a row imported again — in another part, request,
 * file or campaign, or after a crash — has the same key and records nothing new, while two
 * events differing in time or in any field are two. Keep it as it is: a change would import
 * every keyless event of a history again.
 */
export function importedEventKey(event: HistoryEvent): string {
  const { contact: _contact, idempotencyKey: _key, type, occurredAt, ...fields } = event;
  return `import:${type}:${new Date(occurredAt).toISOString()}:${createHash('sha256').update(canonicalJson(fields)).digest('hex')}`;
}

/** BatchGetItem requests in flight at once while resolving contacts. */
const READ_PARALLEL = 8;
const slices = <T>(items: T[], size = 100): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

type Resolved = { contactId: string; activityMonths?: Iterable<string> } | { issue: string };

/**
 * The contact each reference names, all at once: email and phone through the lookup items
 * (BatchGetItem, 100 keys a request), then every contact id read the same way to see it exists
 * (and which activity months it lists).
 */
async function resolveContacts(refs: ContactRef[], store: ContactStore): Promise<Resolved[]> {
  const keys: Array<{ id: string } | { lookup: string } | { issue: string }> = refs.map((ref) => {
    try {
      if ('contactId' in ref) return { id: ref.contactId };
      if ('email' in ref) return { lookup: emailLookupKey(normalizeEmail(ref.email)) };
      return { lookup: phoneLookupKey(normalizePhone(ref.phone, ref.country).e164) };
    } catch (error) {
      return { issue: error instanceof InvalidEmailError || error instanceof InvalidPhoneError ? error.message : 'is not a valid contact reference' };
    }
  });
  const lookups = new Map<string, string>();
  await forEachLimit(slices([...new Set(keys.flatMap((key) => ('lookup' in key ? [key.lookup] : [])))]), READ_PARALLEL, async (slice) => {
    for (const [key, id] of await store.resolveKeys(slice)) lookups.set(key, id);
  });
  const ids = keys.map((key) => ('id' in key ? key.id : 'lookup' in key ? lookups.get(key.lookup) : undefined));
  const found = new Map<string, { id: string }>();
  await forEachLimit(slices([...new Set(ids.filter((id): id is string => id !== undefined))]), READ_PARALLEL, async (slice) => {
    for (const [id, contact] of await store.getMany(slice)) found.set(id, contact);
  });
  return keys.map((key, i) => {
    if ('issue' in key) return key;
    const contact = found.get(ids[i] ?? '');
    return contact ? { contactId: contact.id, activityMonths: (contact as { activityMonths?: Iterable<string> }).activityMonths } : { issue: 'no such contact (import or create the contacts first)' };
  });
}

/** The imported campaign, created by the first part of its history (as completed, with nothing counted yet); false when it exists. */
async function createImportedCampaign(input: HistoryCampaign, campaignId: string, db: DynamoDBDocumentClient, table: string): Promise<boolean> {
  const now = new Date().toISOString();
  const launchedAt = new Date(input.launchedAt).toISOString();
  const campaign: Campaign = {
    id: campaignId,
    name: input.name,
    segmentId: '00000000-0000-4000-8000-000000000000',
    channels: [],
    variants: [],
    holdoutPercent: 0,
    schedule: { type: 'immediate' },
    limits: { quietHours: {}, sendRatePerSecond: {} },
    goal: input.goal,
    costPerMessage: input.costPerMessage,
    marketing: true,
    status: 'completed',
    createdAt: now,
    updatedAt: now,
    version: 1,
    runId: RUN_ID,
    launchedAt,
    completedAt: launchedAt,
    counters: emptyCounters(),
    spent: 0,
  };
  try {
    await db.send(new PutCommand({ TableName: table, Item: { ...campaign, imported: true, externalId: input.externalId, importParts: {}, importRevision: 0 }, ConditionExpression: 'attribute_not_exists(id)' }));
    return true;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return false;
  }
}

/** What one part's own send records add to its campaign. */
export interface PartTally {
  sent: number;
  holdout: number;
  spent: number;
  variants: string[];
  channels: string[];
}

export function tallyOf(records: SendRecord[]): PartTally {
  const tally: PartTally = { sent: 0, holdout: 0, spent: 0, variants: [], channels: [] };
  const variants = new Set<string>();
  const channels = new Set<string>();
  for (const record of records) {
    if (record.status === 'holdout') {
      tally.holdout++;
      continue;
    }
    tally.sent++;
    tally.spent += record.cost ?? 0;
    if (record.variant) variants.add(record.variant);
    if (record.channel) channels.add(record.channel);
  }
  tally.variants = [...variants].sort();
  tally.channels = [...channels].sort();
  return tally;
}

/** The campaign's totals from its parts' tallies (in a fixed order, so the spend adds up the same way every time). */
export function totalsOf(parts: Record<string, PartTally>): PartTally {
  const variants = new Set<string>();
  const channels = new Set<string>();
  const total: PartTally = { sent: 0, holdout: 0, spent: 0, variants: [], channels: [] };
  for (const origin of Object.keys(parts).sort()) {
    const part = parts[origin]!;
    total.sent += part.sent;
    total.holdout += part.holdout;
    total.spent += part.spent;
    part.variants.forEach((v) => variants.add(v));
    part.channels.forEach((c) => channels.add(c));
  }
  total.spent = Math.round(total.spent * 1e9) / 1e9;
  total.variants = [...variants].sort();
  total.channels = [...channels].sort();
  return total;
}

const sameTally = (a: PartTally | undefined, b: PartTally): boolean =>
  a !== undefined && a.sent === b.sent && a.holdout === b.holdout && a.spent === b.spent && a.variants.join('\u0000') === b.variants.join('\u0000') && a.channels.join('\u0000') === b.channels.join('\u0000');

type ImportedCampaignItem = Campaign & { importParts?: Record<string, PartTally>; importRevision?: number };

/**
 * Records one part's tally on the campaign (`importParts`, by origin) and sets the counters, spend,
 * variants, channels and holdout share to the sum of every part's: a replayed part replaces its
 * own tally with the same one, so nothing counts twice. Optimistic: the write is conditioned on
 * the revision it read, and a part that lost a race reads again. A campaign imported before parts
 * were kept starts with its counters as one `legacy` part.
 */
async function commitPart(campaignId: string, origin: string, tally: PartTally, db: DynamoDBDocumentClient, table: string): Promise<void> {
  for (let attempt = 0; attempt < 25; attempt++) {
    const item = (await db.send(new GetCommand({ TableName: table, Key: { id: campaignId }, ConsistentRead: true }))).Item as ImportedCampaignItem | undefined;
    if (!item) return; // erased meanwhile
    const revision = item.importRevision ?? 0;
    const parts: Record<string, PartTally> = item.importParts
      ? { ...item.importParts }
      : item.counters.targeted > 0
        ? { legacy: { sent: item.counters.sent, holdout: item.counters.holdout, spent: item.spent ?? 0, variants: item.variants.map((v) => v.name), channels: [...item.channels] } }
        : {};
    if (sameTally(parts[origin], tally) && item.importParts) return; // a replay that finds its tally recorded
    if (tally.sent + tally.holdout === 0 && !parts[origin] && item.importParts) return; // nothing of its own to add
    parts[origin] = tally;
    const total = totalsOf(parts);
    const targeted = total.sent + total.holdout;
    try {
      await db.send(
        new UpdateCommand({
          TableName: table,
          Key: { id: campaignId },
          UpdateExpression:
            'SET importParts = :parts, importRevision = :next, counters.targeted = :targeted, counters.sent = :sent, counters.holdout = :holdout, spent = :spent, variants = :variants, channels = :channels, holdoutPercent = :share, version = version + :one',
          ConditionExpression: item.importRevision === undefined ? 'attribute_not_exists(importRevision)' : 'importRevision = :revision',
          ExpressionAttributeValues: {
            ':parts': parts,
            ':next': revision + 1,
            ':targeted': targeted,
            ':sent': total.sent,
            ':holdout': total.holdout,
            ':spent': total.spent,
            ':variants': total.variants.map((name) => ({ name, weight: 1, templates: {} })),
            ':channels': total.channels,
            ':share': targeted ? Math.round((1000 * total.holdout) / targeted) / 10 : 0,
            ':one': 1,
            ...(item.importRevision === undefined ? {} : { ':revision': revision }),
          },
        }),
      );
      return;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(500, 10 * 2 ** attempt)));
    }
  }
  throw new Error(`the counts of imported campaign ${campaignId} could not be updated: too many parts at once`);
}
