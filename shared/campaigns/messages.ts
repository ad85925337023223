import type { Contact } from '../contacts/model.ts';
import { contactContext, renderEmail, renderSms } from '../templates/render.ts';
import type { Template } from '../templates/template.ts';
import { unsubscribeUrl } from '../links/unsubscribe-link.ts';
import type { Channel } from './model.ts';
import { addTracking } from '../links/tracking.ts';
import type { OutgoingMessage } from './providers/provider.ts';

/** Per-message values of a transactional send, rendered as `{{data.<name>}}`. */
export type MessageData = Record<string, string | number | boolean | null>;

export interface BuildOptions {
  template: Template;
  /** The contact it goes to; a transactional message may go to a bare address (`to`) instead. */
  contact: Contact | undefined;
  /** The address of a transactional message to no contact (an email address or E.164 number). */
  to?: string;
  channel: Channel;
  campaign: { id: string; name: string; marketing: boolean };
  sendId: string;
  runId: string;
  publicBaseUrl: string;
  senderAddress: string;
  /** Click and open tracking in email HTML (default on). */
  tracking?: boolean;
  /** Per-message values (transactional sends). */
  data?: MessageData;
  /**
   * A transactional message: its id (not a campaign and run) goes with the delivery events, and
   * SMS providers are told the message is transactional.
   */
  messageId?: string;
}

/**
 * Renders a contact's message from its template: personalisation, the unsubscribe link and
 * postal address (marketing email), the STOP line (marketing SMS), RFC 8058 one-click headers,
 * and the ids that come back with delivery events. Campaign sends and transactional messages
 * (POST /v1/messages) are both built here.
 */
export async function buildMessage(options: BuildOptions): Promise<OutgoingMessage & { segments?: number }> {
  const { template, contact, channel, campaign } = options;
  const tags: Record<string, string> = options.messageId
    ? { touchloop_message: options.messageId, ...(contact ? { touchloop_contact: contact.id } : {}), touchloop_channel: channel }
    : { touchloop_campaign: campaign.id, touchloop_run: options.runId, touchloop_contact: contact?.id ?? '', touchloop_channel: channel };
  // A bare address has no contact to unsubscribe: its messages carry no unsubscribe link.
  const unsubscribe = contact ? await unsubscribeUrl(options.publicBaseUrl, options.sendId, contact.id, channel) : undefined;
  const ctx = {
    contact: contact ? contactContext(contact) : channel === 'email' ? { email: options.to } : { phone: options.to },
    campaign: { id: campaign.id, name: campaign.name },
    unsubscribeUrl: unsubscribe,
    senderAddress: options.senderAddress,
    ...(options.data ? { data: options.data } : {}),
  };
  const kind = options.messageId ? { transactional: true } : {};
  if (channel === 'email') {
    const to = contact ? contact.email : options.to;
    if (template.channel !== 'email' || !to) throw new Error('email message needs an email template and address');
    const rendered = renderEmail(template, ctx, { marketing: campaign.marketing });
    const html =
      options.tracking === false || !contact
        ? rendered.html
        : await addTracking(rendered.html, { publicBaseUrl: options.publicBaseUrl, sendId: options.sendId, contactId: contact.id, campaignId: campaign.id, skip: [...(unsubscribe ? [unsubscribe] : []), `${options.publicBaseUrl}/u/`] });
    return {
      to,
      subject: rendered.subject,
      html,
      text: rendered.text,
      headers: campaign.marketing && unsubscribe ? { 'List-Unsubscribe': `<${unsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } : {},
      tags,
      ...kind,
    };
  }
  const to = contact ? contact.phone : options.to;
  if (template.channel !== 'sms' || !to) throw new Error('sms message needs an sms template and phone');
  const rendered = renderSms(template, ctx, { marketing: campaign.marketing });
  return { to, body: rendered.body, tags, segments: rendered.segments.segments, ...kind };
}
