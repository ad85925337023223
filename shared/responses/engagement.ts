import type { CampaignStore } from '../campaigns/campaign-store.ts';
import type { LeadScorer } from '../contacts/lead-scoring.ts';
import type { RecordOutcome, Timeline } from '../contacts/timeline.ts';
import type { IdempotencyMarkers } from '../idempotency.ts';
import type { ClickTarget } from '../links/tracking.ts';

export interface EngagementDeps {
  timeline: Timeline;
  markers: IdempotencyMarkers;
  scorer: LeadScorer;
  campaigns: CampaignStore;
}

/** How long a repeat of a click or open is recognised as one (the markers' lifetime). */
const REPEAT_SECONDS = 90 * 24 * 3600;

/** Live campaign counters are a convenience: the nightly run recounts from the timelines, so a failed bump is not retried. */
const liveCount = (deps: EngagementDeps, campaignId: string, type: string) => deps.campaigns.addResponses(campaignId, { [type]: 1 }).catch(() => undefined);

/**
 * A tracked click: on the timeline once per send and link, at the time of the first click (a
 * replayed or reloaded link, a mail scanner's second fetch, lands on the same entry), so lead
 * points are earned once per link; the campaign's live "clicked" moves once per send.
 */
export async function recordClick(target: ClickTarget, meta: { userAgent: string }, deps: EngagementDeps, now = new Date()): Promise<RecordOutcome> {
  const key = `${target.sendId}:${target.linkIndex}`;
  const occurredAt = await deps.markers.firstSeenAt(`click-time#${key}`, now.toISOString(), REPEAT_SECONDS, now.getTime());
  const id = `click:${key}`;
  const outcome = await deps.timeline.recordFast({
    contactId: target.contactId,
    id,
    type: 'clicked',
    channel: 'email',
    campaignId: target.campaignId,
    sendId: target.sendId,
    occurredAt,
    data: { link: target.url, linkIndex: target.linkIndex, userAgent: meta.userAgent.slice(0, 256) },
  });
  if (outcome !== 'recorded') return outcome;
  await deps.scorer.award(target.contactId, id, 'clicked');
  if (await deps.markers.claim(`live-clicked#${target.sendId}`, REPEAT_SECONDS, now.getTime())) await liveCount(deps, target.campaignId, 'clicked');
  return outcome;
}

/** A tracked open: once per send, at the time of the first (image reloads and proxies fetch the pixel again and again). */
export async function recordOpen(target: { sendId: string; contactId: string; campaignId: string }, deps: EngagementDeps, now = new Date()): Promise<RecordOutcome> {
  const occurredAt = await deps.markers.firstSeenAt(`open-time#${target.sendId}`, now.toISOString(), REPEAT_SECONDS, now.getTime());
  const outcome = await deps.timeline.recordFast({ contactId: target.contactId, id: `open:${target.sendId}`, type: 'opened', channel: 'email', campaignId: target.campaignId, sendId: target.sendId, occurredAt });
  if (outcome === 'recorded') await liveCount(deps, target.campaignId, 'opened');
  return outcome;
}
