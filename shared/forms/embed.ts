/**
 * Server-rendered HTML for public forms: the embeddable form page (works without JavaScript) and
 * the small result pages shown after a browser post. Every marketer- or visitor-provided string
 * is escaped; consent wording is shown as text, never as markup.
 */
import type { ValidationIssue } from '../errors.ts';
import { escapeAttr, escapeHtml } from '../html.ts';
import { CAPTCHA_RESPONSE_FIELD, CONSENT_FIELD, TIMEZONE_FIELD, type Form, type FormField } from './definition.ts';

export interface EmbedOptions {
  /** Where the form posts (`https://…/f/{formId}`). */
  actionUrl: string;
  /** Language of the page (BCP 47), for screen readers; default `en`. */
  lang?: string;
}

const CAPTCHA_SCRIPT = {
  turnstile: 'https://challenges.cloudflare.com/turnstile/v0/api.js',
  recaptcha: 'https://www.google.com/recaptcha/api.js',
} as const;
const CAPTCHA_CLASS = { turnstile: 'cf-turnstile', recaptcha: 'g-recaptcha' } as const;

// Lets browsers autofill common fields (WCAG 1.3.5, identify input purpose).
const AUTOCOMPLETE: Record<string, string> = {
  first_name: 'given-name',
  given_name: 'given-name',
  last_name: 'family-name',
  family_name: 'family-name',
  name: 'name',
  full_name: 'name',
  company: 'organization',
  organization: 'organization',
  job_title: 'organization-title',
  postal_code: 'postal-code',
  zip: 'postal-code',
  city: 'address-level2',
  country: 'country-name',
  birthday: 'bday',
  birth_date: 'bday',
};

const STYLE = `*{box-sizing:border-box}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:1rem;color:#1a1a1a;background:#fff}
main{max-width:32rem;margin:0 auto}
.tl-field{margin:0 0 1rem}
.tl-field>label{display:block;font-weight:600;margin:0 0 .25rem}
.tl-field input,.tl-field select{width:100%;padding:.5rem;font:inherit;border:1px solid #767676;border-radius:4px;background:#fff}
.tl-check{display:flex;gap:.5rem;align-items:flex-start;margin:0 0 1rem}
.tl-check input{margin-top:.3rem;flex:none}
.tl-check label{white-space:pre-line}
.tl-note{font-size:.875rem;color:#555}
.tl-hp{position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden}
button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:4px;background:#1d4ed8;color:#fff;cursor:pointer}
:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}`;

