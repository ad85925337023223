import type { ValidationIssue } from '../errors.ts';
import { html, json, redirect, type HttpResult } from '../http/api.ts';
import type { ErrorAnswer } from '../http/public-route.ts';
import type { LinkOutcome } from './confirmation.ts';
import type { Form } from './definition.ts';
import { labelIssues, renderResultPage } from './embed.ts';

/**
 * How the public form routes answer: a browser's post (urlencoded) with a redirect to the
 * form's page or a page of ours, a script with JSON; the CORS headers on every answer.
 */

function withQuery(url: string, params: Record<string, string>): string {
  const target = new URL(url);
  for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
  return target.toString();
}

export function acceptedAnswer(form: Form, confirmationRequired: boolean, browser: boolean, cors: Record<string, string>): HttpResult {
  if (browser && form.redirectUrl) {
    const target = redirect(withQuery(form.redirectUrl, { touchloop: confirmationRequired ? 'confirm' : 'ok' }));
    return { ...target, headers: { ...target.headers, ...cors } };
  }
  const message = confirmationRequired
    ? 'Thanks! Please check your inbox and click the link in our email to confirm your subscription.'
    : (form.successMessage ?? 'Thanks! We have received your details.');
  if (browser) return html(200, renderResultPage('thanks', { title: 'Thank you', message }), cors);
  return json(200, { accepted: true, confirmationRequired, message }, cors);
}

/** A browser sees the problem on a page (or on the form's own, by redirect); a script gets the JSON error. */
export function errorAnswer(form: Form, browser: boolean): ErrorAnswer {
  return (error, issues: ValidationIssue[], headers) => {
    if (!browser) return undefined;
    if (form.redirectUrl) {
      const location = withQuery(form.redirectUrl, { touchloop_error: error.code, ...(issues.length ? { fields: issues.map((i) => i.path).join(',') } : {}) });
      return { status: 303, headers: { location, ...headers }, rawBody: '' };
    }
    return html(error.status, renderResultPage('error', { title: 'Please check the form', message: error.message, issues: labelIssues(form, issues) }), headers);
  };
}

const CONFIRMATION_PAGES: Record<LinkOutcome, [status: number, title: string, message: string]> = {
  confirmed: [200, 'Confirmed', 'Thank you — your subscription and details are confirmed.'],
  'already-confirmed': [200, 'Already confirmed', 'This was already confirmed. Nothing else to do.'],
  invalid: [400, 'This link is not valid', 'This confirmation link is no longer valid.'],
  expired: [400, 'This link is not valid', 'This confirmation link has expired. Please fill in the form again.'],
  'not-a-link': [400, 'This link is not valid', 'This confirmation link is not valid.'],
};

export function confirmationAnswer(outcome: LinkOutcome): HttpResult {
  const [status, title, message] = CONFIRMATION_PAGES[outcome];
  return html(status, renderResultPage(status < 400 ? 'thanks' : 'error', { title, message }), { 'cache-control': 'no-store' });
}
