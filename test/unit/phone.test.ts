import { describe, expect, test } from 'vitest';
import { InvalidPhoneError, isMobileCapable, normalizePhone } from '../../shared/contacts/phone.ts';

function messageOf(input: string, country?: string): string {
  try {
    normalizePhone(input, country);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidPhoneError);
    return (error as Error).message;
  }
  throw new Error(`${input} was accepted`);
}

describe('normalizePhone: valid numbers in international form', () => {
  test.each([
    ['+1 (415) 555-2671', '+14155552671', 'US'],
    ['+44 20 7946 0958', '+442079460958', 'GB'],
    ['+44 7400 123456', '+447400123456', 'GB'],
    ['+49 30 12345678', '+493012345678', 'DE'],
    ['+49 151 23456789', '+4915123456789', 'DE'],
    ['+33 1 23 45 67 89', '+33123456789', 'FR'],
    ['+33 6 12 34 56 78', '+33612345678', 'FR'],
    ['+91 98765 43210', '+919876543210', 'IN'],
    ['+91 22 2345 6789', '+912223456789', 'IN'],
    ['+55 11 91234-5678', '+5511912345678', 'BR'],
    ['+55 11 3123-4567', '+551131234567', 'BR'],
    ['+61 2 9374 4000', '+61293744000', 'AU'],
    ['+61 412 345 678', '+61412345678', 'AU'],
    ['+81 3-1234-5678', '+81312345678', 'JP'],
    ['+81 90-1234-5678', '+819012345678', 'JP'],
  ])('%s → %s (%s)', (input, e164, country) => {
    expect(normalizePhone(input)).toEqual({ e164, country });
  });

  test('a non-geographic number has no country', () => {
    expect(normalizePhone('+800 1234 5678')).toEqual({ e164: '+80012345678' });
  });
});

describe('normalizePhone: formatting variants give the same E.164', () => {
  test.each([
    ['+44 20 7946 0958'],
    ['+442079460958'],
    ['  +44 20 7946 0958  '],
    ['+44 (0)20 7946 0958'],
    ['+44-20-7946-0958'],
    ['+44.20.7946.0958'],
    ['0044 20 7946 0958'],
    ['00 44 20 7946 0958'],
    ['020 7946 0958', 'GB'],
    ['0044 20 7946 0958', 'US'],
    ['011 44 20 7946 0958', 'US'],
  ])('%j (default %s) → +442079460958', (input, country?: string) => {
    expect(normalizePhone(input, country).e164).toBe('+442079460958');
  });

  test.each([
    ['(415) 555-2671', 'US'],
    ['415.555.2671', 'US'],
    ['415-555-2671', 'US'],
    ['1 415 555 2671', 'US'],
    ['+1 415 555 2671', undefined],
    ['001 415 555 2671', undefined],
    ['+1 415 555 2671', 'DE'],
  ])('%j (default %s) → +14155552671', (input, country) => {
    expect(normalizePhone(input, country)).toEqual({ e164: '+14155552671', country: 'US' });
  });

  test.each([['+49 30 12345678'], ['+49 (0)30 12345678'], ['+49 30/12345678'], ['030 12345678', 'DE'], ['030 / 123 456 78', 'de']])(
    '%j (default %s) → +493012345678',
    (input, country?: string) => {
      expect(normalizePhone(input, country).e164).toBe('+493012345678');
    },
  );
});

describe('normalizePhone: the default country reads national numbers', () => {
  test.each([
    ['01 23 45 67 89', 'FR', '+33123456789'],
    ['03-1234-5678', 'JP', '+81312345678'],
    ['090-1234-5678', 'JP', '+819012345678'],
    ['09876543210', 'IN', '+919876543210'],
    ['02 9374 4000', 'AU', '+61293744000'],
    ['0412 345 678', 'AU', '+61412345678'],
    ['(11) 91234-5678', 'BR', '+5511912345678'],
    ['0151 23456789', 'DE', '+4915123456789'],
    ['020 7946 0958', 'gb', '+442079460958'],
  ])('%s with %s → %s', (input, country, e164) => {
    expect(normalizePhone(input, country)).toEqual({ e164, country: country.toUpperCase() });
  });

  test('an international number keeps its own country whatever the default', () => {
    expect(normalizePhone('+33 1 23 45 67 89', 'US')).toEqual({ e164: '+33123456789', country: 'FR' });
  });

  test('a blank default country counts as none', () => {
    expect(normalizePhone('+49 30 12345678', '  ').e164).toBe('+493012345678');
    expect(messageOf('030 12345678', '')).toBe("needs a country code (start with +) or the form's default country");
  });

  test.each(['UK', 'XX', 'USA', 'de-DE', '1'])('unknown default country %j is a configuration error, not a form error', (country) => {
    let thrown: unknown;
    try {
      normalizePhone('+49 30 12345678', country);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).not.toBeInstanceOf(InvalidPhoneError);
    expect((thrown as Error).message).toMatch(/unknown default country/);
  });
});

