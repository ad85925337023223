/**
 * Forecast against actual (docs/learning-design.md §5): once a campaign's goal window has closed,
 * one `fva#<launchedAt>#<campaignId>` item records what the launch forecast of goal converters
 * among the treated said, with its interval, beside the converters the attribution report
 * measured. The models page's calibration section reads the newest of them.
 *
 * Only launches that forecast the goal itself are recorded: the goal forecast the launch stores
 * when the goal's propensity model is active (`campaign.forecast.goal`, model `forecastModel`).
 * A campaign launched without one forecast responses per channel, not goal conversions; comparing
 * those with converters would chart two different quantities as one (its report's
 * `forecastVsActual` compares them with responders instead).
 */
import type { CampaignReport } from '../attribution/run.ts';
import type { Campaign } from '../campaigns/model.ts';
import type { ForecastActual, ModelStore } from './store.ts';

const DAY_MS = 86_400_000;

/** The forecast of one campaign's goal converters. */
export interface CampaignForecast {
  forecastModel: string;
  forecast: number;
  low: number;
  high: number;
}

/** The goal forecast a campaign launched with, or undefined without one (or with a non-finite number in it). */
export function launchForecastOf(campaign: Pick<Campaign, 'forecast' | 'forecastModel'>): CampaignForecast | undefined {
  const goal = campaign.forecast?.goal;
  if (!goal || ![goal.expectedConverters, goal.low, goal.high].every(Number.isFinite)) return undefined;
  return { forecastModel: campaign.forecastModel ?? goal.model, forecast: goal.expectedConverters, low: goal.low, high: goal.high };
}

/** Why a campaign got no item this time (most are retried on the next night by calling again). */
export type ForecastActualSkip =
  /** Never launched. */
  | 'not_launched'
  /** A journey's send step: measured with its journey, no launch forecast of its own. */
  | 'journey_step'
  /** launchedAt + goal.attributionWindowDays is still ahead. */
  | 'window_open'
  /** Its item exists already. */
  | 'recorded'
  /** No attribution report yet, or the newest one's conversions end before the window does. */
  | 'report_pending'
  /** The launch stored no goal forecast (no goal model was active) to compare with. */
  | 'no_forecast'
  /** The report has no treated member: nothing was sent. */
  | 'nothing_sent';

export interface ForecastActualsResult {
  written: ForecastActual[];
  skipped: Record<ForecastActualSkip, number>;
}

export interface RecordForecastActualsInput {
  campaigns: Iterable<Campaign>;
  /** The campaign's latest attribution report (AttributionStore.report). */
  report(campaignId: string): Promise<CampaignReport | undefined>;
  store: Pick<ModelStore, 'hasForecastActual' | 'putForecastActual'>;
  now: Date;
}

/**
 * Writes one ForecastActual per launched campaign whose goal window has closed and that has none
 * yet, from the campaign's launch forecast and its report: actual = the treated converters (the
 * variants' converters within the goal window), treated = the variants' members. Idempotent: a
 * campaign with an item is passed over, so the nightly run may call this every night over every
 * campaign. A report whose conversions end before the window closes is not used yet (it would
 * undercount); the campaign is taken on a later night.
 */
export async function recordForecastActuals(input: RecordForecastActualsInput): Promise<ForecastActualsResult> {
  const skipped: Record<ForecastActualSkip, number> = { not_launched: 0, journey_step: 0, window_open: 0, recorded: 0, report_pending: 0, no_forecast: 0, nothing_sent: 0 };
  const written: ForecastActual[] = [];
  const nowMs = input.now.getTime();
  for (const campaign of input.campaigns) {
    const outcome = await forecastActualOf(campaign, input, nowMs);
    if (typeof outcome === 'string') {
      skipped[outcome]++;
      continue;
    }
    await input.store.putForecastActual(outcome);
    written.push(outcome);
  }
  return { written, skipped };
}

async function forecastActualOf(campaign: Campaign, input: RecordForecastActualsInput, nowMs: number): Promise<ForecastActual | ForecastActualSkip> {
  const launchedMs = campaign.launchedAt ? Date.parse(campaign.launchedAt) : NaN;
  if (!campaign.launchedAt || Number.isNaN(launchedMs)) return 'not_launched';
  if (campaign.journey) return 'journey_step';
  const windowEndMs = launchedMs + campaign.goal.attributionWindowDays * DAY_MS;
  if (windowEndMs > nowMs) return 'window_open';
  const forecast = launchForecastOf(campaign);
  if (!forecast) return 'no_forecast';
  if (await input.store.hasForecastActual(campaign.launchedAt, campaign.id)) return 'recorded';
  const report = await input.report(campaign.id);
  if (!report || !(Date.parse(report.range.to) >= windowEndMs)) return 'report_pending';
  const treated = report.variants.reduce((sum, v) => sum + v.members, 0);
  if (treated === 0) return 'nothing_sent';
  return {
    campaignId: campaign.id,
    name: campaign.name,
    launchedAt: campaign.launchedAt,
    goal: campaign.goal.event,
    ...forecast,
    actual: report.variants.reduce((sum, v) => sum + v.converters, 0),
    treated,
    computedAt: input.now.toISOString(),
  };
}
