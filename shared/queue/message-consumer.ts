import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type * as z from 'zod';
import { logger } from '../logger.ts';

export interface MessageMeta {
  record: SQSRecord;
  context: Context;
  receiveCount: number;
}

/**
 * An SQS handler for a queue whose bodies follow one zod contract: each record is parsed and
 * handled on its own; a record that fails is reported in batchItemFailures (the rest of the
 * batch succeeds) and is retried by the queue, then parked in its DLQ.
 */
export function messageQueueConsumer<S extends z.ZodType>(schema: S, handle: (message: z.infer<S>, meta: MessageMeta) => Promise<void>) {
  const processor = new BatchProcessor(EventType.SQS);
  return middy<SQSEvent, SQSBatchResponse>().handler(async (event: SQSEvent, context: Context) => {
    logger.addContext(context);
    const recordHandler = async (record: SQSRecord): Promise<void> => {
      try {
        const message = schema.parse(JSON.parse(record.body)) as z.infer<S>;
        await handle(message, { record, context, receiveCount: Number(record.attributes.ApproximateReceiveCount ?? '1') });
      } catch (error) {
        logger.error('record failed', { messageId: record.messageId, receiveCount: record.attributes.ApproximateReceiveCount, error: error as Error });
        throw error;
      }
    };
    return processPartialResponse(event, recordHandler, processor, { context });
  });
}
