import * as z from 'zod';
import { keyedHash, readSecret, useProjectSecret } from '../../shared/aws/secrets.ts';
import { functionConfig } from '../../shared/config.ts';
import { CONTACT_TABLES, contactsFrom } from '../../shared/contacts/wiring.ts';
import { AppError, TooManyRequestsError, type ValidationIssue } from '../../shared/errors.ts';
import { verifyCaptcha } from '../../shared/forms/captcha.ts';
import { confirmSubmission, DOI_TOKEN_PURPOSE } from '../../shared/forms/confirmation.ts';
import { corsHeaders, originAllowed, preflightHeaders, requestOrigin } from '../../shared/forms/cors.ts';
import type { Form } from '../../shared/forms/definition.ts';
import { labelIssues, renderEmbedHtml, renderResultPage } from '../../shared/forms/embed.ts';
import { FormStore } from '../../shared/forms/form-store.ts';
import { submitForm, type SubmissionOutcome } from '../../shared/forms/submit.ts';
import { html, httpApi, json, redirect, route, type HttpResult } from '../../shared/http/api.ts';
import { readFields } from '../../shared/http/fields.ts';
import { RateLimiter } from '../../shared/rate-limit.ts';
import { InvalidTokenError, verifyToken } from '../../shared/tokens.ts';

const config = functionConfig('forms-public', {
  tables: { ...CONTACT_TABLES, forms: true, rateLimits: true },
  queues: {},
  publishesEvents: true,
  usesSecret: true,
  linksToPublicApi: true,
  verifiesCaptcha: true,
});
useProjectSecret(config.secretArn);
const forms = new FormStore(config.tables.forms);
const rateLimiter = new RateLimiter(config.tables.rateLimits);
const contacts = contactsFrom(config);
const { publicBaseUrl } = config;
const ownOrigin = new URL(publicBaseUrl).origin;
const { secretArn: captchaSecretArn, verifyUrl: captchaVerifyUrl } = config.captcha;

/** Public submissions are small; anything larger is not a form post. */
export const MAX_SUBMISSION_BYTES = 16 * 1024;

const FormParams = z.object({ formId: z.uuid('must be a form id') });

async function formOr404(id: string): Promise<Form> {
  const form = await forms.get(id);
  if (!form) throw new AppError(404, 'not_found', `form ${id} not found`);
  return form;
}

function withQuery(url: string, params: Record<string, string>): string {
  const target = new URL(url);
  for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
  return target.toString();
}

/** Answers a browser post with a redirect or a page, a script with JSON; CORS headers on every answer. */
function respond(form: Form, outcome: SubmissionOutcome, browser: boolean, cors: Record<string, string>): HttpResult {
  if (outcome.kind === 'accepted') {
    if (browser && form.redirectUrl) {
      const target = redirect(withQuery(form.redirectUrl, { touchloop: outcome.confirmationRequired ? 'confirm' : 'ok' }));
      return { ...target, headers: { ...target.headers, ...cors } };
    }
    const message = outcome.confirmationRequired
      ? 'Thanks! Please check your inbox and click the link in our email to confirm your subscription.'
      : (form.successMessage ?? 'Thanks! We have received your details.');
    if (browser) return html(200, renderResultPage('thanks', { title: 'Thank you', message }), cors);
    return json(200, { accepted: true, confirmationRequired: outcome.confirmationRequired, message }, cors);
  }
  return errorResult(form, 400, 'validation_failed', 'Some fields need attention', outcome.issues, browser, cors);
}

function errorResult(form: Form, status: number, code: string, message: string, issues: ValidationIssue[], browser: boolean, cors: Record<string, string>, extraHeaders: Record<string, string> = {}): HttpResult {
  if (browser && form.redirectUrl) {
    const location = withQuery(form.redirectUrl, { touchloop_error: code, ...(issues.length ? { fields: issues.map((i) => i.path).join(',') } : {}) });
    return { status: 303, headers: { location, ...cors, ...extraHeaders }, rawBody: '' };
  }
  if (browser) return html(status, renderResultPage('error', { title: 'Please check the form', message, issues: labelIssues(form, issues) }), { ...cors, ...extraHeaders });
  return json(status, { error: { code, message, ...(issues.length ? { issues } : {}) } }, { ...cors, ...extraHeaders });
}

