import type { AttributionScanTask } from '../../events/attribution.ts';
import { sendToQueue } from '../aws/queue.ts';
import { logger } from '../logger.ts';
import { refreshSegmentStats } from '../segments/stats-refresh.ts';
import { SegmentStore } from '../segments/segment-store.ts';
import { ObjectStore } from '../aws/objects.ts';
import { scanSpec } from '../learning/features.ts';
import { isLearnableGoal } from '../learning/names.ts';
import { LearningCollector, partStem, writePart } from '../learning/parts.ts';
import { AttributionStore, buildReport, loadCampaigns, lookbackStart, mergeParts, scanAttributionSegment, type AttributionTables, type RunRecord } from './run.ts';

/** Goals a learning run trains at most (those with the most examples). */
export const MAX_GOALS_PER_RUN = 10;

/** What an attribution run needs of a function's configuration (API, nightly start, workers). */
export interface AttributionConfig {
  tables: AttributionTables & { segments: string; segmentStats: string; activity: string };
  queues: { attributionScan: string };
  /** Parallel scan segments of the interactions table per run. */
  scanSegments: number;
  /** The attribution worker of a learning run: where scan pages write their examples and where training is enqueued. */
  learning?: { bucket: string; queue: string; excludeAttributes: readonly string[] };
}

export function attributionFrom(config: AttributionConfig) {
  const { tables: t } = config;
  const tables: AttributionTables = {
    interactions: t.interactions,
    contacts: t.contacts,
    campaigns: t.campaigns,
    sends: t.sends,
    attribution: t.attribution,
    attributionRuns: t.attributionRuns,
    attributionParts: t.attributionParts,
    reports: t.reports,
  };
  return {
    tables,
    store: new AttributionStore(tables),
    segments: config.scanSegments,
    queueUrl: () => config.queues.attributionScan,
    segmentTables: { segments: t.segments, segmentStats: t.segmentStats, activity: t.activity },
    ...(config.learning ? { learning: { objects: new ObjectStore(config.learning.bucket), queueUrl: config.learning.queue, excludeAttributes: config.learning.excludeAttributes } } : {}),
  };
}
export type AttributionDeps = ReturnType<typeof attributionFrom> & { learning?: { objects: ObjectStore; queueUrl: string; excludeAttributes: readonly string[] } };

/** Starts a run over [from, to): the run record, then one scan task per segment (workers do the rest). */
export async function startAttributionRun(from: Date, to: Date, deps: AttributionDeps, send = sendToQueue, options: { learn?: boolean; now?: Date } = {}): Promise<RunRecord> {
  const learn = options.learn ?? false;
  const run = await deps.store.createRun(from, to, deps.segments, options.now ?? new Date(), learn);
  const tasks: AttributionScanTask[] = Array.from({ length: deps.segments }, (_, segment) => ({ runId: run.runId, from: run.from, to: run.to, segment, totalSegments: deps.segments, ...(learn ? { learn } : {}) }));
  await send(deps.queueUrl(), tasks.map((t) => ({ body: JSON.stringify(t) })));
  return run;
}

/** The previous UTC day: the nightly run's range. */
export function previousDay(now = new Date()): { from: Date; to: Date } {
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  return { from: new Date(to.getTime() - 86_400_000), to };
}

/**
 * One scan segment (or its continuation). Its part is stored; the worker that finishes the last
 * segment merges the parts, replaces the run range's credits, writes every campaign's report and
 * completes the run. Re-running a range recomputes the same credits and reports.
 */
export async function processAttributionTask(
  task: AttributionScanTask,
  deps: AttributionDeps,
  remainingMs: () => number,
  send = sendToQueue,
  clock: () => Date = () => new Date(),
): Promise<'continued' | 'segment-done' | 'run-done' | 'training'> {
  const now = clock();
  const campaigns = await loadCampaigns(deps.tables, now, undefined, new Date(task.from));
  const learning = task.learn ? deps.learning : undefined;
  if (task.learn && !learning) throw new Error('a learning run reached a worker without the learning bucket and queue');
  // Examples and BTYD counts are as of the run's end (not the clock), so two runs over one range collect the same data.
  const asOf = new Date(Math.min(now.getTime(), Date.parse(task.to)));
  const collector = learning ? new LearningCollector(scanSpec({ excludeAttributes: learning.excludeAttributes }), asOf.getTime(), lookbackStart(asOf, new Date(task.from))) : undefined;
  const { part, lastKey } = await scanAttributionSegment({
    learning: collector,
    tables: deps.tables,
    campaigns,
    from: new Date(task.from),
    to: new Date(task.to),
    segment: task.segment,
    totalSegments: task.totalSegments,
    startKey: task.startKey,
    now,
    remainingMs,
  });
  if (collector && learning) {
    // The examples go to the learning bucket (tens of MB at scale); the run part only counts them.
    const finished = collector.finish();
    part.learning = finished.facts.goals;
    const stem = partStem(task.runId, task.segment, task.startKey);
    await writePart(learning.objects, stem, finished);
    await deps.store.addLearningPart(task.runId, stem);
  }
  await deps.store.savePart(task.runId, `${task.segment}#${task.startKey ? JSON.stringify(task.startKey) : 'start'}`, part);
  if (lastKey) {
    await send(deps.queueUrl(), [{ body: JSON.stringify({ ...task, startKey: lastKey }) }]);
    return 'continued';
  }
  if (!(await deps.store.segmentDone(task.runId, task.segment))) return 'segment-done';

  const merged = mergeParts(await deps.store.parts(task.runId));
  // The last segment's worker finishes the run: reports and the completion carry the time they were written.
  const finishing = clock();
  await deps.store.writeCredits(merged.credits, [...campaigns.keys()], task.from, task.to, task.runId);
  for (const [campaignId, info] of campaigns) {
    const credits = await deps.store.creditsOf(campaignId);
    await deps.store.saveReport(buildReport(info, merged.campaigns[campaignId], credits, { runId: task.runId, from: task.from, to: task.to }, finishing));
  }
  const totals = { contacts: merged.contacts, conversions: merged.conversions, interactions: merged.interactions, readUnits: Math.round(merged.readUnits * 10) / 10 };
  if (task.learn && learning) {
    // Training, then scoring, follow on the learning queue; the last scoring segment refreshes the segment statistics and completes the run.
    const goals = Object.entries(merged.learning ?? {})
      .filter(([goal]) => isLearnableGoal(goal))
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, MAX_GOALS_PER_RUN)
      .map(([goal]) => goal);
    await deps.store.saveTotals(task.runId, totals);
    if (await deps.store.startTraining(task.runId, goals)) {
      await send(learning.queueUrl, [...goals.map((goal) => ({ body: JSON.stringify({ kind: 'train', runId: task.runId, goal }) })), { body: JSON.stringify({ kind: 'btyd', runId: task.runId }) }]);
    }
    logger.info('attribution done, learning started', { runId: task.runId, goals });
    return 'training';
  }
  // Scores changed: every saved segment's statistics are recomputed (one contacts scan for all).
  await refreshSegmentStats(new SegmentStore({ segments: deps.segmentTables.segments, segmentStats: deps.segmentTables.segmentStats }), { contactsTable: deps.tables.contacts, activityTable: deps.segmentTables.activity, scanSegments: deps.segments, now });
  await deps.store.completeRun(task.runId, totals, clock());
  logger.info('attribution run completed', { runId: task.runId, contacts: merged.contacts, conversions: merged.conversions });
  return 'run-done';
}
