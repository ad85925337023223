import type { Contact } from '../contacts/model.ts';
import { contactContext, renderEmail, renderSms } from '../templates/render.ts';
import type { Template } from '../templates/template.ts';
import { unsubscribeUrl } from '../links/unsubscribe-link.ts';
import type { Channel } from './model.ts';
import { addTracking } from '../links/tracking.ts';
import type { OutgoingMessage } from './providers/provider.ts';

export interface BuildOptions {
  template: Template;
  contact: Contact;
  channel: Channel;
  campaign: { id: string; name: string; marketing: boolean };
  sendId: string;
  runId: string;
  publicBaseUrl: string;
  senderAddress: string;
  /** Click and open tracking in email HTML (default on). */
  tracking?: boolean;
}

/**
 * Renders a contact's message from its template: personalisation, the unsubscribe link and
 * postal address (marketing email), the STOP line (marketing SMS), RFC 8058 one-click headers,
 * and the ids that come back with delivery events.
 */
export async function buildMessage(options: BuildOptions): Promise<OutgoingMessage & { segments?: number }> {
  const { template, contact, channel, campaign } = options;
  const tags = { touchloop_campaign: campaign.id, touchloop_run: options.runId, touchloop_contact: contact.id, touchloop_channel: channel };
  const unsubscribe = await unsubscribeUrl(options.publicBaseUrl, options.sendId, contact.id, channel);
  const ctx = { contact: contactContext(contact), campaign: { id: campaign.id, name: campaign.name }, unsubscribeUrl: unsubscribe, senderAddress: options.senderAddress };
  if (channel === 'email') {
    if (template.channel !== 'email' || !contact.email) throw new Error('email message needs an email template and address');
    const rendered = renderEmail(template, ctx, { marketing: campaign.marketing });
    const html = options.tracking === false ? rendered.html : await addTracking(rendered.html, { publicBaseUrl: options.publicBaseUrl, sendId: options.sendId, contactId: contact.id, campaignId: campaign.id, skip: [unsubscribe, `${options.publicBaseUrl}/u/`] });
    return {
      to: contact.email,
      subject: rendered.subject,
      html,
      text: rendered.text,
      headers: campaign.marketing ? { 'List-Unsubscribe': `<${unsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } : {},
      tags,
    };
  }
  if (template.channel !== 'sms' || !contact.phone) throw new Error('sms message needs an sms template and phone');
  const rendered = renderSms(template, ctx, { marketing: campaign.marketing });
  return { to: contact.phone, body: rendered.body, tags, segments: rendered.segments.segments };
}