/** `first_name` → `First name`, for fields without a label. */
function humanize(name: string): string {
  const words = name.replace(/_+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function fieldLabel(field: Pick<FormField, 'name' | 'label'>): string {
  return field.label ?? humanize(field.name);
}

function pageLang(lang: string | undefined): string {
  return lang && /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(lang) ? lang : 'en';
}

const fieldId = (name: string) => `tl-f-${name}`;
const attr = (name: string, value: string) => ` ${name}="${escapeAttr(value)}"`;
const flag = (name: string, on: boolean) => (on ? ` ${name}` : '');

function renderField(field: FormField): string {
  const id = fieldId(field.name);
  const common = `${attr('id', id)}${attr('name', field.name)}${flag('required', field.required)}`;
  const marker = field.required ? '<span class="tl-req" aria-hidden="true"> *</span>' : '';
  const label = `<label for="${escapeAttr(id)}">${escapeHtml(fieldLabel(field))}${marker}</label>`;
  switch (field.type) {
    case 'boolean':
      return `<div class="tl-check"><input type="checkbox" value="yes"${common}>${label}</div>`;
    case 'select': {
      const options = (field.options ?? []).map((o) => `<option${attr('value', o)}>${escapeHtml(o)}</option>`).join('');
      return `<div class="tl-field">${label}<select${common}><option value="">Choose…</option>${options}</select></div>`;
    }
    case 'email':
      return `<div class="tl-field">${label}<input type="email" autocomplete="email" maxlength="254"${common}></div>`;
    case 'phone':
      return `<div class="tl-field">${label}<input type="tel" autocomplete="tel"${common}></div>`;
    case 'number':
      return `<div class="tl-field">${label}<input type="number" step="any" inputmode="decimal"${common}></div>`;
    case 'date': {
      const autocomplete = AUTOCOMPLETE[field.name];
      return `<div class="tl-field">${label}<input type="date"${autocomplete === 'bday' ? attr('autocomplete', 'bday') : ''}${common}></div>`;
    }
    case 'text': {
      const autocomplete = AUTOCOMPLETE[field.name];
      const maxLength = field.maxLength === undefined ? '' : attr('maxlength', String(field.maxLength));
      return `<div class="tl-field">${label}<input type="text"${autocomplete ? attr('autocomplete', autocomplete) : ''}${maxLength}${common}></div>`;
    }
  }
}

function renderConsent(key: string, text: string): string {
  const id = `tl-${key.replace(/_/g, '-')}`;
  return `<div class="tl-check"><input type="checkbox"${attr('id', id)}${attr('name', key)} value="yes"><label${attr('for', id)}>${escapeHtml(text)}</label></div>`;
}

function page(lang: string, title: string, head: string, body: string): string {
  return `<!doctype html>
<html lang="${escapeAttr(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>${head}
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** The complete page embedding one form (served as-is or inside an iframe). */
export function renderEmbedHtml(form: Form, options: EmbedOptions): string {
  // The action is ours, but a javascript: URL here would turn the submit button into script.
  if (!/^(https?:\/\/|\/)/i.test(options.actionUrl)) throw new Error(`actionUrl must be an http(s) URL or an absolute path, got ${options.actionUrl}`);
  const parts: string[] = [];
  if (form.fields.some((f) => f.required)) parts.push('<p class="tl-note">Fields marked * are required.</p>');
  for (const field of form.fields) parts.push(renderField(field));
  if (form.consent.email) parts.push(renderConsent(CONSENT_FIELD.email, form.consent.email.text));
  if (form.consent.sms) parts.push(renderConsent(CONSENT_FIELD.sms, form.consent.sms.text));
  // Off-screen rather than display:none, which bots recognise; hidden from keyboard and screen-reader users too.
  parts.push(
    `<div class="tl-hp" aria-hidden="true"><label for="tl-hp">Leave this field empty</label><input type="text" id="tl-hp"${attr('name', form.honeypotField)} value="" tabindex="-1" autocomplete="off"></div>`,
  );
  parts.push(`<input type="hidden" id="tl-tz"${attr('name', TIMEZONE_FIELD)} value="">`);
  let head = '';
  if (form.captcha) {
    const { provider, siteKey } = form.captcha;
    parts.push(`<div${attr('class', CAPTCHA_CLASS[provider])}${attr('data-sitekey', siteKey)}></div>`);
    parts.push(`<noscript><p class="tl-note">This form's spam check needs JavaScript. Please enable it to sign up.</p></noscript>`);
    head = `\n<script src="${escapeAttr(CAPTCHA_SCRIPT[provider])}" async defer></script>`;
  }
  parts.push(`<button type="submit">${escapeHtml(form.submitLabel ?? 'Subscribe')}</button>`);

  const body = `<form class="tl-form" method="post"${attr('action', options.actionUrl)} accept-charset="utf-8">
${parts.join('\n')}
</form>
<script>try{document.getElementById("tl-tz").value=Intl.DateTimeFormat().resolvedOptions().timeZone||""}catch(e){}</script>`;
  return page(pageLang(options.lang), form.name, head, body);
}

export interface ResultPageOptions {
  title: string;
  message: string;
  /** Problems to list (error pages); paths are shown as given, see `labelIssues`. */
  issues?: ValidationIssue[];
  lang?: string;
}

/** A standalone page shown after a browser post without a redirect URL, or after a double-opt-in confirmation. */
export function renderResultPage(kind: 'thanks' | 'error', options: ResultPageOptions): string {
  const issues = options.issues?.length
    ? `\n<ul class="tl-issues">${options.issues.map((i) => `<li>${i.path ? `<strong>${escapeHtml(i.path)}</strong> ` : ''}${escapeHtml(i.message)}</li>`).join('')}</ul>`
    : '';
  const body = `<div class="tl-result tl-${kind}"${kind === 'error' ? ' role="alert"' : ''}>
<h1>${escapeHtml(options.title)}</h1>
<p class="tl-message" style="white-space:pre-line">${escapeHtml(options.message)}</p>${issues}
</div>`;
  return page(pageLang(options.lang), options.title, '\n<meta name="robots" content="noindex">', body);
}

/** Replaces field-name paths with the labels the visitor saw (`first_name` → `First name`), for `renderResultPage`. */
export function labelIssues(form: Pick<Form, 'fields' | 'consent'>, issues: readonly ValidationIssue[]): ValidationIssue[] {
  const labels = new Map<string, string>(form.fields.map((f) => [f.name, fieldLabel(f)]));
  labels.set(CONSENT_FIELD.email, 'Email consent');
  labels.set(CONSENT_FIELD.sms, 'Text message consent');
  labels.set(CAPTCHA_RESPONSE_FIELD.turnstile, 'Spam check');
  labels.set(CAPTCHA_RESPONSE_FIELD.recaptcha, 'Spam check');
  return issues.map((i) => ({ path: labels.get(i.path) ?? i.path, message: i.message }));
}
