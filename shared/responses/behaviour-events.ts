import * as z from 'zod';
import type { ContactStore } from '../contacts/contact-store.ts';
import type { Timeline } from '../contacts/timeline.ts';
import type { IdempotencyMarkers } from '../idempotency.ts';
import { keyedHash } from '../aws/secrets.ts';
import { PastInstant } from '../clock.ts';
import { NotFoundError } from '../errors.ts';
import { isStorableNumber, NUMBER_RANGE } from '../numbers.ts';

/**
 * Interactions that are not replies to a message: a site visit (a session start), a page view
 * and a named custom event ("added_to_cart", "trial_started"). They are recorded for any contact —
 * sent to, held out or never targeted — so the attribution run can compare a campaign's treatment
 * with its holdout on visits as it does on conversions. Conversions keep their own path
 * (conversions.ts): they carry value and are credited to touches.
 *
 * This module is the one source of their shapes: `POST /v1/events`, `POST /e/{siteKey}` and the
 * history import read the fields below and record through `recordBehaviourEvent`.
 */
export const BEHAVIOUR_EVENT_TYPES = ['visit', 'page_view', 'custom'] as const;
export type BehaviourEventType = (typeof BEHAVIOUR_EVENT_TYPES)[number];

/** The timeline type each event is recorded as (past tense, like sent, opened, converted). */
export const BEHAVIOUR_TIMELINE_TYPES = { visit: 'visited', page_view: 'page_viewed', custom: 'custom' } as const satisfies Record<BehaviourEventType, string>;
export type BehaviourTimelineType = (typeof BEHAVIOUR_TIMELINE_TYPES)[BehaviourEventType];

/** The name of a conversion or custom event: also part of a behaviour counter's key, so no `|`. */
export const EventName = z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9_.:-]+$/, 'may hold letters, digits and _ . : -');

/** An http(s) page address; only its origin and path are kept (the query and fragment often carry tokens and addresses). */
export const PageUrl = z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2048);

/** A custom event's properties: a few flat values, kept on the timeline entry. */
export const EventProperties = z
  .record(z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/, 'property names may hold letters, digits and _ . - (at most 40)'), z.union([z.string().max(200), z.number().refine(isStorableNumber, NUMBER_RANGE), z.boolean()]))
  .refine((p) => Object.keys(p).length <= 20, 'may hold at most 20 properties');

/** The fields each type carries beyond who, when and the idempotency key. */
export const BEHAVIOUR_FIELDS = {
  visit: { url: PageUrl.optional(), referrer: PageUrl.optional() },
  page_view: { url: PageUrl, title: z.string().trim().max(300).optional(), referrer: PageUrl.optional() },
  custom: { name: EventName, properties: EventProperties.optional() },
} as const;

const who = {
  contactId: z.uuid('must be a contact id').optional(),
  email: z.string().max(320).optional(),
  phone: z.string().max(40).optional(),
};
const when = { occurredAt: PastInstant, idempotencyKey: z.string().trim().min(1).max(200) };
const NAMED = { message: 'needs contactId, email or phone', path: ['contactId'] };
const named = (c: { contactId?: string; email?: string; phone?: string }) => Boolean(c.contactId || c.email || c.phone);

/** The back-office request for each type (`POST /v1/events`, and one row of a history import). */
export const VisitEventInput = z.strictObject({ type: z.literal('visit'), ...who, ...when, ...BEHAVIOUR_FIELDS.visit }).refine(named, NAMED);
export const PageViewEventInput = z.strictObject({ type: z.literal('page_view'), ...who, ...when, ...BEHAVIOUR_FIELDS.page_view }).refine(named, NAMED);
export const CustomEventInput = z.strictObject({ type: z.literal('custom'), ...who, ...when, ...BEHAVIOUR_FIELDS.custom }).refine(named, NAMED);
export const BehaviourEventInput = z.discriminatedUnion('type', [VisitEventInput, PageViewEventInput, CustomEventInput]);
export type BehaviourEventInput = z.infer<typeof BehaviourEventInput>;

/**
 * One site event as a row of a bulk import (the history import), with the importer's own contact
 * reference and instant schemas: the same types and fields, the idempotency key optional (the
 * importer derives one from the row, as it does for conversions). Record each with
 * `recordBehaviourEvent({ type, ...fields, contactId, occurredAt, idempotencyKey }, deps, 'import')`.
 */
