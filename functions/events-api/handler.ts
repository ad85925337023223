import { CampaignStore } from '../../shared/campaigns/campaign-store.ts';
import { requireEnv } from '../../shared/config.ts';
import { LeadScorer } from '../../shared/contacts/lead-scoring.ts';
import { contactsFromEnv } from '../../shared/contacts/wiring.ts';
import { httpApi, json, route } from '../../shared/http/api.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import { ConversionInput, conversionAddresses, recordConversion } from '../../shared/responses/conversions.ts';

const contacts = contactsFromEnv();
const markers = new IdempotencyMarkers(requireEnv('TABLE_IDEMPOTENCY'));
const scorer = new LeadScorer(requireEnv('TABLE_CONTACTS'), markers);
const campaigns = new CampaignStore(requireEnv('TABLE_CAMPAIGNS'));

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
