import { ImportUploadMessage, notifiedKey } from '../../events/imports.ts';
import { sendToQueue } from '../../shared/aws/queue.ts';
import { functionConfig } from '../../shared/config.ts';
import { startUploadedJob, storeHandedOverBody } from '../../shared/imports/jobs.ts';
import { importJobsFrom } from '../../shared/imports/job-wiring.ts';
import { messageQueueConsumer } from '../../shared/queue/message-consumer.ts';

const config = functionConfig('import-splitter', { tables: { imports: true }, queues: { importUploads: true, importChunks: true }, buckets: { imports: true }, linksToPublicApi: true });
const deps = { ...importJobsFrom(config), enqueue: async (tasks: Array<{ jobId: string; index: number }>) => void (await sendToQueue(config.queues.importChunks, tasks.map((t) => ({ body: JSON.stringify(t) })))) };

/** An import file arrived in the bucket: split its job into chunks for the workers (S3 notifications, one per message); a handed-over body is stored as its job's file first. */
export const handler = messageQueueConsumer(ImportUploadMessage, async (notification) => {
  if ('handoff' in notification) return storeHandedOverBody(notification.handoff, deps);
  if (!('Records' in notification)) return; // s3:TestEvent when the notification is configured
  for (const record of notification.Records) {
    if (record.s3.bucket.name !== config.buckets.imports || !record.eventName.startsWith('ObjectCreated:')) continue;
    await startUploadedJob(notifiedKey(record.s3.object.key), deps);
  }
});
