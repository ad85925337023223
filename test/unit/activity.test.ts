import { describe, expect, test } from 'vitest';
import { ACTIVITY_RETENTION_DAYS, activityKeys, expiredActivityKeys, hourOf, indexActivity } from '../../shared/segments/activity.ts';

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
