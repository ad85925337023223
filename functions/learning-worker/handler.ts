import { LearningTask } from '../../events/attribution.ts';
import { AttributionStore } from '../../shared/attribution/run.ts';
import { ObjectStore } from '../../shared/aws/objects.ts';
import { functionConfig, intSetting, listSetting } from '../../shared/config.ts';
import { documentClient, scanAll } from '../../shared/aws/dynamodb.ts';
import type { Campaign } from '../../shared/campaigns/model.ts';
import { recordForecastActuals } from '../../shared/learning/forecast-actual.ts';
import { processLearningTask } from '../../shared/attribution/learning-run.ts';
import { ModelStore } from '../../shared/learning/store.ts';
import { logger } from '../../shared/logger.ts';
import { messageQueueConsumer } from '../../shared/queue/message-consumer.ts';
import { SegmentStore } from '../../shared/segments/segment-store.ts';

const config = functionConfig('learning-worker', {
  tables: { contacts: true, activity: true, models: true, attributionRuns: true, campaigns: true, reports: true, segments: true, segmentStats: true },
  queues: { learning: true },
  buckets: { learning: true },
  settings: {
    scanSegments: intSetting('ATTRIBUTION_SCAN_SEGMENTS', 4, 1, 1000),
    // The gates (docs/learning-design.md "Gates"); lower them only to try the pipeline on little data.
    minTrainExamples: intSetting('LEARNING_MIN_EXAMPLES', 2000, 1, 10_000_000),
    minTrainPositives: intSetting('LEARNING_MIN_POSITIVES', 200, 1, 10_000_000),
    minControlExamples: intSetting('LEARNING_MIN_CONTROL_EXAMPLES', 1000, 1, 10_000_000),
    minControlPositives: intSetting('LEARNING_MIN_CONTROL_POSITIVES', 50, 1, 10_000_000),
    minBuyers: intSetting('LEARNING_MIN_BUYERS', 500, 1, 10_000_000),
    minRepeatBuyers: intSetting('LEARNING_MIN_REPEAT_BUYERS', 100, 1, 10_000_000),
    stratumSize: intSetting('LEARNING_SAMPLE_PER_STRATUM', 100_000, 1000, 1_000_000),
    // Must be the attribution worker's: the examples were encoded without these attributes.
    excludeAttributes: listSetting('LEARNING_EXCLUDE_ATTRIBUTES'),
  },
});
const s = config.settings;
const t = config.tables;
// Only the run record is read and written through the attribution store.
const runs = new AttributionStore({ interactions: '', contacts: t.contacts, campaigns: t.campaigns, sends: '', attribution: '', attributionRuns: t.attributionRuns, attributionParts: '', reports: t.reports });
const models = new ModelStore(t.models);
const deps = {
  runs,
  models,
  objects: new ObjectStore(config.buckets.learning),
  queueUrl: config.queues.learning,
  contactsTable: t.contacts,
  activityTable: t.activity,
  segments: new SegmentStore({ segments: t.segments, segmentStats: t.segmentStats }),
  scanSegments: s.scanSegments,
  thresholds: { minTrainExamples: s.minTrainExamples, minTrainPositives: s.minTrainPositives, minControlExamples: s.minControlExamples, minControlPositives: s.minControlPositives },
  btydThresholds: { minBuyers: s.minBuyers, minRepeatBuyers: s.minRepeatBuyers },
  stratumSize: s.stratumSize,
  excludeAttributes: s.excludeAttributes,
  // The last scoring segment records each campaign's goal forecast against its actual once its window has closed.
  onScored: async (now: Date) => {
    const campaigns: Campaign[] = [];
    for await (const item of scanAll(documentClient, { TableName: t.campaigns })) campaigns.push(item as unknown as Campaign);
    const result = await recordForecastActuals({ campaigns, report: (id) => runs.report(id), store: models, now });
    logger.info('forecasts against actuals', { written: result.written.map((w) => w.campaignId), skipped: result.skipped });
  },
};

/** One learning task per message: train a goal, fit BTYD, or score a contacts scan segment. */
export const handler = messageQueueConsumer(LearningTask, async (task, { context }) => {
  await processLearningTask(task, deps, () => context.getRemainingTimeInMillis());
});
