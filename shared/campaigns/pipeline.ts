import { ModelStore } from '../learning/store.ts';
import { SegmentService } from '../segments/segment-service.ts';
import { SegmentStore } from '../segments/segment-store.ts';
import type { FanoutDeps } from './fanout.ts';
import { GoalModelSource } from './goal-model-source.ts';
import { campaignsFrom } from './wiring.ts';

/** What the launch pipeline needs of a function's configuration (launcher, audience workers, dispatcher). */
export interface FanoutConfig {
  /** models: the functions that start runs and plan audiences read the learned models (the dispatcher does not). */
  tables: { campaigns: string; sends: string; segments: string; segmentStats: string; contacts: string; activity: string; models?: string };
  queues: { audienceScan: string; emailSends: string; smsSends: string };
  /** Parallel scan segments of an audience. */
  scanSegments: number;
}

/** The launch pipeline's dependencies. */
export function fanoutFrom(config: FanoutConfig): FanoutDeps {
  const { campaigns, sends } = campaignsFrom(config);
  const { tables, queues, scanSegments } = config;
  const segments = new SegmentStore({ segments: tables.segments, segmentStats: tables.segmentStats });
  return {
    campaigns,
    sends,
    segments,
    segmentService: new SegmentService(segments, { contactsTable: tables.contacts, activityTable: tables.activity, scanSegments }),
    contactsTable: tables.contacts,
    activityTable: tables.activity,
    scanSegments,
    queueUrls: { audienceScan: queues.audienceScan, email: queues.emailSends, sms: queues.smsSends },
    ...(tables.models ? { models: new GoalModelSource(new ModelStore(tables.models)) } : {}),
  };
}
