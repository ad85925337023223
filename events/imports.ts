import * as z from 'zod';

/**
 * Queue message contracts of import jobs: the S3 notification that a file arrived (S3's own
 * event message structure, version 2.x, as S3 sends it to SQS) and one chunk of a job to import.
 */

/** S3 event notification (or the s3:TestEvent S3 sends once when a notification is configured). */
export const S3ObjectCreatedNotification = z.union([
  z.object({
    Records: z.array(
      z.object({
        eventName: z.string(),
        s3: z.object({
          bucket: z.object({ name: z.string() }),
          object: z.object({ key: z.string(), size: z.number().optional() }),
        }),
      }),
    ),
  }),
  z.object({ Event: z.literal('s3:TestEvent') }),
]);
export type S3ObjectCreatedNotification = z.infer<typeof S3ObjectCreatedNotification>;

/** A synchronous import route handed its body over to a job: store it as the job's file. */
export const ImportHandoff = z.object({ handoff: z.uuid() });
export type ImportHandoff = z.infer<typeof ImportHandoff>;

/** What the splitter's queue carries. */
export const ImportUploadMessage = z.union([S3ObjectCreatedNotification, ImportHandoff]);

/** S3 URL-encodes object keys in notifications (a space arrives as "+"). */
export const notifiedKey = (key: string): string => decodeURIComponent(key.replace(/\+/g, ' '));

/** Import one chunk of a job (its plan is the chunk item in the imports table). */
export const ImportChunkTask = z.object({
  jobId: z.uuid(),
  index: z.int().min(0),
});
export type ImportChunkTask = z.infer<typeof ImportChunkTask>;
