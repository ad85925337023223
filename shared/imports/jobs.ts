import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ImportChunkTask } from '../../events/imports.ts';
import type { ObjectStore, PresignedRequest } from '../aws/objects.ts';
import { ConflictError, NotFoundError, type ValidationIssue } from '../errors.ts';
import { logger } from '../logger.ts';
import { CHUNK_ROWS, CONTENT_TYPES, type ChunkProcessor, type ImportFileFormat, type ImportKind, type ImportRowOutcome } from './chunk.ts';
import type { ImportJob, ImportJobStore, ImportSummary, StoredChunk } from './job-store.ts';
import type { ImportKindSpec } from './kinds.ts';
import { partitionRows, planChunks, SplitError } from './split.ts';

/** The largest file a job takes, in rows and in bytes. */
export const MAX_JOB_ROWS = 1_000_000;
export const MAX_JOB_BYTES = 2 * 1024 ** 3;
/** Files regrouped by key are held in memory while they are split. */
export const MAX_PARTITIONED_BYTES = 512 * 1024 ** 2;
const CHUNK_BYTES = 1024 ** 2;
const MAX_ROW_BYTES = 1024 ** 2;
/** How long an upload URL can be used. */
const UPLOAD_URL_SECONDS = 3600;
const DOWNLOAD_URL_SECONDS = 900;
/** Errors shown inline in a job's view; the rest are in the downloadable file. */
const ERRORS_SHOWN = 100;

export const uploadKeyOf = (jobId: string): string => `uploads/${jobId}`;
const jobIdFromKey = (key: string): string | undefined => /^uploads\/([0-9a-f-]{36})$/.exec(key)?.[1];
const chunkErrorsKey = (jobId: string, index: number): string => `errors/${jobId}/${String(index).padStart(7, '0')}.ndjson`;
const errorsFileKey = (jobId: string): string => `errors/${jobId}.csv`;
const partitionKeyOf = (jobId: string, index: number): string => `chunks/${jobId}/${String(index).padStart(7, '0')}.ndjson`;

export interface ImportJobDeps {
  jobs: ImportJobStore;
  objects: ObjectStore;
  kinds: Partial<Record<ImportKind, ImportKindSpec>>;
  /** Absolute URL of a job in the API (GET /v1/imports/{id}). */
  jobUrl: (id: string) => string;
}

export interface ImportJobView {
  id: string;
  kind: ImportKind;
  format: ImportFileFormat;
  status: ImportJob['status'];
  source: ImportJob['source'];
  url: string;
  createdAt: string;
  createdBy?: string;
  startedAt?: string;
  finishedAt?: string;
  rows: { total: number | null; done: number };
  chunks: { total: number | null; done: number };
  /** Rows imported per second since the file was split (until it finished). */
  ratePerSecond: number | null;
  summary: ImportSummary;
  error?: { code: string; message: string };
  /** The first failed rows, by line; `errorsUrl` downloads all of them (CSV) once the job is over. */
  errors: Array<{ line: number; issues: ValidationIssue[] }>;
  errorsUrl?: string;
}

export interface CreatedImport {
  job: { id: string; status: ImportJob['status']; url: string };
  upload: PresignedRequest;
}

/** A new job waiting for its file, and the presigned PUT that uploads it. */
export async function createImportJob(input: { kind: ImportKind; format: ImportFileFormat; options?: Record<string, unknown> }, actor: string | undefined, deps: ImportJobDeps): Promise<CreatedImport> {
  const spec = deps.kinds[input.kind];
  if (!spec) throw new ConflictError(`imports of kind ${input.kind} are not available in this deployment`, 'kind_unavailable');
  const id = randomUUID();
  const job = await deps.jobs.create({
    id,
    kind: input.kind,
    format: input.format,
    options: input.options ?? {},
    source: 'upload',
    createdAt: new Date().toISOString(),
    ...(actor ? { createdBy: actor } : {}),
    uploadKey: uploadKeyOf(id),
  });
  const upload = await deps.objects.presignPut(job.uploadKey, CONTENT_TYPES[input.format], UPLOAD_URL_SECONDS);
  return { job: { id, status: job.status, url: deps.jobUrl(id) }, upload };
}

