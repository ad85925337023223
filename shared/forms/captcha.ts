import { BadRequestError } from '../errors.ts';

export type CaptchaProvider = 'turnstile' | 'recaptcha';

const VERIFY_URL: Record<CaptchaProvider, string> = {
  turnstile: 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
  recaptcha: 'https://www.google.com/recaptcha/api/siteverify',
};

export class CaptchaFailedError extends BadRequestError {
  override name = 'CaptchaFailedError';
  constructor() {
    super('The spam check did not pass; please try again', 'captcha_failed');
  }
}

/**
 * Server-side verification of a Turnstile or reCAPTCHA response (both take the same form
 * post: secret, response, remoteip, and answer `{ success }`). Off unless a form asks for it.
 */
export async function verifyCaptcha(
  provider: CaptchaProvider,
  token: string | undefined,
  remoteIp: string,
  secret: string,
  options: { verifyUrl?: string; fetchImpl?: typeof fetch; timeoutMs?: number } = {},
): Promise<void> {
  if (!token) throw new CaptchaFailedError();
  const body = new URLSearchParams({ secret, response: token, remoteip: remoteIp });
  const response = await (options.fetchImpl ?? fetch)(options.verifyUrl ?? VERIFY_URL[provider], {
    method: 'POST',
    body,
    signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
  });
  if (!response.ok) throw new Error(`${provider} verification answered ${response.status}`);
  const result = (await response.json()) as { success?: boolean };
  if (result.success !== true) throw new CaptchaFailedError();
}
