import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { AMBIGUOUS_PREFIXES, TIME_ZONE_PREFIXES } from './timezone-prefixes.ts';

/**
 * IANA time zones: validation, canonical names, and a best guess of a contact's zone from their phone
 * number or country (used to send at a sensible local hour when the contact never told us their zone).
 */

export interface InferredZone {
  timezone: string;
  /** exact: the number's prefix or the country has one zone; country-primary: the country's main zone. */
  confidence: 'exact' | 'country-primary';
}

// IANA names start with a letter. Newer engines also accept UTC offsets ('+02:00') as zones: refused, they know no DST.
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/;
const resolved = new Map<string, string>();

/** The engine's name for the zone, or undefined when the engine does not know it. */
function resolveZone(zone: string): string | undefined {
  const cached = resolved.get(zone);
  if (cached !== undefined) return cached;
  if (!ZONE_NAME.test(zone)) return undefined;
  let name: string;
  try {
    name = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
  // Only valid names are cached (a bounded set, up to case variants), so junk input cannot grow it.
  if (resolved.size > 5_000) resolved.clear();
  resolved.set(zone, name);
  return name;
}

/** An IANA zone name that this runtime knows (e.g. Europe/Berlin, UTC); refuses '', offsets and unknown names. */
export function isValidTimeZone(zone: string): boolean {
  return typeof zone === 'string' && resolveZone(zone) !== undefined;
}

/**
 * The zone as Intl names it: casing fixed ('europe/berlin' → 'Europe/Berlin') and aliases resolved the
 * engine's way (Node 20 turns 'Asia/Kolkata' into 'Asia/Calcutta'; other versions may keep the input).
 */
export function canonicalTimeZone(zone: string): string {
  const name = typeof zone === 'string' ? resolveZone(zone) : undefined;
  if (name === undefined) throw new RangeError(`"${String(zone)}" is not an IANA time zone`);
  return name;
}

/**
 * The zone of a country's capital or largest population, for countries spanning several zones. Also
 * picks the name for countries whose zones turn out identical (AR, KZ…) instead of the alphabetical first.
 */
const PRIMARY_ZONES: Readonly<Record<string, string>> = {
  AR: 'America/Argentina/Buenos_Aires',
  AU: 'Australia/Sydney',
  BR: 'America/Sao_Paulo',
  CA: 'America/Toronto',
  CD: 'Africa/Kinshasa',
  CL: 'America/Santiago',
  CN: 'Asia/Shanghai',
  CY: 'Asia/Nicosia',
  DE: 'Europe/Berlin',
  EC: 'America/Guayaquil',
  ES: 'Europe/Madrid',
  FM: 'Pacific/Pohnpei',
  GL: 'America/Nuuk',
  ID: 'Asia/Jakarta',
  KI: 'Pacific/Tarawa',
  KZ: 'Asia/Almaty',
  MH: 'Pacific/Majuro',
  MN: 'Asia/Ulaanbaatar',
  MX: 'America/Mexico_City',
  MY: 'Asia/Kuala_Lumpur',
  NZ: 'Pacific/Auckland',
  PF: 'Pacific/Tahiti',
  PG: 'Pacific/Port_Moresby',
  PS: 'Asia/Hebron',
  PT: 'Europe/Lisbon',
  RU: 'Europe/Moscow',
  UA: 'Europe/Kyiv',
  US: 'America/New_York',
  UZ: 'Asia/Tashkent',
};

/** Regions with a phone numbering plan for which CLDR lists no zone. */
const ZONELESS_REGIONS: Readonly<Record<string, string>> = {
  AC: 'Atlantic/St_Helena', // Ascension
  TA: 'Atlantic/St_Helena', // Tristan da Cunha
  XK: 'Europe/Belgrade', // Kosovo
};

interface LocaleZones {
  getTimeZones?: () => string[] | undefined; // the current Intl Locale Info spec
  timeZones?: string[] | undefined; // the older getter, what Node 20 has
}

function regionZones(region: string): string[] {
  const locale = new Intl.Locale(`und-${region}`) as Intl.Locale & LocaleZones;
  const zones = typeof locale.getTimeZones === 'function' ? locale.getTimeZones() : locale.timeZones;
  const names = new Set<string>();
  for (const zone of zones ?? []) {
    const name = resolveZone(zone);
    if (name) names.add(name);
  }
  return [...names];
}

// Zones count as one when their UTC offset agrees at noon UTC every day of the next two years: that
// catches different DST rules (a transition an hour apart on the same day does not matter for sending).
const DAY_MS = 86_400_000;
const SAMPLE_DAYS = 731;
const offsetFormats = new Map<string, Intl.DateTimeFormat>();

function offsetAt(zone: string, instant: number): string {
  let format = offsetFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    offsetFormats.set(zone, format);
  }
  return format.formatToParts(instant).find((part) => part.type === 'timeZoneName')?.value ?? '';
}

