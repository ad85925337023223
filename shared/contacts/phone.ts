// The 'max' metadata knows each country's number ranges (not just lengths) and the number types.
import { ParseError, isSupportedCountry, parsePhoneNumberFromString, parsePhoneNumberWithError } from 'libphonenumber-js/max';
import type { CountryCode, PhoneNumber, PhoneNumberType } from 'libphonenumber-js/max';

export class InvalidPhoneError extends Error {
  override name = 'InvalidPhoneError';
}

export interface NormalizedPhone {
  /** +<country code><number>, digits only. */
  e164: string;
  /** ISO 3166-1 alpha-2 of the number; absent for non-geographic numbers (+800…). */
  country?: string;
}

const NOT_A_NUMBER = 'is not a phone number';
const NEEDS_COUNTRY = "needs a country code (start with +) or the form's default country";

/**
 * Normalises a phone number to E.164 so that one person is one contact. Accepts international input
 * (+44 20 7946 0958, 0044 20 7946 0958) and, given the default country, national input ((415) 555-2671
 * for US); spaces, dots, dashes, slashes and brackets are ignored. Refuses numbers outside the ranges the
 * country assigns. An unknown defaultCountry is a configuration error (plain Error); blank means none.
 */
export function normalizePhone(input: string, defaultCountry?: string): NormalizedPhone {
  const region = toRegion(defaultCountry);
  const text = input.trim();
  if (text === '') throw new InvalidPhoneError(NOT_A_NUMBER);

  let parsed = text;
  let outcome = parse(parsed, region);
  // 00 is the international prefix of most of the world: accept it where the default country dials
  // out differently (011 in the US) or when there is no default country.
  if (text.startsWith('00') && (outcome instanceof Error || !outcome.isValid())) {
    parsed = `+${text.slice(2)}`;
    outcome = parse(parsed, undefined);
  }
  if (outcome instanceof Error) throw outcome;
  const phone = outcome;
  if (phone.ext) throw new InvalidPhoneError('must not include an extension');
  if (!phone.isValid()) throw new InvalidPhoneError(`is not a valid number for ${placeOf(phone, parsed, region)}`);
  return phone.country ? { e164: phone.number, country: phone.country } : { e164: phone.number };
}

function toRegion(defaultCountry: string | undefined): CountryCode | undefined {
  if (defaultCountry === undefined || defaultCountry.trim() === '') return undefined;
  const code = defaultCountry.trim().toUpperCase();
  if (!isSupportedCountry(code)) throw new Error(`unknown default country "${defaultCountry}": expected an ISO 3166-1 alpha-2 code such as US`);
  return code;
}

function parse(text: string, region: CountryCode | undefined): PhoneNumber | InvalidPhoneError {
  try {
    return parsePhoneNumberWithError(text, { defaultCountry: region, extract: false });
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    const international = text.startsWith('+');
    switch (error.message) {
      case 'INVALID_COUNTRY':
        return new InvalidPhoneError(international ? 'starts with a country code that does not exist' : NEEDS_COUNTRY);
      case 'TOO_SHORT':
      case 'TOO_LONG':
      case 'INVALID_LENGTH':
        return new InvalidPhoneError(region && !international ? `is not a valid number for ${countryName(region)}` : NOT_A_NUMBER);
      default:
        return new InvalidPhoneError(NOT_A_NUMBER);
    }
  }
}

/** Where the number claims to be, for the message: its country, else the default country, else its code. */
function placeOf(phone: PhoneNumber, text: string, region: CountryCode | undefined): string {
  if (phone.country) return countryName(phone.country);
  if (region && !text.startsWith('+')) return countryName(region);
  return `country code +${phone.countryCallingCode}`;
}

let regionNames: Intl.DisplayNames | undefined;

function countryName(code: string): string {
  regionNames ??= new Intl.DisplayNames(['en'], { type: 'region' });
  return regionNames.of(code) ?? code;
}

/**
 * Types that cannot receive an SMS, or whose owner is a business rather than the person who signed up.
 * VOIP and PERSONAL_NUMBER stay allowed: many VoIP services take SMS, and personal numbers forward to the
 * person's own phone; the SMS provider's delivery report tells us otherwise.
 */
const NO_SMS: ReadonlySet<PhoneNumberType> = new Set<PhoneNumberType>(['FIXED_LINE', 'TOLL_FREE', 'PREMIUM_RATE', 'SHARED_COST', 'UAN', 'VOICEMAIL', 'PAGER']);

/**
 * Whether an SMS to this E.164 number can reach a handset: MOBILE and FIXED_LINE_OR_MOBILE (all US and
 * Canadian numbers, whose ranges do not tell landlines apart) and numbers of unknown type count as capable;
 * landlines, toll-free, premium-rate and the like do not. A string that is not a valid number is not.
 */
export function isMobileCapable(e164: string): boolean {
  const phone = parsePhoneNumberFromString(e164);
  if (!phone?.isValid()) return false;
  const type = phone.getType();
  return type === undefined || !NO_SMS.has(type);
}
