import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import * as z from 'zod';
import type { JourneyTask } from '../../events/journeys.ts';
import { TableStreamRecord } from '../../events/stream.ts';
import { sendToQueue } from '../../shared/aws/queue.ts';
import { functionConfig } from '../../shared/config.ts';
import { journeyEventOf } from '../../shared/journeys/timeline-events.ts';
import { logger } from '../../shared/logger.ts';

const config = functionConfig('journey-events', { tables: {}, queues: { journeyTasks: true } });
const Batch = z.object({ Records: z.array(TableStreamRecord) });

/**
 * The timeline's new entries that journeys react to → the journey worker's queue, in order, ten
 * to a request. A failed request is where Lambda retries from (batchItemFailures), so nothing
 * before it is sent twice and nothing after it is lost.
 */
export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse>().handler(async (event) => {
  const { Records } = Batch.parse(event);
  const pending: Array<{ sequenceNumber: string; task: JourneyTask }> = [];
  for (const record of Records) {
    if (record.eventName !== 'INSERT' || !record.dynamodb.NewImage) continue;
    const journeyEvent = journeyEventOf(unmarshall(record.dynamodb.NewImage as Record<string, AttributeValue>));
    if (journeyEvent) pending.push({ sequenceNumber: record.dynamodb.SequenceNumber, task: { kind: 'event', event: journeyEvent } });
  }
  for (let i = 0; i < pending.length; i += 10) {
    const chunk = pending.slice(i, i + 10);
    try {
      await sendToQueue(config.queues.journeyTasks, chunk.map((p) => ({ body: JSON.stringify(p.task) })));
    } catch (error) {
      logger.error('journey events not forwarded', { error: error as Error, from: chunk[0]!.sequenceNumber });
      return { batchItemFailures: [{ itemIdentifier: chunk[0]!.sequenceNumber }] };
    }
  }
  return { batchItemFailures: [] };
});
