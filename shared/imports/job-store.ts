import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { batchWriteAll, documentClient, queryAll } from '../aws/dynamodb.ts';
import { BadRequestError } from '../errors.ts';
import type { ImportFileFormat, ImportKind, ImportRowStatus } from './chunk.ts';
import type { ChunkPlan } from './split.ts';

export type ImportJobStatus = 'awaiting_upload' | 'splitting' | 'running' | 'completed' | 'failed';

export type ImportSummary = Record<ImportRowStatus, number>;

export interface ImportJob {
  id: string;
  kind: ImportKind;
  format: ImportFileFormat;
  status: ImportJobStatus;
  /** Kind-specific settings given when the job was created (e.g. a Pinpoint segment's name). */
  options: Record<string, unknown>;
  /** upload: a file PUT to the presigned URL; request: the body of a synchronous import route that needed longer. */
  source: 'upload' | 'request';
  createdAt: string;
  createdBy?: string;
  /** The object holding the file. */
  uploadKey: string;
  uploadedBytes?: number;
  startedAt?: string;
  finishedAt?: string;
  /** Known once the file is split. */
  totalRows?: number;
  chunks?: number;
  header?: string;
  chunksDone: number;
  rowsDone: number;
  summary: ImportSummary;
  /** Chunks that reported failed rows (their error files are read in this order). */
  chunksWithErrors: number[];
  /** Why the whole job failed (the file could not be read or split); rows are not imported then. */
  error?: { code: string; message: string };
}

export interface StoredChunk extends ChunkPlan {
  status: 'pending' | 'done';
  /** For partitioned files: the chunk's own object and the file line of each of its rows. */
  objectKey?: string;
  lineNumbers?: number[];
}

const JOB = 'job';
const chunkSk = (index: number): string => `chunk#${String(index).padStart(7, '0')}`;
/** Jobs are listed newest first through the sparse index `recent`, whose partition every job item shares. */
const LIST_KEY = 'jobs';
/** Job records (not their files, which the bucket expires sooner) are kept for 90 days. */
const RETENTION_SECONDS = 90 * 86_400;
/** DynamoDB items hold 400 KB: a kept body is stored in parts. */
const BODY_PART_BYTES = 300 * 1024;
const SUMMARY_FIELDS = ['created', 'updated', 'unchanged', 'failed'] as const;

type JobItem = Omit<ImportJob, 'id' | 'summary' | 'chunksWithErrors'> & { jobId: string; sk: string; listKey: string; expiresAt: number; chunksWithErrors?: Set<number> } & ImportSummary;

function toJob(item: Record<string, unknown> | undefined): ImportJob | undefined {
  if (!item) return undefined;
  const { jobId, sk: _sk, listKey: _listKey, expiresAt: _expiresAt, created, updated, unchanged, failed, chunksWithErrors, ...rest } = item as JobItem;
  return {
    ...(rest as Omit<ImportJob, 'id' | 'summary' | 'chunksWithErrors'>),
    id: jobId,
    summary: { created: Number(created ?? 0), updated: Number(updated ?? 0), unchanged: Number(unchanged ?? 0), failed: Number(failed ?? 0) },
    chunksWithErrors: [...(chunksWithErrors ?? [])].map(Number).sort((a, b) => a - b),
  };
}

