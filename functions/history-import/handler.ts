import { HistoryImport, importHistory } from '../../shared/imports/history-import.ts';
import { requireEnv } from '../../shared/config.ts';
import { LeadScorer } from '../../shared/contacts/lead-scoring.ts';
import { contactsFromEnv } from '../../shared/contacts/wiring.ts';
import { httpApi, json, route } from '../../shared/http/api.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';

const contacts = contactsFromEnv();
const scorer = new LeadScorer(requireEnv('TABLE_CONTACTS'), new IdempotencyMarkers(requireEnv('TABLE_IDEMPOTENCY')));
const tables = { campaigns: requireEnv('TABLE_CAMPAIGNS'), sends: requireEnv('TABLE_SENDS') };

export const handler = httpApi({
  'POST /v1/campaigns/import': route({
    body: HistoryImport,
    maxBodyBytes: 10 * 1024 * 1024,
    handle: async ({ body }) => {
      const result = await importHistory(body, { contacts: contacts.store, timeline: contacts.timeline, scorer, tables });
      return json(result.created ? 201 : 200, result);
    },
  }),
});
