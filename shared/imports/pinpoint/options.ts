/**
 * The options of the Pinpoint import kinds, apart from the processors so that the API checks them
 * (POST /v1/imports) without loading the import code.
 */
import * as z from 'zod';
import { BadRequestError, issuesFromZod, type ValidationIssue } from '../../errors.ts';
import type { ImportKind } from '../chunk.ts';
import { PinpointConsentOptionSchema } from './endpoints.ts';

/** The tag a segment import puts on its contacts, and the segment rule's value. */
export const segmentTag = (segmentName: string): string => `pinpoint:${segmentName}`;
const MAX_SEGMENT_NAME = 64 - 'pinpoint:'.length;

/**
 * A Pinpoint job's options, given with `POST /v1/imports` and handed to the processor factory:
 * `consent` says what an ACTIVE endpoint without an opt-out means (default none: Pinpoint records
 * no consent evidence); `segmentName` is required for `pinpoint-segment` and names the segment
 * and its tag.
 */
export const PinpointImportOptionsSchema = z.strictObject({
  consent: PinpointConsentOptionSchema.optional(),
  segmentName: z
    .string({ error: 'must be text' })
    .trim()
    .min(1, { error: 'must not be empty' })
    .max(MAX_SEGMENT_NAME, { error: `must be at most ${MAX_SEGMENT_NAME} characters (it becomes the tag pinpoint:<name>)` })
    .optional(),
});
export type PinpointImportOptions = z.input<typeof PinpointImportOptionsSchema>;

/** Checks a job's options for its kind: 400 with the field path, before a job is created. */
export function parsePinpointImportOptions(kind: ImportKind, input: unknown): z.output<typeof PinpointImportOptionsSchema> {
  const parsed = PinpointImportOptionsSchema.safeParse(input ?? {});
  const issues: ValidationIssue[] = parsed.success ? [] : issuesFromZod(parsed.error.issues, 'options');
  if (parsed.success && kind === 'pinpoint-segment' && parsed.data.segmentName === undefined) issues.push({ path: 'options.segmentName', message: 'is required for a pinpoint-segment import' });
  if (issues.length) throw new PinpointOptionsError(issues);
  return parsed.data!;
}

export class PinpointOptionsError extends BadRequestError {
  override name = 'PinpointOptionsError';
  readonly issues: ValidationIssue[];
  constructor(issues: ValidationIssue[]) {
    super(`The import options are not valid: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, 'invalid_import_options');
    this.issues = issues;
  }
}

