/**
 * Amazon Pinpoint endpoints → Touchloop contact rows (pure: no I/O).
 *
 * Pinpoint keeps one *endpoint* per address (an email address, a phone number, a device token),
 * optionally tied to a person by `User.UserId`; Touchloop keeps one *contact* per person with at
 * most one email and one phone. This module reads endpoints (a line of an export job's
 * newline-delimited JSON, or a row of an imported-segment CSV), groups them by user and folds
 * each group into one `ImportRecord`, the shape the contact import takes. What cannot be carried
 * over is said per line, never dropped silently. The rules are listed in the README
 * ("Migrating from Amazon Pinpoint"); the code below is their single statement.
 */
import { parse as parseCsvLine } from 'csv-parse/sync';
import * as z from 'zod';
import { issuesFromZod, type ValidationIssue } from '../../errors.ts';
import type { ImportConsent, ImportRecord } from '../../contacts/import-parse.ts';
import type { AttributeValue, Channel } from '../../contacts/model.ts';
import { isValidTimeZone } from '../../contacts/timezone.ts';

/** The channel types Pinpoint knows (EndpointRequest.ChannelType); only EMAIL and SMS exist in Touchloop. */
export const PINPOINT_CHANNEL_TYPES = [
  'EMAIL',
  'SMS',
  'VOICE',
  'PUSH',
  'GCM',
  'APNS',
  'APNS_SANDBOX',
  'APNS_VOIP',
  'APNS_VOIP_SANDBOX',
  'ADM',
  'BAIDU',
  'CUSTOM',
  'IN_APP',
] as const;

const CHANNEL_OF: Partial<Record<string, Channel>> = { EMAIL: 'email', SMS: 'sms' };

/** Per-job choice of what an ACTIVE endpoint without an opt-out means for consent (Pinpoint stores no consent evidence). */
export type PinpointConsentOption = { consent: 'none' } | { consent: 'confirmed'; wordingVersion: string; capturedAt?: string };

export const PinpointConsentOptionSchema = z.union([
  z.strictObject({ consent: z.literal('none') }),
  z.strictObject({
    consent: z.literal('confirmed'),
    wordingVersion: z.string().trim().min(1).max(100),
    capturedAt: z.iso.datetime({ offset: true }).optional(),
  }),
]);

/** The wording version recorded on the consent withdrawal an OptOut ALL becomes: it names where the evidence came from. */
export const PINPOINT_OPT_OUT_EVIDENCE = 'amazon-pinpoint:OptOut=ALL';

/** The attribute that keeps the Pinpoint user id on the contact (templates' {{User.UserId}} maps to it). */
export const PINPOINT_USER_ID_ATTRIBUTE = 'pinpointUserId';

/** Location and demographic fields kept as attributes, under these names (a user attribute of the same name wins). */
export const PINPOINT_FIELD_ATTRIBUTES: Readonly<Record<string, string>> = {
  'Location.City': 'city',
  'Location.PostalCode': 'postalCode',
  'Location.Region': 'region',
  'Demographic.Locale': 'locale',
};

const stringList = z.array(z.string({ error: 'must be text' }), { error: 'must be a list of text values like ["gold"]' });
const attributeMap = z.record(z.string(), stringList, { error: 'must be an object of names and lists of values' });
const text = () => z.string({ error: 'must be text' });

/**
 * One endpoint as Pinpoint's export writes it (EndpointResponse) or as an import file gives it
 * (EndpointRequest). Loose: exports carry fields Touchloop has no use for (ApplicationId,
 * CohortId, CreationDate, RequestId, Demographic.Make…); they are read past, not refused.
 */
export const PinpointEndpointSchema = z.looseObject({
  ChannelType: z.enum(PINPOINT_CHANNEL_TYPES, { error: `must be one of ${PINPOINT_CHANNEL_TYPES.join(', ')}` }),
  Address: text().optional(),
  Id: text().optional(),
  EndpointStatus: z.enum(['ACTIVE', 'INACTIVE'], { error: 'must be ACTIVE or INACTIVE' }).optional(),
  OptOut: z.enum(['ALL', 'NONE'], { error: 'must be ALL or NONE' }).optional(),
  EffectiveDate: text().optional(),
  Attributes: attributeMap.optional(),
  Demographic: z.looseObject({ Timezone: text().optional(), Locale: text().optional() }).optional(),
  Location: z.looseObject({ Country: text().optional(), City: text().optional(), PostalCode: text().optional(), Region: text().optional() }).optional(),
  User: z.looseObject({ UserId: text().optional(), UserAttributes: attributeMap.optional() }).optional(),
});
export type PinpointEndpoint = z.output<typeof PinpointEndpointSchema>;

