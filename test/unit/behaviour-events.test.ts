import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import * as z from 'zod';
import { HistoryEvent, importedEventKey } from '../../shared/imports/history-import.ts';
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

describe('importedEventKey: the key of a history event that carries none', () => {
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const visit = HistoryEvent.parse({ type: 'visit', contact: { email: 'a@example.com' }, occurredAt: '2025-01-01T01:00:00+01:00', url: 'https://shop.example.com/a?x=1', referrer: 'https://r.example.org/' });
  test('is `import:<type>:<UTC time>:<SHA-256 of the other fields as JSON, keys sorted>`', () => {
    expect(importedEventKey(visit)).toBe(`import:visit:2025-01-01T00:00:00.000Z:${sha256('{"referrer":"https://r.example.org/","url":"https://shop.example.com/a?x=1"}')}`);
    const custom = HistoryEvent.parse({ type: 'custom', contact: { contactId: '6b0f3c1e-0000-4000-8000-000000000001' }, occurredAt: '2025-01-01T00:00:00Z', name: 'added_to_cart', properties: { sku: 'M-1', qty: 2, gift: false } });
    expect(importedEventKey(custom)).toBe(`import:custom:2025-01-01T00:00:00.000Z:${sha256('{"name":"added_to_cart","properties":{"gift":false,"qty":2,"sku":"M-1"}}')}`);
  });
  test('the same event named another way, or with its fields in another order, has the same key; another time or field another', () => {
    const same = HistoryEvent.parse({ referrer: 'https://r.example.org/', url: 'https://shop.example.com/a?x=1', occurredAt: '2025-01-01T00:00:00Z', contact: { contactId: '6b0f3c1e-0000-4000-8000-000000000001' }, type: 'visit' });
    expect(importedEventKey(same)).toBe(importedEventKey(visit));
    expect(importedEventKey(HistoryEvent.parse({ ...visit, occurredAt: '2025-01-01T00:00:01Z' }))).not.toBe(importedEventKey(visit));
    expect(importedEventKey(HistoryEvent.parse({ ...visit, url: 'https://shop.example.com/a?x=2' }))).not.toBe(importedEventKey(visit));
    expect(importedEventKey(HistoryEvent.parse({ ...visit, type: 'page_view' }))).not.toBe(importedEventKey(visit));
  });
});
