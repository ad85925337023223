/**
 * The campaign report as the API answers it: live counts from the campaign's counters (moved by
 * the launch, the senders and every recorded response as they happen), beside what the last
 * attribution run measured (attributed conversions and revenue, lift over the holdout, variants,
 * channels, forecast vs actual), with the run and the time those figures are as of. It exists from
 * launch: before any run has measured the campaign the measured part is empty and says so.
 */
import type { Campaign } from '../campaigns/model.ts';
import { campaignResponses, type CampaignResponses } from '../campaigns/responses.ts';
import type { CampaignReport } from './run.ts';

export interface LiveCounts extends CampaignResponses {
  /** When these counts were read. */
  asOf: string;
  targeted: number;
  holdout: number;
  queued: number;
  deferred: number;
  sent: number;
  failed: number;
  spent: number;
}

type Measured = Pick<CampaignReport, 'funnel' | 'revenue' | 'roi' | 'lift' | 'holdout' | 'forecastVsActual'> & { visits: NonNullable<CampaignReport['visits']> };

export type CampaignReportView = Omit<CampaignReport, 'computedAt' | 'runId' | 'range' | 'funnels' | keyof Measured> & {
  /** The funnel per variant and for the holdout as of the last run; empty before it (the live counts are campaign-wide). */
  funnels: NonNullable<CampaignReport['funnels']>;
  status: Campaign['status'];
  launchedAt: string;
  live: LiveCounts;
  /** The attribution run the measured figures come from; null until a run has measured the campaign. */
  measured: { runId: string; computedAt: string; range: { from: string; to: string } } | null;
  /** Kept at the top level for clients of the first report shape; null before the first run. */
  computedAt: string | null;
  runId: string | null;
  range: { from: string; to: string } | null;
} & { [K in keyof Measured]: Measured[K] | null };

export function liveCounts(campaign: Campaign, now: Date): LiveCounts {
  const c = campaign.counters;
  const n = (v: number | undefined) => v ?? 0;
  return {
    asOf: now.toISOString(),
    targeted: n(c.targeted),
    holdout: n(c.holdout),
    queued: Math.max(0, n(c.queued)),
    deferred: Math.max(0, n(c.deferred)),
    sent: n(c.sent),
    failed: n(c.failed),
    ...campaignResponses(campaign.responses),
    spent: Math.round(n(campaign.spent) * 10_000) / 10_000,
  };
}

/** The report of a launched campaign: live counts always, measured figures as of the last run (or null). */
export function reportView(campaign: Campaign, measured: CampaignReport | undefined, now: Date): CampaignReportView {
  const live = liveCounts(campaign, now);
  const base = {
    campaignId: campaign.id,
    name: campaign.name,
    status: campaign.status,
    launchedAt: campaign.launchedAt ?? now.toISOString(),
    goal: campaign.goal,
    live,
  };
  if (measured) {
    // A report computed before visits were measured has no visits or funnels yet: null and empty until the next run.
    return { ...measured, ...base, visits: measured.visits ?? null, funnels: measured.funnels ?? [], measured: { runId: measured.runId, computedAt: measured.computedAt, range: measured.range } };
  }
  return {
    ...base,
    measured: null,
    computedAt: null,
    runId: null,
    range: null,
    funnel: null,
    revenue: null,
    cost: live.spent,
    roi: null,
    variants: [],
    funnels: [],
    channels: [],
    lift: null,
    visits: null,
    holdout: null,
    forecastVsActual: null,
  };
}
