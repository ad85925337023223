import { ImportChunkTask } from '../../events/imports.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { functionConfig } from '../../shared/config.ts';
import { CONTACT_TABLES, contactsFrom } from '../../shared/contacts/wiring.ts';
import { contactsChunkProcessor } from '../../shared/imports/contacts-chunk.ts';
import { importChunk } from '../../shared/imports/jobs.ts';
import { importJobsFrom } from '../../shared/imports/wiring.ts';
import { messageQueueConsumer } from '../../shared/queue/message-consumer.ts';

const config = functionConfig('import-worker', {
  tables: { ...CONTACT_TABLES, imports: true, campaigns: true, sends: true, idempotency: true, segments: true, templates: true },
  queues: { importChunks: true },
  buckets: { imports: true },
  publishesEvents: true,
  usesSecret: true,
  linksToPublicApi: true,
});
useProjectSecret(config.secretArn);
const contacts = contactsFrom(config);
const deps = {
  ...importJobsFrom(config),
  processors: { contacts: contactsChunkProcessor(contacts) },
  finalizers: {},
};

/** One chunk of an import job per message. */
export const handler = messageQueueConsumer(ImportChunkTask, async (task) => {
  await importChunk(task, deps);
});
