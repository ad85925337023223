import { AttributionScanTask } from '../../events/attribution.ts';
import { attributionFromEnv, processAttributionTask } from '../../shared/attribution/orchestrate.ts';
import { messageQueueConsumer } from '../../shared/queue/message-consumer.ts';

const deps = attributionFromEnv();

/** One scan segment of an attribution run per message; the last one finishing writes the reports. */
export const handler = messageQueueConsumer(AttributionScanTask, async (task, { context }) => {
  await processAttributionTask(task, deps, () => context.getRemainingTimeInMillis());
});
