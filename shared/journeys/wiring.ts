import { CampaignStore } from '../campaigns/campaign-store.ts';
import { GoalModelSource } from '../campaigns/goal-model-source.ts';
import { ModelStore } from '../learning/store.ts';
import { SendStore } from '../campaigns/send-store.ts';
import { contactsFrom, type ContactsConfig } from '../contacts/wiring.ts';
import { SegmentService } from '../segments/segment-service.ts';
import { SegmentStore } from '../segments/segment-store.ts';
import { JourneyEngine } from './engine.ts';
import { JourneyStore } from './journey-store.ts';
import { JourneyStateStore } from './state-store.ts';

/** What the journey engine needs of its function's configuration (journey-worker). */
export interface JourneyEngineConfig extends ContactsConfig {
  tables: ContactsConfig['tables'] & { journeys: string; journeyStates: string; campaigns: string; sends: string; segments: string; segmentStats: string; models: string };
  queues: { emailSends: string; smsSends: string; journeyTasks: string };
  scanSegments: number;
  /** How long journey heads and the running list are cached (ms). */
  headTtlMs?: number;
}

export function journeyEngineFrom(config: JourneyEngineConfig): JourneyEngine {
  const contacts = contactsFrom(config);
  const { tables, queues, scanSegments } = config;
  const segments = new SegmentStore({ segments: tables.segments, segmentStats: tables.segmentStats });
  return new JourneyEngine({
    journeys: new JourneyStore(tables.journeys),
    states: new JourneyStateStore(tables.journeyStates),
    campaigns: new CampaignStore(tables.campaigns),
    sends: new SendStore(tables.sends),
    contacts: contacts.store,
    contactService: contacts.service,
    timeline: contacts.timeline,
    segments,
    segmentService: new SegmentService(segments, { contactsTable: tables.contacts, activityTable: tables.activity, scanSegments }),
    contactsTable: tables.contacts,
    activityTable: tables.activity,
    queueUrls: { email: queues.emailSends, sms: queues.smsSends, tasks: queues.journeyTasks },
    ...(config.headTtlMs !== undefined ? { headTtlMs: config.headTtlMs } : {}),
    models: new GoalModelSource(new ModelStore(tables.models)),
  });
}
