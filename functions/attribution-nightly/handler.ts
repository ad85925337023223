import type { Context } from 'aws-lambda';
import { attributionFrom, previousDay, startAttributionRun } from '../../shared/attribution/orchestrate.ts';
import { functionConfig, intSetting } from '../../shared/config.ts';
import { sendToQueue } from '../../shared/aws/queue.ts';
import { logger } from '../../shared/logger.ts';

const config = functionConfig('attribution-nightly', {
  tables: { interactions: true, contacts: true, activity: true, campaigns: true, sends: true, attribution: true, attributionRuns: true, attributionParts: true, reports: true, segments: true, segmentStats: true },
  queues: { attributionScan: true, journeyTasks: true },
  settings: { scanSegments: intSetting('ATTRIBUTION_SCAN_SEGMENTS', 4, 1, 1000) },
});
const deps = attributionFrom({ ...config, ...config.settings });

/** The nightly run (02:00 UTC by default): attribution for the previous day, every campaign's report and scores, and the learned models and their scores. */
export const handler = async (_event: unknown, context: Context) => {
  logger.addContext(context);
  const { from, to } = previousDay();
  // The nightly run learns: after attribution it trains the models and scores every contact.
  const run = await startAttributionRun(from, to, deps, sendToQueue, { learn: true });
  // Journeys are measured by their worker: each one's entries against its holdout.
  await sendToQueue(config.queues.journeyTasks, [{ body: JSON.stringify({ kind: 'measure' }) }]);
  logger.info('nightly attribution run started', { runId: run.runId, from: run.from, to: run.to });
  return { runId: run.runId };
};
