import { ObjectStore } from '../aws/objects.ts';
import { LeadScorer } from '../contacts/lead-scoring.ts';
import { contactsFrom, type ContactsConfig } from '../contacts/wiring.ts';
import { IdempotencyMarkers } from '../idempotency.ts';
import { SegmentStore } from '../segments/segment-store.ts';
import { TemplateStore } from '../templates/template-store.ts';
import type { ChunkProcessor, ImportKind } from './chunk.ts';
import { contactsChunkProcessor } from '../contacts/import.ts';
import { historyChunkProcessor } from './history-import.ts';
import { ImportJobStore } from './job-store.ts';
import type { ChunkWorkerDeps, ImportJobDeps } from './jobs.ts';
import { IMPORT_KIND_SPECS } from './kinds.ts';
import { pinpointProcessor, type PinpointImportDeps, type PinpointImportOptions } from './pinpoint/processors.ts';
import { ImportRowLedger } from './pinpoint/row-ledger.ts';

/** What import jobs need of a function's configuration (shared/config.ts). */
export interface ImportJobsConfig {
  tables: { imports: string };
  buckets: { imports: string };
  publicBaseUrl: string;
}

/** The job store, the imports bucket and the kinds this deployment imports. */
export function importJobsFrom(config: ImportJobsConfig): ImportJobDeps {
  return {
    jobs: new ImportJobStore(config.tables.imports),
    objects: new ObjectStore(config.buckets.imports),
    kinds: IMPORT_KIND_SPECS,
    jobUrl: (id) => `${config.publicBaseUrl}/v1/imports/${id}`,
  };
}

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
