/** The contact model: one person, their addresses, attributes, consent state and scores. */

export type Channel = 'email' | 'sms';
export const CHANNELS: readonly Channel[] = ['email', 'sms'];

export type AttributeValue = string | number | boolean | null;

/**
 * Consent state per channel, derived from the append-only consent records:
 * - pending: ticked on a double-opt-in form, not yet confirmed (no marketing on this channel)
 * - confirmed: may receive marketing on this channel
 * - withdrawn: unsubscribed / opted out
 */
export type ConsentStatus = 'pending' | 'confirmed' | 'withdrawn';

export interface ChannelConsent {
  status: ConsentStatus;
  updatedAt: string;
  /** Where the consent came from: a form id, `api`, `import`, `unsubscribe`, `sms-keyword`… */
  source: string;
  wordingVersion?: string;
  confirmedAt?: string;
}

import type { Scores } from '../scoring/model.ts';

/** How the contact's time zone was learnt, most reliable first. */
export type TimeZoneSource = 'explicit' | 'form' | 'phone';

export interface Contact {
  id: string;
  email?: string;
  phone?: string;
  /** Country of the phone number (ISO 3166-1 alpha-2), when known. */
  country?: string;
  attributes: Record<string, AttributeValue>;
  tags: string[];
  timezone?: string;
  timezoneSource?: TimeZoneSource;
  consent: Partial<Record<Channel, ChannelConsent>>;
  scores: Scores;
  /** Suppression reasons per channel, denormalised from the suppression list so segment rules need no extra read. */
  suppressed?: Partial<Record<Channel, string[]>>;
  /**
   * Behaviour counters by hour (see shared/activity/activity.ts). Stored here only for counters
   * recorded before the activity table; readers merge in the month items (ActivityStore.attach).
   */
  activity?: Record<string, number>;
  /** The months that have an item in the activity table (a string set). */
  activityMonths?: Set<string>;
  /**
   * The rows of the last import job that wrote this contact, by file line: what each row did,
   * so that the job's chunk replayed after a crash reports the same and writes nothing again.
   * Replaced when another job writes the contact; other writers carry it along.
   */
  importMark?: ImportMark;
  createdAt: string;
  updatedAt: string;
  /** Optimistic-concurrency counter, incremented on every write. */
  version: number;
}

/** What one import row did to the contact: enough to answer and publish the same again on a replay. */
export interface ImportLineMark {
  /** The row's status. */
  s: 'created' | 'updated' | 'unchanged';
  /** When the row was written (its events' occurredAt and its consent records' time). */
  at: string;
  /** Fields the row changed (contact.updated's `changed`). */
  c?: string[];
  /** Consent changes: channel, from, to, consent record id. */
  k?: Array<[Channel, ConsentStatus | null, ConsentStatus, string]>;
}

export interface ImportMark {
  job: string;
  lines: Record<string, ImportLineMark>;
}

/** The identity and data one upsert brings (already normalised). */
export interface ContactInput {
  email?: string;
  phone?: string;
  country?: string;
  attributes?: Record<string, AttributeValue>;
  tags?: string[];
  timezone?: string;
  timezoneSource?: TimeZoneSource;
}
