import type { ConsentChanged, ContactUpdated } from '../../events/contacts.ts';
import type { DetailOf } from '../../events/contract.ts';
import type { Timeline } from './timeline.ts';

/**
 * Domain events as entries on the contact's timeline, once each: keyed by the change they report
 * (an import row's change id, a consent record's id) or else the EventBridge event id, so an
 * event published again by a replayed import lands once. Form submissions are not among them: the forms function writes their entry in the same
 * transaction as the submission, with what was submitted and what it holds.
 */
export async function recordContactUpdated(detail: DetailOf<typeof ContactUpdated>, eventId: string, timeline: Pick<Timeline, 'record'>): Promise<void> {
  await timeline.record({
    contactId: detail.contactId,
    id: detail.changeId ?? eventId,
    type: detail.created ? 'contact_created' : 'contact_updated',
    occurredAt: detail.occurredAt,
    data: { origin: detail.origin, changed: detail.changed },
  });
}

export async function recordConsentChanged(detail: DetailOf<typeof ConsentChanged>, eventId: string, timeline: Pick<Timeline, 'record'>): Promise<void> {
  await timeline.record({
    contactId: detail.contactId,
    id: detail.consentRecordId || eventId,
    type: `consent_${detail.to}`,
    occurredAt: detail.occurredAt,
    channel: detail.channel,
    data: { from: detail.from, source: detail.source },
  });
}
