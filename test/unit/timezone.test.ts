import { describe, expect, test } from 'vitest';
import { canonicalTimeZone, isValidTimeZone, timeZoneForCountry, timeZoneForPhone } from '../../shared/contacts/timezone.ts';
import { AMBIGUOUS_PREFIXES, TIME_ZONE_PREFIXES } from '../../shared/contacts/timezone-prefixes.ts';

const exact = (zone: string) => ({ timezone: canonicalTimeZone(zone), confidence: 'exact' });
const primary = (zone: string) => ({ timezone: canonicalTimeZone(zone), confidence: 'country-primary' });

describe('isValidTimeZone', () => {
  test.each(['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'UTC', 'Etc/GMT+5', 'America/Argentina/Buenos_Aires', 'europe/berlin'])('%s is valid', (zone) => {
    expect(isValidTimeZone(zone)).toBe(true);
  });

  test.each(['', ' ', 'Mars/Base', '+02:00', '-05:00', 'GMT+2', 'Berlin', 'Europe/Berlin/Mitte', ' Europe/Berlin', 'Europe/Berlin\n'])('%j is not', (zone) => {
    expect(isValidTimeZone(zone)).toBe(false);
  });
});

describe('canonicalTimeZone', () => {
  test.each([
    ['europe/berlin', 'Europe/Berlin'],
    ['AMERICA/NEW_YORK', 'America/New_York'],
    ['america/los_angeles', 'America/Los_Angeles'],
    ['asia/tokyo', 'Asia/Tokyo'],
    ['utc', 'UTC'],
    ['Europe/London', 'Europe/London'],
  ])('%s → %s', (input, expected) => {
    expect(canonicalTimeZone(input)).toBe(expected);
  });

  test('an alias resolves to one of its IANA names (which one depends on the engine)', () => {
    expect(['Asia/Kolkata', 'Asia/Calcutta']).toContain(canonicalTimeZone('asia/kolkata'));
  });

  test.each(['Europe/Berlin', 'asia/kolkata', 'us/eastern', 'Etc/GMT-3'])('canonical of canonical is itself (%s)', (zone) => {
    const once = canonicalTimeZone(zone);
    expect(canonicalTimeZone(once)).toBe(once);
  });

  test.each(['', 'Mars/Base', '+02:00', 'Europe/Atlantis'])('%j throws', (zone) => {
    expect(() => canonicalTimeZone(zone)).toThrow(RangeError);
  });
});

describe('timeZoneForPhone: NANP by area code', () => {
  test.each([
    ['+12125550123', 'America/New_York'],
    ['+14155552671', 'America/Los_Angeles'],
    ['+13125550123', 'America/Chicago'],
    ['+13035550123', 'America/Denver'],
    ['+16025550123', 'America/Phoenix'], // the source listed Denver too: most of Arizona keeps MST
    ['+18085550123', 'Pacific/Honolulu'],
    ['+14165550123', 'America/Toronto'],
    ['+16045550123', 'America/Vancouver'],
    ['+19075551234', 'America/Anchorage'],
    ['+12085550123', 'America/Boise'],
    ['+13065551234', 'America/Regina'], // Saskatchewan: no DST
    ['+19025551234', 'America/Halifax'],
    ['+17095551234', 'America/St_Johns'],
    ['+14375550123', 'America/Toronto'],
  ])('%s → %s', (e164, zone) => {
    expect(timeZoneForPhone(e164)).toEqual(exact(zone));
  });

  // Area codes that straddle zones: the exchange decides where the source knows it.
  test.each([
    ['+18505551234', 'America/New_York', 'Tallahassee-side 850'],
    ['+18502001234', 'America/Chicago', 'Panhandle exchange of 850'],
    ['+16055551234', 'America/Chicago', 'default of 605'],
    ['+16053411234', 'America/Denver', 'West River exchange of 605'],
    ['+12086641234', 'America/Los_Angeles', 'panhandle exchange of 208'],
  ])('%s → %s (%s)', (e164, zone) => {
    expect(timeZoneForPhone(e164)).toEqual(exact(zone));
  });
});

describe('timeZoneForPhone: single-zone countries', () => {
  test.each([
    ['+493012345678', 'Europe/Berlin'],
    ['+49891234567', 'Europe/Berlin'],
    ['+442079460958', 'Europe/London'],
    ['+441614960000', 'Europe/London'],
    ['+33123456789', 'Europe/Paris'],
    ['+33491123456', 'Europe/Paris'],
    ['+81312345678', 'Asia/Tokyo'],
    ['+919876543210', 'Asia/Kolkata'],
  ])('%s → %s', (e164, zone) => {
    expect(timeZoneForPhone(e164)).toEqual(exact(zone));
  });
});

