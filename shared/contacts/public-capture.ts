/**
 * The rule for unauthenticated input (public form posts), as pure functions.
 *
 * Anyone can type anyone's address into a web form. So a public post for an address that
 * already belongs to a contact changes no value the contact has and attaches no address to it:
 * it records consent (under the withdrawal rule below), what was submitted, and the form's own
 * tags (set by the marketer, they say which form was used; the submitter cannot choose them); the rest is
 * held until the owner of the contact's address confirms it through a signed link sent to that
 * address, or a marketer applies it through the API. New contacts are created as submitted.
 *
 * Withdrawn consent stays withdrawn: after an unsubscribe, STOP, complaint or manual
 * suppression a form post cannot bring the channel back. Its consent becomes `pending` (no
 * marketing), and only the owner's confirmation (the double opt-in email, sent even from a
 * single-opt-in form; START from the number) or a marketer's consent evidence restores it.
 */
import type { ConsentGrant } from './contact-store.ts';
import { mergeInput } from './contact-store.ts';
import type { Channel, Contact, ContactInput } from './model.ts';

/** Per channel: the address's consent was withdrawn (consent status or a withdrawal suppression). */
export type ChannelLocks = Partial<Record<Channel, boolean>>;

/** What a public submission may not apply by itself: kept on its timeline entry until confirmed. */
export interface HeldChange {
  input: ContactInput;
  grants: ConsentGrant[];
}

export interface ExistingContactPlan {
  /** Applied now: the form's own tags (the marketer's, naming the form; the submitter cannot choose them). */
  input: ContactInput;
  /** Grants applied now (on channels whose address the contact already has). */
  grants: ConsentGrant[];
  /** Changes waiting for the owner or a marketer; undefined when the submission changes nothing. */
  held: HeldChange | undefined;
}

/** A grant a public post may make on a withdrawn channel: pending the owner's confirmation. */
export function underWithdrawalRule(grants: ConsentGrant[], locks: ChannelLocks): ConsentGrant[] {
  return grants.map((g) => (locks[g.channel] && g.status === 'confirmed' ? { ...g, status: 'pending', record: { ...g.record, doubleOptIn: 'pending' } } : g));
}

/**
 * The part of `input` that would change `contact`: submitted values only — never the email (the
 * contact was found by it, or the form has none), never the form's tags.
 */
export function changesOf(contact: Contact, input: ContactInput): ContactInput | undefined {
  const proposal: ContactInput = { ...input, email: undefined, tags: undefined };
  if (proposal.phone !== undefined && proposal.phone === contact.phone) proposal.phone = undefined;
  const { changed } = mergeInput(contact, proposal);
  if (changed.length === 0) return undefined;
  const held: ContactInput = {};
  if (changed.includes('phone')) held.phone = proposal.phone;
  if (changed.includes('country')) held.country = proposal.country;
  if (changed.includes('timezone')) Object.assign(held, { timezone: proposal.timezone, timezoneSource: proposal.timezoneSource });
  const attributes = Object.fromEntries(changed.filter((c) => c.startsWith('attributes.')).map((c) => [c.slice('attributes.'.length), proposal.attributes![c.slice('attributes.'.length)]!]));
  if (Object.keys(attributes).length) held.attributes = attributes;
  return held;
}

/**
 * A public submission for an existing contact: consent on the channels whose address the
 * contact already has is applied now (pending where it was withdrawn); everything else —
 * values that differ, a phone the contact does not have and the SMS consent that goes with it —
 * is held.
 */
export function planForExistingContact(contact: Contact, input: ContactInput, grants: ConsentGrant[], locks: ChannelLocks): ExistingContactPlan {
  const owns = (channel: Channel) => (channel === 'email' ? input.email !== undefined && input.email === contact.email : input.phone !== undefined && input.phone === contact.phone);
  const now = underWithdrawalRule(grants.filter((g) => owns(g.channel)), locks);
  const heldGrants = grants.filter((g) => !owns(g.channel) && g.channel === 'sms' && input.phone !== undefined);
  const heldInput = changesOf(contact, input);
  const held = heldInput || heldGrants.length ? { input: heldInput ?? {}, grants: heldGrants } : undefined;
  return { input: input.tags?.length ? { tags: input.tags } : {}, grants: now, held };
}

/**
 * A new contact from a public submission, without an address it may not take: a phone that
 * belongs to another contact or to an erased person is left out (with what came from it: the
 * country and time zone read off the number, and SMS consent).
 */
export function withoutPhone(input: ContactInput, grants: ConsentGrant[]): { input: ContactInput; grants: ConsentGrant[] } {
  const next: ContactInput = { ...input, phone: undefined };
  if (input.timezoneSource === 'phone') {
    delete next.timezone;
    delete next.timezoneSource;
  }
  // The country of a form post is the phone's (shared/forms/submission.ts); without the phone it is unknown.
  delete next.country;
  return { input: next, grants: grants.filter((g) => g.channel !== 'sms') };
}
