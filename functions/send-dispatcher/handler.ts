import { dispatchDue } from '../../shared/campaigns/dispatch.ts';
import { fanoutFrom } from '../../shared/campaigns/pipeline.ts';
import { functionConfig, intSetting } from '../../shared/config.ts';
import { logger } from '../../shared/logger.ts';
import type { Context } from 'aws-lambda';

const config = functionConfig('send-dispatcher', {
  tables: { campaigns: true, segments: true, segmentStats: true, sends: true, contacts: true, activity: true },
  queues: { audienceScan: true, emailSends: true, smsSends: true },
  settings: { scanSegments: intSetting('AUDIENCE_SCAN_SEGMENTS', 4, 1, 1000) },
});
const deps = fanoutFrom({ ...config, ...config.settings });

/** Every minute: deferred sends that are now due go onto the channel queues. */
export const handler = async (_event: unknown, context: Context) => {
  logger.addContext(context);
  return dispatchDue(deps, new Date(), Math.max(5_000, context.getRemainingTimeInMillis() - 10_000));
};
