import { requireEnv } from '../config.ts';
import { SegmentService } from '../segments/segment-service.ts';
import { SegmentStore } from '../segments/segment-store.ts';
import type { FanoutDeps } from './fanout.ts';
import { campaignsFromEnv } from './wiring.ts';

/** The launch pipeline's dependencies from the environment (launcher, audience workers, dispatcher). */
export function fanoutFromEnv(): FanoutDeps {
  const { campaigns, sends, queueUrl, scanSegments } = campaignsFromEnv();
  const segments = new SegmentStore({ segments: requireEnv('TABLE_SEGMENTS'), segmentStats: requireEnv('TABLE_SEGMENT_STATS') });
  const contactsTable = requireEnv('TABLE_CONTACTS');
  const activityTable = requireEnv('TABLE_ACTIVITY');
  return {
    campaigns,
    sends,
    segments,
    segmentService: new SegmentService(segments, { contactsTable, activityTable, scanSegments }),
    contactsTable,
    activityTable,
    scanSegments,
    queueUrls: { audienceScan: queueUrl('AUDIENCE_SCAN'), email: queueUrl('EMAIL_SENDS'), sms: queueUrl('SMS_SENDS') },
  };
}
