import { EventBridgeEnvelope } from '../../events/envelope.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { CampaignStore } from '../../shared/campaigns/campaign-store.ts';
import { functionConfig, intSetting } from '../../shared/config.ts';
import { LeadScorer } from '../../shared/contacts/lead-scoring.ts';
import { CONTACT_TABLES, contactsFrom } from '../../shared/contacts/wiring.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import { MessageStore } from '../../shared/messages/message-store.ts';
import { messageQueueConsumer } from '../../shared/queue/message-consumer.ts';
import { recordProviderEvent, ResponseTally } from '../../shared/responses/recorder.ts';

const config = functionConfig('response-recorder', {
  tables: { ...CONTACT_TABLES, campaigns: true, idempotency: true, sends: true },
  queues: { providerEvents: true },
  publishesEvents: true,
  usesSecret: true,
  settings: { softBounce: { limit: intSetting('SOFT_BOUNCE_LIMIT', 3, 1, 100), windowDays: intSetting('SOFT_BOUNCE_WINDOW_DAYS', 30, 1, 365) } },
});
useProjectSecret(config.secretArn);
const contacts = contactsFrom(config);
const campaigns = new CampaignStore(config.tables.campaigns);
const scorer = new LeadScorer(config.tables.contacts, new IdempotencyMarkers(config.tables.idempotency));
const { softBounce } = config.settings;
const deps = { timeline: contacts.timeline, contacts: contacts.store, service: contacts.service, scorer, campaigns, softBounce, messages: new MessageStore(config.tables.sends) };

/** SES sending events and End User Messaging SMS delivery events onto timelines, with their effects; a batch's live counters are written once, after it. */
export const handler = messageQueueConsumer(EventBridgeEnvelope, (envelope, _meta, tally: ResponseTally) => recordProviderEvent(envelope, deps, tally), {
  begin: () => new ResponseTally(),
  end: (tally) => tally.flush(campaigns),
});
