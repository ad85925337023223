import * as z from 'zod';

/**
 * Queue message contracts of the campaign pipeline (SQS bodies, not bus events: a launch
 * publishes no event per recipient). Producers build them with these schemas; consumers parse
 * with them.
 */

/** Fire a campaign run (from its schedule or an immediate launch), or re-queue sends after a resume. */
export const LaunchMessage = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('launch'),
    campaignId: z.string().min(1),
    /** EventBridge Scheduler's scheduled time for recurring runs (`<aws.scheduler.scheduled-time>`). */
    scheduledTime: z.string().optional(),
  }),
  z.object({ kind: z.literal('resume'), campaignId: z.string().min(1) }),
]);
export type LaunchMessage = z.infer<typeof LaunchMessage>;

/** One parallel-scan segment of a run's audience; a worker near its timeout re-enqueues itself with `startKey`. */
export const AudienceScanTask = z.object({
  campaignId: z.string().min(1),
  runId: z.string().min(1),
  segment: z.int().min(0),
  totalSegments: z.int().min(1),
  startKey: z.record(z.string(), z.unknown()).optional(),
});
export type AudienceScanTask = z.infer<typeof AudienceScanTask>;

/** Several recipients per message: one SQS request carries up to 50 sends. */
export const MAX_RECIPIENTS_PER_MESSAGE = 50;
export const SendBatch = z.object({
  campaignId: z.string().min(1),
  runId: z.string().min(1),
  channel: z.enum(['email', 'sms']),
  recipients: z.array(z.object({ contactId: z.string().min(1), variant: z.string().min(1) })).min(1).max(MAX_RECIPIENTS_PER_MESSAGE),
});
export type SendBatch = z.infer<typeof SendBatch>;
