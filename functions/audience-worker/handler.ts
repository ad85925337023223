import { AudienceScanTask } from '../../events/campaigns.ts';
import { processScanTask } from '../../shared/campaigns/fanout.ts';
import { fanoutFromEnv } from '../../shared/campaigns/pipeline.ts';
import { messageQueueConsumer } from '../../shared/queue/message-consumer.ts';

const deps = fanoutFromEnv();

/** One parallel-scan segment of a campaign's audience per message; continues in a new message near the timeout. */
export const handler = messageQueueConsumer(AudienceScanTask, async (task, { context }) => {
  await processScanTask(task, deps, () => context.getRemainingTimeInMillis());
});
