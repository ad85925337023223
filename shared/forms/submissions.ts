/**
 * A form's submissions as the marketer sees them: the form_submitted entries on the contacts'
 * timelines (FormSubmissions in form-store.ts reads them through the interactions table's sparse
 * index byForm), and the paging cursor over that index.
 */
import type { Interaction } from '../contacts/timeline.ts';
import { decodeCursor, encodeCursor } from '../http/cursor.ts';

/** One submission as the API shows it. */
export interface FormSubmissionResource {
  /** The submission's id (what POST /v1/contacts/{id}/submissions/{submissionId}/apply takes). */
  submissionId: string;
  contactId: string;
  at: string;
  /** What the submission recorded for the contact, as stored: address, phone, country, attributes, tags, time zone (never a captcha token). */
  fields: Record<string, unknown>;
  /** Whether the submission made a new contact. */
  created?: boolean;
  /** The Origin of the page that posted it, when the browser sent one. */
  origin?: string;
  /** Changes held for an existing contact until the owner (or a marketer) confirms them: pending or applied. */
  held?: string;
}

export interface SubmissionsQuery {
  limit: number;
  cursor?: string | undefined;
  /** Inclusive bounds on the submission time (ISO 8601, UTC). */
  from?: string | undefined;
  to?: string | undefined;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const CONTACT_ID = /^[0-9a-f-]{36}$/;

/** The index key a page continues after. */
export interface SubmissionKey {
  occurredAt: string;
  contactId: string;
  sk: string;
}

const scopeOf = (formId: string) => `submissions/${formId}`;

export const submissionsCursor = (formId: string, key: SubmissionKey): string => encodeCursor(scopeOf(formId), [key.occurredAt, key.contactId, key.sk]);

/** The key a cursor of this form's list continues after; it must lie inside [from, to] (a 400 at query.cursor otherwise). */
export function submissionKeyOf(cursor: string, formId: string, bounds: Pick<SubmissionsQuery, 'from' | 'to'>): SubmissionKey {
  const { from, to } = bounds;
  const [occurredAt, contactId, sk] = decodeCursor(
    cursor,
    scopeOf(formId),
    3,
    ([at, contact, key]) => ISO_UTC.test(at!) && CONTACT_ID.test(contact!) && key!.startsWith(`${at}#`) && (!from || at! >= from) && (!to || at! <= to),
  ) as [string, string, string];
  return { occurredAt, contactId, sk };
}

const record = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {});

export function formSubmissionResource(entry: Interaction): FormSubmissionResource {
  const data = record(entry.data);
  const origin = record(data.from).origin;
  const held = record(data.held).status;
  return {
    submissionId: entry.id,
    contactId: entry.contactId,
    at: entry.occurredAt,
    fields: record(data.submitted),
    ...(typeof data.created === 'boolean' ? { created: data.created } : {}),
    ...(typeof origin === 'string' ? { origin } : {}),
    ...(typeof held === 'string' ? { held } : {}),
  };
}
