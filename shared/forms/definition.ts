/**
 * The definition of a public web form, as marketers create it through the API. Cross-field rules
 * live in `superRefine` so every problem is reported at the exact path (`fields[2].options`).
 */
import { isSupportedCountry } from 'libphonenumber-js/max';
import * as z from 'zod';
import { isStorableNumber, NUMBER_RANGE } from '../numbers.ts';

export const FieldType = z.enum(['email', 'phone', 'text', 'number', 'boolean', 'select', 'date']);
export type FieldType = z.infer<typeof FieldType>;

export const FIELD_NAME_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
export const ATTRIBUTE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
// The honeypot may look like any ordinary field name (bots fill in `website`, `url`, `company-name`).
const HONEYPOT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

export const DEFAULT_TEXT_MAX_LENGTH = 500;
export const DEFAULT_HONEYPOT_FIELD = 'website';

/** Names the submission endpoint reads itself; a field may not use them. */
export const CONSENT_FIELD = { email: 'consent_email', sms: 'consent_sms' } as const;
export const TIMEZONE_FIELD = 'tz';
export const CAPTCHA_RESPONSE_FIELD = { turnstile: 'cf-turnstile-response', recaptcha: 'g-recaptcha-response' } as const;
export const RESERVED_FIELD_NAMES: readonly string[] = [
  CONSENT_FIELD.email,
  CONSENT_FIELD.sms,
  TIMEZONE_FIELD,
  CAPTCHA_RESPONSE_FIELD.turnstile,
  CAPTCHA_RESPONSE_FIELD.recaptcha,
];

const AttributeName = z.string().regex(ATTRIBUTE_NAME_PATTERN, 'must start with a letter and contain only letters, digits and _ (at most 64)');

export const FormField = z
  .strictObject({
    name: z.string().regex(FIELD_NAME_PATTERN, 'must start with a lower-case letter and contain only a-z, 0-9 and _ (at most 64)'),
    label: z.string().trim().min(1).max(200).optional(),
    type: FieldType,
    required: z.boolean().default(false),
    options: z.array(z.string().trim().min(1).max(200)).min(1).max(100).optional(),
    maxLength: z.int().min(1).max(10_000).optional(),
    /** The contact attribute the value fills; defaults to the field name (email/phone fill the contact's address instead). */
    attribute: AttributeName.optional(),
  })
  .superRefine((field, ctx) => {
    if (field.type === 'select' && !field.options) ctx.addIssue({ code: 'custom', path: ['options'], message: 'is required for a select field' });
    if (field.type !== 'select' && field.options) ctx.addIssue({ code: 'custom', path: ['options'], message: 'is only allowed on select fields' });
    field.options?.forEach((option, i) => {
      if (field.options!.indexOf(option) !== i) ctx.addIssue({ code: 'custom', path: ['options', i], message: `repeats the option "${option}"` });
    });
    if (field.type !== 'text' && field.maxLength !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['maxLength'], message: 'is only allowed on text fields' });
    }
    if ((field.type === 'email' || field.type === 'phone') && field.attribute !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['attribute'], message: `is not allowed: a ${field.type} field fills the contact's ${field.type}` });
    }
  })
  .transform((field) => {
    const isAddress = field.type === 'email' || field.type === 'phone';
    return {
      ...field,
      ...(field.type === 'text' ? { maxLength: field.maxLength ?? DEFAULT_TEXT_MAX_LENGTH } : {}),
      ...(isAddress ? {} : { attribute: field.attribute ?? field.name }),
    };
  });
export type FormField = z.output<typeof FormField>;

function isLocalHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1';
}

/** An origin as browsers send it in the `Origin` header: scheme, host and optional port, nothing else. */
export const Origin = z.string().transform((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an origin like https://example.com' });
    return z.NEVER;
  }
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && isLocalHost(url.hostname));
  if (!secure) {
    ctx.addIssue({ code: 'custom', message: 'must use https (http only for localhost)' });
    return z.NEVER;
  }
  // Checked on the raw text: `new URL` would fold `/./` into `/`. Only a lone trailing slash is tolerated.
  if (url.username || url.password || /[?#]/.test(value) || /^[a-z]+:\/\/[^/]+\/./i.test(value)) {
    ctx.addIssue({ code: 'custom', message: 'must be an origin (scheme, host and optional port) without a path, like https://example.com' });
    return z.NEVER;
  }
  return url.origin;
});

const RedirectUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'https:' || (url.protocol === 'http:' && isLocalHost(url.hostname));
    } catch {
      return false;
    }
  },
  { message: 'must be an https URL (http only for localhost)' },
);

