import type { ValidationIssue } from '../errors.ts';

/** What an import job imports; each kind has one chunk processor. */
export const IMPORT_KINDS = ['contacts', 'history', 'pinpoint-endpoints', 'pinpoint-segment', 'pinpoint-templates'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

/** How an import file is written: CSV (first line the header) or newline-delimited JSON. */
export const IMPORT_FILE_FORMATS = ['csv', 'ndjson'] as const;
export type ImportFileFormat = (typeof IMPORT_FILE_FORMATS)[number];
export const CONTENT_TYPES: Record<ImportFileFormat, string> = { csv: 'text/csv', ndjson: 'application/x-ndjson' };

/** A chunk is what one worker imports in one go (a few seconds of work); synchronous routes import in the same slices. */
export const CHUNK_ROWS = 1_000;
/** History rows are heavier (a send record, timeline entries, counters): smaller chunks, and the route's slices, of this many rows. */
export const HISTORY_CHUNK_ROWS = 250;
/** The slice a synchronous contact import checks the time after (its rows are replay-exact by line, whatever the slicing). */
export const SYNC_SLICE_ROWS = 250;
/** Time a synchronous import route keeps back when it hands its body over to a job: enough to store the body and answer. */
export const HANDOFF_MS = 8_000;

/**
 * Whether a synchronous import must hand over before its next slice: less time left than the
 * margin plus what the next slice should take at the slowest pace per row seen so far.
 */
export const mustHandOver = (remainingMs: number, slowestMsPerRow: number, nextRows: number): boolean => remainingMs < HANDOFF_MS + slowestMsPerRow * nextRows;

/** One row's outcome; `line` is the 1-based line of the file where the row starts. */
export type ImportRowStatus = 'created' | 'updated' | 'unchanged' | 'failed';
export interface ImportRowOutcome {
  line: number;
  status: ImportRowStatus;
  /** The contact, campaign or template the row wrote or matched. */
  id?: string;
  issues?: ValidationIssue[];
}

/**
 * A slice of an import file handed to one worker: whole rows only, never a row cut in two.
 * `header` is the file's first line when the kind needs it in every chunk (a CSV header; the
 * campaign line of a history file); the chunk's text then starts after it.
 */
export interface ImportChunk {
  jobId: string;
  kind: ImportKind;
  format: ImportFileFormat;
  /** 0-based chunk number within the job. */
  index: number;
  header?: string;
  /** The chunk's rows as written in the file (lines joined by "\n"). */
  text: string;
  /** The file line number of the first line of `text`. */
  firstLine: number;
  /**
   * Present when the file was regrouped by key (rows of one key in one chunk): the file line of
   * each row of `text`, in order (the rows are then not contiguous; `text` has no blank lines).
   */
  lineNumbers?: number[];
  /** Kind-specific settings given when the job was created (e.g. a Pinpoint segment's name). */
  options?: Record<string, unknown>;
  /** Who started the job (the JWT subject), recorded as consent evidence and on audit fields. */
  actor?: string;
}

/**
 * Imports one chunk and says what happened to each of its rows.
 *
 * Replay-exact: a worker may crash at any point and the chunk is then processed again from the
 * start. Called again with the same chunk (same jobId, lines), a processor must write nothing a
 * second time, publish nothing that is not deduplicated downstream (deterministic event ids), and
 * return the same outcome for every row as the first call would have, so that the job's summary
 * counts each row exactly once. The usual way: each write carries its origin (job id and line),
 * and a replay that finds its own earlier write reports the status that write had.
 */
export type ChunkProcessor = (chunk: ImportChunk) => Promise<ImportRowOutcome[]>;