/** Whether all the zones keep the same time; stops at the first difference (multi-zone countries cost little). */
function sameRules(zones: readonly string[]): boolean {
  const [first, ...others] = zones;
  if (first === undefined) return true;
  const start = Math.floor(Date.now() / DAY_MS) * DAY_MS + DAY_MS / 2;
  const reference: string[] = [];
  for (const zone of others) {
    for (let day = 0; day < SAMPLE_DAYS; day++) {
      const instant = start + day * DAY_MS;
      const expected = (reference[day] ??= offsetAt(first, instant));
      if (offsetAt(zone, instant) !== expected) return false;
    }
  }
  return true;
}

const byCountry = new Map<string, InferredZone | undefined>();

/**
 * The zone of a country (ISO 3166-1 alpha-2, any case): 'exact' when all its zones keep the same time
 * (Germany's Europe/Berlin and Europe/Busingen), else its primary zone with 'country-primary'.
 * Undefined for unknown codes and multi-zone countries without a primary zone.
 */
export function timeZoneForCountry(country: string): InferredZone | undefined {
  const region = typeof country === 'string' ? country.trim().toUpperCase() : '';
  if (!/^[A-Z]{2}$/.test(region)) return undefined;
  if (byCountry.has(region)) return byCountry.get(region);
  const inferred = inferForRegion(region);
  byCountry.set(region, inferred);
  return inferred;
}

function inferForRegion(region: string): InferredZone | undefined {
  const zones = regionZones(region);
  const primaryName = PRIMARY_ZONES[region];
  const primary = primaryName === undefined ? undefined : resolveZone(primaryName);
  if (zones.length === 0) {
    const zoneless = ZONELESS_REGIONS[region];
    const name = zoneless === undefined ? undefined : resolveZone(zoneless);
    if (name) return { timezone: name, confidence: 'exact' };
    // An engine without Intl Locale Info still gets the primary zone.
    return primary ? { timezone: primary, confidence: 'country-primary' } : undefined;
  }
  if (sameRules(zones)) {
    const timezone = primary !== undefined && zones.includes(primary) ? primary : zones[0];
    return timezone === undefined ? undefined : { timezone, confidence: 'exact' };
  }
  return primary ? { timezone: primary, confidence: 'country-primary' } : undefined;
}

let prefixTable: Map<string, string | null> | undefined;

/** Expands the compact table ("1850:200,206" → 1850200, 1850206) once; null marks a multi-zone prefix. */
function prefixes(): Map<string, string | null> {
  if (prefixTable) return prefixTable;
  const table = new Map<string, string | null>();
  const add = (tokens: string, zone: string | null) => {
    for (const token of tokens.split(' ')) {
      const [head = '', tails] = token.split(':');
      if (tails === undefined) table.set(head, zone);
      else for (const tail of tails.split(',')) table.set(head + tail, zone);
    }
  };
  for (const [zone, tokens] of Object.entries(TIME_ZONE_PREFIXES)) add(tokens, zone);
  add(AMBIGUOUS_PREFIXES, null);
  prefixTable = table;
  return table;
}

const LONGEST_PREFIX = 8;

/**
 * The zone a phone number's prefix points to: the area code in multi-zone countries (NANP, Brazil,
 * Mexico, Russia, Australia…), else the country. Undefined when neither is known (e.g. +800 numbers).
 */
export function timeZoneForPhone(e164: string): InferredZone | undefined {
  if (typeof e164 !== 'string' || !/^\+[1-9]\d{1,14}$/.test(e164)) return undefined;
  const digits = e164.slice(1);
  const table = prefixes();
  for (let length = Math.min(LONGEST_PREFIX, digits.length); length > 0; length--) {
    const zone = table.get(digits.slice(0, length));
    if (zone === undefined) continue;
    if (zone === null) break; // several zones share this prefix: only the country can answer
    const name = resolveZone(zone);
    if (name) return { timezone: name, confidence: 'exact' };
    break; // a zone this engine's tz data lacks: fall back to the country
  }
  const country = parsePhoneNumberFromString(e164)?.country;
  return country ? timeZoneForCountry(country) : undefined;
}