/** What a synchronous route needs to hand its body over to a job: the job store and the splitter's queue. */
export interface HandoffDeps {
  jobs: ImportJobStore;
  jobUrl: (id: string) => string;
  /** Asks the splitter to store the kept body as the job's file (the route's function has no bucket access). */
  handoff: (id: string) => Promise<void>;
}

/**
 * A job over a body a synchronous route already holds (it was too large to import inside the
 * API's time limit): the body is kept with the job and the splitter stores it as the job's file,
 * whose arrival starts the job as an upload would. `id` lets the route reuse the id it wrote its
 * first rows under, so the workers' replay recognises them; a repeated request finds its job.
 */
export async function jobFromRequest(
  input: { kind: ImportKind; format: ImportFileFormat; body: string; id?: string; options?: Record<string, unknown> },
  actor: string | undefined,
  deps: HandoffDeps,
): Promise<{ id: string; status: ImportJob['status']; url: string }> {
  const id = input.id ?? randomUUID();
  const { job } = await deps.jobs.createOrGet({
    id,
    kind: input.kind,
    format: input.format,
    options: input.options ?? {},
    source: 'request',
    createdAt: new Date().toISOString(),
    ...(actor ? { createdBy: actor } : {}),
    uploadKey: uploadKeyOf(id),
  });
  // The body is kept (again, for a repeat whose file never arrived) and handed to the splitter.
  if (job.status === 'awaiting_upload') {
    await deps.jobs.putBody(id, input.body);
    await deps.handoff(id);
  }
  return { id, status: job.status, url: deps.jobUrl(id) };
}

/** The splitter's side of a hand-over: the kept body becomes the job's file (its notification then starts the job). */
export async function storeHandedOverBody(jobId: string, deps: ImportJobDeps): Promise<void> {
  const job = await deps.jobs.get(jobId, true);
  if (!job || job.status !== 'awaiting_upload' || job.source !== 'request') return;
  const body = await deps.jobs.readBody(jobId);
  if (!body) return deps.jobs.fail(jobId, { code: 'body_expired', message: 'the request body handed over to this job was not found (it is kept for a day)' });
  await deps.objects.put(job.uploadKey, body, CONTENT_TYPES[job.format]);
}

/**
 * A file arrived (S3 notification): plan its chunks, store the plan and hand the chunks to the
 * workers. Safe to repeat: a job already split only has its unfinished chunks handed out again
 * (a worker skips a chunk that is done), which is also how a split cut short by a crash resumes.
 * A file that cannot be split (too many rows, too large, empty) fails the job before any row is
 * imported.
 */
export async function startUploadedJob(key: string, deps: ImportJobDeps & { enqueue: (tasks: ImportChunkTask[]) => Promise<void> }): Promise<void> {
  const jobId = jobIdFromKey(key);
  const job = jobId ? await deps.jobs.get(jobId, true) : undefined;
  if (!job) {
    logger.warn('upload for no import job', { key });
    return;
  }
  if (job.status === 'completed' || job.status === 'failed') return;
  const spec = deps.kinds[job.kind];
  if (job.status !== 'running') {
    const head = await deps.objects.head(job.uploadKey);
    if (!head) return; // notification of an object since removed
    if (!spec) return deps.jobs.fail(job.id, { code: 'kind_unavailable', message: `imports of kind ${job.kind} are not available in this deployment` });
    const limit = spec.partitionKey ? MAX_PARTITIONED_BYTES : MAX_JOB_BYTES;
    if (head.size > limit) return deps.jobs.fail(job.id, { code: 'file_too_large', message: `the file is ${head.size} bytes; the limit for ${job.kind} is ${limit}` });
    if (!(await deps.jobs.beginSplit(job.id, head.size))) return startUploadedJob(key, deps);
    let chunks: StoredChunk[];
    let rows: number;
    let header: string | undefined;
    try {
      ({ chunks, rows, header } = await plan(job, spec, deps));
    } catch (error) {
      if (!(error instanceof SplitError)) throw error;
      return deps.jobs.fail(job.id, { code: error.code, message: error.message });
    }
    await deps.jobs.putChunks(job.id, chunks);
    await deps.jobs.startRunning(job.id, { rows, chunks: chunks.length, ...(header !== undefined ? { header } : {}) });
    logger.info('import job split', { jobId: job.id, kind: job.kind, rows, chunks: chunks.length });
    if (chunks.length === 0) return void (await finishIfDone(job.id, deps, {}));
  }
  const pending = await deps.jobs.pendingChunks(job.id);
  await deps.enqueue(pending.map((index) => ({ jobId: job.id, index })));
}

