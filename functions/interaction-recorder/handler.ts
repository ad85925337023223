import { ContactUpdated } from '../../events/contacts.ts';
import { requireEnv } from '../../shared/config.ts';
import { Timeline } from '../../shared/contacts/timeline.ts';
import { eventQueueConsumer, on } from '../../shared/queue/event-consumer.ts';

const timeline = new Timeline(requireEnv('TABLE_INTERACTIONS'));

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
]);
