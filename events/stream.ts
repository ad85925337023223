import * as z from 'zod';

/**
 * The public event stream: every send and interaction on a contact's timeline, published once
 * as one JSON object per line (NDJSON) to Amazon Data Firehose (S3, partitioned by day) or, in
 * the local runtime, to files under `.touchloop/stream/`. A versioned contract: fields are
 * added, never removed or retyped, within `touchloop.event/1`; a change that would break a
 * reader ships as `touchloop.event/2`. The contract test (test/unit/stream-events.test.ts)
 * fails when a field of version 1 is removed or retyped.
 */
export const STREAM_SCHEMA = 'touchloop.event/1';

const isoTime = z.iso.datetime({ offset: true });

/**
 * Types published today (the `type` of the timeline entry). Readers should accept types they do
 * not know: new kinds of interaction join the stream without a new schema version.
 */
export const KNOWN_STREAM_TYPES = [
  'sent',
  'accepted',
  'delivered',
  'delivery_delayed',
  'delivery_failed',
  'bounced',
  'bounced_soft',
  'complained',
  'rejected',
  'rendering_failed',
  'opened',
  'clicked',
  'visited',
  'page_view',
  'custom',
  'unsubscribed',
  'resubscribed',
  'subscription_changed',
  'converted',
  'consent_pending',
  'consent_confirmed',
  'consent_withdrawn',
  'form_submitted',
  'contact_created',
  'contact_updated',
  'sms_received',
] as const;

export const StreamEvent = z.object({
  /** Schema name and major version: `touchloop.event/1`. */
  schema: z.literal(STREAM_SCHEMA),
  /**
   * Stable id of the event (a hash of the timeline entry's key): the same event published twice
   * (delivery is at least once) carries the same id, so readers deduplicate on it.
   */
  id: z.string().regex(/^[0-9a-f]{32}$/),
  /** What happened: one of KNOWN_STREAM_TYPES, or a newer type. */
  type: z.string().min(1),
  /** When it happened (provider or client time). */
  occurredAt: isoTime,
  /** When Touchloop recorded it on the timeline. */
  recordedAt: isoTime,
  /** Touchloop's contact id (an opaque id; addresses are never in the stream). */
  contactId: z.string().min(1),
  campaignId: z.string().optional(),
  /** The send the interaction answers (`<campaignId>:<runId>:<contactId>`). */
  sendId: z.string().optional(),
  runId: z.string().optional(),
  channel: z.enum(['email', 'sms']).optional(),
  /** The campaign variant of a send. */
  variant: z.string().optional(),
  /** A conversion's or custom event's name. */
  name: z.string().optional(),
  /** A conversion's value, in `currency`. */
  value: z.number().optional(),
  currency: z.string().optional(),
  /** Further facts of the type (link, bounce type, consent source…), from a fixed allow-list of keys: no address, message text or user agent. */
  data: z.record(z.string(), z.unknown()),
});
export type StreamEvent = z.infer<typeof StreamEvent>;

/** One DynamoDB Streams record as Lambda (and the local runtime) deliver it; images stay in DynamoDB JSON. */
export const TableStreamRecord = z.object({
  eventID: z.string().optional(),
  eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
  dynamodb: z.object({
    SequenceNumber: z.string().min(1),
    NewImage: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type TableStreamRecord = z.infer<typeof TableStreamRecord>;
