import * as z from 'zod';
import { isStorableNumber, NUMBER_RANGE } from '../numbers.ts';
import { InvalidEmailError, normalizeEmail } from './email.ts';
import type { ContactInput } from './model.ts';
import { InvalidPhoneError, normalizePhone } from './phone.ts';
import { canonicalTimeZone, isValidTimeZone, timeZoneForPhone } from './timezone.ts';

/** zod pieces for contact fields: normalise while validating, with messages for the API caller. */
export const EmailField = z.string().transform((value, ctx) => {
  try {
    return normalizeEmail(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof InvalidEmailError ? error.message : 'is not a valid email address' });
    return z.NEVER;
  }
});

export const AttributeName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'must start with a letter and hold only letters, digits and _ (at most 64)');
export const AttributeValue = z.union([z.string().max(2048), z.number().refine(isStorableNumber, NUMBER_RANGE), z.boolean(), z.null()]);
export const Attributes = z.record(AttributeName, AttributeValue).refine((a) => Object.keys(a).length <= 100, 'at most 100 attributes');
export const Tags = z
  .array(z.string().trim().min(1).max(64))
  .max(50)
  .transform((tags) => [...new Set(tags)]);
export const TimeZoneField = z
  .string()
  .refine(isValidTimeZone, 'must be an IANA time zone such as Europe/Berlin')
  .transform((zone) => canonicalTimeZone(zone));
export const CountryField = z
  .string()
  .regex(/^[A-Za-z]{2}$/, 'must be a two-letter country code such as GB')
  .transform((c) => c.toUpperCase());

const ConsentEvidence = z.strictObject({
  status: z.enum(['confirmed', 'withdrawn']),
  /** The version of the wording the person agreed to (required to prove consent). */
  wordingVersion: z.string().min(1).max(64),
  wordingText: z.string().min(1).max(2000).optional(),
  capturedAt: z.iso.datetime({ offset: true }).optional(),
});
export type ConsentEvidence = z.infer<typeof ConsentEvidence>;

/** The phone's problem, if any, read leniently from a possibly invalid body (so it is reported with the other issues). */
function phoneProblem(body: unknown): string | undefined {
  const { phone, country } = (body ?? {}) as { phone?: unknown; country?: unknown };
  if (typeof phone !== 'string' || phone.trim() === '') return undefined;
  try {
    normalizePhone(phone, typeof country === 'string' && /^[A-Za-z]{2}$/.test(country) ? country : undefined);
    return undefined;
  } catch (error) {
    return error instanceof InvalidPhoneError ? error.message : 'is not a valid phone number';
  }
}

/** Checks the phone even when other fields failed, so every problem is reported at once. */
export const phoneCheck = {
  path: ['phone'],
  when: () => true,
  error: (issue: { input?: unknown }) => phoneProblem(issue.input) ?? 'is not a valid phone number',
};

export const ContactBody = z
  .strictObject({
    email: EmailField.optional(),
    phone: z.string().max(40).optional(),
    /** Country for numbers written without +country code. */
    country: CountryField.optional(),
    attributes: Attributes.default({}),
    tags: Tags.default([]),
    timezone: TimeZoneField.optional(),
    consent: z.strictObject({ email: ConsentEvidence.optional(), sms: ConsentEvidence.optional() }).optional(),
  })
  .refine((body) => phoneProblem(body) === undefined, phoneCheck);
export type ContactBody = z.output<typeof ContactBody>;

export const PatchBody = z
  .strictObject({
    email: EmailField.nullable().optional(),
    phone: z.string().max(40).nullable().optional(),
    country: CountryField.nullable().optional(),
    attributes: Attributes.optional(),
    tags: Tags.optional(),
    timezone: TimeZoneField.nullable().optional(),
  })
  .refine((body) => phoneProblem(body) === undefined, phoneCheck)
  .refine((b) => Object.keys(b).length > 0, 'send at least one field to change');

