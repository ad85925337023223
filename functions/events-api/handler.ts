import { CampaignStore } from '../../shared/campaigns/campaign-store.ts';
import { functionConfig } from '../../shared/config.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { LeadScorer } from '../../shared/contacts/lead-scoring.ts';
import { CONTACT_TABLES, contactsFrom } from '../../shared/contacts/wiring.ts';
import { httpApi, json, route } from '../../shared/http/api.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import { EventInput, recordEvent } from '../../shared/responses/events.ts';

const config = functionConfig('events-api', { tables: { ...CONTACT_TABLES, idempotency: true, campaigns: true }, queues: {}, publishesEvents: true, usesSecret: true });
useProjectSecret(config.secretArn);
const contacts = contactsFrom(config);
const markers = new IdempotencyMarkers(config.tables.idempotency);
const deps = { contacts: contacts.store, timeline: contacts.timeline, scorer: new LeadScorer(config.tables.contacts, markers), markers, campaigns: new CampaignStore(config.tables.campaigns) };

export const handler = httpApi({
  'POST /v1/events': route({
    body: EventInput,
    handle: async ({ body }) => {
      const { type, ...result } = await recordEvent(body, deps, 'api');
      // A conversion answers as it did before event types existed; the other types name theirs.
      return json(result.recorded ? 201 : 200, { ...(type === 'conversion' ? {} : { type }), ...result, duplicate: !result.recorded });
    },
  }),
});
