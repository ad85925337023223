import type { AudienceScanTask, LaunchMessage } from '../../events/campaigns.ts';
import { sendToQueue } from '../aws/queue.ts';
import { COUNT_WINDOWS } from '../learning/features.ts';
import { logger } from '../logger.ts';
import { scanSegment } from '../segments/audience.ts';
import type { SegmentService } from '../segments/segment-service.ts';
import type { SegmentStore } from '../segments/segment-store.ts';
import type { CampaignStore } from './campaign-store.ts';
import { frequencyCapSince } from './decisions.ts';
import { forecastOf } from './forecast.ts';
import { ModelNotActiveError, type GoalModelSource, type LaunchModels } from './goal-model-source.ts';
import { deltasFor, packMessages, planPage, runIdFor } from './launch.ts';
import type { Campaign, Channel } from './model.ts';
import type { SendRecord, SendStore } from './send-store.ts';

export interface FanoutDeps {
  campaigns: CampaignStore;
  sends: SendStore;
  segments: SegmentStore;
  segmentService: SegmentService;
  contactsTable: string;
  activityTable: string;
  scanSegments: number;
  queueUrls: { audienceScan: string; email: string; sms: string };
  send?: typeof sendToQueue;
  /** The learned models (functions with read access to the models table): goal forecast, 'best' channel, uplift targeting. */
  models?: GoalModelSource;
}

/** Enqueues the queued records of a page on their channel queues, several recipients per message. */
export async function enqueueRecords(campaign: Campaign, runId: string, records: SendRecord[], queueUrls: FanoutDeps['queueUrls'], now: Date, send = sendToQueue): Promise<void> {
  for (const channel of ['email', 'sms'] as const satisfies readonly Channel[]) {
    const recipients = records
      .filter((r) => r.channel === channel)
      .map((r) => ({ contactId: r.contactId, variant: r.variant ?? campaign.variants[0]!.name, delaySeconds: r.dueAt ? Math.max(0, Math.ceil((Date.parse(r.dueAt) - now.getTime()) / 1000)) : 0 }));
    if (recipients.length === 0) continue;
    await send(channel === 'email' ? queueUrls.email : queueUrls.sms, packMessages(campaign.id, runId, channel, recipients));
  }
}

/**
 * A campaign run starts: scheduled → running with its run id and the segment version it
 * targets, then one audience-scan task per parallel-scan segment. A repeated launch message for
 * the same run starts nothing.
 */
export async function startLaunch(message: Extract<LaunchMessage, { kind: 'launch' }>, deps: FanoutDeps, now = new Date()): Promise<'started' | 'ignored'> {
  const campaign = await deps.campaigns.get(message.campaignId);
  if (!campaign || campaign.status !== 'scheduled') {
    logger.info('launch ignored', { campaignId: message.campaignId, status: campaign?.status });
    return 'ignored';
  }
  const segment = await deps.segments.latest(campaign.segmentId);
  if (!segment) {
    logger.error('launch refused: the segment no longer exists', { campaignId: campaign.id, segmentId: campaign.segmentId });
    await deps.campaigns.transition(campaign.id, 'launch', ['scheduled'], 'cancelled', { cancelReason: 'segment_missing' });
    return 'ignored';
  }
  let models: LaunchModels | undefined;
  try {
    models = await deps.models?.resolveLaunchModels(campaign.goal.event, campaign.targeting);
  } catch (error) {
    if (!(error instanceof ModelNotActiveError)) throw error;
    // The model was active when the marketer launched (the API checks) and is not now (a scheduled or recurring launch): targeting cannot be honoured.
    logger.error('launch refused: the uplift model is not active', { campaignId: campaign.id, model: error.model });
    await deps.campaigns.transition(campaign.id, 'launch', ['scheduled'], 'cancelled', { cancelReason: 'model_not_active' });
    return 'ignored';
  }
  if (campaign.targeting && !models) throw new Error(`campaign ${campaign.id} asks for uplift targeting, but this launcher has no models table`);
  const runId = runIdFor(campaign, message.scheduledTime, now);
  const started = await deps.campaigns.startRun(campaign.id, runId, { segmentVersion: segment.version, fanoutTotal: deps.scanSegments, ...(models ? { models } : {}) }, now);
  if (!started) return 'ignored';
  const tasks: AudienceScanTask[] = Array.from({ length: deps.scanSegments }, (_, segmentIndex) => ({ campaignId: campaign.id, runId, segment: segmentIndex, totalSegments: deps.scanSegments }));
  await (deps.send ?? sendToQueue)(deps.queueUrls.audienceScan, tasks.map((t) => ({ body: JSON.stringify(t) })));
  return 'started';
}

