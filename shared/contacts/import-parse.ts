/**
 * Turns the body of a contact import (CSV or NDJSON) into raw rows: one per contact, with its
 * row and line number and any problems. No normalisation of emails/phones and no I/O; the
 * caller decides what to do with rows that have problems (they must not be imported).
 */
import { isStorableNumber, NUMBER_RANGE } from '../numbers.ts';
import { CsvError, parse as parseCsv } from 'csv-parse/sync';
import * as z from 'zod';
import { BadRequestError, issuesFromZod, type ValidationIssue } from '../errors.ts';
import { CHANNELS, type AttributeValue, type Channel } from './model.ts';

export type ImportFormat = 'csv' | 'ndjson';

export const MAX_IMPORT_ROWS = 10_000;

/**
 * A problem with the body as a whole, so that no row can be imported. A 400 (via
 * BadRequestError) so the API shows the message to the marketer instead of a generic 500.
 */
export class ImportFormatError extends BadRequestError {
  override name = 'ImportFormatError';
  constructor(message: string) {
    super(message, 'invalid_import');
  }
}

export interface ImportConsent {
  status: 'confirmed' | 'withdrawn';
  /** Required when confirmed (a problem is reported otherwise); optional when withdrawn. */
  wordingVersion?: string;
  /** ISO 8601 in UTC (`toISOString()`), whatever zone the import used. */
  capturedAt?: string;
  text?: string;
}

export interface ImportRecord {
  email?: string;
  phone?: string;
  country?: string;
  timezone?: string;
  attributes: Record<string, AttributeValue>;
  tags: string[];
  consent?: { email?: ImportConsent; sms?: ImportConsent };
}

export interface RawImportRow {
  /** 1-based data row number (blank lines and, in CSV, the header are not counted). */
  row: number;
  /** 1-based line in the body where the row starts. */
  line: number;
  /** Present when the row's values could be read into an ImportRecord. */
  record?: ImportRecord;
  /** Empty when the row can be imported. */
  problems: ValidationIssue[];
}

const FORMATS = new Map<string, ImportFormat>([
  ['text/csv', 'csv'],
  ['application/csv', 'csv'],
  ['application/x-ndjson', 'ndjson'],
  ['application/jsonl', 'ndjson'],
  ['application/json-lines', 'ndjson'],
]);

export function importFormatFor(contentType: string | undefined): ImportFormat {
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const format = FORMATS.get(mediaType);
  if (format) return format;
  const given = mediaType ? `Content type "${mediaType}" is not supported for imports` : 'The import has no content type';
  throw new ImportFormatError(
    `${given}; send CSV as text/csv (or application/csv), or one JSON object per line as application/x-ndjson (or application/jsonl, application/json-lines)`,
  );
}

/** Reading a slice of a larger file (an import job's chunk) instead of a whole body. */
export interface ImportSlice {
  /** The file's CSV header line, when the slice starts below it. */
  header?: string;
  /** The file line number of the slice's first line (1 for a whole body), so problems name the file's lines. */
  firstLine?: number;
}

export function parseImport(body: string, format: ImportFormat, slice: ImportSlice = {}): RawImportRow[] {
  // A BOM is invisible in editors, and CR/CRLF endings come from Windows and old Mac tools;
  // normalising both keeps line numbers right and JSON/CSV values free of stray \r.
  const normalise = (value: string) => (value.charCodeAt(0) === 0xfeff ? value.slice(1) : value).replace(/\r\n?/g, '\n');
  const text = normalise(body);
  if (text.trim() === '') throw new ImportFormatError('The import is empty: send at least one contact');
  const withHeader = format === 'csv' && slice.header !== undefined;
  if (withHeader && normalise(slice.header!).includes('\n')) throw new ImportFormatError('The CSV header must be one line');
  const rows = format === 'csv' ? parseCsvBody(withHeader ? `${normalise(slice.header!)}\n${text}` : text) : parseNdjsonBody(text);
  // Lines of the parsed text → lines of the file: the header, when prepended, is not the slice's.
  const shift = (slice.firstLine ?? 1) - 1 - (withHeader ? 1 : 0);
  if (shift === 0) return rows;
  return rows.map((row) => ({ ...row, line: row.line + shift }));
}

