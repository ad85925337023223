import { behaviourSummary } from '../activity/activity.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { evidenceToGrants } from './evidence.ts';
import { type ContactsQuery, type PatchContact, type SuppressionBody, type UpsertBody } from './api-schemas.ts';
import type { ContactService } from './contact-service.ts';
import type { ContactStore } from './contact-store.ts';
import type { ConsentLog } from './consents.ts';
import { consentRecordResource, contactResource, timelineEntryResource } from './resources.ts';
import type { SuppressionStore } from './suppressions.ts';
import type { Timeline } from './timeline.ts';

/** What a marketer does to contact records through the API (functions/contacts-api). */
export interface ContactAdminDeps {
  store: ContactStore;
  service: ContactService;
  suppressions: Pick<SuppressionStore, 'get'>;
  timeline: Timeline;
  consents: Pick<ConsentLog, 'page'>;
}

const page = <T, R>(p: { items: T[]; nextCursor?: string }, resource: (item: T) => R) => ({ items: p.items.map(resource), ...(p.nextCursor ? { nextCursor: p.nextCursor } : {}) });

/** A contact as the API shows it: its behaviour, which channels are suppressed and since when, and where it can be reached. */
export async function contactDetail(id: string, deps: ContactAdminDeps) {
  const stored = await deps.store.get(id, true);
  if (!stored) throw new NotFoundError('contact', id);
  const [contact] = (await deps.timeline.activity.attach([stored], { consistent: true })) as [typeof stored];
  const suppression = await deps.service.suppressionState(contact);
  const reachable = {
    email: Boolean(contact.email && contact.consent.email?.status === 'confirmed' && !suppression.email),
    sms: Boolean(contact.phone && contact.consent.sms?.status === 'confirmed' && !suppression.sms),
  };
  const suppressed = {
    email: suppression.email ? { reasons: Object.keys(suppression.email.reasons), since: suppression.email.updatedAt } : null,
    sms: suppression.sms ? { reasons: Object.keys(suppression.sms.reasons), since: suppression.sms.updatedAt } : null,
  };
  return { contact: { ...contactResource(contact), behaviour: behaviourSummary(contact.activity) }, suppressed, reachable };
}

/** Creates or updates the contact an address belongs to; an address held by another contact is a conflict. */
export async function upsertContact(body: UpsertBody, actor: string | undefined, deps: ContactAdminDeps) {
  const grants = evidenceToGrants(body.consent, 'api', actor, {});
  const result = await deps.service.upsert(body.input, 'api', { consents: grants, onIdentityConflict: 'reject' });
  return { ...(await contactDetail(result.contact.id, deps)), created: result.created, changed: result.changed };
}

/** By address (one or none), or a page of all. */
export async function findContacts(query: ContactsQuery, deps: ContactAdminDeps) {
  if (query.email || query.phone) {
    const contact = query.email ? await deps.store.findByEmail(query.email) : await deps.store.findByPhone(query.phone!);
    return { items: contact ? [contactResource(contact)] : [] };
  }
  return page(await deps.store.page(query.limit, query.cursor), contactResource);
}

export async function patchContact(id: string, patch: PatchContact, deps: ContactAdminDeps) {
  const result = await deps.service.patch(id, patch);
  if (!result) throw new NotFoundError('contact', id);
  return { ...(await contactDetail(id, deps)), changed: result.changed };
}

export async function eraseContact(id: string, deps: ContactAdminDeps): Promise<void> {
  if (!(await deps.service.erase(id))) throw new NotFoundError('contact', id);
}

export async function exportContact(id: string, deps: ContactAdminDeps): Promise<Record<string, unknown>> {
  const data = await deps.service.export(id);
  if (!data) throw new NotFoundError('contact', id);
  return data;
}

export async function contactTimeline(id: string, limit: number, cursor: string | undefined, deps: ContactAdminDeps) {
  if (!(await deps.store.get(id))) throw new NotFoundError('contact', id);
  return page(await deps.timeline.page(id, limit, cursor), timelineEntryResource);
}

/** The contact's consent evidence, newest first. An erased contact has none under its id: erasure moved the anonymised records to a pseudonym. */
export async function contactConsents(id: string, limit: number, cursor: string | undefined, deps: ContactAdminDeps) {
  if (!(await deps.store.get(id))) throw new NotFoundError('contact', id);
  return page(await deps.consents.page(id, limit, cursor), consentRecordResource);
}

/** A marketer applies what a public form submission held back for an existing contact, once. */
export async function applyHeldSubmission(id: string, submissionId: string, actor: string | undefined, deps: ContactAdminDeps) {
  const entry = await deps.service.submissionEntry(id, submissionId);
  if (!entry) throw new NotFoundError('submission', submissionId);
  const outcome = await deps.service.applyHeld(id, entry.sk, `api:${actor ?? 'unknown'}`);
  if (outcome.kind === 'not-found') throw new ConflictError('This submission holds no changes to apply', 'nothing_held');
  if (outcome.kind === 'already-applied') throw new ConflictError('This submission was applied already', 'already_applied');
  return { ...(await contactDetail(id, deps)), changed: outcome.result.changed };
}

/** Suppresses an address on a channel; answers with every reason it is now suppressed for. */
export async function suppressAddress(body: SuppressionBody, actor: string | undefined, deps: ContactAdminDeps) {
  const at = new Date().toISOString();
  await deps.service.suppress(body.channel, body.address, body.reason, { at, source: `api:${actor ?? 'unknown'}`, ...(body.note ? { note: body.note } : {}) });
  const current = await deps.suppressions.get(body.channel, body.address);
  return { channel: body.channel, reasons: Object.keys(current?.reasons ?? {}), since: current?.updatedAt };
}
