/**
 * Forecast against actual (docs/learning-design.md §5): once a campaign's goal window has closed,
 * one `fva#<launchedAt>#<campaignId>` item records what the launch forecast of goal converters
 * among the treated said, with its interval, beside the converters the attribution report
 * measured. The report's calibration section reads the newest of them.
 *
 * The forecast is the launch's goal forecast when it stored one (`goalForecast`, from the
 * propensity model named in `forecastModel`); otherwise the per-channel Beta forecast of responses
 * summed over the channels, named `beta` — a forecast of responses, not of goal conversions, and
 * recorded so the calibration shows what the campaign was planned with.
 */
import type { CampaignReport } from '../attribution/run.ts';
import type { Campaign } from '../campaigns/model.ts';
import type { ForecastActual, ModelStore } from './store.ts';

const DAY_MS = 86_400_000;
const Z95 = 1.959963984540054;
const round = (v: number) => Math.round(v * 100) / 100;

/** The goal forecast a launch stores (additive fields beside the campaign's channel forecast). */
export interface LaunchGoalForecast {
  expected: number;
  low: number;
  high: number;
}

/** A campaign as this reads it: the stored campaign, with the launch's goal forecast when there is one. */
type LaunchedCampaign = Campaign & { forecastModel?: string; goalForecast?: LaunchGoalForecast; forecastSums?: Record<string, number> };

/** The forecast of one campaign: goal converters, or responses summed over the channels (`beta`). */
export interface CampaignForecast {
  forecastModel: string;
  forecast: number;
  low: number;
  high: number;
}

/**
 * The forecast a campaign launched with: its goal forecast when present, else the channel
 * forecast's expected responses summed, with the interval of the sum (variances add: from the
 * fan-out's sums when kept, else from each channel's stored interval). Undefined without either.
 */
export function launchForecastOf(campaign: LaunchedCampaign): CampaignForecast | undefined {
  const goal = campaign.goalForecast;
  if (goal && [goal.expected, goal.low, goal.high].every(Number.isFinite)) {
    return { forecastModel: campaign.forecastModel ?? 'beta', forecast: goal.expected, low: goal.low, high: goal.high };
  }
  let expected = 0;
  let variance = 0;
  const sums = campaign.forecastSums;
  if (sums && ['email', 'sms'].some((c) => typeof sums[`${c}_sum`] === 'number')) {
    for (const c of ['email', 'sms']) {
      expected += sums[`${c}_sum`] ?? 0;
      variance += sums[`${c}_variance`] ?? 0;
    }
  } else if (campaign.forecast) {
    for (const c of ['email', 'sms'] as const) {
      const f = campaign.forecast[c];
      expected += f.expectedResponses;
      // The upper end is never clipped at 0: it holds the channel's 1.96 σ.
      variance += ((f.high - f.expectedResponses) / Z95) ** 2;
    }
  } else {
    return undefined;
  }
  const sd = Math.sqrt(variance);
  return { forecastModel: 'beta', forecast: round(expected), low: round(Math.max(0, expected - Z95 * sd)), high: round(expected + Z95 * sd) };
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
  /** The launch stored no forecast to compare with. */
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
    const outcome = await forecastActualOf(campaign as LaunchedCampaign, input, nowMs);
    if (typeof outcome === 'string') {
      skipped[outcome]++;
      continue;
    }
    await input.store.putForecastActual(outcome);
    written.push(outcome);
  }
  return { written, skipped };
}

async function forecastActualOf(campaign: LaunchedCampaign, input: RecordForecastActualsInput, nowMs: number): Promise<ForecastActual | ForecastActualSkip> {
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
