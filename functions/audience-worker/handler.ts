import { AudienceScanTask } from '../../events/campaigns.ts';
import { processScanTask } from '../../shared/campaigns/fanout.ts';
import { fanoutFrom } from '../../shared/campaigns/pipeline.ts';
import { functionConfig, intSetting } from '../../shared/config.ts';
import { messageQueueConsumer } from '../../shared/queue/message-consumer.ts';

const config = functionConfig('audience-worker', {
  tables: { campaigns: true, segments: true, segmentStats: true, sends: true, contacts: true, activity: true, models: true },
  queues: { audienceScan: true, emailSends: true, smsSends: true },
  settings: { scanSegments: intSetting('AUDIENCE_SCAN_SEGMENTS', 4, 1, 1000) },
});
const deps = fanoutFrom({ ...config, ...config.settings });

/** One parallel-scan segment of a campaign's audience per message; continues in a new message near the timeout. */
export const handler = messageQueueConsumer(AudienceScanTask, async (task, { context }) => {
  await processScanTask(task, deps, () => context.getRemainingTimeInMillis());
});
