import { JourneyTask } from '../../events/journeys.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { CONTACT_TABLES } from '../../shared/contacts/wiring.ts';
import { functionConfig, intSetting } from '../../shared/config.ts';
import { journeyEngineFrom } from '../../shared/journeys/wiring.ts';
import { messageQueueConsumer } from '../../shared/queue/message-consumer.ts';

const config = functionConfig('journey-worker', {
  tables: { ...CONTACT_TABLES, journeys: true, journeyStates: true, campaigns: true, sends: true, segments: true, segmentStats: true, models: true },
  queues: { emailSends: true, smsSends: true, journeyTasks: true },
  publishesEvents: true,
  usesSecret: true,
  settings: {
    scanSegments: intSetting('AUDIENCE_SCAN_SEGMENTS', 4, 1, 1000),
    // How long a journey's head (status, version) and the list of running journeys are reused: a start, pause or new version is seen within it.
    headTtlMs: intSetting('JOURNEY_CACHE_MS', 2000, 0, 60_000),
  },
});
useProjectSecret(config.secretArn);
const engine = journeyEngineFrom({ ...config, ...config.settings });

/** Journey tasks (events, due waits, audience scans, resume/stop sweeps, measurement): shared/journeys/engine.ts. */
export const handler = messageQueueConsumer(JourneyTask, async (task, meta) => engine.handle(task, () => meta.context.getRemainingTimeInMillis()));
