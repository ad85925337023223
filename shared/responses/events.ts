import * as z from 'zod';
import { BEHAVIOUR_EVENT_TYPES, CustomEventInput, PageViewEventInput, recordBehaviourEvent, VisitEventInput, type BehaviourEventDeps } from './behaviour-events.ts';
import { ConversionInput, conversionAddresses, recordConversion, type ConversionDeps } from './conversions.ts';

/** Every type `POST /v1/events` takes; a request without `type` is a conversion, as before types existed. */
export const EVENT_TYPES = ['conversion', ...BEHAVIOUR_EVENT_TYPES] as const;
export type EventType = (typeof EVENT_TYPES)[number];

const ConversionEventInput = z
  .strictObject({ type: z.literal('conversion'), ...ConversionInput.shape })
  .refine((c) => c.contactId || c.email || c.phone, { message: 'needs contactId, email or phone', path: ['contactId'] });

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The body of `POST /v1/events`: one event of any type, named by contactId, email or phone. */
export const EventInput = z.preprocess(
  (value) => (isPlainObject(value) && !Object.hasOwn(value, 'type') ? { ...value, type: 'conversion' } : value),
  z.discriminatedUnion('type', [ConversionEventInput, VisitEventInput, PageViewEventInput, CustomEventInput], { error: `must be one of ${EVENT_TYPES.join(', ')}` }),
);
export type EventInput = z.infer<typeof EventInput>;

export type EventDeps = ConversionDeps & BehaviourEventDeps;

/**
 * One event reported by the customer's systems, recorded once per idempotency key: a conversion
 * (credited by the attribution run, lead points, live counts) or a visit, page view or custom
 * event (timeline and behaviour counters). An unknown contact is a NotFoundError.
 */
export async function recordEvent(input: EventInput, deps: EventDeps, source: string): Promise<{ type: EventType; contactId: string; recorded: boolean }> {
  const { email, phone } = conversionAddresses(input);
  if (input.type === 'conversion') {
    const { type, ...conversion } = input;
    return { type, ...(await recordConversion({ ...conversion, email, phone }, deps, source)) };
  }
  return { type: input.type, ...(await recordBehaviourEvent({ ...input, email, phone }, deps, source)) };
}