describe('timeZoneForPhone: multi-zone countries by prefix', () => {
  test.each([
    ['+5511912345678', 'America/Sao_Paulo'],
    ['+5565991234567', 'America/Cuiaba'],
    ['+5592991234567', 'America/Manaus'],
    ['+558131234567', 'America/Recife'],
    ['+61293744000', 'Australia/Sydney'],
    ['+61731234567', 'Australia/Brisbane'],
    ['+525512345678', 'America/Mexico_City'],
    ['+529981234567', 'America/Cancun'],
    ['+526641234567', 'America/Tijuana'],
    ['+74951234567', 'Europe/Moscow'],
    ['+73431234567', 'Asia/Yekaterinburg'],
    ['+74012123456', 'Europe/Kaliningrad'],
    ['+34928123456', 'Atlantic/Canary'],
    ['+34911234567', 'Europe/Madrid'],
    ['+6493001234', 'Pacific/Auckland'],
    ['+6433051234', 'Pacific/Chatham'],
  ])('%s → %s', (e164, zone) => {
    expect(timeZoneForPhone(e164)).toEqual(exact(zone));
  });
});

describe('timeZoneForPhone: multi-zone countries without a usable prefix fall back to the primary zone', () => {
  test.each([
    ['+61412345678', 'Australia/Sydney', 'AU mobile'],
    ['+61891234567', 'Australia/Sydney', 'AU 08 spans three zones'],
    ['+79161234567', 'Europe/Moscow', 'RU mobile'],
    ['+18005550123', 'America/New_York', 'US toll-free'],
    ['+16005550123', 'America/Toronto', 'CA non-geographic'],
    ['+6281234567890', 'Asia/Jakarta', 'ID mobile'],
    ['+64211234567', 'Pacific/Auckland', 'NZ mobile'],
    ['+526491234567', 'America/Mexico_City', 'MX 649 spans two zones, its parent 64 does not'],
  ])('%s → %s (%s)', (e164, zone) => {
    expect(timeZoneForPhone(e164)).toEqual(primary(zone));
  });
});

describe('timeZoneForPhone: no answer', () => {
  test.each(['', '12125550123', '+0123456789', '+1 212 555 0123', 'abc', '+80012345678'])('%j → undefined', (e164) => {
    expect(timeZoneForPhone(e164)).toBeUndefined();
  });
});

describe('timeZoneForCountry', () => {
  test.each([
    ['DE', 'Europe/Berlin'], // Europe/Busingen keeps the same time: one zone
    ['de', 'Europe/Berlin'],
    ['GB', 'Europe/London'],
    ['FR', 'Europe/Paris'],
    ['JP', 'Asia/Tokyo'],
    ['IN', 'Asia/Kolkata'],
    ['AR', 'America/Argentina/Buenos_Aires'], // a dozen zones, all on the same time
    ['XK', 'Europe/Belgrade'], // no zone in CLDR
  ])('%s → %s, exact', (country, zone) => {
    expect(timeZoneForCountry(country)).toEqual(exact(zone));
  });

  test.each([
    ['US', 'America/New_York'],
    ['CA', 'America/Toronto'],
    ['AU', 'Australia/Sydney'],
    ['BR', 'America/Sao_Paulo'],
    ['RU', 'Europe/Moscow'],
    ['MX', 'America/Mexico_City'],
    ['ID', 'Asia/Jakarta'],
    ['UA', 'Europe/Kyiv'],
  ])('%s → %s, country-primary', (country, zone) => {
    expect(timeZoneForCountry(country)).toEqual(primary(zone));
  });

  test.each(['', 'ZZ', 'DEU', 'Germany', '1', 'D'])('%j → undefined', (country) => {
    expect(timeZoneForCountry(country)).toBeUndefined();
  });
});

describe('the prefix table', () => {
  test('every zone is one this runtime knows', () => {
    const unknown = Object.keys(TIME_ZONE_PREFIXES).filter((zone) => !isValidTimeZone(zone));
    expect(unknown).toEqual([]);
  });

  test('every token is digits, or digits:digits,digits…', () => {
    const tokens = [...Object.values(TIME_ZONE_PREFIXES), AMBIGUOUS_PREFIXES].flatMap((list) => list.split(' '));
    expect(tokens.length).toBeGreaterThan(100);
    expect(tokens.filter((token) => !/^[1-9]\d{0,7}(:\d{1,4}(,\d{1,4})*)?$/.test(token))).toEqual([]);
  });

  test('no prefix is listed twice', () => {
    const seen = new Set<string>();
    const twice: string[] = [];
    for (const list of [...Object.values(TIME_ZONE_PREFIXES), AMBIGUOUS_PREFIXES]) {
      for (const token of list.split(' ')) {
        const [head = '', tails] = token.split(':');
        for (const prefix of tails === undefined ? [head] : tails.split(',').map((tail) => head + tail)) {
          if (seen.has(prefix)) twice.push(prefix);
          seen.add(prefix);
        }
      }
    }
    expect(twice).toEqual([]);
  });
});
