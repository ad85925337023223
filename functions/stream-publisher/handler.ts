import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import * as z from 'zod';
import { TableStreamRecord } from '../../events/stream.ts';
import { FirehoseStreamSink } from '../../shared/aws/firehose.ts';
import { functionConfig } from '../../shared/config.ts';
import { logger } from '../../shared/logger.ts';
import { publishTableChanges } from '../../shared/stream/event-stream.ts';

const config = functionConfig('stream-publisher', { tables: {}, queues: {}, writesEventStream: true });
const sink = new FirehoseStreamSink(config.eventStream);
const Batch = z.object({ Records: z.array(TableStreamRecord) });

/** The interactions table's changes → the event stream (shared/stream/event-stream.ts); a refused record is where Lambda retries from. */
export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse>().handler(async (event) => {
  const { Records } = Batch.parse(event);
  const outcome = await publishTableChanges(
    Records.map((r) => ({
      sequenceNumber: r.dynamodb.SequenceNumber,
      eventName: r.eventName,
      newImage: r.dynamodb.NewImage ? unmarshall(r.dynamodb.NewImage as Record<string, AttributeValue>) : undefined,
    })),
    sink,
  );
  if (outcome.retryFrom) logger.warn('event stream batch stopped', { ...outcome, of: Records.length });
  return { batchItemFailures: outcome.retryFrom ? [{ itemIdentifier: outcome.retryFrom }] : [] };
});
