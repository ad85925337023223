import { describe, expect, it } from 'vitest';
import {
  atInstant,
  InvalidScheduleExpressionError,
  InvalidTimeZoneError,
  nextFireTime,
  parseScheduleExpression,
  toAwsAtExpression,
} from '../../shared/schedule-expression.ts';

const d = (iso: string) => new Date(iso);
const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** The next `count` fire times after `after`. */
function fireTimes(expression: string, timezone: string, after: string, count: number): (string | null)[] {
  const out: (string | null)[] = [];
  let cursor: Date | null = d(after);
  for (let i = 0; i < count && cursor; i++) {
    cursor = nextFireTime(expression, timezone, cursor);
    out.push(iso(cursor));
  }
  return out;
}

describe('parseScheduleExpression', () => {
  it('parses the three kinds', () => {
    expect(parseScheduleExpression('cron(0 2 * * ? *)')).toEqual({ kind: 'cron', minutes: '0', hours: '2', dayOfMonth: '*', month: '*', dayOfWeek: '?', year: '*' });
    expect(parseScheduleExpression('rate(1 minute)')).toEqual({ kind: 'rate', value: 1, unit: 'minute' });
    expect(parseScheduleExpression('rate(5 minutes)')).toEqual({ kind: 'rate', value: 5, unit: 'minutes' });
    expect(parseScheduleExpression('rate(2 hours)')).toEqual({ kind: 'rate', value: 2, unit: 'hours' });
    expect(parseScheduleExpression('rate(1 day)')).toEqual({ kind: 'rate', value: 1, unit: 'day' });
    expect(parseScheduleExpression('at(2026-12-01T09:00:00)')).toEqual({ kind: 'at', at: '2026-12-01T09:00:00' });
    expect(parseScheduleExpression('at(2028-02-29T23:59:59)')).toEqual({ kind: 'at', at: '2028-02-29T23:59:59' });
  });

  it.each([
    'cron(0/15 9-17 ? * MON-FRI *)',
    'cron(*/5 * * * ? *)',
    'cron(1/10 * * * ? *)',
    'cron(0 9 L * ? *)',
    'cron(0 9 LW * ? *)',
    'cron(0 9 15W * ? *)',
    'cron(0 9 ? * 6L *)',
    'cron(0 9 ? * FRIL *)',
    'cron(0 9 ? * L *)',
    'cron(0 9 ? * 3#2 *)',
    'cron(0 9 ? * tue#2 *)',
    'cron(0 9 1 JAN-MAR ? 2026-2030)',
    'cron(0 9 1,15 jan,jul ? *)',
    'cron(0 22-2 ? * FRI-MON *)',
    'cron(0 12 ? * 1,7 2026/2)',
  ])('accepts %s', (expression) => {
    expect(parseScheduleExpression(expression).kind).toBe('cron');
  });

  it.each([
    ['cron(0 2 * * *)', /needs 6 fields.*got 5/],
    ['cron(0 0 2 * * ? *)', /needs 6 fields.*got 7/],
    ['cron(0 2 * * * *)', /one of day-of-month and day-of-week must be "\?"/],
    ['cron(0 2 1 * MON *)', /one of day-of-month and day-of-week must be "\?"/],
    ['cron(0 2 ? * ? *)', /cannot both be "\?"/],
    ['cron(60 2 * * ? *)', /minutes value 60 is out of range 0-59/],
    ['cron(0 24 * * ? *)', /hours value 24 is out of range 0-23/],
    ['cron(0 2 32 * ? *)', /day-of-month value 32 is out of range 1-31/],
    ['cron(0 2 * 13 ? *)', /month value 13 is out of range 1-12/],
    ['cron(0 2 ? * 0 *)', /day-of-week value 0 is out of range 1-7/],
    ['cron(0 2 ? * 8 *)', /day-of-week value 8 is out of range 1-7/],
    ['cron(0 2 ? * FUN *)', /day-of-week value "FUN" is not valid/],
    ['cron(0 2 * FOO ? *)', /month value "FOO" is not valid/],
    ['cron(0 2 * * ? 1969)', /year value 1969 is out of range 1970-2199/],
    ['cron(0 2 * * ? 2030-2026)', /year range "2030-2026" runs backwards/],
    ['cron(0 ? * * ? *)', /"\?" is only allowed in day-of-month and day-of-week/],
    ['cron(0 2 ? * 1/2 *)', /"\/" is not allowed in the day-of-week field/],
    ['cron(*/0 2 * * ? *)', /increment .* must be a whole number/],
    ['cron(0 2 L-3 * ? *)', /offsets such as "L-3" are not supported/],
    ['cron(0 2 L,15 * ? *)', /"L" must stand alone/],
    ['cron(0 2 1-5W * ? *)', /"W" takes a single day/],
    ['cron(0 2 ? * 3#1,6#3 *)', /"#" takes one day and one occurrence/],
    ['cron(0 2 ? * 3#6 *)', /occurrence .* must be 1-5/],
    ['cron(0 2 ? * 2,6L *)', /"L" takes one day/],
    ['cron(0 2 1,,2 * ? *)', /empty list element/],
    ['cron()', /needs 6 fields.*got 0/],
    ['rate(1 minutes)', /a rate of 1 takes a singular unit: rate\(1 minute\)/],
    ['rate(5 minute)', /a rate of 5 takes a plural unit: rate\(5 minutes\)/],
    ['rate(0 minutes)', /must be a positive whole number/],
    ['rate(-1 minutes)', /must be a positive whole number/],
    ['rate(1.5 hours)', /must be a positive whole number/],
    ['rate(5 seconds)', /unit "seconds" must be minute\(s\), hour\(s\) or day\(s\)/],
    ['rate(5)', /takes a value and a unit/],
    ['at(2026-02-30T09:00:00)', /2026-02-30 is not a calendar date/],
    ['at(2027-02-29T09:00:00)', /2027-02-29 is not a calendar date/],
    ['at(2026-12-01T24:00:00)', /not a valid time of day/],
    ['at(2026-12-01T09:00)', /local date-time without offset/],
    ['at(2026-12-01T09:00:00Z)', /local date-time without offset/],
    ['at(2026-12-01 09:00:00)', /local date-time without offset/],
    ['daily', /expected at\(.*\), rate\(.*\) or cron\(/],
    ['CRON(0 2 * * ? *)', /expected at\(/],
    ['', /expected at\(/],
  ])('rejects %s', (expression, message) => {
    let caught: unknown;
    try {
      parseScheduleExpression(expression);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidScheduleExpressionError);
    const error = caught as InvalidScheduleExpressionError;
    expect(error.name).toBe('InvalidScheduleExpressionError');
    expect(error.status).toBe(400);
    expect(error.expression).toBe(expression);
    expect(error.message).toContain(`Invalid schedule expression "${expression}"`);
    expect(error.message).toMatch(message);
  });
});

describe('nextFireTime — cron', () => {
  it('fires nightly at 02:00 UTC, strictly after `after`', () => {
    expect(iso(nextFireTime('cron(0 2 * * ? *)', 'UTC', d('2026-05-10T01:59:59.999Z')))).toBe('2026-05-10T02:00:00.000Z');
    expect(iso(nextFireTime('cron(0 2 * * ? *)', 'UTC', d('2026-05-10T02:00:00.000Z')))).toBe('2026-05-11T02:00:00.000Z');
    expect(iso(nextFireTime('cron(0 2 * * ? *)', 'UTC', d('2026-05-10T02:00:00.500Z')))).toBe('2026-05-11T02:00:00.000Z');
  });

  it('defaults the time zone to UTC', () => {
    expect(iso(nextFireTime('cron(0 2 * * ? *)', undefined, d('2026-05-10T00:00:00Z')))).toBe('2026-05-10T02:00:00.000Z');
  });

  it('numbers days of the week from 1 = Sunday (AWS), not 0 = Sunday (Unix)', () => {
    // 2026-01-01 is a Thursday.
    const monday = nextFireTime('cron(0 9 ? * 2 *)', 'UTC', d('2026-01-01T00:00:00Z'));
    expect(iso(monday)).toBe('2026-01-05T09:00:00.000Z');
    expect(monday?.getUTCDay()).toBe(1);
    expect(iso(nextFireTime('cron(0 9 ? * 1 *)', 'UTC', d('2026-01-01T00:00:00Z')))).toBe('2026-01-04T09:00:00.000Z'); // Sunday
    expect(iso(nextFireTime('cron(0 9 ? * 7 *)', 'UTC', d('2026-01-01T00:00:00Z')))).toBe('2026-01-03T09:00:00.000Z'); // Saturday
    expect(iso(nextFireTime('cron(0 9 ? * MON *)', 'UTC', d('2026-01-01T00:00:00Z')))).toBe('2026-01-05T09:00:00.000Z');
    expect(fireTimes('cron(0 9 ? * MON-FRI *)', 'UTC', '2026-01-02T10:00:00Z', 2)).toEqual(['2026-01-05T09:00:00.000Z', '2026-01-06T09:00:00.000Z']);
    expect(fireTimes('cron(0 9 ? * FRI-MON *)', 'UTC', '2026-01-01T10:00:00Z', 5)).toEqual([
      '2026-01-02T09:00:00.000Z',
      '2026-01-03T09:00:00.000Z',
      '2026-01-04T09:00:00.000Z',
      '2026-01-05T09:00:00.000Z',
      '2026-01-09T09:00:00.000Z',
    ]);
  });

  it('supports L in day-of-month and day-of-week', () => {
    expect(fireTimes('cron(0 9 L * ? *)', 'UTC', '2026-01-31T10:00:00Z', 2)).toEqual(['2026-02-28T09:00:00.000Z', '2026-03-31T09:00:00.000Z']);
    expect(iso(nextFireTime('cron(0 9 L * ? *)', 'UTC', d('2028-02-01T00:00:00Z')))).toBe('2028-02-29T09:00:00.000Z');
    expect(iso(nextFireTime('cron(0 9 ? * 6L *)', 'UTC', d('2026-01-01T00:00:00Z')))).toBe('2026-01-30T09:00:00.000Z'); // last Friday
    expect(iso(nextFireTime('cron(0 9 ? * L *)', 'UTC', d('2026-01-01T00:00:00Z')))).toBe('2026-01-03T09:00:00.000Z'); // L = Saturday
  });

  it('supports # (nth weekday of the month) and W (nearest weekday)', () => {
    expect(fireTimes('cron(0 9 ? * 3#2 *)', 'UTC', '2026-01-01T00:00:00Z', 2)).toEqual(['2026-01-13T09:00:00.000Z', '2026-02-10T09:00:00.000Z']);
    expect(iso(nextFireTime('cron(0 9 ? * MON#1 *)', 'UTC', d('2026-02-01T00:00:00Z')))).toBe('2026-02-02T09:00:00.000Z');
    expect(iso(nextFireTime('cron(0 9 15W * ? *)', 'UTC', d('2026-02-01T00:00:00Z')))).toBe('2026-02-16T09:00:00.000Z'); // the 15th is a Sunday
    expect(iso(nextFireTime('cron(0 9 LW * ? *)', 'UTC', d('2026-01-01T00:00:00Z')))).toBe('2026-01-30T09:00:00.000Z'); // the 31st is a Saturday
  });

  it('honours the year field and returns null when its years are over', () => {
    expect(fireTimes('cron(0 9 1 1 ? 2027-2028)', 'UTC', '2026-01-01T00:00:00Z', 3)).toEqual(['2027-01-01T09:00:00.000Z', '2028-01-01T09:00:00.000Z', null]);
    expect(nextFireTime('cron(0 9 1 1 ? 2020)', 'UTC', d('2026-01-01T00:00:00Z'))).toBeNull();
    expect(iso(nextFireTime('cron(0 12 ? * 1,7 2026/2)', 'UTC', d('2026-12-31T00:00:00Z')))).toBe('2028-01-01T12:00:00.000Z');
  });

  it('expands steps from a start value, ranges and wrapping ranges', () => {
    expect(fireTimes('cron(1/20 10 * * ? *)', 'UTC', '2026-01-01T00:00:00Z', 4)).toEqual([
      '2026-01-01T10:01:00.000Z',
      '2026-01-01T10:21:00.000Z',
      '2026-01-01T10:41:00.000Z',
      '2026-01-02T10:01:00.000Z',
    ]);
    expect(fireTimes('cron(0 23-1 * * ? *)', 'UTC', '2026-01-01T12:00:00Z', 3)).toEqual(['2026-01-01T23:00:00.000Z', '2026-01-02T00:00:00.000Z', '2026-01-02T01:00:00.000Z']);
  });

  it('evaluates cron in the schedule time zone, following DST', () => {
    expect(iso(nextFireTime('cron(0 9 * * ? *)', 'America/New_York', d('2026-01-15T00:00:00Z')))).toBe('2026-01-15T14:00:00.000Z'); // EST
    expect(iso(nextFireTime('cron(0 9 * * ? *)', 'America/New_York', d('2026-07-15T00:00:00Z')))).toBe('2026-07-15T13:00:00.000Z'); // EDT
    expect(iso(nextFireTime('cron(0 9 * * ? *)', 'Europe/Berlin', d('2026-01-15T00:00:00Z')))).toBe('2026-01-15T08:00:00.000Z'); // CET
    expect(iso(nextFireTime('cron(0 9 * * ? *)', 'Europe/Berlin', d('2026-07-15T00:00:00Z')))).toBe('2026-07-15T07:00:00.000Z'); // CEST
  });

  it('skips a daily 02:30 on the spring-forward day (the time does not exist), New York', () => {
    // 2026-03-08: clocks go from 02:00 EST to 03:00 EDT.
    expect(fireTimes('cron(30 2 * * ? *)', 'America/New_York', '2026-03-07T00:00:00Z', 3)).toEqual([
      '2026-03-07T07:30:00.000Z', // 02:30 EST
      '2026-03-09T06:30:00.000Z', // 02:30 EDT, the 8th skipped
      '2026-03-10T06:30:00.000Z',
    ]);
    // Times outside the gap on that day are unaffected.
    expect(iso(nextFireTime('cron(30 3 * * ? *)', 'America/New_York', d('2026-03-08T00:00:00Z')))).toBe('2026-03-08T07:30:00.000Z');
    expect(fireTimes('cron(0/30 1-3 * * ? *)', 'America/New_York', '2026-03-08T05:00:00Z', 4)).toEqual([
      '2026-03-08T06:00:00.000Z', // 01:00 EST
      '2026-03-08T06:30:00.000Z', // 01:30 EST
      '2026-03-08T07:00:00.000Z', // 03:00 EDT (02:00 and 02:30 do not exist)
      '2026-03-08T07:30:00.000Z', // 03:30 EDT
    ]);
  });

  it('skips a daily 02:30 on the spring-forward day, Berlin', () => {
    // 2026-03-29: clocks go from 02:00 CET to 03:00 CEST.
    expect(fireTimes('cron(30 2 * * ? *)', 'Europe/Berlin', '2026-03-28T00:00:00Z', 2)).toEqual(['2026-03-28T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
  });

  it('fires a repeated local time once, at its first occurrence (fall back)', () => {
    // New York 2026-11-01: 01:00-01:59 happens twice (EDT, then EST).
    expect(fireTimes('cron(30 1 * * ? *)', 'America/New_York', '2026-10-31T12:00:00Z', 2)).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
    expect(fireTimes('cron(0/30 1-2 * * ? *)', 'America/New_York', '2026-11-01T04:00:00Z', 4)).toEqual([
      '2026-11-01T05:00:00.000Z', // 01:00 EDT
      '2026-11-01T05:30:00.000Z', // 01:30 EDT; the EST pass of 01:xx is not repeated
      '2026-11-01T07:00:00.000Z', // 02:00 EST
      '2026-11-01T07:30:00.000Z',
    ]);
    // Berlin 2026-10-25: 02:00-02:59 happens twice (CEST, then CET).
    expect(fireTimes('cron(30 2 * * ? *)', 'Europe/Berlin', '2026-10-24T12:00:00Z', 2)).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });

  it('does not fire before startDate, but fires on it', () => {
    expect(iso(nextFireTime('cron(0 9 * * ? *)', 'UTC', d('2026-01-01T00:00:00Z'), d('2026-01-10T09:00:00Z')))).toBe('2026-01-10T09:00:00.000Z');
    expect(iso(nextFireTime('cron(0 9 * * ? *)', 'UTC', d('2026-01-01T00:00:00Z'), d('2026-01-10T09:00:01Z')))).toBe('2026-01-11T09:00:00.000Z');
  });
});

describe('nextFireTime — rate', () => {
  it('fires every interval from `after` when there is no startDate', () => {
    expect(iso(nextFireTime('rate(5 minutes)', 'UTC', d('2026-01-01T10:00:00Z')))).toBe('2026-01-01T10:05:00.000Z');
    expect(iso(nextFireTime('rate(1 hour)', 'UTC', d('2026-01-01T10:00:00Z')))).toBe('2026-01-01T11:00:00.000Z');
  });

  it('keeps to the startDate grid', () => {
    const start = d('2026-01-01T10:00:00Z');
    expect(iso(nextFireTime('rate(5 minutes)', 'UTC', d('2026-01-01T10:12:00Z'), start))).toBe('2026-01-01T10:15:00.000Z');
    expect(iso(nextFireTime('rate(5 minutes)', 'UTC', d('2026-01-01T10:15:00Z'), start))).toBe('2026-01-01T10:20:00.000Z');
    expect(iso(nextFireTime('rate(5 minutes)', 'UTC', d('2026-01-01T09:00:00Z'), start))).toBe('2026-01-01T10:00:00.000Z'); // startDate is the first fire
  });

  it('treats a day as 24 hours, even across DST', () => {
    const start = d('2026-03-07T12:00:00Z');
    expect(iso(nextFireTime('rate(1 day)', 'America/New_York', start, start))).toBe('2026-03-08T12:00:00.000Z');
    expect(iso(nextFireTime('rate(2 days)', 'America/New_York', start, start))).toBe('2026-03-09T12:00:00.000Z');
  });
});

describe('nextFireTime — at', () => {
  it('reads the time as wall-clock time in the time zone', () => {
    const after = d('2026-01-01T00:00:00Z');
    expect(iso(nextFireTime('at(2026-12-01T09:00:00)', 'America/New_York', after))).toBe('2026-12-01T14:00:00.000Z');
    expect(iso(nextFireTime('at(2026-12-01T09:00:00)', 'Europe/Berlin', after))).toBe('2026-12-01T08:00:00.000Z');
    expect(iso(nextFireTime('at(2026-07-01T09:00:00)', 'Europe/Berlin', after))).toBe('2026-07-01T07:00:00.000Z');
    expect(iso(nextFireTime('at(2026-12-01T09:00:00)', 'UTC', after))).toBe('2026-12-01T09:00:00.000Z');
    expect(iso(nextFireTime('at(2026-12-01T09:00:00)', 'Asia/Kolkata', after))).toBe('2026-12-01T03:30:00.000Z');
  });

  it('returns null once the time has passed (strictly after)', () => {
    expect(nextFireTime('at(2026-12-01T09:00:00)', 'UTC', d('2026-12-01T09:00:00Z'))).toBeNull();
    expect(nextFireTime('at(2026-12-01T09:00:00)', 'UTC', d('2027-01-01T00:00:00Z'))).toBeNull();
    // StartDate is ignored for one-time schedules, as on AWS.
    expect(iso(nextFireTime('at(2026-12-01T09:00:00)', 'UTC', d('2026-01-01T00:00:00Z'), d('2026-12-31T00:00:00Z')))).toBe('2026-12-01T09:00:00.000Z');
  });

  it('moves a time in the spring-forward gap forward by the gap, and takes the first of a repeated time', () => {
    const after = d('2026-01-01T00:00:00Z');
    expect(iso(nextFireTime('at(2026-03-08T02:30:00)', 'America/New_York', after))).toBe('2026-03-08T07:30:00.000Z'); // 03:30 EDT
    expect(iso(nextFireTime('at(2026-03-29T02:30:00)', 'Europe/Berlin', after))).toBe('2026-03-29T01:30:00.000Z'); // 03:30 CEST
    expect(iso(nextFireTime('at(2026-11-01T01:30:00)', 'America/New_York', after))).toBe('2026-11-01T05:30:00.000Z'); // 01:30 EDT
    expect(iso(nextFireTime('at(2026-10-25T02:30:00)', 'Europe/Berlin', after))).toBe('2026-10-25T00:30:00.000Z'); // 02:30 CEST
  });

  it('accepts a parsed expression object', () => {
    expect(iso(nextFireTime({ kind: 'at', at: '2026-12-01T09:00:00' }, 'UTC', d('2026-01-01T00:00:00Z')))).toBe('2026-12-01T09:00:00.000Z');
    expect(() => nextFireTime({ kind: 'at', at: '2026-13-01T09:00:00' }, 'UTC', d('2026-01-01T00:00:00Z'))).toThrow(InvalidScheduleExpressionError);
    expect(atInstant('at(2020-01-01T00:00:00)', 'Europe/Berlin').toISOString()).toBe('2019-12-31T23:00:00.000Z'); // past, still resolvable
  });

  it('rejects an unknown time zone with a clear error', () => {
    expect(() => nextFireTime('cron(0 2 * * ? *)', 'Mars/Olympus_Mons', new Date())).toThrow(InvalidTimeZoneError);
    expect(() => nextFireTime('at(2026-12-01T09:00:00)', 'Not/AZone', new Date())).toThrow(/Unknown time zone "Not\/AZone".*IANA/);
  });
});

describe('toAwsAtExpression', () => {
  it('formats an instant as wall-clock time in the time zone', () => {
    expect(toAwsAtExpression(d('2026-12-01T14:00:00Z'), 'America/New_York')).toBe('at(2026-12-01T09:00:00)');
    expect(toAwsAtExpression(d('2026-07-01T07:05:09.999Z'), 'Europe/Berlin')).toBe('at(2026-07-01T09:05:09)');
    expect(toAwsAtExpression(d('2026-01-01T00:00:00Z'), 'UTC')).toBe('at(2026-01-01T00:00:00)');
    expect(toAwsAtExpression(d('2026-12-31T23:30:00Z'), 'Asia/Tokyo')).toBe('at(2027-01-01T08:30:00)');
    expect(() => toAwsAtExpression(new Date(), 'Nowhere/Town')).toThrow(InvalidTimeZoneError);
  });

  it.each([
    ['2026-12-01T14:00:00Z', 'America/New_York'],
    ['2026-03-08T07:00:00Z', 'America/New_York'], // first instant of EDT
    ['2026-11-01T05:59:59Z', 'America/New_York'], // last second of EDT
    ['2026-03-29T01:00:00Z', 'Europe/Berlin'],
    ['2026-10-25T00:30:00Z', 'Europe/Berlin'], // first pass of the repeated hour
    ['2026-06-15T12:34:56Z', 'Asia/Kolkata'],
    ['2026-06-15T12:34:56Z', 'UTC'],
  ])('round-trips %s in %s through nextFireTime', (instant, timezone) => {
    const at = toAwsAtExpression(d(instant), timezone);
    expect(iso(nextFireTime(at, timezone, new Date(d(instant).getTime() - 1)))).toBe(d(instant).toISOString());
  });

  it('cannot express the second pass of a repeated hour: it reads back as the first', () => {
    const secondPass = d('2026-11-01T06:30:00Z'); // 01:30 EST
    const at = toAwsAtExpression(secondPass, 'America/New_York');
    expect(at).toBe('at(2026-11-01T01:30:00)');
    expect(iso(atInstant(at, 'America/New_York'))).toBe('2026-11-01T05:30:00.000Z');
  });
});
