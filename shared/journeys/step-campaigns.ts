import type { CampaignStore } from '../campaigns/campaign-store.ts';
import { emptyCounters, type Campaign, type CampaignStatus } from '../campaigns/model.ts';
import type { JourneyDefinition, StepOfType } from './definition.ts';

/**
 * Each send step of each journey version is carried by a campaign the journey owns: its send
 * records, the channel queues and senders, consent and suppression checks, quiet hours, frequency
 * caps (counted across every campaign and journey), pacing, tracking links, delivery events and
 * the nightly attribution are all the campaign pipeline's, unchanged. Its id
 * (`j.<journeyId>.<version>.<stepId>`) is not a UUID, so the campaigns API cannot reach it; its
 * send records' run ids are `e<entry>.<seq>`, one per pass of a contact through the step.
 */
export const stepCampaignId = (journeyId: string, version: number, stepId: string): string => `j.${journeyId}.${version}.${stepId}`;

export function parseStepCampaignId(id: string): { journeyId: string; version: number; stepId: string } | undefined {
  const match = /^j\.([0-9a-f-]{36})\.(\d+)\.([a-z][a-z0-9_-]*)$/.exec(id);
  return match ? { journeyId: match[1]!, version: Number(match[2]), stepId: match[3]! } : undefined;
}

/** A send record's run id for one pass through a send step, and back. */
export const stepRunId = (entry: number, seq: number): string => `e${entry}.${seq}`;
export function parseStepRunId(runId: string): { entry: number; seq: number } | undefined {
  const match = /^e(\d+)\.(\d+)$/.exec(runId);
  return match ? { entry: Number(match[1]), seq: Number(match[2]) } : undefined;
}

/** The nil UUID: a step campaign targets no segment of its own (the journey decides who gets it). */
const NO_SEGMENT = '00000000-0000-0000-0000-000000000000';

/** The campaign for one send step of a journey version, in the status the journey is in. */
export function stepCampaign(journeyId: string, version: number, stepId: string, step: StepOfType<'send'>, definition: JourneyDefinition, status: CampaignStatus, now: Date): Campaign {
  const at = now.toISOString();
  return {
    id: stepCampaignId(journeyId, version, stepId),
    name: `${definition.name} · ${stepId} (v${version})`,
    segmentId: 'segmentId' in definition.entry ? definition.entry.segmentId : NO_SEGMENT,
    channels: step.channels,
    variants: [{ name: 'default', weight: 1, templates: step.templates }],
    holdoutPercent: 0,
    schedule: { type: 'immediate' },
    limits: { ...(definition.limits.frequencyCap ? { frequencyCap: definition.limits.frequencyCap } : {}), quietHours: definition.limits.quietHours, sendRatePerSecond: definition.limits.sendRatePerSecond },
    goal: definition.goal,
    costPerMessage: {},
    marketing: definition.marketing,
    status,
    createdAt: at,
    updatedAt: at,
    version: 1,
    // One run that never completes: a journey's step sends whenever contacts reach it.
    runId: 'journey',
    fanout: { total: 1, done: 0 },
    counters: emptyCounters(),
    spent: 0,
    responses: {},
    // The maps a launch creates, which counters and forecasts add into.
    forecastSums: {},
    launchedAt: at,
    journey: { id: journeyId, version, stepId },
  } as Campaign;
}

/** The step campaigns of a definition version: written once each (a retried request finds them). */
export async function putStepCampaigns(campaigns: Pick<CampaignStore, 'putOwned'>, journeyId: string, version: number, definition: JourneyDefinition, status: CampaignStatus, now = new Date()): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const [stepId, step] of Object.entries(definition.steps)) {
    if (step.type !== 'send') continue;
    const campaign = stepCampaign(journeyId, version, stepId, step, definition, status, now);
    await campaigns.putOwned(campaign);
    ids[stepId] = campaign.id;
  }
  return ids;
}

/** Moves every step campaign of the journey (all versions) along with it; those already there or past it stay. */
export async function moveStepCampaigns(campaigns: Pick<CampaignStore, 'transition'>, ids: string[], from: CampaignStatus[], to: CampaignStatus): Promise<void> {
  await Promise.all(ids.map((id) => campaigns.transition(id, 'move', from, to).catch((error: unknown) => (error instanceof Error && error.name === 'InvalidTransitionError' ? undefined : Promise.reject(error)))));
}
