import { useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { api, ApiError } from '../../api.ts';
import type { ValidationIssue } from '../../contracts.ts';
import { CheckField } from '../../ui/check.tsx';
import { useDraft } from '../../ui/draft.ts';
import { Field, FormErrors, SelectField, TextField } from '../../ui/field.tsx';
import { ErrorBox, Loading, Page } from '../../ui/page.tsx';
import { useResource } from '../../ui/resource.ts';
import '../../ui/extra.css';
import { checkForm, draftOf, EMPTY_FORM, FIELD_TYPES, formBody, newField, type FieldDraft, type FormDraft, type SavedForm } from './model.ts';

const CLAIMED_EXACT = ['name', 'allowedOrigins', 'consent.email.text', 'consent.email.version', 'consent.sms.text', 'consent.sms.version', 'doubleOptIn', 'redirectUrl', 'defaultCountry', 'tags', 'honeypotField', 'captcha', 'rateLimit', 'submitLabel', 'successMessage'];

/**
 * A new form, or a duplicate of a saved one (`?from=<formId>`): forms cannot be changed once
 * created (the consent evidence names the form's wording), so a change is a new form.
 */
export default function FormEditor() {
  const { query } = useRoute();
  const from = query.from;
  const source = useResource<{ form: SavedForm }>(from ? `/v1/forms/${from}` : undefined);
  if (from && !source.data) {
    return (
      <Page title="Duplicate form">
        <ErrorBox error={source.error} />
        {!source.error && <Loading what="the form" />}
      </Page>
    );
  }
  return <Editor key={from ?? 'new'} source={source.data?.form} />;
}

function Editor({ source }: { source?: SavedForm }) {
  const { route } = useLocation();
  const [draft, setDraft, clearDraft] = useDraft<FormDraft>(`form:new:${source?.id ?? ''}`, () => (source ? draftOf(source) : EMPTY_FORM));
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof FormDraft>(k: K) => (value: FormDraft[K]) => setDraft((d) => ({ ...d, [k]: value }));
  const setField = (i: number, patch: Partial<FieldDraft>) => setDraft((d) => ({ ...d, fields: d.fields.map((f, j) => (j === i ? { ...f, ...patch } : f)) }));
  const issues: ValidationIssue[] = error instanceof ApiError ? error.issues : [];

  const create = async (e: Event) => {
    e.preventDefault();
    const body = formBody(draft);
    const local = checkForm(body);
    if (local.length) {
      setError(new ApiError(400, 'validation_failed', 'Some fields need attention', local));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const result = await api<{ form: SavedForm }>('/v1/forms', { body });
      clearDraft();
      route(`/forms/${result.form.id}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const claimed = [...CLAIMED_EXACT, ...draft.fields.flatMap((_, i) => ['name', 'label', 'type', 'required', 'options', 'maxLength', 'attribute'].map((k) => `fields[${i}].${k}`))];

  return (
    <Page title={source ? `Duplicate ${source.name}` : 'New form'}>
      <p>
        <a href="/forms">← All forms</a>
      </p>
      <p class="notice">Forms cannot be changed once created: each consent record names the form and its wording. To change one, duplicate it and use the new form's snippet.</p>
      <form onSubmit={(e) => void create(e)} aria-label="Form definition" noValidate>
        <TextField label="Form name" path="name" issues={issues} value={draft.name} onValue={set('name')} maxLength={200} />
        <fieldset>
          <legend>Fields</legend>
          <p class="hint">A form needs an email or a phone field. Other fields fill contact attributes.</p>
          {draft.fields.map((f, i) => (
            <div class="fieldrow" key={i} data-form-field={i}>
              <div class="row">
                <TextField label={`Field ${i + 1} name`} path={`fields[${i}].name`} issues={issues} value={f.name} onValue={(v) => setField(i, { name: v })} hint="a-z, 0-9 and _, as posted" />
                <TextField label={`Field ${i + 1} label`} path={`fields[${i}].label`} issues={issues} value={f.label} onValue={(v) => setField(i, { label: v })} />
                <SelectField label={`Field ${i + 1} type`} path={`fields[${i}].type`} issues={issues} value={f.type} onValue={(v) => setField(i, { type: v as FieldDraft['type'] })} options={FIELD_TYPES.map((t) => [t, t] as const)} />
              </div>
              <div class="row">
                <CheckField label="Required" path={`fields[${i}].required`} issues={issues} checked={f.required} onValue={(v) => setField(i, { required: v })} />
                {f.type !== 'email' && f.type !== 'phone' && <TextField label={`Field ${i + 1} attribute`} path={`fields[${i}].attribute`} issues={issues} value={f.attribute} onValue={(v) => setField(i, { attribute: v })} hint="The contact attribute it fills (default: the field name)" />}
                {f.type === 'text' && <TextField label={`Field ${i + 1} maximum length`} path={`fields[${i}].maxLength`} issues={issues} value={f.maxLength} onValue={(v) => setField(i, { maxLength: v })} inputMode="numeric" hint="Default 500" />}
              </div>
              {(f.type === 'select' || f.options) && (
                <Field label={`Field ${i + 1} options (one a line)`} path={`fields[${i}].options`} issues={issues}>
                  {(a) => <textarea {...a} rows={3} value={f.options} onInput={(e) => setField(i, { options: (e.currentTarget as HTMLTextAreaElement).value })} />}
                </Field>
              )}
              <div class="actions">
                <button type="button" disabled={i === 0} onClick={() => setDraft((d) => ({ ...d, fields: swap(d.fields, i, i - 1) }))}>
                  Move field {i + 1} up
                </button>
                <button type="button" disabled={draft.fields.length === 1} onClick={() => setDraft((d) => ({ ...d, fields: d.fields.filter((_, j) => j !== i) }))}>
                  Remove field {i + 1}
                </button>
              </div>
            </div>
          ))}
          <button type="button" onClick={() => setDraft((d) => ({ ...d, fields: [...d.fields, newField()] }))}>
            Add a field
          </button>
        </fieldset>
        <fieldset>
          <legend>Consent</legend>
          <p class="hint">The exact wording shown beside each checkbox is stored as evidence with every consent. Change the version when you change the text.</p>
          <div class="row">
            <TextField label="Email consent wording" path="consent.email.text" issues={issues} value={draft.emailConsentText} onValue={set('emailConsentText')} />
            <TextField label="Email wording version" path="consent.email.version" issues={issues} value={draft.emailConsentVersion} onValue={set('emailConsentVersion')} placeholder="2026-12" />
          </div>
          <div class="row">
            <TextField label="SMS consent wording" path="consent.sms.text" issues={issues} value={draft.smsConsentText} onValue={set('smsConsentText')} />
            <TextField label="SMS wording version" path="consent.sms.version" issues={issues} value={draft.smsConsentVersion} onValue={set('smsConsentVersion')} placeholder="2026-12" />
          </div>
          <CheckField label="Double opt-in" path="doubleOptIn" issues={issues} checked={draft.doubleOptIn} onValue={set('doubleOptIn')} hint="Email consent stays pending until the person follows the link in the confirmation email." />
        </fieldset>
        <fieldset>
          <legend>Where it is used</legend>
          <Field label="Allowed origins (one a line)" path="allowedOrigins" issues={issues} hint="The sites that may post the form, like https://www.example.com. Posts from other origins are refused.">
            {(a) => <textarea {...a} rows={3} value={draft.allowedOrigins} onInput={(e) => set('allowedOrigins')((e.currentTarget as HTMLTextAreaElement).value)} />}
          </Field>
          <TextField label="Redirect after submitting" path="redirectUrl" issues={issues} value={draft.redirectUrl} onValue={set('redirectUrl')} type="url" placeholder="https://www.example.com/thanks" />
          <div class="row">
            <TextField label="Default country for phone numbers" path="defaultCountry" issues={issues} value={draft.defaultCountry} onValue={set('defaultCountry')} maxLength={2} placeholder="GB" />
            <TextField label="Tags (comma-separated)" path="tags" issues={issues} value={draft.tags} onValue={set('tags')} />
          </div>
          <div class="row">
            <TextField label="Submit button text" path="submitLabel" issues={issues} value={draft.submitLabel} onValue={set('submitLabel')} />
            <TextField label="Thank-you message" path="successMessage" issues={issues} value={draft.successMessage} onValue={set('successMessage')} />
          </div>
        </fieldset>
        <fieldset>
          <legend>Bot defences</legend>
          <div class="row">
            <TextField label="Honeypot field name" path="honeypotField" issues={issues} value={draft.honeypotField} onValue={set('honeypotField')} />
            <TextField label="Posts per IP per minute" path="rateLimit.perIpPerMinute" issues={issues} value={draft.perIpPerMinute} onValue={set('perIpPerMinute')} inputMode="numeric" />
            <TextField label="Posts per minute in all" path="rateLimit.perFormPerMinute" issues={issues} value={draft.perFormPerMinute} onValue={set('perFormPerMinute')} inputMode="numeric" />
          </div>
          <div class="row">
            <SelectField
              label="Captcha"
              path="captcha.provider"
              issues={issues}
              value={draft.captchaProvider}
              onValue={(v) => set('captchaProvider')(v as FormDraft['captchaProvider'])}
              options={[
                ['', 'None'],
                ['turnstile', 'Cloudflare Turnstile'],
                ['recaptcha', 'Google reCAPTCHA'],
              ]}
            />
            {draft.captchaProvider && <TextField label="Captcha site key" path="captcha.siteKey" issues={issues} value={draft.captchaSiteKey} onValue={set('captchaSiteKey')} hint="The secret key is set on the deployment (context captchaSecretArn)." />}
          </div>
        </fieldset>
        <FormErrors error={error} claimed={[...claimed, 'captcha.provider', 'captcha.siteKey', 'rateLimit.perIpPerMinute', 'rateLimit.perFormPerMinute']} />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            Create form
          </button>
        </div>
      </form>
    </Page>
  );
}

const swap = <T,>(list: T[], a: number, b: number): T[] => {
  const next = [...list];
  [next[a], next[b]] = [next[b]!, next[a]!];
  return next;
};
