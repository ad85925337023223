import type { Campaign } from './model.ts';
import type { Forecast } from '../segments/preview.ts';

const Z95 = 1.959963984540054;
const round = (v: number) => Math.round(v * 100) / 100;

/** The launch forecast from the sums the fan-out accumulated: expected responses ± 1.96 σ per channel. */
export function forecastOf(campaign: Pick<Campaign, 'launchedAt'> & { forecastSums?: Record<string, number> }): (Forecast & { audience: number; computedAt: string }) | undefined {
  const sums = campaign.forecastSums;
  if (!sums) return undefined;
  const channel = (c: 'email' | 'sms') => {
    const expected = sums[`${c}_sum`] ?? 0;
    const sd = Math.sqrt(sums[`${c}_variance`] ?? 0);
    return { expectedResponses: round(expected), low: round(Math.max(0, expected - Z95 * sd)), high: round(expected + Z95 * sd) };
  };
  return {
    email: channel('email'),
    sms: channel('sms'),
    audience: (sums.email_count ?? 0) + (sums.sms_count ?? 0),
    computedAt: campaign.launchedAt ?? new Date().toISOString(),
  };
}
