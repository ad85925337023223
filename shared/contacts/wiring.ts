import { publishEvents } from '../aws/event-bus.ts';
import { ConsentLog } from './consents.ts';
import { ContactService, type ErasureHook } from './contact-service.ts';
import { ContactStore } from './contact-store.ts';
import { SuppressionStore } from './suppressions.ts';
import { Timeline } from './timeline.ts';

/** What the contact stores and service need of a function's configuration (shared/config.ts). */
export interface ContactsConfig {
  tables: { contacts: string; contactLookups: string; consents: string; suppressions: string; interactions: string; activity: string };
  eventBus: string;
}

/** The contact stores and service of a function whose topology entry declares the contact tables and publishes events. */
export function contactsFrom(config: ContactsConfig, options: { erasureHooks?: ErasureHook[] } = {}) {
  const { tables, eventBus } = config;
  const store = new ContactStore({ contacts: tables.contacts, contactLookups: tables.contactLookups, consents: tables.consents });
  const suppressions = new SuppressionStore(tables.suppressions);
  const consents = new ConsentLog(tables.consents);
  const timeline = new Timeline(tables.interactions, tables.contacts, tables.activity);
  const publish = (events: Parameters<typeof publishEvents>[0]) => publishEvents(events, eventBus);
  const service = new ContactService({
    contacts: store,
    suppressions,
    consents,
    timeline,
    publish,
    ...(options.erasureHooks ? { erasureHooks: options.erasureHooks } : {}),
  });
  return { store, suppressions, consents, timeline, service, publish };
}

/** The contact tables, as a function's wiring spec lists them (the topology's contactTables). */
export const CONTACT_TABLES = { contacts: true, contactLookups: true, consents: true, suppressions: true, interactions: true, activity: true } as const;
