import { contactsFrom, type ContactsConfig } from '../contacts/wiring.ts';
import { TemplateStore } from '../templates/template-store.ts';
import { CampaignStore } from './campaign-store.ts';
import type { MessageProvider } from './providers/provider.ts';
import type { ChannelSenderDeps } from './sender.ts';
import { SendStore } from './send-store.ts';

/** The campaign and send stores of a function whose topology entry declares both tables. */
export function campaignsFrom(config: { tables: { campaigns: string; sends: string } }) {
  return { campaigns: new CampaignStore(config.tables.campaigns), sends: new SendStore(config.tables.sends) };
}

/** What a channel's sender needs of its function's configuration (email-sender, sms-sender). */
export interface SenderConfig extends ContactsConfig {
  tables: ContactsConfig['tables'] & { campaigns: string; sends: string; templates: string };
  publicBaseUrl: string;
  /** The postal address marketing messages show. */
  senderAddress: string;
  /** The queue's maximum concurrency. */
  concurrency: number;
  /** Messages per second when a campaign sets no rate of its own. */
  defaultRate: number;
}

export function senderFrom(config: SenderConfig, provider: () => Promise<MessageProvider>): ChannelSenderDeps {
  const contacts = contactsFrom(config);
  const { publicBaseUrl, senderAddress, concurrency, defaultRate } = config;
  return {
    ...campaignsFrom(config),
    contacts: contacts.store,
    contactService: contacts.service,
    timeline: contacts.timeline,
    templates: new TemplateStore(config.tables.templates),
    provider,
    publicBaseUrl,
    senderAddress,
    concurrency,
    defaultRate,
  };
}