const ConsentWording = z.strictObject({
  /** The exact wording shown beside the checkbox (recorded as evidence of consent). */
  text: z.string().trim().min(1).max(2000),
  version: z.string().trim().min(1).max(64),
});

const AttributeValue = z.union([z.string().max(2000), z.number().refine(isStorableNumber, NUMBER_RANGE), z.boolean()]);

export const FormDefinitionInput = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    fields: z.array(FormField).min(1, 'must contain at least one field').max(50),
    allowedOrigins: z.array(Origin).max(20).default([]),
    consent: z.strictObject({ email: ConsentWording.optional(), sms: ConsentWording.optional() }).prefault({}),
    /** Email consent stays pending until the address owner clicks the confirmation link. */
    doubleOptIn: z.boolean().default(false),
    redirectUrl: RedirectUrl.optional(),
    defaultCountry: z
      .string()
      .regex(/^[A-Za-z]{2}$/, 'must be a two-letter country code like US')
      .transform((c) => c.toUpperCase())
      .refine(isSupportedCountry, 'is not a country code known for phone numbers')
      .optional(),
    attributes: z.record(AttributeName, AttributeValue).optional(),
    tags: z.array(z.string().trim().min(1).max(100)).max(20).optional(),
    honeypotField: z.string().regex(HONEYPOT_NAME_PATTERN, 'must start with a letter and contain only letters, digits, _ and - (at most 64)').default(DEFAULT_HONEYPOT_FIELD),
    captcha: z.strictObject({ provider: z.enum(['turnstile', 'recaptcha']), siteKey: z.string().trim().min(1).max(200) }).optional(),
    rateLimit: z
      .strictObject({
        perIpPerMinute: z.int().min(1).max(1000).default(10),
        perFormPerMinute: z.int().min(1).max(100_000).default(600),
      })
      .prefault({}),
    submitLabel: z.string().trim().min(1).max(100).optional(),
    successMessage: z.string().trim().min(1).max(2000).optional(),
  })
  .superRefine((form, ctx) => {
    const seenNames = new Set<string>();
    const seenAttributes = new Set<string>();
    let emailFields = 0;
    let phoneFields = 0;
    form.fields.forEach((field, i) => {
      if (seenNames.has(field.name)) {
        // One issue per mistake: a repeated field also repeats its default attribute.
        ctx.addIssue({ code: 'custom', path: ['fields', i, 'name'], message: `"${field.name}" is already used by another field` });
        return;
      }
      seenNames.add(field.name);
      if (RESERVED_FIELD_NAMES.includes(field.name)) {
        ctx.addIssue({ code: 'custom', path: ['fields', i, 'name'], message: `"${field.name}" is reserved for the form itself` });
      } else if (field.name === form.honeypotField) {
        ctx.addIssue({ code: 'custom', path: ['fields', i, 'name'], message: `"${field.name}" is the honeypot field's name` });
      }
      if (field.attribute !== undefined) {
        if (seenAttributes.has(field.attribute)) {
          ctx.addIssue({ code: 'custom', path: ['fields', i, 'attribute'], message: `"${field.attribute}" is already filled by another field` });
        }
        seenAttributes.add(field.attribute);
      }
      if (field.type === 'email' && ++emailFields > 1) ctx.addIssue({ code: 'custom', path: ['fields', i, 'type'], message: 'a form can have only one email field' });
      if (field.type === 'phone' && ++phoneFields > 1) ctx.addIssue({ code: 'custom', path: ['fields', i, 'type'], message: 'a form can have only one phone field' });
    });
    if (form.fields.length > 0 && emailFields === 0 && phoneFields === 0) ctx.addIssue({ code: 'custom', path: ['fields'], message: 'must include an email or a phone field' });
    if (RESERVED_FIELD_NAMES.includes(form.honeypotField)) {
      ctx.addIssue({ code: 'custom', path: ['honeypotField'], message: `"${form.honeypotField}" is reserved for the form itself` });
    }
    if (form.consent.email && emailFields === 0) ctx.addIssue({ code: 'custom', path: ['consent', 'email'], message: 'needs an email field on the form' });
    if (form.consent.sms && phoneFields === 0) ctx.addIssue({ code: 'custom', path: ['consent', 'sms'], message: 'needs a phone field on the form' });
    if (form.doubleOptIn && !form.consent.email) ctx.addIssue({ code: 'custom', path: ['doubleOptIn'], message: 'needs email consent wording (consent.email)' });
  });

export type FormDefinitionInput = z.input<typeof FormDefinitionInput>;
export type FormDefinitionData = z.output<typeof FormDefinitionInput>;

export interface Form extends FormDefinitionData {
  id: string;
  createdAt: string;
  updatedAt: string;
  version: number;
}
