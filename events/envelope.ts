import * as z from 'zod';

/**
 * The EventBridge event as an EventBridge rule delivers it to an SQS target (the message body):
 * the contract of every queue fed by a rule (interactions, leadScoring, confirmations,
 * providerEvents). The producer is EventBridge itself.
 */
/** The EventBridge event as an EventBridge rule delivers it to an SQS target (the message body). */
export const EventBridgeEnvelope = z.object({
  version: z.string(),
  id: z.string().min(1),
  'detail-type': z.string(),
  source: z.string(),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  resources: z.array(z.string()),
  detail: z.unknown(),
});

