import { logger } from '../logger.ts';
import type { CampaignStore } from './campaign-store.ts';
import { enqueueRecords, type FanoutDeps } from './fanout.ts';
import { MAX_QUEUE_DELAY_SECONDS } from './launch.ts';
import type { Campaign } from './model.ts';
import { DUE_SHARDS, dueShardOf, type SendRecord, type SendStore } from './send-store.ts';

export interface DispatchDeps {
  campaigns: CampaignStore;
  sends: SendStore;
  queueUrls: FanoutDeps['queueUrls'];
  send?: FanoutDeps['send'];
}

/**
 * Runs every minute: deferred sends (quiet hours, local-time schedules) that fall due within the
 * SQS delay limit are moved deferred → queued and enqueued with the remaining delay. Sends of a
 * paused campaign stay deferred; those of a cancelled one are cancelled.
 */
export async function dispatchDue(deps: DispatchDeps, now = new Date(), budgetMs = 50_000): Promise<{ queued: number; cancelled: number }> {
  const started = Date.now();
  const horizon = new Date(now.getTime() + (MAX_QUEUE_DELAY_SECONDS - 60) * 1000);
  const campaigns = new Map<string, Campaign | undefined>();
  const totals = { queued: 0, cancelled: 0 };
  for (let shard = 0; shard < DUE_SHARDS; shard++) {
    for (;;) {
      if (Date.now() - started > budgetMs) return totals;
      const due = await deps.sends.due(`due#${shard}`, horizon, 200);
      const byCampaign = new Map<string, SendRecord[]>();
      for (const record of due) {
        if (!campaigns.has(record.campaignId)) campaigns.set(record.campaignId, await deps.campaigns.get(record.campaignId));
        const campaign = campaigns.get(record.campaignId);
        if (campaign?.status === 'paused') continue;
        // A journey's step campaign has a run per entry and step (its sends' run ids), not one current run.
        if (!campaign || campaign.status === 'cancelled' || (!campaign.journey && campaign.runId !== record.runId)) {
          if (await deps.sends.move(record, 'deferred', 'cancelled', {}, ['dueShard'])) {
            totals.cancelled++;
            if (campaign) await deps.campaigns.addCounters(campaign.id, { deferred: -1, cancelled: 1 });
          }
          continue;
        }
        if (await deps.sends.move(record, 'deferred', 'queued', {}, ['dueShard'])) {
          const run = `${record.campaignId}#${record.runId}`;
          const list = byCampaign.get(run) ?? [];
          list.push({ ...record, status: 'queued' });
          byCampaign.set(run, list);
        }
      }
      // Grouped by run: a campaign's current one, or the many runs of a journey's step campaign.
      for (const records of byCampaign.values()) {
        const { campaignId, runId } = records[0]!;
        const campaign = campaigns.get(campaignId)!;
        await enqueueRecords(campaign, runId, records, deps.queueUrls, now, deps.send);
        await deps.campaigns.addCounters(campaignId, { deferred: -records.length, queued: records.length });
        totals.queued += records.length;
      }
      // Only paused campaigns' sends left in this shard page (or none): next shard.
      if (due.length < 200 || byCampaign.size === 0) break;
    }
  }
  if (totals.queued || totals.cancelled) logger.info('deferred sends dispatched', totals);
  return totals;
}

/** After a resume: the run's paused sends go back on the queues (or back to deferred if they are not due yet). */
export async function requeuePaused(campaignId: string, deps: DispatchDeps, now = new Date()): Promise<number> {
  const campaign = await deps.campaigns.get(campaignId);
  if (!campaign?.runId || campaign.status !== 'running') return 0;
  let requeued = 0;
  for await (const page of deps.sends.withStatus(campaignId, campaign.runId, 'paused')) {
    const ready: SendRecord[] = [];
    const horizon = now.getTime() + (MAX_QUEUE_DELAY_SECONDS - 60) * 1000;
    for (const record of page) {
      // Not due yet (quiet hours, local time): back to deferred for the dispatcher.
      if (record.dueAt && Date.parse(record.dueAt) > horizon) {
        await deps.sends.move(record, 'paused', 'deferred', { dueShard: dueShardOf(record.contactId) });
        continue;
      }
      if (await deps.sends.move(record, 'paused', 'queued')) ready.push({ ...record, status: 'queued' });
    }
    await enqueueRecords(campaign, campaign.runId, ready, deps.queueUrls, now, deps.send);
    if (ready.length) await deps.campaigns.addCounters(campaignId, { deferred: -ready.length, queued: ready.length });
    requeued += ready.length;
  }
  return requeued;
}
