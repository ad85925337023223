import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/** Firehose's per-call and per-record limits, enforced as the service does. */
const MAX_RECORDS_PER_CALL = 500;
const MAX_BYTES_PER_CALL = 4 * 1024 * 1024;
const MAX_RECORD_BYTES = 1000 * 1024;
/** Firehose bills Direct PUT ingestion per record rounded up to the next 5 KB. */
export const FIREHOSE_BILLING_INCREMENT = 5 * 1024;

export class LocalFirehoseError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export interface LocalFirehoseStats {
  calls: number;
  records: number;
  bytes: number;
  /** Bytes as Firehose bills them (each record rounded up to 5 KB). */
  billedBytes: number;
}

/**
 * Amazon Data Firehose's Direct PUT (PutRecord, PutRecordBatch) for the local runtime: records
 * are appended, as they come, to `<dir>/year=YYYY/month=MM/day=DD/<stream>-<YYYY-MM-DD-HH>.ndjson`
 * — the date of arrival, as the S3 destination's `!{timestamp:…}` prefix partitions on AWS —
 * or only counted when the runtime has no state directory. `failNext(n)` makes the next n records
 * fail with ServiceUnavailableException (how Firehose reports throttling per record), for tests.
 */
export class LocalFirehose {
  readonly stats: LocalFirehoseStats = { calls: 0, records: 0, bytes: 0, billedBytes: 0 };
  private failures = 0;

  constructor(
    private readonly streams: string[],
    private readonly dir: string | undefined,
    private readonly now: () => Date = () => new Date(),
  ) {}

  failNext(records: number): void {
    this.failures = records;
  }

  handle(operation: string, input: Record<string, unknown>): unknown {
    const stream = String(input.DeliveryStreamName ?? '');
    if (!this.streams.includes(stream)) throw new LocalFirehoseError(400, 'ResourceNotFoundException', `Firehose ${stream} under account 000000000000 not found.`);
    if (operation === 'PutRecord') {
      const [result] = this.put(stream, [input.Record]);
      if (result && 'ErrorCode' in result) throw new LocalFirehoseError(503, String(result.ErrorCode), String(result.ErrorMessage));
      return { RecordId: result?.RecordId, Encrypted: false };
    }
    if (operation === 'PutRecordBatch') {
      const records = input.Records;
      if (!Array.isArray(records) || records.length === 0 || records.length > MAX_RECORDS_PER_CALL) {
        throw new LocalFirehoseError(400, 'InvalidArgumentException', `Records must hold 1 to ${MAX_RECORDS_PER_CALL} records`);
      }
      const responses = this.put(stream, records);
      return { FailedPutCount: responses.filter((r) => 'ErrorCode' in r).length, Encrypted: false, RequestResponses: responses };
    }
    throw new LocalFirehoseError(400, 'UnknownOperationException', `Firehose ${operation} is not supported locally`);
  }

  private put(stream: string, records: unknown[]): Array<{ RecordId: string } | { ErrorCode: string; ErrorMessage: string }> {
    this.stats.calls++;
    const data = records.map((record, i) => {
      const encoded = (record as { Data?: unknown } | undefined)?.Data;
      if (typeof encoded !== 'string') throw new LocalFirehoseError(400, 'InvalidArgumentException', `Records[${i}].Data is required`);
      const bytes = Buffer.from(encoded, 'base64');
      if (bytes.length > MAX_RECORD_BYTES) throw new LocalFirehoseError(400, 'InvalidArgumentException', `Records[${i}].Data is ${bytes.length} bytes, over ${MAX_RECORD_BYTES}`);
      return bytes;
    });
    if (data.reduce((n, b) => n + b.length, 0) > MAX_BYTES_PER_CALL) throw new LocalFirehoseError(400, 'InvalidArgumentException', `a PutRecordBatch call carries at most ${MAX_BYTES_PER_CALL} bytes`);
    const at = this.now();
    const file = this.dir ? this.fileFor(stream, at) : undefined;
    return data.map((bytes) => {
      if (this.failures > 0) {
        this.failures--;
        return { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' };
      }
      if (file) appendFileSync(file, bytes);
      this.stats.records++;
      this.stats.bytes += bytes.length;
      this.stats.billedBytes += Math.max(1, Math.ceil(bytes.length / FIREHOSE_BILLING_INCREMENT)) * FIREHOSE_BILLING_INCREMENT;
      return { RecordId: crypto.randomUUID() };
    });
  }

  private fileFor(stream: string, at: Date): string {
    const iso = at.toISOString();
    const [year, month, day, hour] = [iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10), iso.slice(11, 13)];
    const dir = path.join(this.dir!, `year=${year}`, `month=${month}`, `day=${day}`);
    mkdirSync(dir, { recursive: true });
    return path.join(dir, `${stream}-${year}-${month}-${day}-${hour}.ndjson`);
  }
}