// ---------------------------------------------------------------------------------------------
// Shape of one record (both formats go through the same schema)

const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const ATTRIBUTE_NAME_RULE = 'names use letters, digits and _, start with a letter and have at most 64 characters';
const MAX_ATTRIBUTE_LENGTH = 2048;
const MAX_TAGS = 50;
const MAX_TAG_LENGTH = 64;

const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/i;

/** A date or a date-time with a zone (a time without one would be ambiguous), as UTC ISO. */
function toIsoTimestamp(value: string): string | undefined {
  const match = ISO_TIMESTAMP.exec(value.trim());
  if (!match) return undefined;
  const [, year, month, day, hour = '0', minute = '0', second = '0'] = match;
  // Date.parse rolls 2024-02-30 over to March; refuse impossible dates instead.
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (date.getUTCMonth() !== Number(month) - 1 || date.getUTCDate() !== Number(day)) return undefined;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return undefined;
  const ms = Date.parse(match[4] === undefined ? `${value.trim()}T00:00:00Z` : value.trim());
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

const text = () => z.string({ error: 'must be text' });

const objectError = (message: string) => (issue: { code: string }) => (issue.code === 'invalid_type' ? message : undefined);

const timestampSchema = text().transform((value, ctx) => {
  const iso = toIsoTimestamp(value);
  if (iso !== undefined) return iso;
  ctx.addIssue({ code: 'custom', message: 'must be a date like 2024-01-02, or a date and time with a zone like 2024-01-02T10:00:00Z' });
  return z.NEVER;
});

const consentSchema = z.strictObject(
  {
    status: z.enum(['confirmed', 'withdrawn'], {
      error: (issue) => (issue.input === undefined ? 'is required: "confirmed" or "withdrawn"' : 'must be "confirmed" or "withdrawn"'),
    }),
    wordingVersion: text().max(100, { error: 'must be at most 100 characters' }).nullish(),
    capturedAt: timestampSchema.nullish(),
    text: text().max(10_000, { error: 'must be at most 10,000 characters' }).nullish(),
  },
  { error: objectError('must be an object like {"status": "confirmed", "wordingVersion": "2024-01"}') },
);

const attributeValueSchema = z.union(
  [z.string().max(MAX_ATTRIBUTE_LENGTH, { error: `must be at most ${MAX_ATTRIBUTE_LENGTH} characters` }), z.number().refine(isStorableNumber, NUMBER_RANGE), z.boolean(), z.null()],
  { error: 'must be text, a number, true, false or null' },
);

// null and blank strings count as "not given": exports from other tools are full of both.
const recordSchema = z.strictObject(
  {
    email: text().nullish(),
    phone: text().nullish(),
    country: text().nullish(),
    timezone: text().nullish(),
    attributes: z
      .record(z.string().regex(ATTRIBUTE_NAME), attributeValueSchema, {
        error: (issue) => (issue.code === 'invalid_key' ? `is not a valid attribute name: ${ATTRIBUTE_NAME_RULE}` : 'must be an object of attribute names and values'),
      })
      .nullish(),
    tags: z
      .array(
        text()
          .trim()
          .min(1, { error: 'must not be empty' })
          .max(MAX_TAG_LENGTH, { error: `must be at most ${MAX_TAG_LENGTH} characters` }),
        { error: 'must be a list of tags like ["vip"]' },
      )
      .max(MAX_TAGS, { error: `must be at most ${MAX_TAGS} tags` })
      .nullish(),
    consent: z
      .strictObject({ email: consentSchema.nullish(), sms: consentSchema.nullish() }, { error: objectError('must be an object like {"email": {…}}') })
      .nullish(),
  },
  { error: objectError('must be a JSON object like {"email": "ada@example.com"}') },
);

type RecordShape = z.output<typeof recordSchema>;
type ConsentShape = z.output<typeof consentSchema>;

const given = (value: string | null | undefined): string | undefined => (value == null || value.trim() === '' ? undefined : value);

function toConsent(shape: ConsentShape | null | undefined): ImportConsent | undefined {
  if (!shape) return undefined;
  const consent: ImportConsent = { status: shape.status };
  const wordingVersion = given(shape.wordingVersion);
  if (wordingVersion !== undefined) consent.wordingVersion = wordingVersion;
  if (shape.capturedAt != null) consent.capturedAt = shape.capturedAt;
  const wording = given(shape.text);
  if (wording !== undefined) consent.text = wording;
  return consent;
}

function toRecord(shape: RecordShape): ImportRecord {
  const record: ImportRecord = { attributes: { ...shape.attributes }, tags: shape.tags ?? [] };
  for (const key of ['email', 'phone', 'country', 'timezone'] as const) {
    const value = given(shape[key]);
    if (value !== undefined) record[key] = value;
  }
  const consent: NonNullable<ImportRecord['consent']> = {};
  for (const channel of CHANNELS) {
    const channelConsent = toConsent(shape.consent?.[channel]);
    if (channelConsent) consent[channel] = channelConsent;
  }
  if (consent.email || consent.sms) record.consent = consent;
  return record;
}

/** Rules that span fields; checked on rows whose shape is fine. */
function recordProblems(record: ImportRecord): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  if (record.email === undefined && record.phone === undefined) problems.push({ path: 'email', message: 'a row needs an email or a phone' });
  for (const channel of CHANNELS) {
    const consent = record.consent?.[channel];
    if (consent?.status === 'confirmed' && consent.wordingVersion === undefined) {
      problems.push({ path: `consent.${channel}.wordingVersion`, message: 'required when consent is given' });
    }
  }
  return problems;
}

