/**
 * The campaign report as the API answers it: live counts from the campaign's counters (moved by
 * the launch, the senders and every recorded response as they happen), beside what the last
 * attribution run measured (attributed conversions and revenue, lift over the holdout, variants,
 * channels, forecast vs actual), with the run and the time those figures are as of. It exists from
 * launch: before any run has measured the campaign the measured part is empty and says so.
 */
import { goalForecastOf } from '../campaigns/forecast.ts';
import type { Campaign, GoalForecast } from '../campaigns/model.ts';
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

/** Uplift targeting as the run applied it, and what it predicted against what the holdout measured. */
export interface TargetingReport {
  goal: string;
  upliftTopPercent: number;
  /** Predicted uplift at or above which contacts were targeted; null: everyone the model could score. */
  threshold: number | null;
  modelId: string;
  modelVersion: number;
  /** Σ predicted uplift of the treated: the incremental conversions the model expected. */
  predictedIncremental: number;
  /** The lift's incremental conversions among the treated (absolute rate lift × treated members); null before a run measured it or without a holdout. */
  measuredIncremental: number | null;
}

/** How the learned models shaped the launch: the goal forecast against the measured converters, and targeting. */
export interface ModelReport {
  /** `propensity.<goal>@v<n>`, or `beta` (the channel scores: no goal forecast). */
  forecastModel: string;
  goalForecast: GoalForecast | null;
  /** Treated contacts who converted within the goal window, as the last run measured; null before it. */
  measuredConverters: number | null;
  /** Whether the measured converters fell inside the forecast's 95 % interval; null without both. */
  withinInterval: boolean | null;
  targeting: TargetingReport | null;
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
  /** Null for a campaign launched without the models table (before learned models existed). */
  model: ModelReport | null;
} & { [K in keyof Measured]: Measured[K] | null };

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The model section of a campaign's report: from the campaign as launched, and the last run's measurement when there is one. */
export function modelReport(campaign: Campaign, measured: CampaignReport | undefined): ModelReport | null {
  if (!campaign.forecastModel) return null;
  const sums = (campaign as Campaign & { forecastSums?: Record<string, number> }).forecastSums;
  const goalForecast = campaign.forecast?.goal ?? goalForecastOf({ ...campaign, ...(sums ? { forecastSums: sums } : {}) }) ?? null;
  const treated = measured ? measured.variants.reduce((s, v) => ({ members: s.members + v.members, converters: s.converters + v.converters }), { members: 0, converters: 0 }) : null;
  const applied = campaign.targetingApplied;
  return {
    forecastModel: campaign.forecastModel,
    goalForecast,
    measuredConverters: treated?.converters ?? null,
    withinInterval: goalForecast && treated ? treated.converters >= goalForecast.low && treated.converters <= goalForecast.high : null,
    targeting: applied
      ? {
          goal: applied.goal,
          upliftTopPercent: applied.upliftTopPercent,
          threshold: applied.threshold,
          modelId: applied.modelId,
          modelVersion: applied.modelVersion,
          predictedIncremental: round2(sums?.uplift_sum ?? 0),
          measuredIncremental: measured?.lift && treated ? round2(measured.lift.conversionRate.absolute.estimate * treated.members) : null,
        }
      : null,
  };
}

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
    model: modelReport(campaign, measured),
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
