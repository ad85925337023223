/**
 * Previews of a template for a marketer: a saved template (POST /v1/templates/{id}/render) or an
 * unsaved draft (POST /v1/templates/render), rendered for a real contact or for sample data, the
 * way a campaign would render it — but inert: the unsubscribe link is the marked preview link, so
 * a marketer clicking around a real contact's preview unsubscribes no one, and nothing is tracked.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import type { ContactStore } from '../contacts/contact-store.ts';
import { NotFoundError } from '../errors.ts';
import { previewUnsubscribeUrl } from '../links/unsubscribe-link.ts';
import { contactContext, renderEmail, renderSms, type RenderedEmail, type RenderedSms } from './render.ts';
import { EmailTemplateInput, SmsTemplateInput, templateParts, validateTemplate, type EmailTemplate, type SmsTemplate } from './template.ts';

/** Who the preview is for: a contact (its attributes fill the template) or, without one, SAMPLE_CONTACT. */
const Recipient = { contactId: z.uuid('must be a contact id').optional(), marketing: z.boolean().default(true) };

/** The body of POST /v1/templates/{id}/render. */
export const RenderSavedBody = z.strictObject(Recipient);
export type RenderSavedBody = z.output<typeof RenderSavedBody>;

/**
 * The body of POST /v1/templates/render: a template as POST /v1/templates takes it (the name may be
 * left out: a draft need not be named to be previewed), plus the recipient.
 */
export const RenderDraftBody = z.discriminatedUnion('channel', [
  EmailTemplateInput.extend({ name: EmailTemplateInput.shape.name.optional(), ...Recipient }),
  SmsTemplateInput.extend({ name: SmsTemplateInput.shape.name.optional(), ...Recipient }),
]);
export type RenderDraftBody = z.output<typeof RenderDraftBody>;

/** What templates see as `contact` when no contact is named. */
export const SAMPLE_CONTACT: Readonly<Record<string, unknown>> = Object.freeze({ id: 'sample', email: 'sample@example.com', phone: '+15555550123', firstName: 'Sam', lastName: 'Sample' });

export interface PreviewDeps {
  contacts: Pick<ContactStore, 'get'>;
  publicBaseUrl: string;
  senderAddress: string;
}

export type TemplatePreview = ({ channel: 'email' } & RenderedEmail) | ({ channel: 'sms' } & RenderedSms);

type Renderable = (EmailTemplate | SmsTemplate) & { id: string; version: number };

/** The preview of a template for the recipient named (an unknown contact is a 404 at `contactId`). */
export async function previewTemplate(template: Renderable, recipient: { contactId?: string | undefined; marketing: boolean }, deps: PreviewDeps): Promise<TemplatePreview & { preview: true }> {
  let contact: Record<string, unknown> = { ...SAMPLE_CONTACT };
  if (recipient.contactId !== undefined) {
    const found = await deps.contacts.get(recipient.contactId);
    if (!found) throw new NotFoundError('contact', recipient.contactId, 'contactId');
    contact = contactContext(found);
  }
  const ctx = {
    contact,
    campaign: { id: 'preview', name: 'Preview' },
    // Inert: a preview of a real contact must not carry a link that unsubscribes them.
    unsubscribeUrl: previewUnsubscribeUrl(deps.publicBaseUrl),
    senderAddress: deps.senderAddress,
  };
  const options = { marketing: recipient.marketing };
  if (template.channel === 'email') return { channel: 'email', preview: true, ...renderEmail(template, ctx, options) };
  return { channel: 'sms', preview: true, ...renderSms(template, ctx, options) };
}

/**
 * The preview of an unsaved template: checked as a save would check it (a syntax error is a 400 at
 * its field: `html`, `subject`…), then rendered through the same path as a saved one. Its compiled
 * parts are cached under a digest of its content, so an edited draft never reuses another's.
 */
export async function previewDraft(body: RenderDraftBody, deps: PreviewDeps): Promise<TemplatePreview & { preview: true }> {
  const { contactId, marketing, ...fields } = body;
  const template = { ...fields, name: fields.name ?? 'Draft' } as EmailTemplate | SmsTemplate;
  validateTemplate(template);
  const digest = createHash('sha256').update(JSON.stringify(templateParts(template))).digest('base64url');
  return previewTemplate({ ...template, id: `draft:${template.channel}:${digest}`, version: 0 }, { contactId, marketing }, deps);
}
