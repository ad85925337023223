import { LaunchMessage } from '../../events/campaigns.ts';
import { requeuePaused } from '../../shared/campaigns/dispatch.ts';
import { startLaunch } from '../../shared/campaigns/fanout.ts';
import { fanoutFromEnv } from '../../shared/campaigns/pipeline.ts';
import { messageQueueConsumer } from '../../shared/queue/message-consumer.ts';

const deps = fanoutFromEnv();

/** Launches (from schedules or immediate launches) start a run's fan-out; resumes put paused sends back on the queues. */
export const handler = messageQueueConsumer(LaunchMessage, async (message) => {
  if (message.kind === 'launch') await startLaunch(message, deps);
  else await requeuePaused(message.campaignId, deps);
});
