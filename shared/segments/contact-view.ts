import type { AttributeValue, Channel, ConsentStatus, Contact } from '../contacts/model.ts';
import { scoresOf, type Scores } from '../scoring/model.ts';
import { indexActivity, type ActivityIndex } from '../activity/activity.ts';

/**
 * What a segment rule sees of a contact: everything needed to decide membership with no I/O.
 * Built once per contact read (audience scans, previews) or generated in bulk (benchmarks).
 */
export interface EvalContact {
  id: string;
  email?: string;
  phone?: string;
  country?: string;
  timezone?: string;
  tags: string[];
  /** ISO 8601 UTC instants. */
  createdAt: string;
  updatedAt: string;
  attributes: Record<string, AttributeValue>;
  consent: Partial<Record<Channel, ConsentStatus>>;
  /** Denormalised from the suppression list: the address on that channel must not be messaged. */
  suppressed: Record<Channel, boolean>;
  scores: Scores;
  activity: ActivityIndex;
}

/** A stored contact item (as DynamoDB returns it) → the evaluation view. */
export function toEvalContact(item: Contact & { activity?: Record<string, number>; suppressed?: Partial<Record<Channel, string[]>> }, nowMs = Date.now()): EvalContact {
  return {
    id: item.id,
    email: item.email,
    phone: item.phone,
    country: item.country,
    timezone: item.timezone,
    tags: item.tags ?? [],
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
    attributes: item.attributes ?? {},
    consent: { email: item.consent?.email?.status, sms: item.consent?.sms?.status },
    suppressed: { email: Boolean(item.suppressed?.email?.length), sms: Boolean(item.suppressed?.sms?.length) },
    scores: scoresOf(item.scores as Partial<Scores> | undefined),
    activity: indexActivity(item.activity, nowMs),
  };
}

/** Reachable on a channel: has the address, consent confirmed, not suppressed. */
export function reachable(contact: EvalContact, channel: Channel): boolean {
  const address = channel === 'email' ? contact.email : contact.phone;
  return Boolean(address) && contact.consent[channel] === 'confirmed' && !contact.suppressed[channel];
}
