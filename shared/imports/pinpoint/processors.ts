/**
 * The three Pinpoint import kinds as chunk processors (contract: shared/imports/chunk.ts).
 *
 * - `pinpoint-endpoints` (ndjson): an endpoint export → one contact per User.UserId;
 * - `pinpoint-segment` (csv): an imported-segment file → contacts tagged `pinpoint:<segment>`
 *   and one static segment whose rule is that tag (options: `{ segmentName }`);
 * - `pinpoint-templates` (ndjson): template responses → Touchloop templates.
 *
 * Each is replay-exact through the ImportRowLedger (plan before writing, outcomes after).
 */
import { createHash } from 'node:crypto';
import { parse as parseCsv } from 'csv-parse/sync';
import { forEachLimit } from '../../concurrency.ts';
import { BadRequestError, type ValidationIssue } from '../../errors.ts';
import type { ContactService } from '../../contacts/contact-service.ts';
import { applyConsents, emailLookupKey, mergeInput, phoneLookupKey, type ContactStore } from '../../contacts/contact-store.ts';
import { newGrantsOnly, prepareRecord } from '../../contacts/import.ts';
import type { RawImportRow } from '../../contacts/import-parse.ts';
import type { Channel, Contact, ContactInput } from '../../contacts/model.ts';
import { normalizeEmail } from '../../contacts/email.ts';
import { normalizePhone } from '../../contacts/phone.ts';
import { WITHDRAWAL_REASONS, type SuppressionStore } from '../../contacts/suppressions.ts';
import type { RuleNode } from '../../segments/rule.ts';
import type { SegmentStore, SegmentVersion } from '../../segments/segment-store.ts';
import type { TemplateStore } from '../../templates/template-store.ts';
import type { ChunkProcessor, ImportChunk, ImportKind, ImportRowOutcome, ImportRowStatus } from '../chunk.ts';
import { parsePinpointImportOptions, segmentTag, type PinpointImportOptions } from './options.ts';
import { importContactRecords, type ContactRowDeps } from './contact-rows.ts';
import {
  csvCells,
  endpointFromCsv,
  foldGroup,
  groupEndpoints,
  parseEndpointLine,
  segmentHeaderProblems,
  type EndpointLine,
  type FoldedGroup,
  type PinpointConsentOption,
  type PinpointEndpoint,
} from './endpoints.ts';
import { ImportRowLedger } from './row-ledger.ts';
import { mapPinpointTemplate } from './templates.ts';

export interface PinpointImportDeps {
  contacts: ContactRowDeps & { service: ContactService; store: ContactStore; suppressions: SuppressionStore };
  segments: SegmentStore;
  templates: TemplateStore;
  ledger: ImportRowLedger;
}

export { parsePinpointImportOptions, PinpointImportOptionsSchema, PinpointOptionsError, segmentTag, type PinpointImportOptions } from './options.ts';

/** The processor of a Pinpoint kind, for a job with these options. */
export function pinpointProcessor(kind: Extract<ImportKind, `pinpoint-${string}`>, deps: PinpointImportDeps, options: PinpointImportOptions = {}): ChunkProcessor {
  const parsed = parsePinpointImportOptions(kind, options);
  switch (kind) {
    case 'pinpoint-endpoints':
      return (chunk) => importEndpointChunk(chunk, deps, { consent: parsed.consent ?? { consent: 'none' } });
    case 'pinpoint-segment':
      return (chunk) => importSegmentChunk(chunk, deps, { consent: parsed.consent ?? { consent: 'none' }, segmentName: parsed.segmentName! });
    case 'pinpoint-templates':
      return (chunk) => importTemplateChunk(chunk, deps);
  }
}