/** `earlier` are problems found before the schema (CSV cell values); they also withhold the record. */
function validateRow(row: number, line: number, input: unknown, earlier: ValidationIssue[] = []): RawImportRow {
  const result = recordSchema.safeParse(input);
  if (!result.success) return { row, line, problems: [...earlier, ...issuesFromZod(result.error.issues)] };
  if (earlier.length > 0) return { row, line, problems: earlier };
  const record = toRecord(result.data);
  return { row, line, record, problems: recordProblems(record) };
}

function tooManyRows(): ImportFormatError {
  const limit = MAX_IMPORT_ROWS.toLocaleString('en-US');
  return new ImportFormatError(`The import has more than ${limit} rows; split it into files of at most ${limit} rows each`);
}

// ---------------------------------------------------------------------------------------------
// NDJSON

function parseNdjsonBody(body: string): RawImportRow[] {
  // Collect non-blank lines first so an oversized body is refused before any JSON is parsed.
  const lines: Array<{ line: number; text: string }> = [];
  let lineNumber = 0;
  for (let start = 0; start <= body.length; ) {
    const end = body.indexOf('\n', start);
    const stop = end === -1 ? body.length : end;
    lineNumber++;
    const lineText = body.slice(start, stop);
    if (lineText.trim() !== '') {
      if (lines.length === MAX_IMPORT_ROWS) throw tooManyRows();
      lines.push({ line: lineNumber, text: lineText });
    }
    start = stop + 1;
  }
  if (lines[0]?.text.trimStart().startsWith('[')) {
    throw new ImportFormatError('Send one JSON object per line (NDJSON), not a JSON array: put each contact on its own line');
  }
  return lines.map(({ line, text: lineText }, index) => {
    let input: unknown;
    try {
      input = JSON.parse(lineText);
    } catch {
      return { row: index + 1, line, problems: [{ path: '', message: 'is not valid JSON' }] };
    }
    return validateRow(index + 1, line, input);
  });
}

// ---------------------------------------------------------------------------------------------
// CSV

