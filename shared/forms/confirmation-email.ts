import { escapeHtml } from '../html.ts';
import type { Form } from './definition.ts';

/** The double-opt-in email: the wording the person agreed to, and the link that confirms it. */
export function confirmationEmail(form: Pick<Form, 'name' | 'consent'>, confirmUrl: string): { subject: string; html: string; text: string } {
  const wording = form.consent?.email?.text ?? '';
  const subject = `Please confirm your subscription: ${form.name}`;
  const text = `Please confirm that you want to receive email from us.\n\nYou agreed to: ${wording}\n\nConfirm: ${confirmUrl}\n\nIf you did not sign up, ignore this email and nothing will happen. The link expires in 7 days.`;
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif;max-width:560px">
<p>Please confirm that you want to receive email from us.</p>
<blockquote style="color:#444">${escapeHtml(wording)}</blockquote>
<p><a href="${escapeHtml(confirmUrl)}" style="display:inline-block;padding:.6em 1.2em;background:#1a5fb4;color:#fff;text-decoration:none;border-radius:4px">Confirm my subscription</a></p>
<p style="color:#666;font-size:small">If you did not sign up, ignore this email and nothing will happen. The link expires in 7 days.</p>
</body></html>`;
  return { subject, html, text };
}
