/**
 * A campaign's responses by type. The campaign item holds live counters keyed by interaction type
 * (moved by every recorded delivery, open, click, unsubscribe and conversion: see
 * CampaignStore.addResponses); the attribution run counts unique contacts per type. Both are shown
 * through these shapes, so the campaign resource, the live report and the measured report agree on
 * what a response is.
 */

/** Responses counted for a campaign (unique contacts per type in reports, events in live counts); bounced is hard and soft together. */
export interface ResponseCounts {
  delivered: number;
  opened: number;
  clicked: number;
  unsubscribed: number;
  bounced: number;
  complained: number;
}

/** The response counts out of a map keyed by interaction type. */
export function responseCounts(byType: Readonly<Record<string, number | undefined>>): ResponseCounts {
  const n = (type: string) => byType[type] ?? 0;
  return { delivered: n('delivered'), opened: n('opened'), clicked: n('clicked'), unsubscribed: n('unsubscribed'), bounced: n('bounced') + n('bounced_soft'), complained: n('complained') };
}

/** The live response counters of a campaign, zeros before any response: the counts above, conversions whose last touch was the campaign, and their revenue. */
export interface CampaignResponses extends ResponseCounts {
  converted: number;
  revenue: number;
}

export function campaignResponses(byType: Readonly<Record<string, number | undefined>> | undefined): CampaignResponses {
  const counters = byType ?? {};
  return { ...responseCounts(counters), converted: counters.converted ?? 0, revenue: Math.round((counters.revenue ?? 0) * 100) / 100 };
}
