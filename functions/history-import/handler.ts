import { HistoryImport, importHistory } from '../../shared/imports/history-import.ts';
import { functionConfig } from '../../shared/config.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { LeadScorer } from '../../shared/contacts/lead-scoring.ts';
import { CONTACT_TABLES, contactsFrom } from '../../shared/contacts/wiring.ts';
import { httpApi, json, route, type JwtClaims } from '../../shared/http/api.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import { jobFromRequest } from '../../shared/imports/jobs.ts';
import { handoffFrom } from '../../shared/imports/handoff-wiring.ts';

const config = functionConfig('history-import', {
  tables: { ...CONTACT_TABLES, campaigns: true, sends: true, idempotency: true, imports: true },
  queues: { importUploads: true },
  publishesEvents: true,
  usesSecret: true,
  linksToPublicApi: true,
});
useProjectSecret(config.secretArn);
const contacts = contactsFrom(config);
const scorer = new LeadScorer(config.tables.contacts, new IdempotencyMarkers(config.tables.idempotency));
const tables = { campaigns: config.tables.campaigns, sends: config.tables.sends };
const jobs = handoffFrom(config);
const actorOf = (claims: JwtClaims | undefined): string | undefined => (typeof claims?.sub === 'string' ? claims.sub : undefined);

export const handler = httpApi({
  'POST /v1/campaigns/import': route({
    body: HistoryImport,
    maxBodyBytes: 10 * 1024 * 1024,
    handle: async ({ body, claims, context }) => {
      const result = await importHistory(
        body,
        { contacts: contacts.store, timeline: contacts.timeline, scorer, tables },
        { remainingMs: () => context.getRemainingTimeInMillis(), queue: (id, ndjson) => jobFromRequest({ kind: 'history', format: 'ndjson', body: ndjson, id }, actorOf(claims), jobs) },
      );
      if ('job' in result) return json(202, result);
      return json(result.created ? 201 : 200, result);
    },
  }),
});
