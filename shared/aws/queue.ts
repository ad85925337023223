import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';

const client = new SQSClient({});

/**
 * Sends message bodies to a queue, ten per SendMessageBatch (the API's limit); entries SQS
 * reports as failed are retried, then raised so the caller's own message is redelivered.
 */
export async function sendToQueue(queueUrl: string, bodies: Array<{ body: string; delaySeconds?: number }>, sqs = client): Promise<number> {
  let requests = 0;
  for (let i = 0; i < bodies.length; i += 10) {
    let entries: SendMessageBatchRequestEntry[] = bodies.slice(i, i + 10).map((b, j) => ({
      Id: String(j),
      MessageBody: b.body,
      ...(b.delaySeconds ? { DelaySeconds: Math.min(900, Math.max(0, Math.round(b.delaySeconds))) } : {}),
    }));
    for (let attempt = 1; entries.length > 0; attempt++) {
      requests++;
      const result = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
      const failed = new Set((result.Failed ?? []).map((f) => f.Id));
      if (failed.size === 0) break;
      if (attempt >= 3) throw new Error(`SQS refused ${failed.size} message(s): ${(result.Failed ?? []).map((f) => f.Code).join(', ')}`);
      entries = entries.filter((e) => failed.has(e.Id));
    }
  }
  return requests;
}

/** Pushes a message's next delivery back (exponential back-off for throttled sends). */
export async function delayRedelivery(queueUrl: string, receiptHandle: string, seconds: number, sqs = client): Promise<void> {
  await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: Math.min(43_200, Math.max(0, Math.round(seconds))) }));
}
