import { dispatchDue } from '../../shared/campaigns/dispatch.ts';
import { fanoutFrom } from '../../shared/campaigns/pipeline.ts';
import { functionConfig, intSetting } from '../../shared/config.ts';
import { JourneyStore } from '../../shared/journeys/journey-store.ts';
import { JourneyStateStore } from '../../shared/journeys/state-store.ts';
import { startSegmentChecks, wakeDueWaits } from '../../shared/journeys/sweep.ts';
import { logger } from '../../shared/logger.ts';
import type { Context } from 'aws-lambda';

const config = functionConfig('send-dispatcher', {
  tables: { campaigns: true, segments: true, segmentStats: true, sends: true, contacts: true, activity: true, journeys: true, journeyStates: true },
  queues: { audienceScan: true, emailSends: true, smsSends: true, journeyTasks: true },
  settings: { scanSegments: intSetting('AUDIENCE_SCAN_SEGMENTS', 4, 1, 1000), segmentCheckMinutes: intSetting('JOURNEY_SEGMENT_CHECK_MINUTES', 15, 1, 1440) },
});
const deps = fanoutFrom({ ...config, ...config.settings });
const waits = {
  states: new JourneyStateStore(config.tables.journeyStates),
  journeys: new JourneyStore(config.tables.journeys),
  tasksQueue: config.queues.journeyTasks,
  segmentCheckMinutes: config.settings.segmentCheckMinutes,
  scanSegments: config.settings.scanSegments,
};

/** Every minute: deferred sends that are now due go onto the channel queues; journey waits that are due wake; segment-entry journeys are checked when their time comes. */
export const handler = async (_event: unknown, context: Context) => {
  logger.addContext(context);
  const now = new Date();
  const budget = () => Math.max(5_000, context.getRemainingTimeInMillis() - 10_000);
  const sends = await dispatchDue(deps, now, budget() / 2);
  const woken = await wakeDueWaits(waits, now, budget());
  const checks = await startSegmentChecks(waits, now);
  return { ...sends, woken, checks };
};
