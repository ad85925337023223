import { LaunchMessage } from '../../events/campaigns.ts';
import { requeuePaused } from '../../shared/campaigns/dispatch.ts';
import { startLaunch } from '../../shared/campaigns/fanout.ts';
import { fanoutFrom } from '../../shared/campaigns/pipeline.ts';
import { functionConfig, intSetting } from '../../shared/config.ts';
import { messageQueueConsumer } from '../../shared/queue/message-consumer.ts';

const config = functionConfig('campaign-launcher', {
  tables: { campaigns: true, segments: true, segmentStats: true, sends: true, contacts: true, activity: true, models: true },
  queues: { launches: true, audienceScan: true, emailSends: true, smsSends: true },
  settings: { scanSegments: intSetting('AUDIENCE_SCAN_SEGMENTS', 4, 1, 1000) },
});
const deps = fanoutFrom({ ...config, ...config.settings });

/** Launches (from schedules or immediate launches) start a run's fan-out; resumes put paused sends back on the queues. */
export const handler = messageQueueConsumer(LaunchMessage, async (message) => {
  if (message.kind === 'launch') await startLaunch(message, deps);
  else await requeuePaused(message.campaignId, deps);
});
