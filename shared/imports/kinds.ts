import { HISTORY_CHUNK_ROWS, type ImportFileFormat, type ImportKind } from './chunk.ts';
import { pinpointEndpointKey, pinpointSegmentRowKey } from './pinpoint/endpoints.ts';

/** How a kind's files are written and cut into chunks. */
export interface ImportKindSpec {
  formats: readonly ImportFileFormat[];
  /** Whether the file's first row goes to every chunk as its header instead of being imported. */
  header: (format: ImportFileFormat) => boolean;
  /** Rows with the same key must be imported by the same worker (the file is then regrouped). */
  partitionKey?: (row: string, header: string | undefined) => string | undefined;
  /** Rows per chunk when not the default (CHUNK_ROWS). */
  chunkRows?: number;
  /** What the kind's file holds, for error messages and the README. */
  describes: string;
}

export const IMPORT_KIND_SPECS: Record<ImportKind, ImportKindSpec> = {
  contacts: {
    formats: ['csv', 'ndjson'],
    header: (format) => format === 'csv',
    describes: 'contacts, one per row, as POST /v1/contacts/import takes them',
  },
  history: {
    formats: ['ndjson'],
    header: () => true,
    chunkRows: HISTORY_CHUNK_ROWS,
    describes: 'a past campaign: the first line {"campaign": {...}}, then one {"send"|"interaction"|"conversion"|"event": {...}} per line',
  },
  'pinpoint-endpoints': {
    formats: ['ndjson'],
    header: () => false,
    // One person's endpoints (email, SMS) become one contact: all lines of a User.UserId go to one worker.
    partitionKey: (row) => pinpointEndpointKey(row),
    describes: 'an Amazon Pinpoint endpoint export (the newline-delimited JSON an export job writes to S3)',
  },
  'pinpoint-segment': {
    formats: ['csv'],
    header: () => true,
    partitionKey: (row, header) => (header === undefined ? undefined : pinpointSegmentRowKey(header, row)),
    describes: 'an Amazon Pinpoint imported-segment CSV',
  },
  'pinpoint-templates': {
    formats: ['ndjson'],
    header: () => false,
    describes: 'Amazon Pinpoint message templates, one GetEmailTemplate/GetSmsTemplate response per line',
  },
};

export { CONTENT_TYPES } from './chunk.ts';
