import { escapeHtml } from '../html.ts';
import type { Form } from './definition.ts';

/**
 * The confirmation email: the wording the person agreed to (when it confirms consent), what the
 * submission would change (when it holds changes for someone already on file), and the link.
 */
export function confirmationEmail(
  form: Pick<Form, 'name' | 'consent'>,
  confirmUrl: string,
  asks: { consent: boolean; changes: boolean } = { consent: true, changes: false },
): { subject: string; html: string; text: string } {
  const wording = asks.consent ? (form.consent?.email?.text ?? '') : '';
  const subject = asks.consent ? `Please confirm your subscription: ${form.name}` : `Please confirm your details: ${form.name}`;
  const intro = asks.consent
    ? `Please confirm that you want to receive email from us.${asks.changes ? ' The form also sent details to update on file for you; confirming applies them.' : ''}`
    : 'Someone submitted our form with your email address and details that differ from what we have on file for you. Nothing changes unless you confirm.';
  const button = asks.consent ? 'Confirm my subscription' : 'Confirm my details';
  const text = `${intro}\n\n${wording ? `You agreed to: ${wording}\n\n` : ''}Confirm: ${confirmUrl}\n\nIf this was not you, ignore this email and nothing will happen. The link expires in 7 days.`;
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif;max-width:560px">
<p>${escapeHtml(intro)}</p>
${wording ? `<blockquote style="color:#444">${escapeHtml(wording)}</blockquote>\n` : ''}<p><a href="${escapeHtml(confirmUrl)}" style="display:inline-block;padding:.6em 1.2em;background:#1a5fb4;color:#fff;text-decoration:none;border-radius:4px">${button}</a></p>
<p style="color:#666;font-size:small">If this was not you, ignore this email and nothing will happen. The link expires in 7 days.</p>
</body></html>`;
  return { subject, html, text };
}
