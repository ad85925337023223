import { ConsentChanged, LeadCaptured } from '../../events/contacts.ts';
import { functionConfig } from '../../shared/config.ts';
import { LeadScorer, scoreConsentChange, scoreLeadCaptured } from '../../shared/contacts/lead-scoring.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import { eventQueueConsumer, on } from '../../shared/queue/event-consumer.ts';

const config = functionConfig('lead-scorer', { tables: { contacts: true, idempotency: true }, queues: { leadScoring: true } });
const scorer = new LeadScorer(config.tables.contacts, new IdempotencyMarkers(config.tables.idempotency));

/** Lead points from behaviour (see LEAD_POINTS), once per event. */
export const handler = eventQueueConsumer([
  on(LeadCaptured, (detail) => scoreLeadCaptured(detail, scorer)),
  on(ConsentChanged, (detail, meta) => scoreConsentChange(detail, meta.eventId, scorer)),
]);
