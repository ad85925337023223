import { CampaignStore } from '../../shared/campaigns/campaign-store.ts';
import { functionConfig } from '../../shared/config.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { LeadScorer } from '../../shared/contacts/lead-scoring.ts';
import { CONTACT_TABLES, contactsFrom } from '../../shared/contacts/wiring.ts';
import { httpApi, json, route } from '../../shared/http/api.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import { ConversionInput, conversionAddresses, recordConversion } from '../../shared/responses/conversions.ts';

const config = functionConfig('events-api', { tables: { ...CONTACT_TABLES, idempotency: true, campaigns: true }, queues: {}, publishesEvents: true, usesSecret: true });
useProjectSecret(config.secretArn);
const contacts = contactsFrom(config);
const markers = new IdempotencyMarkers(config.tables.idempotency);
const scorer = new LeadScorer(config.tables.contacts, markers);
const campaigns = new CampaignStore(config.tables.campaigns);

export const handler = httpApi({
  'POST /v1/events': route({
    body: ConversionInput,
    handle: async ({ body }) => {
      const { email, phone } = conversionAddresses(body);
      const result = await recordConversion({ ...body, email, phone }, { contacts: contacts.store, timeline: contacts.timeline, scorer, markers, campaigns }, 'api');
      return json(result.recorded ? 201 : 200, { ...result, duplicate: !result.recorded });
    },
  }),
});
