import type { Campaign, GoalForecast } from './model.ts';
import type { Forecast } from '../segments/preview.ts';

/** What `forecastModel` says when no goal model was active: the channel-score (Beta) forecast. */
export const BETA_FORECAST = 'beta';

const Z95 = 1.959963984540054;
const round = (v: number) => Math.round(v * 100) / 100;

/** Expected ± 1.96 σ from a sum and a variance (the interval's low end clamped at 0). */
function interval(expected: number, variance: number): { low: number; high: number } {
  const sd = Math.sqrt(Math.max(0, variance));
  return { low: round(Math.max(0, expected - Z95 * sd)), high: round(expected + Z95 * sd) };
}

/**
 * The goal forecast from the sums the fan-out accumulated, when the run's forecast came from the
 * goal's propensity model (`forecastModel` other than `beta`); undefined otherwise.
 */
export function goalForecastOf(campaign: Pick<Campaign, 'forecastModel' | 'goal'> & { forecastSums?: Record<string, number> }): GoalForecast | undefined {
  const sums = campaign.forecastSums;
  if (!sums || !campaign.forecastModel || campaign.forecastModel === BETA_FORECAST) return undefined;
  const expected = sums.goal_sum ?? 0;
  return {
    model: campaign.forecastModel,
    event: campaign.goal.event,
    expectedConverters: round(expected),
    ...interval(expected, sums.goal_variance ?? 0),
    expectedRevenue: round(sums.revenue_sum ?? 0),
    scored: sums.goal_count ?? 0,
  };
}

/**
 * The launch forecast from the sums the fan-out accumulated: expected responses ± 1.96 σ per
 * channel, and with a goal model the goal forecast beside them.
 */
export function forecastOf(
  campaign: Pick<Campaign, 'launchedAt'> & Partial<Pick<Campaign, 'forecastModel' | 'goal'>> & { forecastSums?: Record<string, number> },
): (Omit<Forecast, 'goal'> & { audience: number; computedAt: string; goal?: GoalForecast }) | undefined {
  const sums = campaign.forecastSums;
  if (!sums) return undefined;
  const channel = (c: 'email' | 'sms') => {
    const expected = sums[`${c}_sum`] ?? 0;
    return { expectedResponses: round(expected), ...interval(expected, sums[`${c}_variance`] ?? 0) };
  };
  const goal = campaign.goal ? goalForecastOf({ ...campaign, goal: campaign.goal }) : undefined;
  return {
    email: channel('email'),
    sms: channel('sms'),
    audience: (sums.email_count ?? 0) + (sums.sms_count ?? 0),
    computedAt: campaign.launchedAt ?? new Date().toISOString(),
    ...(goal ? { goal } : {}),
  };
}
