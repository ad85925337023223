/**
 * Validation of one public form submission. The body is either urlencoded (string or string[]
 * values) or JSON (strings, numbers, booleans), so every field parser accepts both shapes.
 * Issues are reported at the field's own name (`email`, `first_name`) so `issuesFromZod` gives
 * `{ path: 'email', message }` for the problem list shown to the person filling the form.
 */
import * as z from 'zod';
import type { AttributeValue } from '../contacts/model.ts';
import { InvalidEmailError, normalizeEmail } from '../contacts/email.ts';
import { InvalidPhoneError, normalizePhone } from '../contacts/phone.ts';
import { isStorableNumber, NUMBER_RANGE } from '../numbers.ts';
import { CAPTCHA_RESPONSE_FIELD, CONSENT_FIELD, TIMEZONE_FIELD, type Form, type FormField } from './definition.ts';

export interface NormalizedSubmission {
  email?: string;
  phone?: string;
  country?: string;
  /** The form's own attributes merged with the field values (field values win). */
  attributes: Record<string, AttributeValue>;
  /** Which consent boxes were ticked (only channels the form offers). */
  consent: { email: boolean; sms: boolean };
  /** From the hidden `tz` field, when it names a real IANA zone. */
  timezone?: string;
  /** A bot filled the hidden field: the caller answers as if all went well and stores nothing. */
  honeypotFilled: boolean;
  captchaToken?: string;
}

type Parsed<T> = { ok: true; value: T | undefined } | { ok: false; message: string };

const ok = <T>(value: T | undefined): Parsed<T> => ({ ok: true, value });
const fail = (message: string): Parsed<never> => ({ ok: false, message });

const REPEATED = 'was sent more than once; send a single value';
// Control characters other than tab and newline (CR is folded into newline first).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_FORMAT = 'must be a date like 2024-01-31';
const TRUE_WORDS = new Set(['true', 'on', '1', 'yes']);
const FALSE_WORDS = new Set(['false', 'off', '0', 'no']);
const TIMEZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

/** A single text value; undefined for absent/empty. Numbers are accepted as their decimal form (JSON clients). */
function scalarText(raw: unknown, acceptNumbers: boolean, wrongType = 'must be text'): Parsed<string> {
  if (raw === undefined || raw === null) return ok(undefined);
  if (Array.isArray(raw)) return fail(REPEATED);
  if (typeof raw === 'number' && acceptNumbers && Number.isFinite(raw)) return ok(String(raw));
  if (typeof raw !== 'string') return fail(wrongType);
  const trimmed = raw.trim();
  return ok(trimmed === '' ? undefined : trimmed);
}

/** Checkbox-style yes/no. An unticked checkbox is simply not sent, hence absent → undefined (read as false). */
function parseFlag(raw: unknown): Parsed<boolean> {
  if (raw === undefined || raw === null) return ok(undefined);
  if (Array.isArray(raw)) return fail(REPEATED);
  if (typeof raw === 'boolean') return ok(raw);
  if (raw === 1 || raw === 0) return ok(raw === 1);
  if (typeof raw !== 'string') return fail('must be yes or no');
  const word = raw.trim().toLowerCase();
  if (word === '') return ok(undefined);
  if (TRUE_WORDS.has(word)) return ok(true);
  if (FALSE_WORDS.has(word)) return ok(false);
  return fail('must be yes or no');
}

function parseNumber(raw: unknown): Parsed<number> {
  let value: number;
  if (typeof raw === 'number') value = raw;
  else {
    const text = scalarText(raw, false, 'must be a number');
    if (!text.ok) return text;
    if (text.value === undefined) return ok(undefined);
    if (!NUMBER.test(text.value)) return fail('must be a number');
    value = Number(text.value);
  }
  if (!Number.isFinite(value)) return fail('must be a number');
  return isStorableNumber(value) ? ok(value) : fail(NUMBER_RANGE);
}

function parseDate(raw: unknown): Parsed<string> {
  const text = scalarText(raw, false, DATE_FORMAT);
  if (!text.ok || text.value === undefined) return text;
  const match = DATE.exec(text.value);
  if (!match) return fail(DATE_FORMAT);
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // setUTCFullYear (unlike Date.UTC) takes years below 100 literally; it rolls 2023-02-30 over
  // to March, so a real date is one that survives the round trip.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (year < 1 || date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return fail('is not a real date');
  return ok(text.value);
}

function parseText(raw: unknown, maxLength: number): Parsed<string> {
  const text = scalarText(raw, true);
  if (!text.ok || text.value === undefined) return text;
  // Browsers send a textarea's line breaks as CRLF; store plain newlines.
  const value = text.value.replace(/\r\n?/g, '\n');
  if (CONTROL_CHARS.test(value)) return fail('contains characters that are not allowed');
  // UTF-16 length, the unit the browser's maxlength attribute counts in.
  if (value.length > maxLength) return fail(`must be at most ${maxLength} characters`);
  return ok(value);
}

function parseSelect(raw: unknown, options: readonly string[]): Parsed<string> {
  const text = scalarText(raw, true);
  if (!text.ok || text.value === undefined) return text;
  return options.includes(text.value) ? ok(text.value) : fail('must be one of the choices offered');
}

function parseTimezone(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length > 64 || !TIMEZONE_NAME.test(raw.trim())) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: raw.trim() }).resolvedOptions().timeZone;
  } catch {
    // A browser without Intl support or a made-up value: the zone is optional, so it is dropped.
    return undefined;
  }
}

/** Whether a honeypot value counts as filled (one rule for the raw pre-check and the schema). */
export function honeypotFilled(raw: unknown): boolean {
  if (raw === undefined || raw === null || raw === false) return false;
  if (Array.isArray(raw)) return raw.some(honeypotFilled);
  return typeof raw !== 'string' || raw.trim() !== '';
}

