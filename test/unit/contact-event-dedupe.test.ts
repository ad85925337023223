/**
 * A replayed import publishes a row's events again with new EventBridge ids; the consumers key
 * what they record on the change itself (contact.updated's changeId, consent.changed's consent
 * record id), so the timeline entry and the lead points land once. Without a changeId (every
 * other writer) the event id still keys the entry.
 */
import { describe, expect, test } from 'vitest';
import { recordConsentChanged, recordContactUpdated } from '../../shared/contacts/interactions.ts';
import { scoreConsentChange } from '../../shared/contacts/lead-scoring.ts';

const updated = () => ({ contactId: 'c1', created: true, changed: ['email'], origin: 'import' as const, occurredAt: '2026-12-06T01:00:00.000Z' });
const consent = () => ({ contactId: 'c1', channel: 'sms' as const, from: null, to: 'confirmed' as const, source: 'import', consentRecordId: 'rec-1', occurredAt: '2026-12-06T01:00:00.000Z' });

function recorder() {
  const ids: string[] = [];
  return { ids, timeline: { record: async (interaction: { id: string }) => (ids.push(interaction.id), 'recorded' as const) } };
}

describe('consumers dedupe a replayed import on the change, not the event id', () => {
  test('contact.updated: keyed by changeId when present, by the event id otherwise', async () => {
    const { ids, timeline } = recorder();
    await recordContactUpdated({ ...updated(), changeId: 'job-1#17' }, 'event-a', timeline as never);
    await recordContactUpdated({ ...updated(), changeId: 'job-1#17' }, 'event-b', timeline as never);
    await recordContactUpdated(updated(), 'event-c', timeline as never);
    expect(ids).toEqual(['job-1#17', 'job-1#17', 'event-c']);
  });

  test('consent.changed: the timeline entry and the lead award are keyed by the consent record', async () => {
    const { ids, timeline } = recorder();
    const awards: string[] = [];
    const scorer = { award: async (_contactId: string, key: string) => (awards.push(key), 'awarded' as const) };
    for (const eventId of ['event-a', 'event-b']) {
      await recordConsentChanged(consent(), eventId, timeline as never);
      await scoreConsentChange(consent(), eventId, scorer as never);
    }
    expect(ids).toEqual(['rec-1', 'rec-1']);
    expect(awards).toEqual(['rec-1', 'rec-1']);
  });
});
