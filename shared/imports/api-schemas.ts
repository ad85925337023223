import * as z from 'zod';
import { PinpointImportOptionsSchema } from './pinpoint/options.ts';

/** POST /v1/imports: what the file will hold, how it is written, and the kind's options. */
export const CreateImportBody = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('contacts'), format: z.enum(['csv', 'ndjson']) }),
  z.strictObject({ kind: z.literal('history'), format: z.literal('ndjson').default('ndjson') }),
  z.strictObject({ kind: z.literal('pinpoint-endpoints'), format: z.literal('ndjson').default('ndjson'), options: PinpointImportOptionsSchema.omit({ segmentName: true }).prefault({}) }),
  z.strictObject({ kind: z.literal('pinpoint-segment'), format: z.literal('csv').default('csv'), options: PinpointImportOptionsSchema.required({ segmentName: true }) }),
  z.strictObject({ kind: z.literal('pinpoint-templates'), format: z.literal('ndjson').default('ndjson') }),
]);
export type CreateImportBody = z.output<typeof CreateImportBody>;
