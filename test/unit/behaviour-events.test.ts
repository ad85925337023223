import { describe, expect, test } from 'vitest';
import * as z from 'zod';
import { behaviourData, behaviourEventRow } from '../../shared/responses/behaviour-events.ts';

describe('behaviourData: what the timeline keeps', () => {
  test('a page keeps its origin and path, a referrer its origin; a custom event its name and properties', () => {
    expect(behaviourData({ type: 'page_view', url: 'https://shop.example.com/p/1?email=a@b.c#x', title: 'P', referrer: 'https://ref.example.org/path?q=1', idempotencyKey: 'k', occurredAt: '2026-11-01T00:00:00Z' }, 'api')).toEqual({
      url: 'https://shop.example.com/p/1',
      path: '/p/1',
      title: 'P',
      referrer: 'https://ref.example.org',
      source: 'api',
    });
    expect(behaviourData({ type: 'visit', idempotencyKey: 'k', occurredAt: '2026-11-01T00:00:00Z' }, 'import')).toEqual({ source: 'import' });
    expect(behaviourData({ type: 'custom', name: 'x', properties: {}, idempotencyKey: 'k', occurredAt: '2026-11-01T00:00:00Z' }, 'api')).toEqual({ name: 'x', source: 'api' });
  });
});

describe('behaviourEventRow: the history import’s row of a site event', () => {
  const Row = behaviourEventRow(z.strictObject({ email: z.string() }), z.iso.datetime({ offset: true }));
  test('takes each type with its fields under the importer’s contact and time schemas', () => {
    expect(Row.parse({ type: 'visit', contact: { email: 'a@example.com' }, occurredAt: '2025-01-01T00:00:00Z' })).toEqual({ type: 'visit', contact: { email: 'a@example.com' }, occurredAt: '2025-01-01T00:00:00Z' });
    expect(Row.safeParse({ type: 'page_view', contact: { email: 'a@example.com' }, occurredAt: '2025-01-01T00:00:00Z' }).error?.issues.map((i) => i.path.join('.'))).toEqual(['url']);
    expect(Row.safeParse({ type: 'opened', contact: { email: 'a@example.com' }, occurredAt: '2025-01-01T00:00:00Z' }).error?.issues.map((i) => i.path.join('.'))).toEqual(['type']);
  });
});
