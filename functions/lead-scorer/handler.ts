import { ConsentChanged, LeadCaptured } from '../../events/contacts.ts';
import { functionConfig } from '../../shared/config.ts';
import { LeadScorer } from '../../shared/contacts/lead-scoring.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import { eventQueueConsumer, on } from '../../shared/queue/event-consumer.ts';

const config = functionConfig('lead-scorer', { tables: { contacts: true, idempotency: true }, queues: { leadScoring: true } });
const scorer = new LeadScorer(config.tables.contacts, new IdempotencyMarkers(config.tables.idempotency));

/** Lead points from behaviour (see LEAD_POINTS), once per event. */
export const handler = eventQueueConsumer([
  // One award per contact, form and UTC day: a flood of posts of someone's address (or a double click) is one submission's worth.
  on(LeadCaptured, async (detail) => {
    await scorer.award(detail.contactId, `${detail.contactId}#${detail.formId}#${detail.occurredAt.slice(0, 10)}`, 'form_submitted');
  }),
  on(ConsentChanged, async (detail, meta) => {
    if (detail.to !== 'confirmed') return;
    if (detail.channel === 'email' && detail.from === 'pending') await scorer.award(detail.contactId, meta.eventId, 'email_confirmed');
    if (detail.channel === 'sms') await scorer.award(detail.contactId, meta.eventId, 'sms_consented');
  }),
]);