const confirmationPage = (status: number, title: string, message: string) => html(status, renderResultPage(status < 400 ? 'thanks' : 'error', { title, message }), { 'cache-control': 'no-store' });

export const handler = httpApi({
  'GET /f/{formId}/embed': route({
    params: FormParams,
    handle: async ({ params }) => {
      const form = await formOr404(params.formId);
      return html(200, renderEmbedHtml(form, { actionUrl: `${publicBaseUrl}/f/${form.id}` }), { 'cache-control': 'public, max-age=300' });
    },
  }),

  'OPTIONS /f/{formId}': route({
    params: FormParams,
    handle: async ({ params, headers }) => {
      const form = await formOr404(params.formId);
      const origin = requestOrigin(headers);
      if (!origin || !originAllowed(form, origin, ownOrigin)) return json(403, { error: { code: 'origin_not_allowed', message: 'This origin may not post to this form' } });
      return { status: 204, headers: preflightHeaders(origin), rawBody: '' };
    },
  }),

  'POST /f/{formId}': route({
    params: FormParams,
    bodyFormat: 'raw',
    handle: async ({ params, headers, rawBody, sourceIp, userAgent }) => {
      const form = await formOr404(params.formId);
      const origin = requestOrigin(headers);
      // A disallowed origin gets no CORS headers: its script cannot even read this answer.
      if (!originAllowed(form, origin, ownOrigin)) return json(403, { error: { code: 'origin_not_allowed', message: 'This origin may not post to this form' } });
      const cors = corsHeaders(origin);
      const contentType = (headers['content-type'] ?? '').toLowerCase();
      const browser = contentType.startsWith('application/x-www-form-urlencoded');
      if (Buffer.byteLength(rawBody, 'utf8') > MAX_SUBMISSION_BYTES) {
        return errorResult(form, 413, 'payload_too_large', `A submission may be at most ${MAX_SUBMISSION_BYTES / 1024} KB`, [], browser, cors);
      }
      try {
        const fields = readFields(rawBody, contentType);
        const outcome = await submitForm(form, fields, { ip: sourceIp, userAgent, ...(origin ? { origin } : {}) }, {
          contacts: contacts.service,
          rateLimiter,
          publish: contacts.publish,
          hash: keyedHash,
          verifyCaptcha: async (f, token, ip) => {
            if (!f.captcha) return;
            if (!captchaSecretArn) throw new Error('This form asks for a captcha but CAPTCHA_SECRET_ARN is not configured');
            await verifyCaptcha(f.captcha.provider, token, ip, await readSecret(captchaSecretArn), { verifyUrl: captchaVerifyUrl });
          },
        });
        return respond(form, outcome, browser, cors);
      } catch (error) {
        if (error instanceof TooManyRequestsError) {
          return errorResult(form, 429, error.code, error.message, [], browser, cors, { 'retry-after': String(error.retryAfterSeconds) });
        }
        if (error instanceof AppError && error.status < 500) return errorResult(form, error.status, error.code, error.message, [], browser, cors);
        throw error;
      }
    },
  }),

  'GET /f/confirm/{token}': route({
    params: z.object({ token: z.string().max(4096) }),
    handle: async ({ params, sourceIp, userAgent }) => {
      let payload: Record<string, unknown>;
      try {
        payload = await verifyToken(DOI_TOKEN_PURPOSE, params.token);
      } catch (error) {
        if (error instanceof InvalidTokenError) {
          return confirmationPage(400, 'This link is not valid', error.message === 'expired' ? 'This confirmation link has expired. Please fill in the form again.' : 'This confirmation link is not valid.');
        }
        throw error;
      }
      const outcome = await confirmSubmission(payload, { ip: sourceIp, userAgent }, { service: contacts.service, store: contacts.store, consents: contacts.consents, hash: keyedHash });
      switch (outcome) {
        case 'confirmed':
          return confirmationPage(200, 'Confirmed', 'Thank you — your subscription and details are confirmed.');
        case 'already-confirmed':
          return confirmationPage(200, 'Already confirmed', 'This was already confirmed. Nothing else to do.');
        default:
          return confirmationPage(400, 'This link is not valid', 'This confirmation link is no longer valid.');
      }
    },
  }),
});
