import { ConsentChanged, ContactUpdated } from '../../events/contacts.ts';
import { functionConfig } from '../../shared/config.ts';
import { Timeline } from '../../shared/contacts/timeline.ts';
import { eventQueueConsumer, on } from '../../shared/queue/event-consumer.ts';

const config = functionConfig('interaction-recorder', { tables: { interactions: true, contacts: true, activity: true }, queues: { interactions: true } });
const timeline = new Timeline(config.tables.interactions, config.tables.contacts, config.tables.activity);

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
