import { ConsentChanged, ContactErased, ContactUpdated } from '../../events/contacts.ts';
import { makeEvent, type OutgoingEvent } from '../../events/contract.ts';
import { keyedHash } from '../aws/secrets.ts';
import { ConflictError } from '../errors.ts';
import type { ConsentLog } from './consents.ts';
import type { ConsentGrant, ContactPatch, ContactStore, UpsertOptions, UpsertResult } from './contact-store.ts';
import type { Channel, Contact, ContactInput } from './model.ts';
import { CONSENT_REASONS, type Suppression, type SuppressionEntry, type SuppressionReason, type SuppressionStore } from './suppressions.ts';
import type { Timeline } from './timeline.ts';

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
}

export interface SuppressionState {
  email: Suppression | null;
  sms: Suppression | null;
}

/** Grants that give (not withdraw) consent on a channel: only those may re-add an erased address. */
const grantsConsent = (grants: ConsentGrant[], channel: Channel) => grants.some((g) => g.channel === channel && g.status !== 'withdrawn');

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
  private async withAddressHashes(grants: ConsentGrant[], addresses: { email?: string; phone?: string }): Promise<ConsentGrant[]> {
    return Promise.all(
      grants.map(async (g) => {
        const address = g.channel === 'email' ? addresses.email : addresses.phone;
        if (g.record.addressHash || !address) return g;
        return { ...g, record: { ...g.record, addressHash: await this.hash('address', address) } };
      }),
    );
  }

  async upsert(input: ContactInput, origin: ContactOrigin, options: UpsertOptions & { collectEvents?: OutgoingEvent[] } = {}): Promise<UpsertResult> {
    const grants = await this.withAddressHashes(options.consents ?? [], input);
    await this.assertNotErased(input, grants);
    const result = await this.deps.contacts.upsert(input, { ...options, consents: grants });
    await this.afterWrite(result, origin, grants, options.collectEvents);
    return result;
  }

  async patch(id: string, patch: ContactPatch): Promise<UpsertResult | undefined> {
    const input: ContactInput = { email: patch.email ?? undefined, phone: patch.phone ?? undefined };
    await this.assertNotErased(input, []);
    const result = await this.deps.contacts.patch(id, patch);
    if (result) await this.afterWrite(result, 'api', []);
    return result;
  }

  async changeConsent(id: string, grant: ConsentGrant): Promise<UpsertResult | undefined> {
    const contact = await this.deps.contacts.get(id, true);
    if (!contact) return undefined;
    [grant] = (await this.withAddressHashes([grant], contact)) as [ConsentGrant];
    const result = await this.deps.contacts.changeConsent(id, grant);
    if (result) await this.afterWrite(result, 'api', [grant]);
    return result;
  }

  /**
   * New consent lifts unsubscribe/opt-out/erasure suppressions on that channel; an address the
   * contact just gained brings its suppression state onto the contact; then the events.
   */
  async afterWrite(result: UpsertResult, origin: ContactOrigin, grants: ConsentGrant[], collect?: OutgoingEvent[]): Promise<void> {
    const at = result.contact.updatedAt;
    for (const channel of ['email', 'sms'] as const) {
      const address = channel === 'email' ? result.contact.email : result.contact.phone;
      const gained = result.created || result.changed.includes(channel === 'email' ? 'email' : 'phone');
      if (!address) continue;
      const lifted = grantsConsent(grants, channel) ? await this.deps.suppressions.lift(channel, address, CONSENT_REASONS, at) : [];
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
   * Erases the person: the contact and its lookup items are deleted, consent records keep only
   * a hash and timestamps, timeline entries are moved off the contact and stripped of data, and
   * each address is suppressed by hash (reason `erased`) so it cannot come back without new consent.
   */
  async erase(id: string, now = new Date()): Promise<boolean> {
    const contact = await this.deps.contacts.get(id, true);
    if (!contact) return false;
    const at = now.toISOString();
    if (contact.email) await this.deps.suppressions.add('email', contact.email, 'erased', { at, source: 'erasure' });
    if (contact.phone) await this.deps.suppressions.add('sms', contact.phone, 'erased', { at, source: 'erasure' });
    await this.deps.consents.anonymise(id, at);
    await this.deps.timeline.anonymise(id);
    await this.deps.timeline.activity.erase(id, contact.activityMonths);
    await this.deps.contacts.remove(contact);
    await this.deps.publish([makeEvent(ContactErased, { contactId: id, occurredAt: at })]);
    return true;
  }
}