async function plan(job: ImportJob, spec: ImportKindSpec, deps: ImportJobDeps): Promise<{ chunks: StoredChunk[]; rows: number; header?: string }> {
  const stream = await deps.objects.stream(job.uploadKey);
  if (!stream) throw new SplitError('empty_file', 'the uploaded file is gone');
  const hasHeader = spec.header(job.format);
  if (spec.partitionKey) {
    const { partitions, rows, header } = await partitionRows(stream as Readable, spec.partitionKey, { maxRows: MAX_JOB_ROWS, chunkRows: spec.chunkRows ?? CHUNK_ROWS, header: hasHeader });
    const chunks: StoredChunk[] = [];
    for (const [index, p] of partitions.entries()) {
      const objectKey = partitionKeyOf(job.id, index);
      await deps.objects.put(objectKey, p.text.join('\n'), CONTENT_TYPES[job.format]);
      chunks.push({ index, start: 0, end: 0, firstLine: p.lines[0]!, rows: p.lines.length, status: 'pending', objectKey, lineNumbers: p.lines });
    }
    return { chunks, rows, ...(header !== undefined ? { header } : {}) };
  }
  const planned = await planChunks(stream as Readable, { format: job.format, header: hasHeader, maxRows: MAX_JOB_ROWS, chunkRows: spec.chunkRows ?? CHUNK_ROWS, chunkBytes: CHUNK_BYTES, maxRowBytes: MAX_ROW_BYTES });
  return { chunks: planned.chunks.map((c) => ({ ...c, status: 'pending' as const })), rows: planned.rows, ...(planned.header !== undefined ? { header: planned.header } : {}) };
}

export interface ChunkWorkerDeps extends ImportJobDeps {
  processors: Partial<Record<ImportKind, ChunkProcessor>>;
  /** Work a kind does once after its last chunk (e.g. a history's campaign totals from its send records); must be safe to repeat. */
  finalizers: Partial<Record<ImportKind, (job: ImportJob) => Promise<void>>>;
}

/**
 * Imports one chunk: its rows through the kind's processor (replay-exact, so a chunk a crashed
 * worker left half done is simply processed again), its failed rows to an error file, then its
 * totals into the job once (a transaction conditioned on the chunk not being done). The worker
 * that completes the last chunk finishes the job.
 */
export async function importChunk(task: ImportChunkTask, deps: ChunkWorkerDeps): Promise<void> {
  const job = await deps.jobs.get(task.jobId, true);
  if (!job || job.status !== 'running') return;
  const chunk = await deps.jobs.getChunk(job.id, task.index);
  if (!chunk) throw new Error(`import job ${job.id} has no chunk ${task.index}`);
  if (chunk.status !== 'done') {
    const processor = deps.processors[job.kind];
    if (!processor) throw new Error(`no processor for imports of kind ${job.kind}`);
    const bytes = chunk.objectKey ? await deps.objects.read(chunk.objectKey) : await deps.objects.read(job.uploadKey, { start: chunk.start, end: chunk.end });
    if (!bytes) throw new Error(`the file of import job ${job.id} is gone (uploads expire after a few days)`);
    const outcomes = await processor({
      jobId: job.id,
      kind: job.kind,
      format: job.format,
      index: chunk.index,
      ...(job.header !== undefined ? { header: job.header } : {}),
      text: bytes.toString('utf8'),
      firstLine: chunk.firstLine,
      ...(chunk.lineNumbers ? { lineNumbers: chunk.lineNumbers } : {}),
      options: job.options,
      ...(job.createdBy ? { actor: job.createdBy } : {}),
    });
    const summary = summarise(outcomes);
    const failed = outcomes.filter((o) => o.status === 'failed');
    if (failed.length) await deps.objects.put(chunkErrorsKey(job.id, chunk.index), failed.map((o) => JSON.stringify({ line: o.line, issues: o.issues ?? [] })).join('\n'), CONTENT_TYPES.ndjson);
    await deps.jobs.completeChunk(job.id, chunk.index, summary, failed.length > 0);
  }
  await finishIfDone(job.id, deps, deps.finalizers);
}

function summarise(outcomes: ImportRowOutcome[]): ImportSummary {
  const summary: ImportSummary = { created: 0, updated: 0, unchanged: 0, failed: 0 };
  for (const o of outcomes) summary[o.status]++;
  return summary;
}

