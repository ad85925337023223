import * as z from 'zod';

/**
 * Queue message contracts of the journey worker (SQS bodies on `journeyTasks`). Producers: the
 * journeys API (start, resume, stop), the dispatcher (due waits, segment checks), the timeline
 * stream reader (events), the attribution runs (measurement) and the worker itself (audience
 * scan continuations). One consumer: functions/journey-worker.
 */

/** Something that happened to a contact, as the timeline recorded it: it may enter them, release a wait, reach a goal or end their journeys. */
export const JourneyEvent = z.object({
  contactId: z.string().min(1),
  /** The timeline entry's id: entries triggered by it are keyed by it, so a redelivery enters no one twice. */
  eventId: z.string().min(1),
  /** The timeline type: form_submitted, converted, custom, consent_<status>, unsubscribed, delivered, opened, clicked, replied, contact_erased… */
  type: z.string().min(1),
  occurredAt: z.string().min(1),
  /** A conversion's or custom event's name. */
  name: z.string().optional(),
  /** A conversion's value. */
  value: z.number().optional(),
  channel: z.enum(['email', 'sms']).optional(),
  formId: z.string().optional(),
  campaignId: z.string().optional(),
  sendId: z.string().optional(),
});
export type JourneyEvent = z.infer<typeof JourneyEvent>;

export const JourneyTask = z.discriminatedUnion('kind', [
  /** A timeline event for the contact's journeys. */
  z.object({ kind: z.literal('event'), event: JourneyEvent }),
  /** A wait that fell due (the dispatcher's sweep): acted on only if the entry is still at `seq`. */
  z.object({ kind: z.literal('wake'), contactId: z.string().min(1), journeyId: z.string().min(1), entry: z.int().min(1), seq: z.int().min(0) }),
  /**
   * One parallel-scan segment of a segment-triggered journey's audience: `audience` enters every
   * member (a segment_audience run), `baseline` only marks who is in the segment now and `check`
   * enters members never seen before (segment_entry). Continuations carry `startKey`.
   */
  z.object({
    kind: z.literal('scan'),
    mode: z.enum(['audience', 'baseline', 'check']),
    journeyId: z.string().min(1),
    /** Names the run: entries it makes are keyed by it (`<runKey>`), so a redelivered page enters no one twice. */
    runKey: z.string().min(1),
    segment: z.int().min(0),
    totalSegments: z.int().min(1),
    startKey: z.record(z.string(), z.unknown()).optional(),
  }),
  /** EventBridge Scheduler's firing of a segment_audience journey's schedule. */
  z.object({ kind: z.literal('fire'), journeyId: z.string().min(1), scheduledTime: z.string().optional() }),
  /** After a resume (re-index parked waits, release paused sends) or a stop (end every entry): one page of the journey's entries at a time. */
  z.object({ kind: z.enum(['resume', 'stop']), journeyId: z.string().min(1), startKey: z.record(z.string(), z.unknown()).optional() }),
  /** Measure goal lift against the holdout (the nightly run, or an attribution run on demand): every journey, or one. */
  z.object({ kind: z.literal('measure'), journeyId: z.string().optional(), startKey: z.record(z.string(), z.unknown()).optional(), partial: z.record(z.string(), z.unknown()).optional() }),
]);
export type JourneyTask = z.infer<typeof JourneyTask>;