/**
 * One scan segment of a run's audience: pages of contacts → decisions → send records
 * (conditional inserts, 25 a request) → channel queue messages → counters. Stops early and re-enqueues itself
 * with the scan position when its invocation is close to the timeout, so no single Lambda
 * bounds the audience size.
 */
export async function processScanTask(task: AudienceScanTask, deps: FanoutDeps, remainingMs: () => number, now = () => new Date()): Promise<'done' | 'continued' | 'stopped'> {
  let campaign = await deps.campaigns.get(task.campaignId);
  if (!campaign || campaign.runId !== task.runId || !['running', 'paused'].includes(campaign.status)) {
    logger.info('scan task dropped', { campaignId: task.campaignId, status: campaign?.status });
    return 'stopped';
  }
  const segment = await deps.segments.version(campaign.segmentId, campaign.segmentVersion ?? 1);
  if (!segment) throw new Error(`segment ${campaign.segmentId} version ${campaign.segmentVersion} is missing`);
  const compiled = await deps.segmentService.compile(segment, now(), segment.id);
  // The versions the run pinned at start; without them (no models table, or launched before models existed) the channel-score rules.
  const models = deps.models && campaign.modelVersions ? await deps.models.modelsForRun(campaign.goal.event, { modelVersions: campaign.modelVersions, ...(campaign.targetingApplied ? { targeting: campaign.targetingApplied } : {}) }) : undefined;
  // Scoring reads the behaviour counters of the features' longest window (and a day's margin), which covers a frequency cap's week.
  const scores = models?.propensity !== undefined || models?.uplift !== undefined;
  const activitySinceMs = compiled.usesBehaviour ? undefined : scores ? now().getTime() - (Math.max(...COUNT_WINDOWS) + 1) * 86_400_000 : frequencyCapSince(campaign.limits.frequencyCap, now().getTime());
  let committedCost = campaign.committed ?? 0;
  let targeted = campaign.counters.queued + campaign.counters.sent + campaign.counters.deferred;
  for await (const page of scanSegment({ table: deps.contactsTable, activityTable: deps.activityTable, activitySinceMs, test: (c) => compiled.test(c), segment: task.segment, totalSegments: task.totalSegments, startKey: task.startKey, now: now() })) {
    const at = now();
    const plan = planPage(campaign, page.members, { now: at, runId: task.runId, alreadyTargeted: targeted, alreadyCommittedCost: committedCost, ...(models ? { models } : {}) });
    const created = await deps.sends.createMany(plan.records);
    await enqueueRecords(campaign, task.runId, created.filter((r) => r.status === 'queued'), deps.queueUrls, at, deps.send);
    const deltas = deltasFor(created);
    const pageCost = created.reduce((sum, r) => sum + (r.status === 'queued' || r.status === 'deferred' ? (campaign!.costPerMessage[r.channel!] ?? 0) : 0), 0);
    targeted += (deltas.queued ?? 0) + (deltas.deferred ?? 0);
    committedCost += pageCost;
    campaign = (await deps.campaigns.addCounters(campaign.id, { ...deltas, committed: pageCost })) ?? campaign;
    if (page.lastKey && remainingMs() < 60_000) {
      const next: AudienceScanTask = { ...task, startKey: page.lastKey };
      await (deps.send ?? sendToQueue)(deps.queueUrls.audienceScan, [{ body: JSON.stringify(next) }]);
      return 'continued';
    }
  }
  const after = await deps.campaigns.segmentDone(task.campaignId, task.runId);
  if (after?.fanout && after.fanout.done >= after.fanout.total) {
    // The whole audience is planned: the launch forecast is final.
    const forecast = forecastOf(after as Campaign & { forecastSums?: Record<string, number> });
    if (forecast) await deps.campaigns.setForecast(after.id, forecast);
    await deps.campaigns.completeIfDone(after.id, task.runId, after.schedule.type === 'recurring');
  }
  return 'done';
}
