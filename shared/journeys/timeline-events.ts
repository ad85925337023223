import type { JourneyEvent } from '../../events/journeys.ts';

/** Timeline entry types that can enter, release, finish or end a journey (responses only when they answer a journey's message). */
const RELEVANT = new Set(['form_submitted', 'converted', 'custom', 'unsubscribed']);
const RESPONSES = new Set(['delivered', 'opened', 'clicked', 'replied']);

/**
 * A new timeline entry as the journey worker sees it, or undefined for entries no journey reacts
 * to (sends, page views, contact updates, responses to campaigns). Pure: the stream reader
 * (functions/journey-events) maps each INSERT with it.
 */
export function journeyEventOf(item: Record<string, unknown>): JourneyEvent | undefined {
  const type = typeof item.type === 'string' ? item.type : '';
  const campaignId = typeof item.campaignId === 'string' ? item.campaignId : undefined;
  const relevant = RELEVANT.has(type) || type.startsWith('consent_') || (RESPONSES.has(type) && campaignId?.startsWith('j.'));
  if (!relevant || typeof item.contactId !== 'string' || typeof item.id !== 'string' || typeof item.occurredAt !== 'string') return undefined;
  // Imported history is the past: it enters no one and moves no wait.
  if (item.origin !== undefined) return undefined;
  const data = (item.data ?? {}) as Record<string, unknown>;
  const name = typeof data.name === 'string' ? data.name : undefined;
  const value = typeof data.value === 'number' ? data.value : undefined;
  const formId = typeof data.formId === 'string' ? data.formId : undefined;
  const channel = item.channel === 'email' || item.channel === 'sms' ? item.channel : undefined;
  return {
    contactId: item.contactId,
    eventId: item.id,
    type,
    occurredAt: item.occurredAt,
    ...(name !== undefined ? { name } : {}),
    ...(value !== undefined ? { value } : {}),
    ...(channel ? { channel } : {}),
    ...(formId ? { formId } : {}),
    ...(campaignId ? { campaignId } : {}),
    ...(typeof item.sendId === 'string' ? { sendId: item.sendId } : {}),
  };
}
