import { dispatchDue } from '../../shared/campaigns/dispatch.ts';
import { fanoutFromEnv } from '../../shared/campaigns/pipeline.ts';
import { logger } from '../../shared/logger.ts';
import type { Context } from 'aws-lambda';

const deps = fanoutFromEnv();

/** Every minute: deferred sends that are now due go onto the channel queues. */
export const handler = async (_event: unknown, context: Context) => {
  logger.addContext(context);
  return dispatchDue(deps, new Date(), Math.max(5_000, context.getRemainingTimeInMillis() - 10_000));
};
