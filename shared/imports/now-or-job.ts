import { randomUUID } from 'node:crypto';
import { BadRequestError } from '../errors.ts';
import type { ChunkProcessor, ImportFileFormat, ImportKind, ImportRowOutcome } from './chunk.ts';
import { CHUNK_ROWS, jobFromRequest, MAX_JOB_ROWS, type ImportJobDeps } from './jobs.ts';
import type { ImportKindSpec } from './kinds.ts';
import { planChunks, SplitError } from './split.ts';

/** Time kept back when a synchronous import hands over to a job: enough to store the body and answer. */
const HANDOFF_MS = 8_000;

export type NowOrJob = { done: true; outcomes: ImportRowOutcome[] } | { done: false; job: { id: string; status: string; url: string } };

/**
 * A synchronous import route's body, imported chunk by chunk with the job's own processor under
 * one job id while the API's time allows; when it runs short, the whole body becomes an import
 * job under that same id and the route answers 202. The processor is replay-exact, so the workers
 * recognise the rows already written here and count each row once. Never a timeout (and its 500)
 * after writing.
 */
export async function importNowOrAsJob(
  input: { kind: ImportKind; format: ImportFileFormat; body: string; actor: string | undefined },
  deps: { processor: ChunkProcessor; spec: ImportKindSpec; jobs: ImportJobDeps; remainingMs: () => number },
): Promise<NowOrJob> {
  const id = randomUUID();
  const file = Buffer.from(input.body, 'utf8');
  let plan;
  try {
    plan = await planChunks([file], { format: input.format, header: deps.spec.header(input.format), maxRows: MAX_JOB_ROWS, chunkRows: CHUNK_ROWS, chunkBytes: 1024 ** 2, maxRowBytes: 1024 ** 2 });
  } catch (error) {
    if (error instanceof SplitError) throw new BadRequestError(`The import cannot be read: ${error.message}`, error.code === 'empty_file' ? 'invalid_import' : error.code);
    throw error;
  }
  const outcomes: ImportRowOutcome[] = [];
  for (const chunk of plan.chunks) {
    if (deps.remainingMs() < HANDOFF_MS) return { done: false, job: await jobFromRequest({ kind: input.kind, format: input.format, body: input.body, id }, input.actor, deps.jobs) };
    outcomes.push(
      ...(await deps.processor({
        jobId: id,
        kind: input.kind,
        format: input.format,
        index: chunk.index,
        ...(plan.header !== undefined ? { header: plan.header } : {}),
        text: file.subarray(chunk.start, chunk.end + 1).toString('utf8'),
        firstLine: chunk.firstLine,
        ...(input.actor ? { actor: input.actor } : {}),
      })),
    );
  }
  return { done: true, outcomes };
}
