import { ObjectStore } from '../aws/objects.ts';
import { ImportJobStore } from './job-store.ts';
import type { ImportJobDeps } from './jobs.ts';
import { IMPORT_KIND_SPECS } from './kinds.ts';

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