/** A line of the file read as an endpoint, or the reasons it cannot be. */
export type EndpointLine = { line: number; endpoint: PinpointEndpoint } | { line: number; issues: ValidationIssue[] };

/** Reads one NDJSON line (one endpoint). */
export function parseEndpointLine(line: number, source: string): EndpointLine {
  let input: unknown;
  try {
    input = JSON.parse(source);
  } catch {
    return { line, issues: [{ path: '', message: 'is not valid JSON' }] };
  }
  const parsed = PinpointEndpointSchema.safeParse(input);
  return parsed.success ? { line, endpoint: parsed.data } : { line, issues: issuesFromZod(parsed.error.issues) };
}

/**
 * The partition key of an export line, for the job's splitter: every line of one Pinpoint user
 * must reach the same chunk, since they become one contact. Undefined when the line names no
 * user (it stands alone and may go anywhere), and for lines that are not JSON objects.
 */
export function pinpointEndpointKey(line: string): string | undefined {
  try {
    const value = JSON.parse(line) as { User?: { UserId?: unknown } } | null;
    const userId = value?.User?.UserId;
    return typeof userId === 'string' && userId.trim() !== '' ? `user:${userId}` : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Imported-segment CSV: the same endpoints, flattened into dotted column names

const CSV_SCALARS = ['ChannelType', 'Address', 'Id', 'EndpointStatus', 'OptOut', 'EffectiveDate', 'User.UserId'] as const;
const CSV_NESTED = /^(Demographic|Location)\.([A-Za-z]+)$/;
const CSV_MAPS = /^(User\.UserAttributes|Attributes|Metrics)\.(.+)$/;

/** Reads a CSV line into its cells (one record, quotes allowed). */
export function csvCells(source: string): string[] {
  const records = parseCsvLine(source, { relax_column_count: true, trim: true }) as string[][];
  return records[0] ?? [];
}

/** Problems with the header of a segment CSV (unknown columns, no ChannelType/Address): every row of the file shares them. */
export function segmentHeaderProblems(header: string[]): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  for (const name of header) {
    if (name === '' || (CSV_SCALARS as readonly string[]).includes(name) || CSV_NESTED.test(name) || CSV_MAPS.test(name)) continue;
    problems.push({ path: name, message: 'is not a column of a Pinpoint segment file (ChannelType, Address, Id, User.UserId, User.UserAttributes.<name>, Attributes.<name>, Demographic.<field>, Location.<field>, OptOut…)' });
  }
  if (!header.includes('ChannelType') || !header.includes('Address')) problems.push({ path: 'ChannelType', message: 'the header needs the ChannelType and Address columns (Pinpoint requires them for new endpoints)' });
  return problems;
}

/** One CSV row as the endpoint it describes (empty cells are not given). */
export function endpointFromCsv(line: number, header: string[], cells: string[]): EndpointLine {
  const input: Record<string, unknown> = {};
  const put = (pathParts: string[], value: unknown) => {
    let at = input;
    for (const part of pathParts.slice(0, -1)) at = (at[part] ??= {}) as Record<string, unknown>;
    at[pathParts.at(-1)!] = value;
  };
  const issues: ValidationIssue[] = [];
  cells.forEach((cell, index) => {
    if (cell === '') return;
    const name = header[index];
    if (name === undefined || name === '') {
      issues.push({ path: '', message: `has a value in column ${index + 1}, which has no name in the header row` });
      return;
    }
    const map = CSV_MAPS.exec(name);
    if (map) put([...map[1]!.split('.'), map[2]!], [cell]);
    else put(name.split('.'), cell);
  });
  if (issues.length) return { line, issues };
  if (input.ChannelType === undefined && input.Address === undefined && (input.User as { UserId?: string } | undefined)?.UserId !== undefined) {
    // Pinpoint accepts such rows for users whose endpoints it already has; Touchloop finds people by address.
    return { line, issues: [{ path: 'Address', message: 'names a user but no address: give the row its ChannelType and Address (import the endpoint export first for the rest of the user)' }] };
  }
  const parsed = PinpointEndpointSchema.safeParse(input);
  return parsed.success ? { line, endpoint: parsed.data } : { line, issues: issuesFromZod(parsed.error.issues) };
}

/** The partition key of a segment CSV row: its User.UserId column, like pinpointEndpointKey. */
export function pinpointSegmentRowKey(header: string, line: string): string | undefined {
  try {
    const names = csvCells(header);
    const at = names.indexOf('User.UserId');
    const userId = at === -1 ? undefined : csvCells(line)[at];
    return userId ? `user:${userId}` : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Attributes

const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * The Touchloop attribute name of a Pinpoint attribute: Pinpoint allows characters Touchloop's
 * names do not (spaces, hyphens, dots), so every other character becomes `_`. Templates'
 * placeholders are mapped through the same function, so `{{Attributes.favourite-colour}}`
 * finds the attribute this stored. Undefined when nothing usable is left (a name starting with a digit).
 */
export function attributeNameFor(pinpointName: string): string | undefined {
  const name = pinpointName.trim().replace(/[^A-Za-z0-9_]+/g, '_');
  return ATTRIBUTE_NAME.test(name) ? name : undefined;
}

/**
 * A Pinpoint attribute value (always a list of strings) as one Touchloop value: one value stays
 * that string — "42" stays "42", as Pinpoint stores and compares it, so segment rules compare it
 * as text — several are joined with ", " (what a message shows), none is not imported.
 */
export function attributeValueFor(values: string[]): string | undefined {
  const kept = values.filter((v) => v.trim() !== '');
  return kept.length === 0 ? undefined : kept.join(', ');
}

// ---------------------------------------------------------------------------------------------
// Grouping and folding

/** A group of endpoint lines that becomes one contact: one Pinpoint user, or one endpoint without a user. */
export interface EndpointGroup {
  key: string;
  lines: Array<{ line: number; endpoint: PinpointEndpoint }>;
}

/** Groups endpoints by User.UserId (first appearance order); endpoints without a user stand alone. */
export function groupEndpoints(lines: Array<{ line: number; endpoint: PinpointEndpoint }>): EndpointGroup[] {
  const groups = new Map<string, EndpointGroup>();
  for (const entry of lines) {
    const userId = entry.endpoint.User?.UserId?.trim();
    const key = userId ? `user:${userId}` : `line:${entry.line}`;
    const group = groups.get(key) ?? { key, lines: [] };
    group.lines.push(entry);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** What happens to one line of a group. */
export type LineRole =
  /** Its address (and data) went into the contact. */
  | { kind: 'used' }
  /** Its data went in, but not its address (a second email of the same user): reported with why. */
  | { kind: 'partial'; issues: ValidationIssue[] }
  /** Nothing of it can be imported (PUSH, VOICE… or no address): reported as failed. */
  | { kind: 'skipped'; issues: ValidationIssue[] };

/** An address to put on the suppression list because its endpoint said OptOut ALL. */
export interface OptOutAddress {
  line: number;
  channel: Channel;
  address: string;
  at?: string;
}

export interface FoldedGroup {
  key: string;
  /** Lines in file order, each with its role. */
  roles: Array<{ line: number; role: LineRole }>;
  /** The contact record, when any line carries an email or SMS address. */
  record?: ImportRecord;
  /** Warnings on the record as a whole (a country that is no ISO code…), reported on its lines. */
  notes: ValidationIssue[];
  /** Addresses to suppress (raw, as in the file; the processor normalises them). */
  optOuts: OptOutAddress[];
}

export interface FoldOptions {
  consent: PinpointConsentOption;
  /** Tags every contact of the job gets (a segment import's tag). */
  tags?: string[];
}

const byPreference = (a: { line: number; endpoint: PinpointEndpoint }, b: { line: number; endpoint: PinpointEndpoint }) => {
  // ACTIVE before INACTIVE, then not opted out, then the most recently changed, then file order.
  const rank = (e: PinpointEndpoint) => (e.EndpointStatus === 'INACTIVE' ? 2 : 0) + (e.OptOut === 'ALL' ? 1 : 0);
  return rank(a.endpoint) - rank(b.endpoint) || (b.endpoint.EffectiveDate ?? '').localeCompare(a.endpoint.EffectiveDate ?? '') || a.line - b.line;
};

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/;

/**
 * Folds one group of endpoints into a contact record:
 *
 * - addresses: the EMAIL endpoint → email, the SMS endpoint → phone. With several of one channel
 *   the preferred is kept (ACTIVE, not opted out, latest EffectiveDate); the others are
 *   reported (`partial`). PUSH, VOICE, CUSTOM, IN_APP and the device channels have no place in
 *   Touchloop and are reported as `skipped`.
 * - attributes: User.UserAttributes, then each endpoint's Attributes where the user's do not
 *   already name the attribute (later EffectiveDate first), then Location.City, PostalCode,
 *   Region and Demographic.Locale as city, postalCode, region, locale; the user id as pinpointUserId.
 * - timezone: Demographic.Timezone (an IANA name) of the preferred endpoints; country: their
 *   Location.Country when it is an ISO 3166-1 alpha-2 code.
 * - consent, per channel, from the endpoint whose address is kept: OptOut ALL → withdrawn
 *   (source import, wording version `amazon-pinpoint:OptOut=ALL`, captured at EffectiveDate);
 *   ACTIVE + OptOut NONE → the job's option (none by default: Pinpoint holds no consent
 *   evidence, so none is invented); INACTIVE → none (Pinpoint stopped messaging it; its
 *   address is still imported, since INACTIVE also means "another endpoint took this address").
 * - every OptOut ALL address of the group is suppressed (opted_out), kept or not.
 */
export function foldGroup(group: EndpointGroup, options: FoldOptions): FoldedGroup {
  const roles = new Map<number, LineRole>();
  const notes: ValidationIssue[] = [];
  const optOuts: OptOutAddress[] = [];
  const byChannel: Record<Channel, Array<{ line: number; endpoint: PinpointEndpoint }>> = { email: [], sms: [] };

  for (const entry of group.lines) {
    const { endpoint, line } = entry;
    const channel = CHANNEL_OF[endpoint.ChannelType];
    if (!channel) {
      roles.set(line, {
        kind: 'skipped',
        issues: [{ path: 'ChannelType', message: `${endpoint.ChannelType} endpoints are not imported: Touchloop sends email and SMS only` }],
      });
      continue;
    }
    if (!endpoint.Address || endpoint.Address.trim() === '') {
      roles.set(line, { kind: 'skipped', issues: [{ path: 'Address', message: `an ${endpoint.ChannelType} endpoint needs an address` }] });
      continue;
    }
    byChannel[channel].push(entry);
    if (endpoint.OptOut === 'ALL') optOuts.push({ line, channel, address: endpoint.Address.trim(), ...(endpoint.EffectiveDate ? { at: endpoint.EffectiveDate } : {}) });
  }

  const kept: Partial<Record<Channel, { line: number; endpoint: PinpointEndpoint }>> = {};
  for (const channel of ['email', 'sms'] as const) {
    const ranked = [...byChannel[channel]].sort(byPreference);
    const [first, ...rest] = ranked;
    if (!first) continue;
    kept[channel] = first;
    roles.set(first.line, { kind: 'used' });
    for (const other of rest) {
      const sameAddress = other.endpoint.Address!.trim().toLowerCase() === first.endpoint.Address!.trim().toLowerCase();
      if (sameAddress) roles.set(other.line, { kind: 'used' });
      else {
        const what = channel === 'email' ? 'email address' : 'phone number';
        const suppressed = other.endpoint.OptOut === 'ALL' ? ' (its opt-out is still recorded: the address is suppressed)' : '';
        roles.set(other.line, {
          kind: 'partial',
          issues: [{ path: 'Address', message: `not imported: a contact holds one ${what}, and this user's endpoint on line ${first.line} was preferred${suppressed}` }],
        });
      }
    }
  }

  const result: FoldedGroup = {
    key: group.key,
    roles: group.lines.map(({ line }) => ({ line, role: roles.get(line)! })).sort((a, b) => a.line - b.line),
    notes,
    optOuts,
  };
  if (!kept.email && !kept.sms) return result;

  // Newest first, so the first value found for a name is the most recent one.
  const contributing = group.lines.filter(({ line }) => roles.get(line)!.kind !== 'skipped').sort(byPreference);
  const attributes: Record<string, AttributeValue> = {};
  const setAttribute = (source: string, pinpointName: string, values: string[] | string | undefined) => {
    if (values === undefined) return;
    const name = attributeNameFor(pinpointName);
    if (name === undefined) {
      notes.push({ path: `${source}.${pinpointName}`, message: 'not imported: an attribute name must start with a letter' });
      return;
    }
    if (name in attributes) return;
    const value = typeof values === 'string' ? (values.trim() === '' ? undefined : values) : attributeValueFor(values);
    if (value !== undefined) attributes[name] = value;
  };
  for (const { endpoint } of contributing) for (const [name, values] of Object.entries(endpoint.User?.UserAttributes ?? {})) setAttribute('User.UserAttributes', name, values);
  for (const { endpoint } of contributing) for (const [name, values] of Object.entries(endpoint.Attributes ?? {})) setAttribute('Attributes', name, values);
  for (const { endpoint } of contributing) {
    for (const [field, name] of Object.entries(PINPOINT_FIELD_ATTRIBUTES)) {
      const [part, key] = field.split('.') as ['Location' | 'Demographic', string];
      const value = (endpoint[part] as Record<string, unknown> | undefined)?.[key];
      if (typeof value === 'string' && !(name in attributes) && value.trim() !== '') attributes[name] = value.trim();
    }
  }
  const userId = group.lines[0]!.endpoint.User?.UserId?.trim();
  if (userId) attributes[PINPOINT_USER_ID_ATTRIBUTE] = userId;

  const record: ImportRecord = { attributes, tags: [...(options.tags ?? [])] };
  if (kept.email) record.email = kept.email.endpoint.Address!.trim();
  if (kept.sms) record.phone = kept.sms.endpoint.Address!.trim();

  // The phone's endpoint first: its country is the one its number is read in.
  const preferred = [kept.sms, kept.email, ...contributing].filter((e) => e !== undefined);
  const country = preferred.map((e) => e.endpoint.Location?.Country?.trim()).find((c) => c);
  if (country !== undefined) {
    if (/^[A-Za-z]{2}$/.test(country)) record.country = country.toUpperCase();
    else notes.push({ path: 'Location.Country', message: `"${country}" was not imported: Touchloop keeps a two-letter ISO 3166-1 code such as US` });
  }
  const timezone = preferred.map((e) => e.endpoint.Demographic?.Timezone?.trim()).find((z) => z);
  if (timezone !== undefined) {
    if (isValidTimeZone(timezone)) record.timezone = timezone;
    else notes.push({ path: 'Demographic.Timezone', message: `"${timezone}" was not imported: it is not an IANA time zone such as America/New_York` });
  }

  const consent: NonNullable<ImportRecord['consent']> = {};
  for (const channel of ['email', 'sms'] as const) {
    const endpoint = kept[channel]?.endpoint;
    if (!endpoint) continue;
    const capturedAt = endpoint.EffectiveDate && ISO_DATE_TIME.test(endpoint.EffectiveDate) ? new Date(endpoint.EffectiveDate).toISOString() : undefined;
    let channelConsent: ImportConsent | undefined;
    if (endpoint.OptOut === 'ALL') channelConsent = { status: 'withdrawn', wordingVersion: PINPOINT_OPT_OUT_EVIDENCE, ...(capturedAt ? { capturedAt } : {}) };
    else if (endpoint.EndpointStatus !== 'INACTIVE' && options.consent.consent === 'confirmed') {
      const at = options.consent.capturedAt ? new Date(options.consent.capturedAt).toISOString() : capturedAt;
      channelConsent = { status: 'confirmed', wordingVersion: options.consent.wordingVersion, ...(at ? { capturedAt: at } : {}) };
    }
    if (channelConsent) consent[channel] = channelConsent;
  }
  if (consent.email || consent.sms) record.consent = consent;
  result.record = record;
  return result;
}
