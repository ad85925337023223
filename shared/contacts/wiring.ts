import { publishEvents } from '../aws/event-bus.ts';
import { requireEnv } from '../config.ts';
import { ConsentLog } from './consents.ts';
import { ContactService, type ErasureHook } from './contact-service.ts';
import { ContactStore } from './contact-store.ts';
import { SuppressionStore } from './suppressions.ts';
import { Timeline } from './timeline.ts';

/** The contact stores and service, configured from the environment the topology gives a function. */
export function contactsFromEnv(options: { erasureHooks?: ErasureHook[] } = {}) {
  const tables = {
    contacts: requireEnv('TABLE_CONTACTS'),
    contactLookups: requireEnv('TABLE_CONTACT_LOOKUPS'),
    consents: requireEnv('TABLE_CONSENTS'),
  };
  const eventBusName = requireEnv('EVENT_BUS_NAME');
  const store = new ContactStore(tables);
  const suppressions = new SuppressionStore(requireEnv('TABLE_SUPPRESSIONS'));
  const consents = new ConsentLog(tables.consents);
  const timeline = new Timeline(requireEnv('TABLE_INTERACTIONS'), tables.contacts, requireEnv('TABLE_ACTIVITY'));
  const service = new ContactService({
    contacts: store,
    suppressions,
    consents,
    timeline,
    publish: (events) => publishEvents(events, eventBusName),
    ...(options.erasureHooks ? { erasureHooks: options.erasureHooks } : {}),
  });
  return { store, suppressions, consents, timeline, service, eventBusName };
}
