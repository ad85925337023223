import { createHash, randomUUID } from 'node:crypto';
import { ConsentChanged, ContactErased, ContactUpdated } from '../../events/contacts.ts';
import { makeEvent, type OutgoingEvent } from '../../events/contract.ts';
import { keyedHash } from '../aws/secrets.ts';
import { ConflictError } from '../errors.ts';
import type { ConsentLog } from './consents.ts';
import { backoff, ContentionError, emailLookupKey, isRace, MAX_ATTEMPTS, phoneLookupKey, type ConsentGrant, type ContactPatch, type ContactStore, type UpsertOptions, type UpsertResult } from './contact-store.ts';
import type { Channel, Contact, ContactInput } from './model.ts';
import { planForExistingContact, underWithdrawalRule, withoutPhone, type ChannelLocks, type HeldChange } from './public-capture.ts';
import { EVIDENCE_LIFTS, WITHDRAWAL_REASONS, type Suppression, type SuppressionEntry, type SuppressionReason, type SuppressionStore } from './suppressions.ts';
import type { Interaction, Timeline } from './timeline.ts';

export type ContactOrigin = 'api' | 'form' | 'import';

export class ErasedAddressError extends ConflictError {
  override name = 'ErasedAddressError';
  constructor(channel: Channel) {
    super(
      `This ${channel === 'email' ? 'email address' : 'phone number'} belonged to a person who asked to be erased; it can be added again only with new consent for ${channel}`,
      'address_erased',
    );
  }
}

export interface ContactServiceDeps {
  contacts: ContactStore;
  suppressions: SuppressionStore;
  consents: ConsentLog;
  timeline: Timeline;
  publish: (events: OutgoingEvent[]) => Promise<void>;
  hash?: (purpose: string, value: string) => Promise<string>;
  /**
   * Other stores that hold the contact id (campaign send records): erasure hands each the
   * pseudonym the person's anonymised history moves to, and the send ids on their timeline.
   */
  erasureHooks?: ErasureHook[];
}

export type ErasureHook = (contactId: string, pseudonym: string, known: { sendIds: string[] }) => Promise<void>;

export interface SuppressionState {
  email: Suppression | null;
  sms: Suppression | null;
}

/** Grants that give (not withdraw) consent on a channel: only those may re-add an erased address. */
const grantsConsent = (grants: ConsentGrant[], channel: Channel) => grants.some((g) => g.channel === channel && g.status !== 'withdrawn');

/** Where a public form submission came from, recorded with it. */
export interface PublicSubmission {
  formId: string;
  submissionId: string;
  at: string;
  ip: string;
  userAgent: string;
  /** The page's Origin header, when the browser sent one. */
  origin?: string;
}

/** The timeline entry type of a form submission; its `data.held` waits for confirmation. */
export const FORM_SUBMITTED = 'form_submitted';

export type CaptureOutcome =
  | { kind: 'discarded'; reason: 'erased' }
  | {
      kind: 'stored';
      result: UpsertResult;
      /** The submission's timeline entry key. */
      entrySk: string;
      /** Something waits for the owner's confirmation (held changes), and the contact has an email to ask at. */
      held: boolean;
      /** A digest of what is held: identical submissions hold identical changes (one confirmation email for them). */
      heldDigest?: string;
      /** The email's consent was withdrawn (status or suppression): only the owner's confirmation brings it back. */
      emailWithdrawn: boolean;
    };

export type ApplyHeldOutcome = { kind: 'applied'; result: UpsertResult } | { kind: 'already-applied' } | { kind: 'not-found' };

/** Same held change, same digest (records' times and ids left out). */
function digestOf(held: HeldChange | undefined): string {
  const stable = { input: held?.input, grants: held?.grants.map((g) => [g.channel, g.status, g.record.wordingVersion ?? '']) };
  return createHash('sha256').update(JSON.stringify(stable)).digest('base64url').slice(0, 22);
}

/** What `data` of a form_submitted entry holds. */
interface SubmissionData {
  held?: HeldChange & { status: 'pending' | 'applied' };
}

