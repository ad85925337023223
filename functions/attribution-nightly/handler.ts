import type { Context } from 'aws-lambda';
import { attributionFromEnv, previousDay, startAttributionRun } from '../../shared/attribution/orchestrate.ts';
import { logger } from '../../shared/logger.ts';

const deps = attributionFromEnv();

/** The nightly run (02:00 UTC by default): attribution for the previous day, and every campaign's report and scores. */
export const handler = async (_event: unknown, context: Context) => {
  logger.addContext(context);
  const { from, to } = previousDay();
  const run = await startAttributionRun(from, to, deps);
  logger.info('nightly attribution run started', { runId: run.runId, from: run.from, to: run.to });
  return { runId: run.runId };
};
