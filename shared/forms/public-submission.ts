import { readSecret } from '../aws/secrets.ts';
import { AppError, ValidationError } from '../errors.ts';
import { OriginNotAllowedError } from '../http/public-route.ts';
import { verifyCaptcha } from './captcha.ts';
import { originAllowed } from './cors.ts';
import type { Form } from './definition.ts';
import { submitForm, type SubmissionMeta, type SubmitDeps } from './submit.ts';

/** Public submissions are small; anything larger is not a form post. */
export const MAX_SUBMISSION_BYTES = 16 * 1024;

export const ORIGIN_REFUSED = 'This origin may not post to this form';

export interface PublicSubmissionDeps extends Omit<SubmitDeps, 'verifyCaptcha'> {
  /** The API's own origin (the embed page is served from it). */
  ownOrigin: string;
  captcha: { secretArn?: string; verifyUrl?: string };
}

/** A post to a form's public endpoint, as it arrived. */
export interface PublicPost {
  origin: string | undefined;
  bytes: number;
  fields: () => Record<string, unknown>;
  meta: Omit<SubmissionMeta, 'origin'>;
}

/** The origins that may post to a form from a browser (for the preflight). */
export const formOrigins = (form: Form, ownOrigin: string) => (origin: string) => originAllowed(form, origin, ownOrigin);

/**
 * A public post to a form: the origin first (a disallowed one learns nothing more), then the
 * size, then the submission itself (shared/forms/submit.ts) with the form's captcha, if it asks
 * for one. Invalid fields are a ValidationError holding every issue.
 */
export async function receivePublicSubmission(form: Form, post: PublicPost, deps: PublicSubmissionDeps): Promise<{ confirmationRequired: boolean }> {
  if (!originAllowed(form, post.origin, deps.ownOrigin)) throw new OriginNotAllowedError(ORIGIN_REFUSED);
  if (post.bytes > MAX_SUBMISSION_BYTES) throw new AppError(413, 'payload_too_large', `A submission may be at most ${MAX_SUBMISSION_BYTES / 1024} KB`);
  const { captcha } = deps;
  const outcome = await submitForm(form, post.fields(), { ...post.meta, ...(post.origin ? { origin: post.origin } : {}) }, {
    ...deps,
    verifyCaptcha: async (f, token, ip) => {
      if (!f.captcha) return;
      if (!captcha.secretArn) throw new Error('This form asks for a captcha but CAPTCHA_SECRET_ARN is not configured');
      await verifyCaptcha(f.captcha.provider, token, ip, await readSecret(captcha.secretArn), { verifyUrl: captcha.verifyUrl });
    },
  });
  if (outcome.kind === 'invalid') throw new ValidationError(outcome.issues, 'Some fields need attention');
  return { confirmationRequired: outcome.confirmationRequired };
}
