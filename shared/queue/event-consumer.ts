import type { SQSRecord } from 'aws-lambda';
import type { DetailOf, EventContract } from '../../events/contract.ts';
import { EventBridgeEnvelope } from '../../events/envelope.ts';
import { sqsConsumer } from './message-consumer.ts';

export interface EventMeta {
  /** EventBridge's id for the event: the idempotency key of everything derived from it. */
  eventId: string;
  time: string;
  record: SQSRecord;
}

export interface EventHandler<C extends EventContract = EventContract> {
  contract: C;
  handle: (detail: DetailOf<C>, meta: EventMeta) => Promise<void>;
}

export function on<C extends EventContract>(contract: C, handle: (detail: DetailOf<C>, meta: EventMeta) => Promise<void>): EventHandler<C> {
  return { contract, handle } as EventHandler<C>;
}

export class UnroutableEventError extends Error {
  override name = 'UnroutableEventError';
}

/**
 * An SQS handler for a queue fed by EventBridge rules: each record is parsed (envelope, then the
 * contract's detail schema) and routed to its handler. A record that fails (bad shape, unknown
 * type, handler error) is reported in batchItemFailures; the rest of the batch succeeds, and
 * the queue's redrive policy moves a record that keeps failing to the DLQ.
 */
export function eventQueueConsumer(handlers: EventHandler[]) {
  const byKey = new Map(handlers.map((h) => [`${h.contract.source}|${h.contract.detailType}`, h]));
  return sqsConsumer(async (record) => {
    const envelope = EventBridgeEnvelope.parse(JSON.parse(record.body));
    const handler = byKey.get(`${envelope.source}|${envelope['detail-type']}`);
    if (!handler) throw new UnroutableEventError(`No handler for ${envelope.source} ${envelope['detail-type']}`);
    const detail = handler.contract.detail.parse(envelope.detail);
    await handler.handle(detail, { eventId: envelope.id, time: envelope.time, record });
  });
}
