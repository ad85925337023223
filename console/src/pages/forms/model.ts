import { FormDefinitionInput, issuesFromZod, type FormDefinitionData, type ValidationIssue } from '../../contracts.ts';

/** A saved form as the API answers it. */
export type SavedForm = FormDefinitionData & { id: string; createdAt: string; updatedAt: string; version: number };

export const FIELD_TYPES = ['email', 'phone', 'text', 'number', 'boolean', 'select', 'date'] as const;

/** One form field as the editor holds it: text boxes, turned into the API's shape on send. */
export interface FieldDraft {
  name: string;
  label: string;
  type: (typeof FIELD_TYPES)[number];
  required: boolean;
  /** Select options, one a line. */
  options: string;
  maxLength: string;
  attribute: string;
}

/** The form editor's state: everything as typed, so a half-written form survives a session expiry. */
export interface FormDraft {
  name: string;
  fields: FieldDraft[];
  /** One origin a line. */
  allowedOrigins: string;
  emailConsentText: string;
  emailConsentVersion: string;
  smsConsentText: string;
  smsConsentVersion: string;
  doubleOptIn: boolean;
  redirectUrl: string;
  defaultCountry: string;
  /** Comma-separated. */
  tags: string;
  honeypotField: string;
  captchaProvider: '' | 'turnstile' | 'recaptcha';
  captchaSiteKey: string;
  perIpPerMinute: string;
  perFormPerMinute: string;
  submitLabel: string;
  successMessage: string;
}

export const newField = (type: FieldDraft['type'] = 'text'): FieldDraft => ({ name: type === 'email' || type === 'phone' ? type : '', label: '', type, required: type === 'email', options: '', maxLength: '', attribute: '' });

export const EMPTY_FORM: FormDraft = {
  name: '',
  fields: [newField('email')],
  allowedOrigins: '',
  emailConsentText: '',
  emailConsentVersion: '',
  smsConsentText: '',
  smsConsentVersion: '',
  doubleOptIn: false,
  redirectUrl: '',
  defaultCountry: '',
  tags: '',
  honeypotField: 'website',
  captchaProvider: '',
  captchaSiteKey: '',
  perIpPerMinute: '10',
  perFormPerMinute: '600',
  submitLabel: '',
  successMessage: '',
};

const lines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
const optional = (text: string) => (text.trim() === '' ? undefined : text.trim());
/** A number box: a number when it reads as one, else the text, so the schema names the field. */
const numberOrText = (text: string) => (text.trim() === '' ? undefined : Number.isFinite(Number(text)) ? Number(text) : text);

/** The request body for POST /v1/forms. Empty optional boxes are left out. */
export function formBody(d: FormDraft): Record<string, unknown> {
  const consent = (text: string, version: string) => (text.trim() || version.trim() ? { text: text.trim(), version: version.trim() } : undefined);
  const email = consent(d.emailConsentText, d.emailConsentVersion);
  const sms = consent(d.smsConsentText, d.smsConsentVersion);
  const tags = d.tags
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const body: Record<string, unknown> = {
    name: d.name.trim(),
    fields: d.fields.map((f) => ({
      name: f.name.trim(),
      ...(optional(f.label) ? { label: f.label.trim() } : {}),
      type: f.type,
      required: f.required,
      ...(f.type === 'select' || lines(f.options).length ? { options: lines(f.options) } : {}),
      ...(optional(f.maxLength) ? { maxLength: numberOrText(f.maxLength) } : {}),
      ...(optional(f.attribute) ? { attribute: f.attribute.trim() } : {}),
    })),
    allowedOrigins: lines(d.allowedOrigins),
    consent: { ...(email ? { email } : {}), ...(sms ? { sms } : {}) },
    doubleOptIn: d.doubleOptIn,
    honeypotField: d.honeypotField.trim(),
    rateLimit: { perIpPerMinute: numberOrText(d.perIpPerMinute), perFormPerMinute: numberOrText(d.perFormPerMinute) },
  };
  if (optional(d.redirectUrl)) body.redirectUrl = d.redirectUrl.trim();
  if (optional(d.defaultCountry)) body.defaultCountry = d.defaultCountry.trim();
  if (tags.length) body.tags = tags;
  if (d.captchaProvider) body.captcha = { provider: d.captchaProvider, siteKey: d.captchaSiteKey.trim() };
  if (optional(d.submitLabel)) body.submitLabel = d.submitLabel.trim();
  if (optional(d.successMessage)) body.successMessage = d.successMessage.trim();
  return body;
}

/** The API's own schema, run in the browser: the same issues at the same paths. */
export function checkForm(body: Record<string, unknown>): ValidationIssue[] {
  const result = FormDefinitionInput.safeParse(body);
  return result.success ? [] : issuesFromZod(result.error.issues);
}

/** A saved form back into the editor (for "Duplicate"). */
export function draftOf(form: SavedForm): FormDraft {
  return {
    name: `Copy of ${form.name}`.slice(0, 200),
    fields: form.fields.map((f) => ({
      name: f.name,
      label: f.label ?? '',
      type: f.type,
      required: f.required,
      options: (f.options ?? []).join('\n'),
      maxLength: f.maxLength === undefined ? '' : String(f.maxLength),
      // Non-address fields come back with their default attribute (the field's name): keep only a different one.
      attribute: f.attribute && f.attribute !== f.name ? f.attribute : '',
    })),
    allowedOrigins: form.allowedOrigins.join('\n'),
    emailConsentText: form.consent.email?.text ?? '',
    emailConsentVersion: form.consent.email?.version ?? '',
    smsConsentText: form.consent.sms?.text ?? '',
    smsConsentVersion: form.consent.sms?.version ?? '',
    doubleOptIn: form.doubleOptIn,
    redirectUrl: form.redirectUrl ?? '',
    defaultCountry: form.defaultCountry ?? '',
    tags: (form.tags ?? []).join(', '),
    honeypotField: form.honeypotField,
    captchaProvider: form.captcha?.provider ?? '',
    captchaSiteKey: form.captcha?.siteKey ?? '',
    perIpPerMinute: String(form.rateLimit.perIpPerMinute),
    perFormPerMinute: String(form.rateLimit.perFormPerMinute),
    submitLabel: form.submitLabel ?? '',
    successMessage: form.successMessage ?? '',
  };
}

/** The HTML a marketer pastes into their page: the API's embed page in an iframe. */
export function embedSnippet(embedUrl: string, title: string): string {
  const escaped = title.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return `<iframe src="${embedUrl}" title="${escaped}" loading="lazy" style="width:100%;min-height:32rem;border:0"></iframe>`;
}