describe('normalizePhone: refused input', () => {
  test.each([
    ['', undefined, 'is not a phone number'],
    ['   ', undefined, 'is not a phone number'],
    ['hello', undefined, 'is not a phone number'],
    ['1-800-FLOWERS', 'US', 'is not a phone number'],
    ['+1', undefined, 'is not a phone number'],
    ['(415) 555-2671', undefined, "needs a country code (start with +) or the form's default country"],
    ['12345', undefined, "needs a country code (start with +) or the form's default country"],
    ['+999 1234567', undefined, 'starts with a country code that does not exist'],
    ['+1 415 555 2671 ext. 12', undefined, 'must not include an extension'],
  ])('%j (default %s): %s', (input, country, message) => {
    expect(messageOf(input, country)).toBe(message);
  });

  // Right length, but outside the ranges the country assigns ('max' metadata), or the wrong length.
  test.each([
    ['+1 123 456 7890', undefined, 'is not a valid number for country code +1'],
    ['(415) 555-267', 'US', 'is not a valid number for United States'],
    ['+44 20 7946 095', undefined, 'is not a valid number for country code +44'],
    ['0044 20 7946 095', 'US', 'is not a valid number for country code +44'],
    ['+49 30 1', undefined, 'is not a valid number for Germany'],
    ['+33 6 12 34 56 78 9', undefined, 'is not a valid number for France'],
    ['01 23', 'FR', 'is not a valid number for France'],
    ['+91 98765 4321', undefined, 'is not a valid number for India'],
    ['+91 00000 00000', undefined, 'is not a valid number for India'],
    ['+55 11 1234', undefined, 'is not a valid number for Brazil'],
    ['+61 2 1234 567', undefined, 'is not a valid number for country code +61'],
    ['+81 3-1234-567', undefined, 'is not a valid number for Japan'],
  ])('%j (default %s): %s', (input, country, message) => {
    expect(messageOf(input, country)).toBe(message);
  });

  test('the error is an InvalidPhoneError with its name set', () => {
    expect(() => normalizePhone('hello')).toThrow(InvalidPhoneError);
    try {
      normalizePhone('hello');
    } catch (error) {
      expect((error as Error).name).toBe('InvalidPhoneError');
    }
  });
});

describe('isMobileCapable', () => {
  test.each([
    ['+447400123456', 'GB mobile', true],
    ['+442079460958', 'GB landline', false],
    ['+448001234567', 'GB toll-free', false],
    ['+449098765432', 'GB premium rate', false],
    ['+445612345678', 'GB VoIP', true],
    ['+447012345678', 'GB personal number', true],
    ['+4915123456789', 'DE mobile', true],
    ['+493012345678', 'DE landline', false],
    ['+33612345678', 'FR mobile', true],
    ['+33123456789', 'FR landline', false],
    ['+819012345678', 'JP mobile', true],
    ['+81312345678', 'JP landline', false],
    ['+61412345678', 'AU mobile', true],
    ['+61293744000', 'AU landline', false],
    ['+5511912345678', 'BR mobile', true],
    ['+551131234567', 'BR landline', false],
    ['+919876543210', 'IN mobile', true],
    ['+14155552671', 'US fixed line or mobile', true],
    ['+18005550123', 'US toll-free', false],
    ['+12', 'not a number', false],
    ['nonsense', 'not a number', false],
  ])('%s (%s) → %s', (e164, _kind, capable) => {
    expect(isMobileCapable(e164)).toBe(capable);
  });
});
