import { describe, expect, test } from 'vitest';
import { ACTIVITY_RETENTION_DAYS, activityKeys, expiredActivityKeys, hourOf, indexActivity } from '../../shared/activity/activity.ts';
import { activityMonthExpiry, activityMonthOf, mergeActivity, monthsToRead, oldestActivityMonth, previousMonth } from '../../shared/activity/activity-store.ts';

describe('expiredActivityKeys', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');
  const oldest = hourOf(now) - ACTIVITY_RETENTION_DAYS * 24;

  test('returns exactly the counters that rules no longer read, oldest first', () => {
    const stored = {
      [`sent|email|${oldest - 1}`]: 1,
      [`sent|c:camp-1|${oldest - 1}`]: 1,
      [`opened|email|${oldest - 500}`]: 2,
      [`sent|email|${oldest}`]: 1, // the first hour still inside retention
      [`clicked|email|${hourOf(now)}`]: 3,
      'not-a-counter': 4,
      'odd|key|12a': 1,
    };
    const expired = expiredActivityKeys(stored, now);
    expect(expired).toEqual([`opened|email|${oldest - 500}`, `sent|c:camp-1|${oldest - 1}`, `sent|email|${oldest - 1}`]);
    // The rules' view is the same with and without them.
    const kept = Object.fromEntries(Object.entries(stored).filter(([k]) => !expired.includes(k)));
    expect(indexActivity(kept, now)).toEqual(indexActivity(stored, now));
  });

  test('bounds one night’s removals and handles a contact without counters', () => {
    const stored = Object.fromEntries(Array.from({ length: 450 }, (_, i) => [`sent|email|${oldest - 1 - i}`, 1]));
    const expired = expiredActivityKeys(stored, now);
    expect(expired).toHaveLength(200);
    expect(expired[0]).toBe(`sent|email|${oldest - 450}`);
    expect(expiredActivityKeys(undefined, now)).toEqual([]);
    expect(expiredActivityKeys({}, now)).toEqual([]);
  });

  test('the keys an interaction adds expire together once it is past retention', () => {
    const keys = activityKeys({ type: 'delivered', channel: 'email', campaignId: 'c-9', occurredAt: '2025-10-01T08:30:00Z' });
    const stored = Object.fromEntries(keys.map((k) => [k, 1]));
    expect(expiredActivityKeys(stored, Date.parse('2026-11-05T09:00:00Z')).sort()).toEqual([...keys].sort());
    expect(expiredActivityKeys(stored, Date.parse('2026-11-05T08:00:00Z'))).toEqual([]); // 400 days later to the hour: still counted
  });
});

describe('activity month items', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');

  test('an interaction is counted under its UTC month, kept until its last hour is past retention', () => {
    expect(activityMonthOf('2026-11-30T23:59:59.999Z')).toBe('2026-11');
    expect(activityMonthOf('2026-12-01T00:30:00+01:00')).toBe('2026-11');
    // The item of November 2026 outlives its last counter (Nov 30 23:00 + 400 days) and is gone the day after.
    const expiry = activityMonthExpiry('2026-11') * 1000;
    const lastHourExpires = Date.parse('2026-11-30T23:00:00Z') + ACTIVITY_RETENTION_DAYS * 86_400_000;
    expect(expiry).toBeGreaterThan(lastHourExpires);
    expect(expiry - lastHourExpires).toBeLessThanOrEqual(2 * 86_400_000);
    expect(activityMonthExpiry('2026-12')).toBe(Date.UTC(2027, 0, 1) / 1000 + (ACTIVITY_RETENTION_DAYS + 1) * 86_400);
  });

  test('readers fetch the listed months within retention plus the two recent ones, listed or not', () => {
    const listed = new Set(['2025-09', '2025-10', '2025-11', '2026-06']);
    expect(oldestActivityMonth(now)).toBe('2025-10');
    expect(monthsToRead(listed, now)).toEqual(['2025-10', '2025-11', '2026-06', '2026-10', '2026-11']);
    expect(monthsToRead(undefined, now)).toEqual(['2026-10', '2026-11']);
    // A reader that looks back 8 days (frequency caps) on the 25th needs this month only; on the 3rd, the last one too.
    expect(monthsToRead(listed, now, now - 8 * 86_400_000)).toEqual(['2026-11']);
    const third = Date.parse('2026-12-03T08:00:00Z');
    expect(monthsToRead(listed, third, third - 8 * 86_400_000)).toEqual(['2026-11', '2026-12']);
    expect(previousMonth('2026-01')).toBe('2025-12');
    expect(previousMonth('2026-03')).toBe('2026-02');
  });

  test('merging adds month counters to the contact’s own, ignoring the item’s key and bookkeeping', () => {
    const merged = mergeActivity({ 'sent|email|10': 1, 'opened|email|11': 2 }, [
      { contactId: 'c', month: '2026-11', expiresAt: 123, linked: true, 'sent|email|10': 2, 'clicked|c:x|12': 1 },
      { contactId: 'c', month: '2026-10', 'sent|email|9': 1 },
    ]);
    expect(merged).toEqual({ 'sent|email|10': 3, 'opened|email|11': 2, 'clicked|c:x|12': 1, 'sent|email|9': 1 });
    expect(mergeActivity(undefined, [])).toEqual({});
  });
});
