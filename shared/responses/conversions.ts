import * as z from 'zod';
import type { CampaignStore } from '../campaigns/campaign-store.ts';
import type { ContactStore } from '../contacts/contact-store.ts';
import type { LeadScorer } from '../contacts/lead-scoring.ts';
import type { Timeline } from '../contacts/timeline.ts';
import type { IdempotencyMarkers } from '../idempotency.ts';
import { keyedHash } from '../aws/secrets.ts';
import { PastInstant } from '../clock.ts';
import { normalizeEmail } from '../contacts/email.ts';
import { normalizePhone } from '../contacts/phone.ts';
import { NotFoundError, ValidationError, type ValidationIssue } from '../errors.ts';
import { isStorableNumber, NUMBER_RANGE } from '../numbers.ts';

/** A conversion the customer's systems report: who, what, when, how much — once per idempotency key. */
export const ConversionInput = z
  .strictObject({
    contactId: z.uuid('must be a contact id').optional(),
    email: z.string().max(320).optional(),
    phone: z.string().max(40).optional(),
    name: z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9_.:-]+$/, 'may hold letters, digits and _ . : -'),
    value: z.number().min(0).refine(isStorableNumber, NUMBER_RANGE).optional(),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR').optional(),
    occurredAt: PastInstant,
    idempotencyKey: z.string().trim().min(1).max(200),
  })
  .refine((c) => c.contactId || c.email || c.phone, { message: 'needs contactId, email or phone', path: ['contactId'] });
export type ConversionInput = z.infer<typeof ConversionInput>;

export interface ConversionDeps {
  contacts: ContactStore;
  timeline: Timeline;
  scorer: LeadScorer;
  /** When given, a repeated idempotency key keeps the time of its first report (imports, which carry fixed times, go without). */
  markers?: IdempotencyMarkers;
  /** When given, a new conversion moves the live counters of the campaign whose message last touched the contact (see creditLive). */
  campaigns?: CampaignStore;
}

const DAY = 86_400_000;
/** The longest attribution window a campaign can have: how far back a live credit looks for a touch. */
const LIVE_LOOKBACK_DAYS = 90;

/**
 * The live view of a conversion while a campaign runs: last touch — the newest message (sent,
 * delivered, opened or clicked) that reached the contact before it, if its campaign's goal is this
 * conversion and the conversion falls inside the campaign's window. The nightly run replaces this
 * with the campaign's own attribution model and the lift over its holdout.
 */
export async function creditLive(contactId: string, conversion: { name: string; value?: number; occurredAt: string }, deps: { timeline: Timeline; campaigns: CampaignStore }): Promise<string | undefined> {
  const at = Date.parse(conversion.occurredAt);
  const touch = await deps.timeline.latest(contactId, { types: ['sent', 'delivered', 'opened', 'clicked'], campaign: true }, new Date(at - LIVE_LOOKBACK_DAYS * DAY).toISOString(), conversion.occurredAt);
  if (!touch?.campaignId) return undefined;
  const campaign = await deps.campaigns.get(touch.campaignId, false);
  if (!campaign || campaign.goal.event !== conversion.name || Date.parse(touch.occurredAt) + campaign.goal.attributionWindowDays * DAY < at) return undefined;
  await deps.campaigns.addResponses(campaign.id, { converted: 1, ...(conversion.value ? { revenue: conversion.value } : {}) });
  return campaign.id;
}

/**
 * Records a conversion on the contact's timeline as a `converted` interaction (the attribution
 * run credits it to the campaigns that touched the contact inside their windows). The
 * idempotency key makes a retried or duplicated report count once.
 */
export async function recordConversion(
  input: Omit<ConversionInput, 'email' | 'phone'> & { email?: string; phone?: string },
  deps: ConversionDeps,
  source: string,
  extra: Record<string, unknown> = {},
): Promise<{ contactId: string; recorded: boolean }> {
  const contact = input.contactId
    ? await deps.contacts.get(input.contactId, true)
    : input.email
      ? await deps.contacts.findByEmail(input.email)
      : input.phone
        ? await deps.contacts.findByPhone(input.phone)
        : undefined;
  if (!contact) throw new NotFoundError('contact', input.contactId ?? input.email ?? input.phone);
  // The client's key (an order number) is kept only as a keyed hash: the timeline never holds it in clear.
  const id = `conversion:${await keyedHash('conversion-key', input.idempotencyKey)}`;
  const reported = new Date(input.occurredAt).toISOString();
  const occurredAt = deps.markers ? await deps.markers.firstSeenAt(`conversion-time#${contact.id}#${input.idempotencyKey}`, reported) : reported;
  const outcome = await deps.timeline.recordFast({
    contactId: contact.id,
    id,
    type: 'converted',
    occurredAt,
    typeDay: `converted#${occurredAt.slice(0, 10)}`,
    data: { name: input.name, ...(input.value !== undefined ? { value: input.value } : {}), ...(input.currency ? { currency: input.currency } : {}), source, ...extra },
  });
  if (outcome === 'recorded') {
    await deps.scorer.award(contact.id, id, 'converted');
    // Live counters only (the nightly run recounts): a failure here must not fail the report of a conversion already recorded.
    if (deps.campaigns) await creditLive(contact.id, { name: input.name, value: input.value, occurredAt }, { timeline: deps.timeline, campaigns: deps.campaigns }).catch(() => undefined);
  }
  return { contactId: contact.id, recorded: outcome === 'recorded' };
}

/** Normalises the addresses a conversion names the contact by; every bad one is reported at once. */
export function conversionAddresses(input: { email?: string; phone?: string }): { email?: string; phone?: string } {
  const issues: ValidationIssue[] = [];
  const out: { email?: string; phone?: string } = {};
  try {
    if (input.email) out.email = normalizeEmail(input.email);
  } catch (error) {
    issues.push({ path: 'email', message: (error as Error).message });
  }
  try {
    if (input.phone) out.phone = normalizePhone(input.phone).e164;
  } catch (error) {
    issues.push({ path: 'phone', message: (error as Error).message });
  }
  if (issues.length) throw new ValidationError(issues);
  return out;
}
