import { LeadScorer } from '../contacts/lead-scoring.ts';
import { contactsFrom, type ContactsConfig } from '../contacts/wiring.ts';
import { IdempotencyMarkers } from '../idempotency.ts';
import { SegmentStore } from '../segments/segment-store.ts';
import { TemplateStore } from '../templates/template-store.ts';
import type { ChunkProcessor, ImportKind } from './chunk.ts';
import { contactsChunkProcessor } from '../contacts/import.ts';
import { historyChunkProcessor } from './history-import.ts';
import type { ChunkWorkerDeps } from './jobs.ts';
import { importJobsFrom, type ImportJobsConfig } from './job-wiring.ts';
import { pinpointProcessor, type PinpointImportDeps, type PinpointImportOptions } from './pinpoint/processors.ts';
import { ImportRowLedger } from './pinpoint/row-ledger.ts';

export type { ImportJobsConfig } from './job-wiring.ts';

/** What the chunk workers need: the stores every kind writes to. */
export interface ImportWorkerConfig extends ImportJobsConfig, ContactsConfig {
  tables: ImportJobsConfig['tables'] & ContactsConfig['tables'] & { segments: string; segmentStats: string; templates: string; idempotency: string; campaigns: string; sends: string };
}

/** The job framework with each kind's chunk processor. */
export function importWorkerFrom(config: ImportWorkerConfig): ChunkWorkerDeps {
  const contacts = contactsFrom(config);
  const pinpoint: PinpointImportDeps = {
    contacts: { service: contacts.service, store: contacts.store, suppressions: contacts.suppressions, publish: contacts.publish },
    segments: new SegmentStore({ segments: config.tables.segments, segmentStats: config.tables.segmentStats }),
    templates: new TemplateStore(config.tables.templates),
    ledger: new ImportRowLedger(config.tables.idempotency),
  };
  const byJobOptions =
    (kind: Extract<ImportKind, `pinpoint-${string}`>): ChunkProcessor =>
    (chunk) =>
      pinpointProcessor(kind, pinpoint, (chunk.options ?? {}) as PinpointImportOptions)(chunk);
  return {
    ...importJobsFrom(config),
    processors: {
      contacts: contactsChunkProcessor(contacts),
      history: historyChunkProcessor({
        contacts: contacts.store,
        timeline: contacts.timeline,
        scorer: new LeadScorer(config.tables.contacts, new IdempotencyMarkers(config.tables.idempotency)),
        tables: { campaigns: config.tables.campaigns, sends: config.tables.sends },
      }),
      'pinpoint-endpoints': byJobOptions('pinpoint-endpoints'),
      'pinpoint-segment': byJobOptions('pinpoint-segment'),
      'pinpoint-templates': byJobOptions('pinpoint-templates'),
    },
    finalizers: {},
  };
}
