import { AttributionScanTask } from '../../events/attribution.ts';
import { attributionFrom, processAttributionTask } from '../../shared/attribution/orchestrate.ts';
import { functionConfig, intSetting, listSetting } from '../../shared/config.ts';
import { messageQueueConsumer } from '../../shared/queue/message-consumer.ts';

const config = functionConfig('attribution-worker', {
  tables: { interactions: true, contacts: true, activity: true, campaigns: true, sends: true, attribution: true, attributionRuns: true, attributionParts: true, reports: true, segments: true, segmentStats: true },
  queues: { attributionScan: true, learning: true },
  buckets: { learning: true },
  settings: {
    scanSegments: intSetting('ATTRIBUTION_SCAN_SEGMENTS', 4, 1, 1000),
    // Attributes set after the outcome they would predict (leaks), never used as features: comma-separated names.
    excludeAttributes: listSetting('LEARNING_EXCLUDE_ATTRIBUTES'),
  },
});
const deps = attributionFrom({
  ...config,
  ...config.settings,
  learning: { bucket: config.buckets.learning, queue: config.queues.learning, excludeAttributes: config.settings.excludeAttributes },
});

/** One scan segment of an attribution run per message; the last one finishing writes the reports. */
export const handler = messageQueueConsumer(AttributionScanTask, async (task, { context }) => {
  await processAttributionTask(task, deps, () => context.getRemainingTimeInMillis());
});
