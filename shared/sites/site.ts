import * as z from 'zod';
import { FUTURE_MESSAGE, isInTheFuture } from '../clock.ts';
import { Origin } from '../forms/definition.ts';
import { isStorableNumber, NUMBER_RANGE } from '../numbers.ts';
import { BEHAVIOUR_FIELDS } from '../responses/behaviour-events.ts';

/**
 * A site: a web property whose pages may report conversions publicly (`POST /e/{siteKey}` from a
 * thank-you page). The key is public, like a publishable analytics key; what protects the endpoint
 * is the allowed-origin check, per-IP and per-site rate limits, and that the visitor must be named
 * by a signed click id or an address the contact already has.
 */
export const SiteInput = z.strictObject({
  name: z.string().trim().min(1).max(200),
  allowedOrigins: z.array(Origin).min(1, 'must list at least one origin such as https://shop.example.com').max(20),
  /** Conversion names this site may report; omitted → any name. */
  eventNames: z
    .array(z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9_.:-]+$/, 'may hold letters, digits and _ . : -'))
    .max(50)
    .optional(),
  rateLimit: z
    .strictObject({
      perIpPerMinute: z.number().int().min(1).max(1000).default(30),
      perSitePerMinute: z.number().int().min(1).max(100_000).default(3000),
    })
    .prefault({}),
});
export type SiteInput = z.infer<typeof SiteInput>;

export const SitePatch = z
  .strictObject({
    name: SiteInput.shape.name.optional(),
    allowedOrigins: SiteInput.shape.allowedOrigins.optional(),
    eventNames: SiteInput.shape.eventNames.nullable(),
    rateLimit: z.strictObject({ perIpPerMinute: z.number().int().min(1).max(1000).optional(), perSitePerMinute: z.number().int().min(1).max(100_000).optional() }).optional(),
  })
  .partial()
  .refine((p) => Object.keys(p).length > 0, { message: 'must change at least one field' });
export type SitePatch = z.infer<typeof SitePatch>;

export interface Site extends Omit<SiteInput, 'eventNames'> {
  /** The public site key, used in `/e/{siteKey}`. */
  id: string;
  eventNames?: string[];
  createdAt: string;
  updatedAt: string;
}

export const SITE_KEY_PATTERN = /^site_[A-Za-z0-9_-]{22}$/;

/** 128 random bits, recognisable by its prefix. */
export const newSiteKey = (): string => `site_${base64url(globalThis.crypto.getRandomValues(new Uint8Array(16)))}`;

/** Base64url without padding, with no Node Buffer (this module is also bundled for the browser). */
function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** What a thank-you page posts. Public, so no contact ids: a signed click id, or an address the contact has. */
export const PublicConversionInput = z
  .strictObject({
    clickId: z.string().max(2048).optional(),
    email: z.string().max(320).optional(),
    phone: z.string().max(40).optional(),
    name: z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9_.:-]+$/, 'may hold letters, digits and _ . : -'),
    value: z.coerce.number().min(0).refine(isStorableNumber, NUMBER_RANGE).optional(),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR').optional(),
    occurredAt: z.iso.datetime({ offset: true }).optional(),
    /** The order or confirmation number: the same key reported twice counts once. */
    idempotencyKey: z.string().trim().min(1).max(200),
  })
  .refine((c) => c.clickId || c.email || c.phone, { message: 'needs clickId, email or phone', path: ['clickId'] });
export type PublicConversionInput = z.infer<typeof PublicConversionInput>;

const publicWho = { clickId: PublicConversionInput.shape.clickId, email: PublicConversionInput.shape.email, phone: PublicConversionInput.shape.phone };
const publicWhen = {
  occurredAt: PublicConversionInput.shape.occurredAt,
  /** The snippet's id for this visit, page view or event (a random UUID): the same id sent twice counts once. */
  idempotencyKey: PublicConversionInput.shape.idempotencyKey,
};
const NAMED = { message: 'needs clickId, email or phone', path: ['clickId'] };
const named = (c: { clickId?: string; email?: string; phone?: string }) => Boolean(c.clickId || c.email || c.phone);

/** What a site's pages post for the other event types (`type` names them; without it the post is a conversion). */
export const PublicBehaviourInput = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('visit'), ...publicWho, ...publicWhen, ...BEHAVIOUR_FIELDS.visit }).refine(named, NAMED),
    z.strictObject({ type: z.literal('page_view'), ...publicWho, ...publicWhen, ...BEHAVIOUR_FIELDS.page_view }).refine(named, NAMED),
    z.strictObject({ type: z.literal('custom'), ...publicWho, ...publicWhen, ...BEHAVIOUR_FIELDS.custom }).refine(named, NAMED),
  ],
  { error: 'must be one of conversion, visit, page_view, custom' },
);
export type PublicBehaviourInput = z.infer<typeof PublicBehaviourInput>;

/** A browser's clock may be off, but a thank-you page reports what just happened. */
export const PUBLIC_BACKDATE_LIMIT_MS = 7 * 24 * 3600 * 1000;

/** The time to record: the page's own when plausible, otherwise an error message for occurredAt. */
export function publicOccurredAt(occurredAt: string | undefined, now = new Date()): { at: string } | { error: string } {
  if (!occurredAt) return { at: now.toISOString() };
  const at = new Date(occurredAt);
  if (at.getTime() < now.getTime() - PUBLIC_BACKDATE_LIMIT_MS) return { error: 'must be within the last 7 days; report older conversions through POST /v1/events' };
  if (isInTheFuture(at, now)) return { error: FUTURE_MESSAGE };
  return { at: at.toISOString() };
}
