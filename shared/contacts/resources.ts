/**
 * What the API answers about a contact and its timeline: the model, never the storage. The
 * shapes are documented in the README (Marketer contacts API); internal fields — behaviour
 * counter keys, the months that hold them, the optimistic-concurrency version, denormalised
 * suppression reasons (the view carries the suppression state), sort keys and index keys —
 * stay out.
 */
import { scoresOf, type Scores } from '../scoring/model.ts';
import type { ConsentRecord } from './consents.ts';
import type { Channel, ChannelConsent, Contact, TimeZoneSource } from './model.ts';
import type { Interaction } from './timeline.ts';

export interface ContactResource {
  id: string;
  email?: string;
  phone?: string;
  country?: string;
  timezone?: string;
  timezoneSource?: TimeZoneSource;
  attributes: Contact['attributes'];
  tags: string[];
  consent: Partial<Record<Channel, ChannelConsent>>;
  scores: Scores;
  createdAt: string;
  updatedAt: string;
}

export function contactResource(contact: Contact): ContactResource {
  return {
    id: contact.id,
    ...(contact.email ? { email: contact.email } : {}),
    ...(contact.phone ? { phone: contact.phone } : {}),
    ...(contact.country ? { country: contact.country } : {}),
    ...(contact.timezone ? { timezone: contact.timezone, ...(contact.timezoneSource ? { timezoneSource: contact.timezoneSource } : {}) } : {}),
    attributes: contact.attributes,
    tags: contact.tags ?? [],
    consent: contact.consent ?? {},
    scores: scoresOf(contact.scores),
    createdAt: contact.createdAt,
    updatedAt: contact.updatedAt,
  };
}

export interface TimelineEntryResource {
  /** The entry's id: a submission id for `form_submitted` (what the apply route takes), a provider or event id otherwise. */
  id: string;
  type: string;
  occurredAt: string;
  recordedAt: string;
  channel?: Channel;
  campaignId?: string;
  /** The campaign send the entry belongs to (a delivery, open, click, unsubscribe of that message). */
  sendId?: string;
  data?: Record<string, unknown>;
}

export function timelineEntryResource(entry: Interaction): TimelineEntryResource {
  return {
    id: entry.id,
    type: entry.type,
    occurredAt: entry.occurredAt,
    recordedAt: entry.recordedAt,
    ...(entry.channel ? { channel: entry.channel } : {}),
    ...(entry.campaignId ? { campaignId: entry.campaignId } : {}),
    ...(entry.sendId ? { sendId: entry.sendId } : {}),
    ...(entry.data ? { data: entry.data } : {}),
  };
}

/**
 * One consent evidence record as the API shows it: what was agreed or withdrawn, when, where (form,
 * wording version and the hash of the exact text shown), from which IP and user agent when they were
 * recorded, and the double opt-in state. The keyed hash of the address stays in storage (it proves
 * the address after erasure, but is no one's business before).
 */
export type ConsentRecordResource = Omit<ConsentRecord, 'contactId' | 'sk' | 'addressHash' | 'erasedAt'>;

const CONSENT_FIELDS = ['id', 'channel', 'action', 'status', 'at', 'source', 'formId', 'wordingVersion', 'wordingHash', 'ip', 'userAgent', 'doubleOptIn', 'actor', 'capturedAt'] as const satisfies ReadonlyArray<keyof ConsentRecordResource>;

export function consentRecordResource(record: ConsentRecord): ConsentRecordResource {
  return Object.fromEntries(CONSENT_FIELDS.filter((k) => record[k] !== undefined).map((k) => [k, record[k]])) as ConsentRecordResource;
}