/**
 * The contact use cases shared by the API, forms and imports: erasure protection, the upsert,
 * lifting consent-related suppressions when consent is given again, and the domain events.
 */
export class ContactService {
  private readonly hash: (purpose: string, value: string) => Promise<string>;

  constructor(private readonly deps: ContactServiceDeps) {
    this.hash = deps.hash ?? keyedHash;
  }

  /** Refuses addresses of erased people unless this write brings new consent for that channel. */
  async assertNotErased(input: ContactInput, grants: ConsentGrant[]): Promise<void> {
    const checks: Array<[Channel, string | undefined]> = [
      ['email', input.email],
      ['sms', input.phone],
    ];
    for (const [channel, address] of checks) {
      if (!address || grantsConsent(grants, channel)) continue;
      const suppression = await this.deps.suppressions.get(channel, address);
      if (suppression?.reasons.erased) throw new ErasedAddressError(channel);
    }
  }

  /** Consent records carry a keyed hash of the address they were given for (it survives erasure). */
  async withAddressHashes(grants: ConsentGrant[], addresses: { email?: string; phone?: string }): Promise<ConsentGrant[]> {
    return Promise.all(
      grants.map(async (g) => {
        const address = g.channel === 'email' ? addresses.email : addresses.phone;
        if (g.record.addressHash || !address) return g;
        return { ...g, record: { ...g.record, addressHash: await this.hash('address', address) } };
      }),
    );
  }

  /**
   * The authenticated upsert (API, import): a marketer's data replaces the contact's, and
   * consent evidence lifts the suppressions a withdrawal or an erasure left (never a bounce).
   */
  async upsert(input: ContactInput, origin: Exclude<ContactOrigin, 'form'>, options: UpsertOptions & { collectEvents?: OutgoingEvent[] } = {}): Promise<UpsertResult> {
    const grants = await this.withAddressHashes(options.consents ?? [], input);
    await this.assertNotErased(input, grants);
    const result = await this.deps.contacts.upsert(input, { ...options, consents: grants });
    await this.afterWrite(result, origin, { grants, lift: EVIDENCE_LIFTS, collect: options.collectEvents });
    return result;
  }

  /** Per channel, whether the address's consent was withdrawn (by its consent status or a withdrawal suppression); erased addresses too. */
  private async locksFor(addresses: { email?: string; phone?: string }, contact?: Contact): Promise<{ locks: ChannelLocks; erased: Partial<Record<Channel, boolean>> }> {
    const locks: ChannelLocks = {};
    const erased: Partial<Record<Channel, boolean>> = {};
    await Promise.all(
      (['email', 'sms'] as const).map(async (channel) => {
        const address = channel === 'email' ? addresses.email : addresses.phone;
        if (!address) return;
        const suppression = await this.deps.suppressions.get(channel, address);
        const held = contact && (channel === 'email' ? contact.email : contact.phone) === address ? contact.consent[channel]?.status === 'withdrawn' : false;
        locks[channel] = held || WITHDRAWAL_REASONS.some((r) => suppression?.reasons[r]);
        erased[channel] = Boolean(suppression?.reasons.erased);
      }),
    );
    return { locks, erased };
  }

