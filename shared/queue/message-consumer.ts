import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type * as z from 'zod';
import { delayRedelivery } from '../aws/queue.ts';
import { logger } from '../logger.ts';

export interface MessageMeta {
  record: SQSRecord;
  context: Context;
  receiveCount: number;
}

/** State one batch's records share (a tally written once per batch), begun before the first record and ended after the last, failed or not. */
export interface BatchScope<T> {
  begin: () => T;
  end: (state: T) => Promise<void>;
}

/**
 * The shape of every queue consumer: each record is handled on its own; a record that fails is
 * logged with its message id and reported in batchItemFailures (the rest of the batch
 * succeeds), is retried by the queue, then parked in its DLQ.
 */
export function sqsConsumer<T = undefined>(handleRecord: (record: SQSRecord, context: Context, batch: T) => Promise<void>, scope?: BatchScope<T>) {
  const processor = new BatchProcessor(EventType.SQS);
  return middy<SQSEvent, SQSBatchResponse>().handler(async (event: SQSEvent, context: Context) => {
    logger.addContext(context);
    const batch = scope ? scope.begin() : (undefined as T);
    const recordHandler = async (record: SQSRecord): Promise<void> => {
      try {
        await handleRecord(record, context, batch);
      } catch (error) {
        logger.error('record failed', { messageId: record.messageId, receiveCount: record.attributes.ApproximateReceiveCount, error: error as Error });
        throw error;
      }
    };
    try {
      const response = await processPartialResponse(event, recordHandler, processor, { context });
      if (response.batchItemFailures.length > 0) logger.warn('records failed', { failed: response.batchItemFailures.length, of: event.Records.length });
      return response;
    } finally {
      if (scope) await scope.end(batch);
    }
  });
}

/** A consumer of a queue whose bodies follow one zod contract (events/), parsed per record. */
export function messageQueueConsumer<S extends z.ZodType, T = undefined>(
  schema: S,
  handle: (message: z.infer<S>, meta: MessageMeta, batch: T) => Promise<void>,
  scope?: BatchScope<T>,
) {
  return sqsConsumer<T>(async (record, context, batch) => {
    const message = schema.parse(JSON.parse(record.body)) as z.infer<S>;
    await handle(message, { record, context, receiveCount: Number(record.attributes.ApproximateReceiveCount ?? '1') }, batch);
  }, scope);
}

/** The record being handled as a use case sees it: its receive count, the time left, and a later redelivery (a new visibility timeout). */
export function deliveryOf({ record, context, receiveCount }: MessageMeta, queueUrl: string) {
  return {
    receiveCount,
    remainingMs: () => context.getRemainingTimeInMillis(),
    redeliverIn: (seconds: number) => delayRedelivery(queueUrl, record.receiptHandle, seconds),
  };
}
