import { ImportChunkTask } from '../../events/imports.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { functionConfig } from '../../shared/config.ts';
import { CONTACT_TABLES } from '../../shared/contacts/wiring.ts';
import { importChunk } from '../../shared/imports/jobs.ts';
import { importWorkerFrom } from '../../shared/imports/wiring.ts';
import { messageQueueConsumer } from '../../shared/queue/message-consumer.ts';

const config = functionConfig('import-worker', {
  tables: { ...CONTACT_TABLES, imports: true, campaigns: true, sends: true, idempotency: true, segments: true, segmentStats: true, templates: true },
  queues: { importChunks: true },
  buckets: { imports: true },
  publishesEvents: true,
  usesSecret: true,
  linksToPublicApi: true,
});
useProjectSecret(config.secretArn);
const deps = importWorkerFrom(config);

/** One chunk of an import job per message. */
export const handler = messageQueueConsumer(ImportChunkTask, async (task) => {
  await importChunk(task, deps);
});
