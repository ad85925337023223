import { DescribeTableCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
  type DynamoDBStreamsClient,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { functionArn, LOCAL_REGION } from './lambda.ts';

export interface LocalTableStreamOptions {
  /** The consuming function's name (on-failure records name it). */
  functionName: string;
  tableName: string;
  dynamodb: DynamoDBClient;
  streams: DynamoDBStreamsClient;
  batchSize: number;
  maxBatchingWindowMs: number;
  retryAttempts: number;
  /** Between polls of the shards (Lambda polls a DynamoDB stream about four times a second). */
  pollIntervalMs: number;
  /** Where reading starts: the shards' start (a table created at boot) or new records only (a persisted table). */
  startAt: 'TRIM_HORIZON' | 'LATEST';
  /** Back-off before retrying a failed batch, doubled per attempt. */
  retryDelayMs: number;
  invoke: (event: DynamoDBStreamEvent) => Promise<unknown>;
  /** The on-failure destination: a batch's position after its retries ran out. */
  onFailure: (record: Record<string, unknown>) => void;
  log: (line: string) => void;
}

interface Shard {
  iterator: string | undefined;
  /** The last sequence number read: where a fresh iterator resumes when one expires. */
  lastSequence?: string;
  buffer: Array<{ record: StreamRecord; receivedAt: number }>;
}

/**
 * Lambda's event source mapping for a DynamoDB stream, on DynamoDB Local's own stream API: polls
 * each shard, delivers up to `batchSize` records once the batch is full or the batching window
 * has passed, one batch at a time per shard, in order. A batch item failure retries from that
 * record; a function error halves the batch (bisect on error); when the retries run out the
 * batch's position goes to the on-failure destination and the shard moves on.
 */
export class LocalTableStream {
  private streamArn = '';
  private readonly shards = new Map<string, Shard>();
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  delivered = 0;
  failedBatches = 0;

  constructor(private readonly options: LocalTableStreamOptions) {}

  async start(): Promise<void> {
    const table = await this.options.dynamodb.send(new DescribeTableCommand({ TableName: this.options.tableName }));
    const arn = table.Table?.LatestStreamArn;
    if (!arn || !table.Table?.StreamSpecification?.StreamEnabled) throw new Error(`table ${this.options.tableName} has no stream enabled`);
    this.streamArn = arn;
    await this.discoverShards(this.options.startAt);
    this.schedule();
  }

  get arn(): string {
    return this.streamArn;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.serial(() => this.step(false))
        .catch((error: unknown) => this.options.log(`[stream ${this.options.tableName}] ${(error as Error).message}`))
        .finally(() => this.schedule());
    }, this.options.pollIntervalMs);
    this.timer.unref();
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /**
   * Reads and delivers until every shard is empty, batching window or not; answers whether
   * anything was delivered (the runtime's idle() loops until nothing moves).
   */
  async drain(): Promise<boolean> {
    if (this.stopped) return false;
    let moved = false;
    for (;;) {
      const before = this.delivered + this.failedBatches;
      const read = await this.serial(() => this.step(true));
      if (this.delivered + this.failedBatches > before) moved = true;
      if (read === 0 && [...this.shards.values()].every((s) => s.buffer.length === 0)) return moved;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.chain;
  }

  private async discoverShards(position: 'LATEST' | 'TRIM_HORIZON'): Promise<void> {
    const { streams } = this.options;
    let exclusiveStart: string | undefined;
    do {
      const described = await streams.send(new DescribeStreamCommand({ StreamArn: this.streamArn, ExclusiveStartShardId: exclusiveStart }));
      for (const shard of described.StreamDescription?.Shards ?? []) {
        if (!shard.ShardId || this.shards.has(shard.ShardId)) continue;
        this.shards.set(shard.ShardId, { iterator: await this.iterator(shard.ShardId, position), buffer: [] });
      }
      exclusiveStart = described.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStart);
  }

  private async iterator(shardId: string, type: 'LATEST' | 'TRIM_HORIZON' | 'AFTER_SEQUENCE_NUMBER', sequenceNumber?: string): Promise<string | undefined> {
    const result = await this.options.streams.send(new GetShardIteratorCommand({ StreamArn: this.streamArn, ShardId: shardId, ShardIteratorType: type, SequenceNumber: sequenceNumber }));
    return result.ShardIterator;
  }

  /** One poll of every open shard, then delivery of what is due; answers how many records were read. */
  private async step(force: boolean): Promise<number> {
    if (this.stopped) return 0;
    let read = 0;
    let closed = false;
    for (const [shardId, shard] of this.shards) {
      if (!shard.iterator) continue;
      let result;
      try {
        result = await this.options.streams.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: 1000 }));
      } catch (error) {
        if (!(error instanceof ExpiredIteratorException || error instanceof TrimmedDataAccessException)) throw error;
        // Iterators expire (15 minutes on AWS): resume right after the last record read. Before the first record,
        // DynamoDB Local reports a LATEST iterator of a shard that was empty as trimmed: read that shard from its start.
        // Read again at once with the new iterator: a step that read nothing tells drain() the stream is empty, and
        // the records behind the refused iterator would wait for the next poll, after idle() had returned.
        shard.iterator = await this.iterator(shardId, shard.lastSequence ? 'AFTER_SEQUENCE_NUMBER' : 'TRIM_HORIZON', shard.lastSequence);
        if (!shard.iterator) continue;
        result = await this.options.streams.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: 1000 }));
      }
      const now = Date.now();
      for (const record of result.Records ?? []) shard.buffer.push({ record, receivedAt: now });
      shard.lastSequence = result.Records?.at(-1)?.dynamodb?.SequenceNumber ?? shard.lastSequence;
      read += result.Records?.length ?? 0;
      shard.iterator = result.NextShardIterator;
      if (!shard.iterator) closed = true;
    }
    // A closed shard has children: they hold everything written since, from their start.
    if (closed) await this.discoverShards('TRIM_HORIZON');
    for (const [shardId, shard] of this.shards) {
      while (shard.buffer.length > 0) {
        const due = force || shard.buffer.length >= this.options.batchSize || Date.now() - shard.buffer[0]!.receivedAt >= this.options.maxBatchingWindowMs;
        if (!due || this.stopped) break;
        const batch = shard.buffer.splice(0, this.options.batchSize).map((b) => b.record);
        await this.process(shardId, batch, 0);
      }
    }
    return read;
  }

  /** Delivers a batch until it succeeds or its retries run out (then the on-failure destination). */
  private async process(shardId: string, batch: StreamRecord[], attemptsUsed: number): Promise<void> {
    let records = batch;
    let attempts = attemptsUsed;
    while (records.length > 0 && !this.stopped) {
      let retryFrom: number;
      try {
        const response = (await this.options.invoke(this.event(records))) as DynamoDBBatchResponse | undefined;
        const failures = (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier);
        if (failures.length === 0) {
          this.delivered += records.length;
          return;
        }
        // Lambda retries from the lowest failed sequence number; an identifier not in the batch fails the whole batch.
        const indexes = failures.map((id) => records.findIndex((r) => r.dynamodb?.SequenceNumber === id));
        retryFrom = indexes.some((i) => i < 0) ? 0 : Math.min(...indexes);
        this.delivered += retryFrom;
        records = records.slice(retryFrom);
      } catch (error) {
        this.options.log(`[stream ${this.options.tableName}] ${this.options.functionName} failed a batch of ${records.length}: ${(error as Error).message}`);
        attempts++;
        if (attempts > this.options.retryAttempts) break;
        if (records.length > 1) {
          // Bisect on function error: each half is retried on its own, the attempts so far carried over.
          const half = Math.ceil(records.length / 2);
          await this.process(shardId, records.slice(0, half), attempts);
          await this.process(shardId, records.slice(half), attempts);
          return;
        }
        await this.pause(attempts);
        continue;
      }
      attempts++;
      if (attempts > this.options.retryAttempts) break;
      await this.pause(attempts);
    }
    if (records.length === 0 || this.stopped) return;
    this.failedBatches++;
    const first = records[0]!;
    const last = records[records.length - 1]!;
    this.options.onFailure({
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: { requestId: crypto.randomUUID(), functionArn: functionArn(this.options.functionName), condition: 'RetryAttemptsExhausted', approximateInvokeCount: attempts },
      DDBStreamBatchInfo: {
        shardId,
        startSequenceNumber: first.dynamodb?.SequenceNumber,
        endSequenceNumber: last.dynamodb?.SequenceNumber,
        approximateArrivalOfFirstRecord: first.dynamodb?.ApproximateCreationDateTime?.toISOString(),
        approximateArrivalOfLastRecord: last.dynamodb?.ApproximateCreationDateTime?.toISOString(),
        batchSize: records.length,
        streamArn: this.streamArn,
      },
    });
  }

  private pause(attempt: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.options.retryDelayMs * 2 ** (attempt - 1)));
  }

  /** The records as Lambda delivers them: DynamoDB JSON images, epoch-second creation times. */
  private event(records: StreamRecord[]): DynamoDBStreamEvent {
    return {
      Records: records.map((r) => ({
        eventID: r.eventID,
        eventName: r.eventName,
        eventVersion: r.eventVersion,
        eventSource: 'aws:dynamodb',
        awsRegion: LOCAL_REGION,
        eventSourceARN: this.streamArn,
        dynamodb: {
          ...r.dynamodb,
          ...(r.dynamodb?.NewImage ? { NewImage: repairImage(r.dynamodb.NewImage) } : {}),
          ...(r.dynamodb?.OldImage ? { OldImage: repairImage(r.dynamodb.OldImage) } : {}),
          ApproximateCreationDateTime: r.dynamodb?.ApproximateCreationDateTime ? r.dynamodb.ApproximateCreationDateTime.getTime() / 1000 : undefined,
        },
      })) as DynamoDBStreamEvent['Records'],
    };
  }
}

/**
 * An empty map arrives from DynamoDB Local's stream (through the SDK's deserialiser) as `{}`
 * rather than `{ "M": {} }`, which no reader can unmarshal ("No value defined"). Lambda receives
 * `{ "M": {} }` from DynamoDB Streams; give the handlers the same.
 */
function repairImage(image: Record<string, unknown>): Record<string, AttributeValue> {
  const repair = (value: unknown): unknown => {
    if (!value || typeof value !== 'object') return value;
    const v = value as Record<string, unknown>;
    if (Object.keys(v).length === 0) return { M: {} };
    if (v.M && typeof v.M === 'object') return { M: Object.fromEntries(Object.entries(v.M as Record<string, unknown>).map(([k, x]) => [k, repair(x)])) };
    if (Array.isArray(v.L)) return { L: v.L.map(repair) };
    return v;
  };
  return Object.fromEntries(Object.entries(image).map(([k, x]) => [k, repair(x)])) as Record<string, AttributeValue>;
}
