import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import type { StreamSink } from '../stream/event-stream.ts';

const client = new FirehoseClient({});

/**
 * The event stream's delivery stream (Amazon Data Firehose, or the local runtime's stand-in):
 * PutRecordBatch, then the records Firehose reports as failed (FailedPutCount, an ErrorCode per
 * record: throttling, internal errors) again, with a short back-off, up to `attempts` calls.
 */
export class FirehoseStreamSink implements StreamSink {
  constructor(
    private readonly deliveryStreamName: string,
    private readonly firehose: FirehoseClient = client,
    private readonly attempts = 3,
    private readonly backoffMs = 100,
  ) {}

  async putRecords(records: Buffer[]): Promise<{ failed: number[] }> {
    let pending = records.map((_, i) => i);
    for (let attempt = 1; pending.length > 0; attempt++) {
      const result = await this.firehose.send(
        new PutRecordBatchCommand({ DeliveryStreamName: this.deliveryStreamName, Records: pending.map((i) => ({ Data: records[i]! })) }),
      );
      if (!result.FailedPutCount) return { failed: [] };
      const responses = result.RequestResponses ?? [];
      pending = pending.filter((_, j) => responses[j]?.ErrorCode !== undefined || responses[j] === undefined);
      if (attempt >= this.attempts) break;
      await new Promise((resolve) => setTimeout(resolve, this.backoffMs * 2 ** (attempt - 1)));
    }
    return { failed: pending };
  }
}
