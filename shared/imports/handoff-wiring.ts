import { sendToQueue } from '../aws/queue.ts';
import { ImportJobStore } from './job-store.ts';
import type { HandoffDeps } from './jobs.ts';

/** What a synchronous import route's function needs of its configuration to hand a body over to a job. */
export interface HandoffConfig {
  tables: { imports: string };
  queues: { importUploads: string };
  publicBaseUrl: string;
}

/** The job store and the splitter's queue: no bucket, no import code (the route's bundle stays small). */
export function handoffFrom(config: HandoffConfig): HandoffDeps {
  return {
    jobs: new ImportJobStore(config.tables.imports),
    jobUrl: (id) => `${config.publicBaseUrl}/v1/imports/${id}`,
    handoff: async (id) => void (await sendToQueue(config.queues.importUploads, [{ body: JSON.stringify({ handoff: id }) }])),
  };
}
