import { ConsentChanged, ContactUpdated } from '../../events/contacts.ts';
import { functionConfig } from '../../shared/config.ts';
import { recordConsentChanged, recordContactUpdated } from '../../shared/contacts/interactions.ts';
import { Timeline } from '../../shared/contacts/timeline.ts';
import { eventQueueConsumer, on } from '../../shared/queue/event-consumer.ts';

const config = functionConfig('interaction-recorder', { tables: { interactions: true, contacts: true, activity: true }, queues: { interactions: true } });
const timeline = new Timeline(config.tables.interactions, config.tables.contacts, config.tables.activity);

/** Domain events become entries on the contact's timeline (shared/contacts/interactions.ts). */
export const handler = eventQueueConsumer([
  on(ContactUpdated, (detail, meta) => recordContactUpdated(detail, meta.eventId, timeline)),
  on(ConsentChanged, (detail, meta) => recordConsentChanged(detail, meta.eventId, timeline)),
]);
