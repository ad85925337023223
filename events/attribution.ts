import * as z from 'zod';

/** One parallel-scan segment of an attribution run (a worker near its timeout re-enqueues itself with `startKey`). */
export const AttributionScanTask = z.object({
  runId: z.string().min(1),
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  segment: z.int().min(0),
  totalSegments: z.int().min(1),
  startKey: z.record(z.string(), z.unknown()).optional(),
});
export type AttributionScanTask = z.infer<typeof AttributionScanTask>;
