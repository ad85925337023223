import * as z from 'zod';

/** POST /v1/imports: what the file will hold and how it is written. */
export const CreateImportBody = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('contacts'), format: z.enum(['csv', 'ndjson']) }),
  z.strictObject({ kind: z.literal('history'), format: z.literal('ndjson').default('ndjson') }),
]);
export type CreateImportBody = z.output<typeof CreateImportBody>;