/** Import jobs and their chunks: one partition per job (the job item and one item per chunk). */
export class ImportJobStore {
  constructor(
    private readonly table: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  async create(job: Omit<ImportJob, 'chunksDone' | 'rowsDone' | 'summary' | 'chunksWithErrors' | 'status'>): Promise<ImportJob> {
    const item = {
      ...job,
      jobId: job.id,
      id: undefined,
      sk: JOB,
      listKey: LIST_KEY,
      status: 'awaiting_upload',
      chunksDone: 0,
      rowsDone: 0,
      created: 0,
      updated: 0,
      unchanged: 0,
      failed: 0,
      expiresAt: Math.floor(Date.parse(job.createdAt) / 1000) + RETENTION_SECONDS,
    };
    delete item.id;
    await this.db.send(new PutCommand({ TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(jobId)' }));
    return toJob(item)!;
  }

  /**
   * Keeps a synchronous route's body with its job until the splitter stores it as the job's file
   * (the route's function has no access to the bucket): parts of 300 KB, expiring after a day.
   */
  async putBody(id: string, body: string): Promise<void> {
    const bytes = Buffer.from(body, 'utf8');
    const expiresAt = Math.floor(Date.now() / 1000) + 86_400;
    const items = [];
    for (let at = 0, n = 0; at < bytes.length || n === 0; at += BODY_PART_BYTES, n++) items.push({ jobId: id, sk: `body#${String(n).padStart(5, '0')}`, part: bytes.subarray(at, at + BODY_PART_BYTES), expiresAt });
    await batchWriteAll(this.db, this.table, items.map((Item) => ({ PutRequest: { Item } })));
  }

  /** The body putBody kept, or undefined when there is none (expired). */
  async readBody(id: string): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    for await (const item of queryAll(this.db, { TableName: this.table, KeyConditionExpression: 'jobId = :id AND begins_with(sk, :body)', ExpressionAttributeValues: { ':id': id, ':body': 'body#' }, ConsistentRead: true })) {
      parts.push(Buffer.from(item.part as Uint8Array));
    }
    return parts.length ? Buffer.concat(parts) : undefined;
  }

  /** Creates the job, or returns the one that already has its id (a request repeated). */
  async createOrGet(job: Parameters<ImportJobStore['create']>[0]): Promise<{ job: ImportJob; created: boolean }> {
    try {
      return { job: await this.create(job), created: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const existing = await this.get(job.id, true);
      if (!existing) throw error;
      return { job: existing, created: false };
    }
  }

  async get(id: string, consistent = false): Promise<ImportJob | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { jobId: id, sk: JOB }, ConsistentRead: consistent }));
    return toJob(out.Item);
  }

  /** Newest first, a page at a time; the cursor is opaque to callers (a bad one is a 400). */
  async list(limit: number, cursor?: string): Promise<{ jobs: ImportJob[]; nextCursor?: string }> {
    let start: Record<string, string> | undefined;
    if (cursor !== undefined) {
      const [jobId, createdAt] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
      if (!jobId || !createdAt || !/^[0-9a-f-]{36}$/.test(jobId)) throw new BadRequestError('cursor is not one this API returned', 'invalid_cursor');
      start = { jobId, sk: JOB, listKey: LIST_KEY, createdAt };
    }
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'recent',
        KeyConditionExpression: 'listKey = :k',
        ExpressionAttributeValues: { ':k': LIST_KEY },
        ScanIndexForward: false,
        Limit: limit,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    const last = out.LastEvaluatedKey as { jobId: string; createdAt: string } | undefined;
    return { jobs: (out.Items ?? []).map((i) => toJob(i)!), ...(last ? { nextCursor: Buffer.from(`${last.jobId}|${last.createdAt}`).toString('base64url') } : {}) };
  }

  /**
   * The file has arrived: awaiting_upload → splitting. False when the job is past that (a
   * redelivered notification, or a second upload to the same URL), which then changes nothing.
   */
  async beginSplit(id: string, bytes: number): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { jobId: id, sk: JOB },
          UpdateExpression: 'SET #status = :splitting, uploadedBytes = :bytes',
          ConditionExpression: '#status IN (:awaiting, :splitting)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':splitting': 'splitting', ':awaiting': 'awaiting_upload', ':bytes': bytes },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Writes the chunk items (idempotent: a re-split writes the same items). */
  async putChunks(id: string, chunks: StoredChunk[]): Promise<void> {
    await batchWriteAll(this.db, this.table, chunks.map((c) => ({ PutRequest: { Item: { jobId: id, sk: chunkSk(c.index), ...c } } })));
  }