type FieldValue = { kind: 'email'; value: string } | { kind: 'phone'; e164: string; country?: string } | { kind: 'attribute'; value: string | number | boolean };

function parseField(field: FormField, raw: unknown, defaultCountry: string | undefined): Parsed<FieldValue> {
  switch (field.type) {
    case 'email': {
      const text = scalarText(raw, false);
      if (!text.ok) return text;
      if (text.value === undefined) return ok(undefined);
      try {
        return ok({ kind: 'email', value: normalizeEmail(text.value) });
      } catch (error) {
        if (error instanceof InvalidEmailError) return fail(error.message);
        throw error;
      }
    }
    case 'phone': {
      const text = scalarText(raw, false);
      if (!text.ok) return text;
      if (text.value === undefined) return ok(undefined);
      try {
        const phone = normalizePhone(text.value, defaultCountry);
        return ok({ kind: 'phone', e164: phone.e164, ...(phone.country ? { country: phone.country } : {}) });
      } catch (error) {
        if (error instanceof InvalidPhoneError) return fail(error.message);
        throw error;
      }
    }
    case 'boolean': {
      const flag = parseFlag(raw);
      if (!flag.ok) return flag;
      return ok({ kind: 'attribute', value: flag.value ?? false });
    }
    case 'text':
    case 'number':
    case 'select':
    case 'date': {
      const parsed =
        field.type === 'text'
          ? parseText(raw, field.maxLength ?? Number.POSITIVE_INFINITY)
          : field.type === 'number'
            ? parseNumber(raw)
            : field.type === 'select'
              ? parseSelect(raw, field.options ?? [])
              : parseDate(raw);
      if (!parsed.ok) return parsed;
      return ok(parsed.value === undefined ? undefined : { kind: 'attribute', value: parsed.value });
    }
  }
}

/**
 * Builds the validator for submissions to one form. Every problem is reported at once, one issue
 * per field. A filled honeypot short-circuits: the result says so and carries no data, and the
 * schema never fails, so a bot cannot tell its submission was discarded.
 */
export function buildSubmissionSchema(form: Form): z.ZodType<NormalizedSubmission> {
  const fields = new Map(form.fields.map((f) => [f.name, f]));
  // Both captcha names are tolerated: an embed cached from before the captcha was changed still posts.
  const extraKeys = new Set<string>([form.honeypotField, TIMEZONE_FIELD, CONSENT_FIELD.email, CONSENT_FIELD.sms, CAPTCHA_RESPONSE_FIELD.turnstile, CAPTCHA_RESPONSE_FIELD.recaptcha]);
  const captchaField = form.captcha ? CAPTCHA_RESPONSE_FIELD[form.captcha.provider] : undefined;

  return z.unknown().transform((input, ctx): NormalizedSubmission => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: path ? [path] : [], message });
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      issue('', 'The form data is missing or not a set of fields');
      return z.NEVER;
    }
    const body = new Map(Object.entries(input));

    if (honeypotFilled(body.get(form.honeypotField))) return { attributes: {}, consent: { email: false, sms: false }, honeypotFilled: true };

    for (const key of body.keys()) if (!fields.has(key) && !extraKeys.has(key)) issue(key, 'is not a field of this form');

    const result: NormalizedSubmission = { attributes: { ...form.attributes }, consent: { email: false, sms: false }, honeypotFilled: false };
    const invalid = new Set<string>();
    for (const field of form.fields) {
      const parsed = parseField(field, body.get(field.name), form.defaultCountry);
      if (!parsed.ok) {
        invalid.add(field.name);
        issue(field.name, parsed.message);
        continue;
      }
      const value = parsed.value;
      // For a checkbox, required means it must be ticked.
      const missing = value === undefined || (field.type === 'boolean' && value.kind === 'attribute' && value.value === false);
      if (field.required && missing) {
        invalid.add(field.name);
        issue(field.name, field.type === 'boolean' ? 'must be ticked' : 'is required');
        continue;
      }
      if (value === undefined) continue;
      if (value.kind === 'email') result.email = value.value;
      else if (value.kind === 'phone') {
        result.phone = value.e164;
        if (value.country) result.country = value.country;
      } else result.attributes[field.attribute ?? field.name] = value.value;
    }

    const channels = [
      { channel: 'email', key: CONSENT_FIELD.email, offered: form.consent.email !== undefined, fieldType: 'email', present: result.email !== undefined, need: 'is required to subscribe by email' },
      { channel: 'sms', key: CONSENT_FIELD.sms, offered: form.consent.sms !== undefined, fieldType: 'phone', present: result.phone !== undefined, need: 'is required to subscribe by text message' },
    ] as const;
    for (const c of channels) {
      const flag = parseFlag(body.get(c.key));
      if (!flag.ok) {
        issue(c.key, flag.message);
        continue;
      }
      if (!flag.value) continue;
      if (!c.offered) {
        issue(c.key, 'is not offered by this form');
        continue;
      }
      result.consent[c.channel] = true;
      const field = form.fields.find((f) => f.type === c.fieldType);
      // An invalid address already has its own issue; only a missing one needs this.
      if (field && !c.present && !invalid.has(field.name)) issue(field.name, c.need);
    }

    const timezone = parseTimezone(body.get(TIMEZONE_FIELD));
    if (timezone) result.timezone = timezone;

    if (captchaField) {
      const token = scalarText(body.get(captchaField), false);
      if (!token.ok) issue(captchaField, token.message);
      else if (token.value !== undefined) result.captchaToken = token.value;
    }
    return result;
  });
}