export function behaviourEventRow<C extends z.ZodType, I extends z.ZodType>(contact: C, instant: I) {
  const common = { contact, occurredAt: instant, idempotencyKey: z.string().trim().min(1).max(200).optional() };
  return z.discriminatedUnion(
    'type',
    [
      z.strictObject({ type: z.literal('visit'), ...common, ...BEHAVIOUR_FIELDS.visit }),
      z.strictObject({ type: z.literal('page_view'), ...common, ...BEHAVIOUR_FIELDS.page_view }),
      z.strictObject({ type: z.literal('custom'), ...common, ...BEHAVIOUR_FIELDS.custom }),
    ],
    { error: `must be one of ${BEHAVIOUR_EVENT_TYPES.join(', ')}` },
  );
}

/** What a recorded event needs, once the contact is named and the time settled (by any entry point). */
export type BehaviourEvent = { idempotencyKey: string; occurredAt: string } & (
  | { type: 'visit'; url?: string; referrer?: string }
  | { type: 'page_view'; url: string; title?: string; referrer?: string }
  | { type: 'custom'; name: string; properties?: Record<string, string | number | boolean> }
);

/** "https://shop.example.com/p/1?x#y" → origin and path only. */
function page(url: string): { url: string; path: string } {
  const u = new URL(url);
  return { url: `${u.origin}${u.pathname}`, path: u.pathname };
}

/** The timeline entry's data for an event (pure; the history import builds the same entries). */
export function behaviourData(event: BehaviourEvent, source: string): Record<string, unknown> {
  const referrer = 'referrer' in event && event.referrer ? { referrer: new URL(event.referrer).origin } : {};
  switch (event.type) {
    case 'visit':
      return { ...(event.url ? { landing: page(event.url).url, path: page(event.url).path } : {}), ...referrer, source };
    case 'page_view':
      return { ...page(event.url), ...(event.title ? { title: event.title } : {}), ...referrer, source };
    case 'custom':
      return { name: event.name, ...(event.properties && Object.keys(event.properties).length ? { properties: event.properties } : {}), source };
  }
}

/** The timeline entry id: the type and a keyed hash of the client's key (never stored in clear). */
export async function behaviourEntryId(type: BehaviourEventType, idempotencyKey: string): Promise<string> {
  return `${type}:${await keyedHash(`${type}-key`, idempotencyKey)}`;
}

export interface BehaviourEventDeps {
  contacts: Pick<ContactStore, 'get' | 'findByEmail' | 'findByPhone'>;
  timeline: Pick<Timeline, 'recordFast'>;
  /** When given, a repeated idempotency key keeps the time of its first report, so repeats with another time (or none) land on the same entry. */
  markers?: Pick<IdempotencyMarkers, 'firstSeenAt'>;
}

/**
 * Records a visit, page view or custom event on the contact's timeline once per idempotency key
 * (a conditional put keyed by the first reported time and the hashed key), and counts it in the
 * contact's behaviour counters so segment rules can use it. No lead points and no campaign
 * counters move: the attribution run measures visits against each campaign's holdout. An unknown
 * contact is a NotFoundError (the public route swallows it so it reveals nothing).
 */
export async function recordBehaviourEvent(
  event: BehaviourEvent & { contactId?: string; email?: string; phone?: string },
  deps: BehaviourEventDeps,
  source: string,
  extra: Record<string, unknown> = {},
): Promise<{ contactId: string; recorded: boolean }> {
  const contact = event.contactId
    ? await deps.contacts.get(event.contactId, true)
    : event.email
      ? await deps.contacts.findByEmail(event.email)
      : event.phone
        ? await deps.contacts.findByPhone(event.phone)
        : undefined;
  if (!contact) throw new NotFoundError('contact', event.contactId ?? event.email ?? event.phone);
  const id = await behaviourEntryId(event.type, event.idempotencyKey);
  const reported = new Date(event.occurredAt).toISOString();
  const occurredAt = deps.markers ? await deps.markers.firstSeenAt(`${event.type}-time#${contact.id}#${event.idempotencyKey}`, reported) : reported;
  const outcome = await deps.timeline.recordFast({
    contactId: contact.id,
    id,
    type: BEHAVIOUR_TIMELINE_TYPES[event.type],
    occurredAt,
    data: { ...behaviourData(event, source), ...extra },
  });
  return { contactId: contact.id, recorded: outcome === 'recorded' };
}