  /** splitting → running, with the plan's totals; false if the job was no longer splitting. */
  async startRunning(id: string, plan: { rows: number; chunks: number; header?: string }): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { jobId: id, sk: JOB },
          UpdateExpression: `SET #status = :running, totalRows = :rows, chunks = :chunks, startedAt = :now${plan.header !== undefined ? ', header = :header' : ''}`,
          ConditionExpression: '#status = :splitting',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':running': 'running', ':splitting': 'splitting', ':rows': plan.rows, ':chunks': plan.chunks, ':now': new Date().toISOString(), ...(plan.header !== undefined ? { ':header': plan.header } : {}) },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** The whole job fails (nothing was imported: splitting comes first). */
  async fail(id: string, error: { code: string; message: string }): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { jobId: id, sk: JOB },
          UpdateExpression: 'SET #status = :failed, #error = :error, finishedAt = :now',
          ConditionExpression: '#status IN (:awaiting, :splitting)',
          ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
          ExpressionAttributeValues: { ':failed': 'failed', ':error': error, ':now': new Date().toISOString(), ':awaiting': 'awaiting_upload', ':splitting': 'splitting' },
        }),
      );
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
    }
  }

  async getChunk(id: string, index: number): Promise<StoredChunk | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { jobId: id, sk: chunkSk(index) }, ConsistentRead: true }));
    if (!out.Item) return undefined;
    const { jobId: _j, sk: _s, ...chunk } = out.Item;
    return chunk as StoredChunk;
  }

  /** Indexes of the chunks not done yet. */
  async pendingChunks(id: string): Promise<number[]> {
    const pending: number[] = [];
    for await (const item of queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'jobId = :id AND begins_with(sk, :chunk)',
      FilterExpression: '#status <> :done',
      ProjectionExpression: '#index',
      ExpressionAttributeNames: { '#status': 'status', '#index': 'index' },
      ExpressionAttributeValues: { ':id': id, ':chunk': 'chunk#', ':done': 'done' },
      ConsistentRead: true,
    }))
      pending.push(Number(item.index));
    return pending;
  }

  /**
   * Records a chunk's outcome once: the chunk is marked done and its rows are added to the job's
   * totals in one transaction, conditioned on the chunk not being done, so a chunk processed
   * twice (a redelivered message, a worker that crashed after this) counts once. False when it
   * was already done.
   */
  async completeChunk(id: string, index: number, summary: ImportSummary, hasErrors: boolean): Promise<boolean> {
    const rows = SUMMARY_FIELDS.reduce((sum, f) => sum + summary[f], 0);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.db.send(
          new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.table,
                Key: { jobId: id, sk: chunkSk(index) },
                UpdateExpression: 'SET #status = :done, summary = :summary, doneAt = :now',
                ConditionExpression: 'attribute_exists(jobId) AND #status <> :done',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: { ':done': 'done', ':summary': summary, ':now': new Date().toISOString() },
              },
            },
            {
              Update: {
                TableName: this.table,
                Key: { jobId: id, sk: JOB },
                UpdateExpression: `ADD chunksDone :one, rowsDone :rows, ${SUMMARY_FIELDS.map((f) => `#${f} :${f}`).join(', ')}${hasErrors ? ', chunksWithErrors :index' : ''}`,
                ConditionExpression: '#status = :running',
                ExpressionAttributeNames: { '#status': 'status', ...Object.fromEntries(SUMMARY_FIELDS.map((f) => [`#${f}`, f])) },
                ExpressionAttributeValues: {
                  ':one': 1,
                  ':rows': rows,
                  ':running': 'running',
                  ...Object.fromEntries(SUMMARY_FIELDS.map((f) => [`:${f}`, summary[f]])),
                  ...(hasErrors ? { ':index': new Set([index]) } : {}),
                },
              },
            },
          ],
        }),
      );
        return true;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        // Workers finishing chunks at once contend for the job item: a conflict is retried; a failed condition means done already (or the job is over).
        const conflict = (error.CancellationReasons ?? []).some((r) => r.Code === 'TransactionConflict');
        if (!conflict || attempt >= 10) {
          if (conflict) throw error;
          return false;
        }
        await new Promise((r) => setTimeout(r, Math.random() * 50 * attempt));
      }
    }
  }


  /** running → completed once every chunk is done; false if another worker got there first. */
  async finish(id: string): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { jobId: id, sk: JOB },
          UpdateExpression: 'SET #status = :completed, finishedAt = :now',
          ConditionExpression: '#status = :running AND chunksDone >= chunks',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':completed': 'completed', ':running': 'running', ':now': new Date().toISOString() },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
