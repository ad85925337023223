import { ConsentChanged, ContactUpdated } from '../../events/contacts.ts';
import { requireEnv } from '../../shared/config.ts';
import { Timeline } from '../../shared/contacts/timeline.ts';
import { eventQueueConsumer, on } from '../../shared/queue/event-consumer.ts';

const timeline = new Timeline(requireEnv('TABLE_INTERACTIONS'), requireEnv('TABLE_CONTACTS'), requireEnv('TABLE_ACTIVITY'));

/**
 * Domain events become entries on the contact's timeline, once each (keyed by the EventBridge
 * event id). Form submissions are not among them: the forms function writes their entry in the
 * same transaction as the submission, with what was submitted and what it holds.
 */
export const handler = eventQueueConsumer([
  on(ContactUpdated, async (detail, meta) => {
    await timeline.record({
      contactId: detail.contactId,
      id: meta.eventId,
      type: detail.created ? 'contact_created' : 'contact_updated',
      occurredAt: detail.occurredAt,
      data: { origin: detail.origin, changed: detail.changed },
    });
  }),
  on(ConsentChanged, async (detail, meta) => {
    await timeline.record({
      contactId: detail.contactId,
      id: meta.eventId,
      type: `consent_${detail.to}`,
      occurredAt: detail.occurredAt,
      channel: detail.channel,
      data: { from: detail.from, source: detail.source },
    });
  }),
]);