const CSV_FIELDS = [
  'email',
  'phone',
  'country',
  'timezone',
  'tags',
  'consent_email',
  'consent_email_version',
  'consent_email_at',
  'consent_sms',
  'consent_sms_version',
  'consent_sms_at',
] as const;
type CsvField = (typeof CSV_FIELDS)[number];
const isCsvField = (name: string): name is CsvField => (CSV_FIELDS as readonly string[]).includes(name);

type Column = { kind: 'field'; field: CsvField } | { kind: 'attribute'; name: string } | { kind: 'unnamed' };

const CONSENT_VALUES = new Map<string, ImportConsent['status']>([
  ['yes', 'confirmed'],
  ['true', 'confirmed'],
  ['1', 'confirmed'],
  ['confirmed', 'confirmed'],
  ['no', 'withdrawn'],
  ['false', 'withdrawn'],
  ['0', 'withdrawn'],
  ['withdrawn', 'withdrawn'],
]);

/** `;` when the header line has more semicolons than commas (outside quotes), else `,`. */
function detectDelimiter(body: string): ',' | ';' {
  let commas = 0;
  let semicolons = 0;
  let quoted = false;
  let content = false;
  for (let i = 0; i < body.length; i++) {
    const char = body[i];
    if (char === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (char === '\n') {
      if (content) break; // leading blank lines are skipped, like the parser does
    } else if (char === ',') commas++;
    else if (char === ';') semicolons++;
    if (char !== '\n' && char !== ' ' && char !== '\t') content = true;
  }
  return semicolons > commas ? ';' : ',';
}

const LOOKS_LIKE_DATA = /@|^\+?[\d\s().-]{6,}$/;

function unknownColumn(name: string, position: number, header: string[]): ImportFormatError {
  if (header.length === 1 && name.includes('\t')) {
    return new ImportFormatError('Columns must be separated by commas (,) or semicolons (;); this file seems to use tabs');
  }
  if (LOOKS_LIKE_DATA.test(name)) {
    return new ImportFormatError(
      `The first line must be a header row naming the columns (such as email,phone,firstName), but column ${position} of it looks like contact data: "${name}"`,
    );
  }
  return new ImportFormatError(
    `Column ${position} ("${name}") in the header row is not a known field (email, phone, country, timezone, tags, consent_email…) ` +
      `and not a valid attribute name: ${ATTRIBUTE_NAME_RULE}`,
  );
}

function mapHeader(header: string[]): Column[] {
  const seen = new Map<string, number>();
  const columns = header.map((cell, index): Column => {
    const name = cell.trim();
    if (name === '') return { kind: 'unnamed' };
    const lower = name.toLowerCase();
    let column: Column;
    if (isCsvField(lower)) column = { kind: 'field', field: lower };
    else {
      const attribute = lower.startsWith('attributes.') ? name.slice('attributes.'.length).trim() : name;
      if (!ATTRIBUTE_NAME.test(attribute)) throw unknownColumn(name, index + 1, header);
      column = { kind: 'attribute', name: attribute };
    }
    // Case-insensitive, and `age` / `attributes.age` are the same column.
    const key = column.kind === 'field' ? column.field : `attributes.${column.name.toLowerCase()}`;
    const first = seen.get(key);
    if (first !== undefined) {
      throw new ImportFormatError(`The header row has the column "${name}" more than once (columns ${first} and ${index + 1}); keep one of them`);
    }
    seen.set(key, index + 1);
    return column;
  });
  if (!seen.has('email') && !seen.has('phone')) {
    throw new ImportFormatError('The header row has no email or phone column; every contact needs at least one of them');
  }
  return columns;
}

function csvRow(row: number, line: number, cells: string[], columns: Column[]): RawImportRow {
  const earlier: ValidationIssue[] = [];
  const fields: Partial<Record<CsvField, string>> = {};
  const attributes: Record<string, string> = {};
  cells.forEach((cell, index) => {
    if (cell.trim() === '') return; // empty cell: not given (attributes are omitted, not null)
    const column = columns[index];
    if (column === undefined || column.kind === 'unnamed') {
      earlier.push({ path: '', message: `has a value in column ${index + 1}, which has no name in the header row` });
    } else if (column.kind === 'field') fields[column.field] = cell;
    else attributes[column.name] = cell;
  });

  const consent: Partial<Record<Channel, Record<string, string>>> = {};
  for (const channel of CHANNELS) {
    const value = fields[`consent_${channel}`];
    if (value === undefined) continue; // no consent info: the version/time columns mean nothing alone
    const status = CONSENT_VALUES.get(value.trim().toLowerCase());
    if (status === undefined) {
      earlier.push({ path: `consent.${channel}.status`, message: 'must be yes, no, true, false, 1, 0, confirmed or withdrawn (or left empty)' });
      continue;
    }
    const channelConsent: Record<string, string> = { status };
    const version = fields[`consent_${channel}_version`];
    const capturedAt = fields[`consent_${channel}_at`];
    if (version !== undefined) channelConsent.wordingVersion = version;
    if (capturedAt !== undefined) channelConsent.capturedAt = capturedAt;
    consent[channel] = channelConsent;
  }

  const input = {
    email: fields.email,
    phone: fields.phone,
    country: fields.country,
    timezone: fields.timezone,
    attributes,
    tags: fields.tags === undefined ? [] : fields.tags.split(/[;|]/).filter((tag) => tag.trim() !== ''),
    consent,
  };
  return validateRow(row, line, input, earlier);
}

function countNewlines(cells: string[]): number {
  let count = 0;
  for (const cell of cells) {
    for (let at = cell.indexOf('\n'); at !== -1; at = cell.indexOf('\n', at + 1)) count++;
  }
  return count;
}

/** The first non-blank line at or after `from` (where a failed record must have started). */
function firstContentLine(body: string, from: number): number {
  const lines = body.split('\n');
  for (let i = from - 1; i < lines.length; i++) if (lines[i]!.trim() !== '') return i + 1;
  return from;
}

function parseCsvBody(body: string): RawImportRow[] {
  const records: Array<{ cells: string[]; line: number }> = [];
  let lastEndLine = 0;
  try {
    parseCsv(body, {
      delimiter: detectDelimiter(body),
      relax_column_count: true, // short rows are fine; extra values are reported per row
      relax_quotes: true, // a stray quote inside an unquoted value is kept as text
      trim: true,
      skip_empty_lines: true,
      skip_records_with_empty_values: true, // `,,,` lines that spreadsheets leave behind
      to: MAX_IMPORT_ROWS + 2, // the header, the limit, and one more to know it was exceeded
      on_record: (cells, context) => {
        lastEndLine = context.lines;
        // csv-parse reports the line where a record ends; embedded newlines give where it starts.
        records.push({ cells, line: context.lines - countNewlines(cells) });
        return null;
      },
    });
  } catch (error) {
    throw csvFormatError(error, firstContentLine(body, lastEndLine + 1));
  }
  const [header, ...data] = records;
  if (header === undefined) throw new ImportFormatError('The import is empty: send at least one contact');
  const columns = mapHeader(header.cells);
  if (data.length > MAX_IMPORT_ROWS) throw tooManyRows();
  if (data.length === 0) throw new ImportFormatError('The CSV has a header row but no contacts below it');
  return data.map(({ cells, line }, index) => csvRow(index + 1, line, cells, columns));
}

function csvFormatError(error: unknown, rowStart: number): unknown {
  if (!(error instanceof CsvError)) return error;
  const line = typeof error.lines === 'number' ? error.lines : rowStart;
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return new ImportFormatError(`A quoted value in the row starting on line ${rowStart} is never closed; check for a missing closing quote (")`);
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return new ImportFormatError(
        `Line ${line}: a quoted value has more text after its closing quote; a quote inside a quoted value must be doubled ("")`,
      );
    default:
      return new ImportFormatError(`The CSV could not be read at line ${line}: ${error.message}`);
  }
}
