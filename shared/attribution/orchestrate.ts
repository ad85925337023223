import type { AttributionScanTask } from '../../events/attribution.ts';
import { sendToQueue } from '../aws/queue.ts';
import { logger } from '../logger.ts';
import { refreshSegmentStats } from '../segments/stats-refresh.ts';
import { SegmentStore } from '../segments/segment-store.ts';
import { AttributionStore, buildReport, loadCampaigns, mergeParts, scanAttributionSegment, type AttributionTables, type RunRecord } from './run.ts';

/** What an attribution run needs of a function's configuration (API, nightly start, workers). */
export interface AttributionConfig {
  tables: AttributionTables & { segments: string; segmentStats: string; activity: string };
  queues: { attributionScan: string };
  /** Parallel scan segments of the interactions table per run. */
  scanSegments: number;
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
  };
}
export type AttributionDeps = ReturnType<typeof attributionFrom>;

/** Starts a run over [from, to): the run record, then one scan task per segment (workers do the rest). */
export async function startAttributionRun(from: Date, to: Date, deps: AttributionDeps, send = sendToQueue): Promise<RunRecord> {
  const run = await deps.store.createRun(from, to, deps.segments);
  const tasks: AttributionScanTask[] = Array.from({ length: deps.segments }, (_, segment) => ({ runId: run.runId, from: run.from, to: run.to, segment, totalSegments: deps.segments }));
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
): Promise<'continued' | 'segment-done' | 'run-done'> {
  const now = clock();
  const campaigns = await loadCampaigns(deps.tables, now, undefined, new Date(task.from));
  const { part, lastKey } = await scanAttributionSegment({
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
  // Scores changed: every saved segment's statistics are recomputed (one contacts scan for all).
  await refreshSegmentStats(new SegmentStore({ segments: deps.segmentTables.segments, segmentStats: deps.segmentTables.segmentStats }), { contactsTable: deps.tables.contacts, activityTable: deps.segmentTables.activity, scanSegments: deps.segments, now });
  await deps.store.completeRun(task.runId, { contacts: merged.contacts, conversions: merged.conversions, interactions: merged.interactions, readUnits: Math.round(merged.readUnits * 10) / 10 }, clock());
  logger.info('attribution run completed', { runId: task.runId, contacts: merged.contacts, conversions: merged.conversions });
  return 'run-done';
}
