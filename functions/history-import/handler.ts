import { HistoryImport, importHistory } from '../../shared/imports/history-import.ts';
import { functionConfig } from '../../shared/config.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { LeadScorer } from '../../shared/contacts/lead-scoring.ts';
import { CONTACT_TABLES, contactsFrom } from '../../shared/contacts/wiring.ts';
import { httpApi, json, route } from '../../shared/http/api.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';

const config = functionConfig('history-import', { tables: { ...CONTACT_TABLES, campaigns: true, sends: true, idempotency: true }, queues: {}, publishesEvents: true, usesSecret: true });
useProjectSecret(config.secretArn);
const contacts = contactsFrom(config);
const scorer = new LeadScorer(config.tables.contacts, new IdempotencyMarkers(config.tables.idempotency));
const tables = { campaigns: config.tables.campaigns, sends: config.tables.sends };

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