/** After the last chunk: the kind's finalizer, all failed rows in one CSV, then completed. Repeatable. */
async function finishIfDone(jobId: string, deps: ImportJobDeps, finalizers: ChunkWorkerDeps['finalizers']): Promise<void> {
  const job = await deps.jobs.get(jobId, true);
  if (!job || job.status !== 'running' || job.chunksDone < (job.chunks ?? Infinity)) return;
  await finalizers[job.kind]?.(job);
  if (job.chunksWithErrors.length) {
    const lines = ['line,path,message'];
    for (const index of job.chunksWithErrors) {
      const text = (await deps.objects.read(chunkErrorsKey(job.id, index)))?.toString('utf8') ?? '';
      for (const row of parseErrorLines(text)) {
        for (const issue of row.issues.length ? row.issues : [{ path: '', message: 'failed' }]) lines.push([String(row.line), csvField(issue.path), csvField(issue.message)].join(','));
      }
    }
    await deps.objects.put(errorsFileKey(job.id), `${lines.join('\r\n')}\r\n`, 'text/csv');
  }
  if (await deps.jobs.finish(job.id)) logger.info('import job completed', { jobId: job.id, kind: job.kind, rows: job.rowsDone, summary: job.summary });
}

const csvField = (value: string): string => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

function parseErrorLines(text: string): Array<{ line: number; issues: ValidationIssue[] }> {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { line: number; issues: ValidationIssue[] });
}

/** What GET /v1/imports/{id} shows: progress, rate, totals and the first failed rows. */
export async function importJobView(job: ImportJob, deps: ImportJobDeps, options: { withErrors: boolean } = { withErrors: true }): Promise<ImportJobView> {
  const errors: ImportJobView['errors'] = [];
  if (options.withErrors) {
    for (const index of job.chunksWithErrors) {
      if (errors.length >= ERRORS_SHOWN) break;
      const text = (await deps.objects.read(chunkErrorsKey(job.id, index)))?.toString('utf8') ?? '';
      errors.push(...parseErrorLines(text).slice(0, ERRORS_SHOWN - errors.length));
    }
  }
  const end = job.finishedAt ? Date.parse(job.finishedAt) : Date.now();
  const seconds = job.startedAt ? (end - Date.parse(job.startedAt)) / 1000 : 0;
  const over = job.status === 'completed' || job.status === 'failed';
  return {
    id: job.id,
    kind: job.kind,
    format: job.format,
    status: job.status,
    source: job.source,
    url: deps.jobUrl(job.id),
    createdAt: job.createdAt,
    ...(job.createdBy ? { createdBy: job.createdBy } : {}),
    ...(job.startedAt ? { startedAt: job.startedAt } : {}),
    ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
    rows: { total: job.totalRows ?? null, done: job.rowsDone },
    chunks: { total: job.chunks ?? null, done: job.chunksDone },
    ratePerSecond: job.startedAt && seconds > 0 ? Math.round(job.rowsDone / seconds) : null,
    summary: job.summary,
    ...(job.error ? { error: job.error } : {}),
    errors,
    ...(over && job.chunksWithErrors.length ? { errorsUrl: `${deps.jobUrl(job.id)}/errors` } : {}),
  };
}

export async function getImportJob(id: string, deps: ImportJobDeps): Promise<ImportJobView> {
  const job = await deps.jobs.get(id, true);
  if (!job) throw new NotFoundError('import job', id);
  return importJobView(job, deps);
}

/** A short-lived download of every failed row (CSV: line, path, message), once the job is over. */
export async function importErrorsDownload(id: string, deps: ImportJobDeps): Promise<PresignedRequest> {
  const job = await deps.jobs.get(id, true);
  if (!job) throw new NotFoundError('import job', id);
  if (job.status !== 'completed') throw new ConflictError(job.status === 'failed' ? `import job ${id} failed as a whole (${job.error?.message ?? 'see its error'}); it has no row errors` : `import job ${id} is ${job.status}; its errors file is written when it completes`, 'import_not_completed');
  if (!job.chunksWithErrors.length) throw new NotFoundError('failed rows of import job', id);
  return deps.objects.presignGet(errorsFileKey(id), `import-${id}-errors.csv`, DOWNLOAD_URL_SECONDS);
}
