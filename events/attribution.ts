import * as z from 'zod';

/** One parallel-scan segment of an attribution run (a worker near its timeout re-enqueues itself with `startKey`). */
export const AttributionScanTask = z.object({
  runId: z.string().min(1),
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  segment: z.int().min(0),
  totalSegments: z.int().min(1),
  startKey: z.record(z.string(), z.unknown()).optional(),
  /** A learning run: the scan also collects training examples (docs/learning-design.md). */
  learn: z.boolean().optional(),
});
export type AttributionScanTask = z.infer<typeof AttributionScanTask>;

/**
 * Work of a run's learning phases (docs/learning-design.md §4), one kind per message on the
 * `learning` queue: train one goal's propensity and uplift models, fit the BTYD models, or score
 * one parallel-scan segment of the contacts table (a worker near its timeout re-enqueues itself
 * with `startKey`).
 */
export const LearningTask = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('train'), runId: z.string().min(1), goal: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/) }),
  z.object({ kind: z.literal('btyd'), runId: z.string().min(1) }),
  z.object({
    kind: z.literal('score'),
    runId: z.string().min(1),
    segment: z.int().min(0),
    totalSegments: z.int().min(1),
    startKey: z.record(z.string(), z.unknown()).optional(),
  }),
]);
export type LearningTask = z.infer<typeof LearningTask>;