  /**
   * A public (unauthenticated) form submission, under the rule in public-capture.ts: a new
   * address makes a new contact; an existing contact gets consent records (pending where its
   * consent was withdrawn) and the submission on its timeline, with every change held for the
   * owner's confirmation. An erased person's address is not stored at all. The submission's
   * timeline entry is written in the same transaction as the contact and its consent records.
   * Concurrent submissions of one address make one contact; none of them fails for contention
   * short of a ContentionError (429).
   */
  async capture(input: ContactInput, grantsIn: ConsentGrant[], submission: PublicSubmission, collect: OutgoingEvent[]): Promise<CaptureOutcome> {
    const { contacts, timeline } = this.deps;
    const grantsWithHashes = await this.withAddressHashes(grantsIn, input);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const [emailOwner, phoneOwner] = await Promise.all([
        input.email ? contacts.findIdByKey(emailLookupKey(input.email)) : undefined,
        input.phone ? contacts.findIdByKey(phoneLookupKey(input.phone)) : undefined,
      ]);
      const ownerId = input.email ? emailOwner : phoneOwner;
      const existing = ownerId ? await contacts.get(ownerId, true) : undefined;
      if (ownerId && !existing) {
        await backoff(attempt); // a lookup without its contact: an erasure in progress
        continue;
      }
      let write: { input: ContactInput; grants: ConsentGrant[]; held?: HeldChange };
      let locks: ChannelLocks;
      if (existing) {
        ({ locks } = await this.locksFor(input, existing));
        const plan = planForExistingContact(existing, input, grantsWithHashes, locks);
        write = { input: plan.input, grants: plan.grants, held: plan.held };
      } else {
        const found = await this.locksFor(input);
        const { erased } = found;
        locks = found.locks;
        if (input.email ? erased.email : erased.sms) return { kind: 'discarded', reason: 'erased' };
        let fresh = { input, grants: grantsWithHashes };
        if (input.phone && input.email && (phoneOwner || erased.sms)) fresh = withoutPhone(input, grantsWithHashes);
        write = { input: fresh.input, grants: underWithdrawalRule(fresh.grants, locks) };
      }
      const contactId = existing?.id ?? randomUUID();
      const entry = timeline.entryPut(
        {
          contactId,
          id: submission.submissionId,
          type: FORM_SUBMITTED,
          occurredAt: submission.at,
          formId: submission.formId,
          data: {
            formId: submission.formId,
            created: !existing,
            submitted: { ...input, attributes: input.attributes ?? {} },
            from: { ip: submission.ip, userAgent: submission.userAgent.slice(0, 512), ...(submission.origin ? { origin: submission.origin } : {}) },
            ...(write.held ? { held: { ...write.held, status: 'pending' } } : {}),
          },
        },
        new Date(submission.at),
      );
      try {
        const result = await contacts.writeOnce(existing, write.input, write.grants, { now: new Date(submission.at), extra: [entry.put], newId: contactId });
        // The counters after the transaction, as for other low-volume facts: a crash here loses one count, never the submission.
        await timeline.activity.bump(entry.item);
        await this.afterWrite({ ...result, warnings: [] }, 'form', { grants: write.grants, lift: [], collect });
        const held = Boolean(write.held && result.contact.email);
        return { kind: 'stored', result: { ...result, warnings: [] }, entrySk: entry.item.sk, held, ...(held ? { heldDigest: digestOf(write.held) } : {}), emailWithdrawn: Boolean(locks.email && result.contact.email === input.email) };
      } catch (error) {
        if (!isRace(error)) throw error;
        await backoff(attempt);
      }
    }
    throw new ContentionError('This address');
  }

  /**
   * Applies what a form submission held back — after the owner confirmed it through the signed
   * link, or a marketer through the API — once: the entry is marked applied in the same
   * transaction. A phone another contact (or an erased person) holds meanwhile is left out, and
   * SMS consent for a withdrawn number stays pending.
   */
  async applyHeld(contactId: string, entrySk: string, by: string, now = new Date()): Promise<ApplyHeldOutcome> {
    const { contacts, timeline } = this.deps;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const [entry, contact] = await Promise.all([timeline.get(contactId, entrySk), contacts.get(contactId, true)]);
      const held = (entry?.data as SubmissionData | undefined)?.held;
      if (!entry || entry.type !== FORM_SUBMITTED || !held || !contact) return { kind: 'not-found' };
      if (held.status !== 'pending') return { kind: 'already-applied' };
      const at = now.toISOString();
      let change: { input: ContactInput; grants: ConsentGrant[] } = {
        input: held.input,
        grants: held.grants.map((g) => ({ ...g, record: { ...g.record, at, capturedAt: g.record.at ?? entry.occurredAt, doubleOptIn: 'confirmed' } })),
      };
      if (change.input.phone) {
        const owner = await contacts.findIdByKey(phoneLookupKey(change.input.phone));
        const { erased } = await this.locksFor({ phone: change.input.phone });
        if ((owner && owner !== contactId) || erased.sms) change = withoutPhone(change.input, change.grants);
      }
      const phone = change.input.phone ?? contact.phone;
      const { locks } = await this.locksFor({ phone }, contact);
      change.grants = underWithdrawalRule(await this.withAddressHashes(change.grants, { phone }), locks);
      try {
        const result = await contacts.writeOnce(contact, change.input, change.grants, { now, extra: [timeline.heldAppliedUpdate(contactId, entrySk, at, by)] });
        await this.afterWrite({ ...result, warnings: [] }, 'form', { grants: change.grants, lift: [] });
        return { kind: 'applied', result: { ...result, warnings: [] } };
      } catch (error) {
        if (!isRace(error)) throw error;
        await backoff(attempt);
      }
    }
    throw new ContentionError(`Contact ${contactId}`);
  }

  /** A form submission's entry by its submission id (for the marketer's apply). */
  async submissionEntry(contactId: string, submissionId: string): Promise<Interaction | undefined> {
    return this.deps.timeline.findById(contactId, submissionId, FORM_SUBMITTED);
  }

  async patch(id: string, patch: ContactPatch): Promise<UpsertResult | undefined> {
    const input: ContactInput = { email: patch.email ?? undefined, phone: patch.phone ?? undefined };
    await this.assertNotErased(input, []);
    const result = await this.deps.contacts.patch(id, patch);
    if (result) await this.afterWrite(result, 'api', { grants: [], lift: [] });
    return result;
  }

  /**
   * Changes one channel's consent (a confirmation, an unsubscribe, a keyword). `lift` names the
   * suppression reasons a granting change lifts: the owner's confirmation lifts a withdrawal's
   * (OWNER_CONFIRMATION_LIFTS); a withdrawal lifts nothing.
   */
  async changeConsent(id: string, grant: ConsentGrant, options: { lift?: readonly SuppressionReason[] } = {}): Promise<UpsertResult | undefined> {
    const contact = await this.deps.contacts.get(id, true);
    if (!contact) return undefined;
    [grant] = (await this.withAddressHashes([grant], contact)) as [ConsentGrant];
    const result = await this.deps.contacts.changeConsent(id, grant);
    if (result) await this.afterWrite(result, 'api', { grants: [grant], lift: options.lift ?? [] });
    return result;
  }

  /**
   * Consent given lifts the `lift` reasons on that channel; an address the contact just gained
   * brings its suppression state onto the contact; then the events.
   */
  async afterWrite(result: UpsertResult, origin: ContactOrigin, options: { grants: ConsentGrant[]; lift: readonly SuppressionReason[]; collect?: OutgoingEvent[] }): Promise<void> {
    const { grants, lift, collect } = options;
    const at = result.contact.updatedAt;
    for (const channel of ['email', 'sms'] as const) {
      const address = channel === 'email' ? result.contact.email : result.contact.phone;
      const gained = result.created || result.changed.includes(channel === 'email' ? 'email' : 'phone');
      if (!address) continue;
      const lifted = lift.length && grantsConsent(grants, channel) ? await this.deps.suppressions.lift(channel, address, lift, at) : [];
      if (gained || lifted.length > 0) await this.syncSuppression(result.contact.id, channel, address, result.contact.suppressed?.[channel]);
    }
    const events = this.eventsFor(result, origin);
    if (collect) collect.push(...events);
    else await this.deps.publish(events);
  }

  eventsFor(result: UpsertResult, origin: ContactOrigin): OutgoingEvent[] {
    const events: OutgoingEvent[] = [];
    const contactChanges = result.changed.filter((c) => !c.startsWith('consent.'));
    if (result.created || contactChanges.length > 0) {
      events.push(
        makeEvent(ContactUpdated, {
          contactId: result.contact.id,
          created: result.created,
          changed: contactChanges.filter((c) => c !== 'created'),
          origin,
          occurredAt: result.contact.updatedAt,
        }),
      );
    }
    for (const change of result.consentChanges) {
      events.push(
        makeEvent(ConsentChanged, {
          contactId: result.contact.id,
          channel: change.channel,
          from: change.from ?? null,
          to: change.to,
          source: change.record.source,
          consentRecordId: change.record.id,
          occurredAt: change.record.at,
        }),
      );
    }
    return events;
  }

  /** Suppresses an address and, if a contact holds it, marks the contact. */
  async suppress(channel: Channel, address: string, reason: SuppressionReason, entry: SuppressionEntry): Promise<void> {
    await this.deps.suppressions.add(channel, address, reason, entry);
    const contact = channel === 'email' ? await this.deps.contacts.findByEmail(address) : await this.deps.contacts.findByPhone(address);
    if (contact) await this.syncSuppression(contact.id, channel, address, contact.suppressed?.[channel]);
  }

  /** Lifts suppression reasons of an address and updates the contact that holds it. */
  async unsuppress(channel: Channel, address: string, reasons: readonly SuppressionReason[], at: string): Promise<SuppressionReason[]> {
    const lifted = await this.deps.suppressions.lift(channel, address, reasons, at);
    if (lifted.length) {
      const contact = channel === 'email' ? await this.deps.contacts.findByEmail(address) : await this.deps.contacts.findByPhone(address);
      if (contact) await this.syncSuppression(contact.id, channel, address, contact.suppressed?.[channel]);
    }
    return lifted;
  }

  private async syncSuppression(contactId: string, channel: Channel, address: string, current: string[] | undefined): Promise<void> {
    const suppression = await this.deps.suppressions.get(channel, address);
    const reasons = Object.keys(suppression?.reasons ?? {}).sort();
    if (JSON.stringify(reasons) === JSON.stringify([...(current ?? [])].sort())) return;
    await this.deps.contacts.setSuppressed(contactId, channel, reasons);
  }

  async suppressionState(contact: Contact): Promise<SuppressionState> {
    const [email, sms] = await Promise.all([
      contact.email ? this.deps.suppressions.get('email', contact.email) : undefined,
      contact.phone ? this.deps.suppressions.get('sms', contact.phone) : undefined,
    ]);
    return { email: email ?? null, sms: sms ?? null };
  }

  /** Everything stored about the person, for a data-access request. */
  async export(id: string): Promise<Record<string, unknown> | undefined> {
    const stored = await this.deps.contacts.get(id, true);
    if (!stored) return undefined;
    const [contact] = (await this.deps.timeline.activity.attach([stored], { consistent: true })) as [typeof stored];
    const [lookups, consentRecords, interactions, suppressions] = await Promise.all([
      this.deps.contacts.lookupsOf(contact),
      this.deps.consents.list(id),
      this.deps.timeline.all(id),
      this.suppressionState(contact),
    ]);
    return {
      exportedAt: new Date().toISOString(),
      contact,
      lookups,
      consentRecords,
      interactions,
      suppressions,
    };
  }

  /**
   * Erases the person: the contact and its lookup items are deleted; consent records (a hash
   * and timestamps), timeline entries (stripped of data) and send records move to one random
   * pseudonym, so no item holds the contact id any more; and each address is suppressed by hash
   * (reason `erased`) so it cannot come back without new consent.
   */
  async erase(id: string, now = new Date()): Promise<boolean> {
    const contact = await this.deps.contacts.get(id, true);
    if (!contact) return false;
    const at = now.toISOString();
    const pseudonym = `erased#${randomUUID()}`;
    if (contact.email) await this.deps.suppressions.add('email', contact.email, 'erased', { at, source: 'erasure' });
    if (contact.phone) await this.deps.suppressions.add('sms', contact.phone, 'erased', { at, source: 'erasure' });
    const interactions = await this.deps.timeline.all(id);
    await this.deps.consents.anonymise(id, at, pseudonym);
    const sendIds = [...new Set(interactions.flatMap((i) => (i.sendId ? [i.sendId] : [])))];
    for (const hook of this.deps.erasureHooks ?? []) await hook(id, pseudonym, { sendIds });
    await this.deps.timeline.anonymise(id, pseudonym, interactions);
    await this.deps.timeline.activity.erase(id, contact.activityMonths);
    await this.deps.contacts.remove(contact);
    await this.deps.publish([makeEvent(ContactErased, { contactId: id, occurredAt: at })]);
    return true;
  }

}