/** A deterministic UUID-shaped id (version 5 layout) for a name: the same name, the same id. */
export function stableId(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The chunk's lines with their file line numbers (blank lines skipped). */
function linesOf(chunk: ImportChunk): Array<{ line: number; text: string }> {
  return chunk.text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((text, index) => ({ line: chunk.lineNumbers?.[index] ?? chunk.firstLine + index, text }))
    .filter((l) => l.text.trim() !== '');
}

const CONCURRENCY = 16;

/** A conditional create that found its id taken (by name, so this use case stays free of the SDK), or a segment version written meanwhile. */
const isTaken = (error: unknown) => error instanceof Error && (error.name === 'ConditionalCheckFailedException' || error.name === 'ConflictError');

// ---------------------------------------------------------------------------------------------
// Endpoints and segments: groups of endpoint lines → contacts

interface ContactChunkOptions {
  consent: PinpointConsentOption;
  tags?: string[];
}

export function importEndpointChunk(chunk: ImportChunk, deps: PinpointImportDeps, options: ContactChunkOptions): Promise<ImportRowOutcome[]> {
  const parsed = linesOf(chunk).map(({ line, text }) => parseEndpointLine(line, text));
  return importEndpointLines(chunk, parsed, deps, options);
}

/** Reads a segment CSV chunk (the header from `chunk.header`, or the text's first record in the first chunk). */
function segmentLines(chunk: ImportChunk): EndpointLine[] {
  const text = chunk.text.replace(/\r\n?/g, '\n');
  const records: Array<{ cells: string[]; line: number }> = [];
  try {
    parseCsv(text, {
      relax_column_count: true,
      trim: true,
      skip_empty_lines: true,
      on_record: (cells: string[], context) => {
        const newlines = cells.reduce((n, cell) => n + (cell.match(/\n/g)?.length ?? 0), 0);
        // A regrouped chunk (rows of one user together) lists each row's file line.
        records.push({ cells, line: chunk.lineNumbers?.[records.length] ?? chunk.firstLine + context.lines - 1 - newlines });
        return null;
      },
    });
  } catch (error) {
    throw new BadRequestError(`The segment file could not be read as CSV: ${error instanceof Error ? error.message : String(error)}`, 'invalid_import');
  }
  let header = chunk.header !== undefined ? csvCells(chunk.header.replace(/^\ufeff/, '')) : undefined;
  // Without a header from the splitter only the file's first chunk has one: its first record.
  if (header === undefined && chunk.firstLine === 1) header = records.shift()?.cells.map((c, i) => (i === 0 ? c.replace(/^\ufeff/, '') : c));
  if (header === undefined) return records.map(({ line }) => ({ line, issues: [{ path: '', message: 'the chunk came without the CSV header line, so its columns are unknown' }] }));
  const problems = segmentHeaderProblems(header);
  return records.map(({ cells, line }) => (problems.length ? { line, issues: problems } : endpointFromCsv(line, header, cells)));
}

export async function importSegmentChunk(chunk: ImportChunk, deps: PinpointImportDeps, options: ContactChunkOptions & { segmentName: string }): Promise<ImportRowOutcome[]> {
  const tag = segmentTag(options.segmentName);
  // Before any contact: the segment exists as soon as the job starts writing (each chunk checks; one creates).
  await ensureTagSegment(deps.segments, options.segmentName, tag, chunk.actor);
  return importEndpointLines(chunk, segmentLines(chunk), deps, { consent: options.consent, tags: [tag] });
}

/** The static segment of a Pinpoint segment import: rule "tags contains pinpoint:<name>", one per name, whichever chunk or job gets there first. */
export async function ensureTagSegment(segments: SegmentStore, name: string, tag: string, actor: string | undefined, now = new Date()): Promise<SegmentVersion> {
  const id = stableId(`pinpoint-segment:${tag}`);
  const rule: RuleNode = { field: 'tags', op: 'contains', value: tag };
  const definition = { name, rule, timezone: 'UTC', ...(actor ? { createdBy: actor } : {}) };
  for (let attempt = 0; attempt < 5; attempt++) {
    const versions = await segments.versions(id);
    const last = versions.sort((a, b) => b.version - a.version)[0];
    if (last && !last.deleted) return last;
    try {
      // A deleted segment of that name comes back as its next version: the tag still marks its members.
      return last ? await segments.putVersion(last, definition, now) : await segments.create(definition, now, id);
    } catch (error) {
      if (!isTaken(error)) throw error;
    }
  }
  throw new Error(`segment ${id} kept changing while the import created it`);
}

interface PreparedGroup {
  folded: FoldedGroup;
  ledgerKey: string;
  row?: RawImportRow;
  input?: ContactInput;
  /** Problems that fail the contact (invalid address…), reported on its used lines. */
  failure?: ValidationIssue[];
  plan?: ImportRowStatus;
}

async function importEndpointLines(chunk: ImportChunk, parsed: EndpointLine[], deps: PinpointImportDeps, options: ContactChunkOptions): Promise<ImportRowOutcome[]> {
  const outcomes = new Map<number, ImportRowOutcome>();
  const good: Array<{ line: number; endpoint: PinpointEndpoint }> = [];
  for (const entry of parsed) {
    if ('issues' in entry) outcomes.set(entry.line, { line: entry.line, status: 'failed', issues: entry.issues });
    else good.push(entry);
  }
  const groups: PreparedGroup[] = groupEndpoints(good).map((group) => {
    const folded = foldGroup(group, options);
    return { folded, ledgerKey: ImportRowLedger.key(chunk.jobId, `line-${folded.roles[0]!.line}`) };
  });

  // A replay returns what the first attempt recorded, writing nothing.
  const recorded = await deps.ledger.getMany(groups.map((g) => g.ledgerKey));
  const pending: PreparedGroup[] = [];
  for (const group of groups) {
    const entry = recorded.get(group.ledgerKey);
    if (entry?.outcomes) for (const outcome of entry.outcomes) outcomes.set(outcome.line, outcome);
    else {
      group.plan = entry?.plan;
      pending.push(group);
    }
  }

  await prepareGroups(pending, deps, chunk.actor);
  await planGroups(pending, deps);

  const rows = pending.filter((g) => g.row !== undefined);
  const results = await importContactRecords(
    rows.map((g) => g.row!),
    deps.contacts,
    { actor: chunk.actor, origin: { jobId: chunk.jobId } },
  );
  const resultOf = new Map(rows.map((g, index) => [g, results[index]!]));

  const suppressionNotes = await suppressOptOuts(pending, deps, chunk.jobId);

  await forEachLimit(pending, CONCURRENCY, async (group) => {
    const result = resultOf.get(group);
    const contactFailed = group.failure ?? (result?.status === 'failed' ? (result.issues ?? []).map((i) => ({ path: pinpointPath(i.path), message: i.message })) : undefined);
    const status: ImportRowStatus = contactFailed ? 'failed' : (group.plan ?? result?.status ?? 'failed');
    const groupOutcomes = group.folded.roles.map(({ line, role }): ImportRowOutcome => {
      const extra = suppressionNotes.get(line) ?? [];
      if (role.kind === 'skipped') return { line, status: 'failed', issues: role.issues };
      const id = result?.contactId ? { id: result.contactId } : {};
      if (role.kind === 'partial') return { line, status: 'failed', ...id, issues: [...role.issues, ...extra] };
      const issues = [...(contactFailed ?? []), ...group.folded.notes, ...extra];
      return { line, status, ...id, ...(issues.length ? { issues } : {}) };
    });
    await deps.ledger.settle(group.ledgerKey, groupOutcomes);
    for (const outcome of groupOutcomes) outcomes.set(outcome.line, outcome);
  });

  return [...outcomes.values()].sort((a, b) => a.line - b.line);
}

/**
 * Normalises each group's record the way the contact import will, and withholds consent the
 * job's option would grant where Touchloop already knows better: an address whose person
 * withdrew consent (unsubscribe, STOP, complaint, manual suppression) or asked to be erased is
 * not brought back by an old Pinpoint export.
 */
async function prepareGroups(groups: PreparedGroup[], deps: PinpointImportDeps, actor: string | undefined): Promise<void> {
  const withRecords = groups.filter((g) => g.folded.record !== undefined);
  for (const group of withRecords) {
    const prepared = prepareRecord(group.folded.record!, actor);
    if ('issues' in prepared) group.failure = prepared.issues.map((i) => ({ path: pinpointPath(i.path), message: i.message }));
    else group.input = prepared.input;
  }
  const confirming = withRecords.filter((g) => g.input && Object.values(g.folded.record!.consent ?? {}).some((c) => c.status === 'confirmed'));
  const addresses = confirming.flatMap((g) => (['email', 'sms'] as const).flatMap((channel) => (g.folded.record!.consent?.[channel]?.status === 'confirmed' ? [{ channel, address: addressOf(g.input!, channel)! }] : [])));
  const suppressed = addresses.length ? await deps.contacts.suppressions.getMany(addresses) : new Map();
  const owners = await deps.contacts.store.resolveKeys(confirming.flatMap((g) => lookupKeys(g.input!)));
  const contacts = await deps.contacts.store.getMany([...new Set(owners.values())]);
  for (const group of confirming) {
    const record = group.folded.record!;
    const owner = lookupKeys(group.input!).map((k) => owners.get(k)).find((id) => id !== undefined);
    const contact = owner ? contacts.get(owner) : undefined;
    for (const channel of ['email', 'sms'] as const) {
      if (record.consent?.[channel]?.status !== 'confirmed') continue;
      const reasons = suppressed.get(`${channel}:${addressOf(group.input!, channel)}`)?.reasons ?? {};
      const withdrawn = WITHDRAWAL_REASONS.some((r) => reasons[r]) || contact?.consent[channel]?.status === 'withdrawn';
      if (!withdrawn && !reasons.erased) continue;
      delete record.consent[channel];
      group.folded.notes.push({
        path: 'OptOut',
        message: reasons.erased
          ? `the job's consent option was not applied to this ${channel === 'email' ? 'email address' : 'phone number'}: its person asked to be erased`
          : `the job's consent option was not applied to this ${channel === 'email' ? 'email address' : 'phone number'}: consent was withdrawn in Touchloop, which an export does not undo`,
      });
    }
  }
  for (const group of withRecords) if (group.input) group.row = { row: group.folded.roles[0]!.line, line: group.folded.roles[0]!.line, record: group.folded.record!, problems: [] };
}

/** The contact import's field names back in Pinpoint's terms, so a row's issues point at the file's fields. */
function pinpointPath(path: string): string {
  if (path === 'email' || path === 'phone') return 'Address';
  if (path === 'timezone') return 'Demographic.Timezone';
  if (path === 'country') return 'Location.Country';
  if (path.startsWith('attributes.')) return `User.UserAttributes.${path.slice('attributes.'.length)}`;
  return path;
}

const addressOf = (input: ContactInput, channel: Channel) => (channel === 'email' ? input.email : input.phone);
const lookupKeys = (input: ContactInput) => [input.email ? emailLookupKey(input.email) : undefined, input.phone ? phoneLookupKey(input.phone) : undefined].filter((k): k is string => k !== undefined);

/** What each group's write will be (created / updated / unchanged), recorded before writing; an earlier attempt's plan stands. */
async function planGroups(groups: PreparedGroup[], deps: PinpointImportDeps): Promise<void> {
  const planned = groups.filter((g) => g.row !== undefined);
  const owners = await deps.contacts.store.resolveKeys(planned.flatMap((g) => lookupKeys(g.input!)));
  const contacts = await deps.contacts.store.getMany([...new Set(owners.values())]);
  await forEachLimit(planned, CONCURRENCY, async (group) => {
    const ids = [...new Set(lookupKeys(group.input!).map((k) => owners.get(k)).filter((id): id is string => id !== undefined))];
    const contact: Contact | undefined = ids.length === 1 ? contacts.get(ids[0]!) : undefined;
    let expected: ImportRowStatus = 'created';
    if (ids.length > 1) expected = 'updated';
    else if (contact) {
      const prepared = prepareRecord(group.row!.record!, undefined);
      const grants = 'grants' in prepared ? newGrantsOnly(contact, prepared.grants) : [];
      const merged = mergeInput(contact, group.input!);
      const consent = applyConsents(merged.next, grants.map((g) => ({ ...g, record: { ...g.record, at: new Date().toISOString() } })), contact.id);
      expected = merged.changed.length === 0 && consent.records.length === 0 ? 'unchanged' : 'updated';
    }
    const standing = await deps.ledger.plan(group.ledgerKey, expected);
    // Only an earlier, interrupted attempt's plan overrides what this attempt's write reports.
    if (standing !== expected || group.plan !== undefined) group.plan = standing;
  });
}

/**
 * Puts every OptOut ALL address on the suppression list (opted_out, source import), the kept
 * ones and the others alike: the person said no to that address in Pinpoint. An address already
 * suppressed for that reason is not written again (a replay writes nothing).
 */
async function suppressOptOuts(groups: PreparedGroup[], deps: PinpointImportDeps, jobId: string): Promise<Map<number, ValidationIssue[]>> {
  const notes = new Map<number, ValidationIssue[]>();
  const wanted: Array<{ line: number; channel: Channel; address: string }> = [];
  for (const group of groups) {
    const country = group.folded.record?.country;
    for (const optOut of group.folded.optOuts) {
      try {
        const address = optOut.channel === 'email' ? normalizeEmail(optOut.address) : normalizePhone(optOut.address, country).e164;
        wanted.push({ line: optOut.line, channel: optOut.channel, address });
      } catch {
        notes.set(optOut.line, [{ path: 'Address', message: 'its opt-out could not be recorded: the address is not a valid email address or phone number' }]);
      }
    }
  }
  if (wanted.length === 0) return notes;
  const current = await deps.contacts.suppressions.getMany(wanted);
  const seen = new Set<string>();
  await forEachLimit(wanted, CONCURRENCY, async ({ line, channel, address }) => {
    const key = `${channel}:${address}`;
    if (current.get(key)?.reasons.opted_out || seen.has(key)) return;
    seen.add(key);
    await deps.contacts.service.suppress(channel, address, 'opted_out', { at: new Date().toISOString(), source: 'import', note: `Amazon Pinpoint endpoint OptOut=ALL (import job ${jobId}, line ${line})` });
  });
  return notes;
}

// ---------------------------------------------------------------------------------------------
// Templates

/**
 * One template per line. A template's id is derived from its channel, name and mapped content,
 * so the same file imported twice (or a replayed chunk) creates nothing new, and a template
 * changed in Pinpoint since the last import becomes a new Touchloop template of the same name
 * (Touchloop templates never change: a campaign renders what it launched with).
 */
export async function importTemplateChunk(chunk: ImportChunk, deps: PinpointImportDeps): Promise<ImportRowOutcome[]> {
  const lines = linesOf(chunk);
  const keys = lines.map(({ line }) => ImportRowLedger.key(chunk.jobId, `line-${line}`));
  const recorded = await deps.ledger.getMany(keys);
  const outcomes: ImportRowOutcome[] = [];
  await forEachLimit(lines, CONCURRENCY, async ({ line, text }, index) => {
    const key = keys[index]!;
    const entry = recorded.get(key);
    if (entry?.outcomes) {
      outcomes.push(...entry.outcomes);
      return;
    }
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch {
      outcomes.push({ line, status: 'failed', issues: [{ path: '', message: 'is not valid JSON' }] });
      return;
    }
    const mapped = mapPinpointTemplate(input);
    if ('issues' in mapped) {
      outcomes.push({ line, status: 'failed', issues: mapped.issues });
      return;
    }
    const { template, notes } = mapped;
    const id = stableId(`pinpoint-template:${JSON.stringify(template)}`);
    const exists = (await deps.templates.get(id)) !== undefined;
    const plan = await deps.ledger.plan(key, exists ? 'unchanged' : 'created');
    if (!exists) {
      try {
        await deps.templates.create(template, new Date(), id);
      } catch (error) {
        if (!isTaken(error)) throw error; // the same template, written meanwhile
      }
    }
    const outcome: ImportRowOutcome = { line, status: plan, id, ...(notes.length ? { issues: notes } : {}) };
    await deps.ledger.settle(key, [outcome]);
    outcomes.push(outcome);
  });
  return outcomes.sort((a, b) => a.line - b.line);
}