/** Phone normalisation as a validation step (it needs the row's country). */
export function phoneOrIssue(phone: string | undefined, country: string | undefined, ctx: z.RefinementCtx, path = 'phone'): ReturnType<typeof normalizePhone> | undefined {
  if (phone === undefined || phone.trim() === '') return undefined;
  try {
    return normalizePhone(phone, country);
  } catch (error) {
    ctx.addIssue({ code: 'custom', path: [path], message: error instanceof InvalidPhoneError ? error.message : 'is not a valid phone number' });
    return undefined;
  }
}

/** Turns a validated API body into the store's input (phone normalised, time zone inferred from the number). */
export function toContactInput(body: { email?: string; phone?: string; country?: string; attributes?: ContactInput['attributes']; tags?: string[]; timezone?: string }, ctx: z.RefinementCtx): ContactInput {
  const phone = phoneOrIssue(body.phone, body.country, ctx);
  const input: ContactInput = {
    email: body.email,
    phone: phone?.e164,
    country: phone?.country ?? body.country,
    attributes: body.attributes,
    tags: body.tags,
  };
  if (body.timezone) {
    input.timezone = body.timezone;
    input.timezoneSource = 'explicit';
  } else if (phone) {
    const inferred = timeZoneForPhone(phone.e164);
    if (inferred) {
      input.timezone = inferred.timezone;
      input.timezoneSource = 'phone';
    }
  }
  return input;
}


/** POST /v1/contacts: the store input and the consent evidence; phone problems become issues at `phone`. */
export const UpsertBody = ContactBody.transform((body, ctx) => {
  const input: ContactInput = toContactInput(body, ctx);
  if (!input.email && !input.phone && body.phone === undefined) {
    ctx.addIssue({ code: 'custom', path: ['email'], message: 'a contact needs an email or a phone' });
  }
  for (const channel of ['email', 'sms'] as const) {
    if (body.consent?.[channel] && !(channel === 'email' ? body.email : body.phone)) {
      ctx.addIssue({ code: 'custom', path: ['consent', channel], message: `needs ${channel === 'email' ? 'an email' : 'a phone'}` });
    }
  }
  return { input, consent: body.consent };
});
export type UpsertBody = z.output<typeof UpsertBody>;

/** PATCH /v1/contacts/{id}: the phone normalised (null removes it). */
export const PatchContact = PatchBody.transform((body, ctx) => {
  const phone = body.phone === null ? null : body.phone === undefined ? undefined : phoneOrIssue(body.phone, body.country ?? undefined, ctx)?.e164;
  return { ...body, phone };
});
export type PatchContact = z.output<typeof PatchContact>;

/** An address as a query or body names it: an email, or a phone in international form or local to the country. */
const AddressFields = { email: EmailField.optional(), phone: z.string().max(40).optional(), country: CountryField.optional() };

/** GET /v1/contacts: a lookup by address, or a page. */
export const ContactsQuery = z
  .strictObject({
    ...AddressFields,
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().optional(),
  })
  .transform((q, ctx) => ({ ...q, phone: q.phone === undefined ? undefined : phoneOrIssue(q.phone, q.country, ctx)?.e164 }));
export type ContactsQuery = z.output<typeof ContactsQuery>;

/** POST /v1/suppressions: one address on one channel. */
export const SuppressionBody = z
  .strictObject({
    ...AddressFields,
    channel: z.enum(['email', 'sms']),
    reason: z.enum(['unsubscribed', 'opted_out', 'manual', 'bounced', 'complained']),
    note: z.string().max(500).optional(),
  })
  .transform((body, ctx) => {
    const address = body.channel === 'email' ? body.email : phoneOrIssue(body.phone, body.country, ctx)?.e164;
    if (body.channel === 'email' && !body.email) ctx.addIssue({ code: 'custom', path: ['email'], message: 'is required for the email channel' });
    if (body.channel === 'sms' && !body.phone) ctx.addIssue({ code: 'custom', path: ['phone'], message: 'is required for the sms channel' });
    if (body.channel === 'email' && body.phone) ctx.addIssue({ code: 'custom', path: ['phone'], message: 'does not go with the email channel' });
    if (body.channel === 'sms' && body.email) ctx.addIssue({ code: 'custom', path: ['email'], message: 'does not go with the sms channel' });
    return { ...body, address: address ?? '' };
  });
export type SuppressionBody = z.output<typeof SuppressionBody>;
