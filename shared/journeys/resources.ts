/**
 * What the journeys API answers: a journey with its current definition and live counts, a
 * version, the report's inputs gathered from the stores, and a contact's journeys. Never the
 * storage's bookkeeping (revisions, shards, index keys).
 */
import type { CampaignStore } from '../campaigns/campaign-store.ts';
import type { Campaign } from '../campaigns/model.ts';
import { NotFoundError } from '../errors.ts';
import type { JourneyDefinition } from './definition.ts';
import type { Journey, JourneyStats, JourneyStore, JourneyVersion } from './journey-store.ts';
import { buildJourneyReport, type JourneyReport, type StepSendStats } from './report.ts';
import type { JourneyStateStore } from './state-store.ts';

/** The head's public fields (not its revision, entry copy, schedule or check bookkeeping), its current definition and live counts. */
export type JourneyResource = Pick<Journey, 'id' | 'name' | 'status' | 'version' | 'createdAt' | 'updatedAt' | 'createdBy' | 'startedAt' | 'pausedAt' | 'stoppedAt'> & {
  definition: JourneyDefinition | null;
  counts: { entries: number; holdout: number; inFlight: number; exits: Record<string, number> };
};

export function journeyResource(journey: Journey, version: JourneyVersion | undefined, stats: JourneyStats): { journey: JourneyResource } {
  const exited = Object.values(stats.exits).reduce((a, b) => a + b, 0);
  const optional = (['createdBy', 'startedAt', 'pausedAt', 'stoppedAt'] as const).filter((k) => journey[k] !== undefined);
  return {
    journey: {
      id: journey.id,
      name: journey.name,
      status: journey.status,
      version: journey.version,
      createdAt: journey.createdAt,
      updatedAt: journey.updatedAt,
      ...Object.fromEntries(optional.map((k) => [k, journey[k]])),
      definition: version?.definition ?? null,
      counts: { entries: stats.entries, holdout: stats.holdout, inFlight: Math.max(0, stats.entries - stats.holdout - exited), exits: stats.exits },
    },
  };
}

export function versionResource(version: JourneyVersion) {
  return { version: version.version, createdAt: version.createdAt, definition: version.definition };
}

/** A send step's counts, summed over the campaigns that carried it in each version. */
function sendStats(campaigns: Campaign[]): StepSendStats {
  const out: StepSendStats = { sent: 0, skipped: 0, failed: 0, queued: 0, responses: {} };
  for (const c of campaigns) {
    out.sent += c.counters.sent;
    out.failed += c.counters.failed;
    out.queued += c.counters.queued + c.counters.deferred;
    out.skipped += Object.values(c.counters.suppressed ?? {}).reduce((a, b) => a + b, 0);
    for (const [type, n] of Object.entries(c.responses ?? {})) out.responses[type] = (out.responses[type] ?? 0) + n;
  }
  return out;
}

/** The report: live step counts and message counts now, the goal lift as of the last measurement. */
export async function journeyReport(id: string, deps: { journeys: JourneyStore; campaigns: Pick<CampaignStore, 'get'> }, now = new Date()): Promise<JourneyReport> {
  const journey = await deps.journeys.get(id);
  if (!journey) throw new NotFoundError('journey', id);
  const versions: JourneyVersion[] = [];
  for (let v = 1; v <= journey.version; v++) {
    const version = await deps.journeys.version(id, v);
    if (version) versions.push(version);
  }
  const latest = versions[versions.length - 1];
  if (!latest) throw new NotFoundError('journey version', `${id} v${journey.version}`);
  const byStep = new Map<string, Campaign[]>();
  for (const version of versions) {
    for (const [stepId, campaignId] of Object.entries(version.stepCampaigns)) {
      const campaign = await deps.campaigns.get(campaignId, false);
      if (campaign) byStep.set(stepId, [...(byStep.get(stepId) ?? []), campaign]);
    }
  }
  const [stats, measured] = await Promise.all([deps.journeys.stats(id), deps.journeys.measured(id)]);
  return buildJourneyReport({
    journey: { id, name: journey.name, status: journey.status, version: journey.version, definition: latest.definition },
    stats,
    sends: Object.fromEntries([...byStep].map(([stepId, campaigns]) => [stepId, sendStats(campaigns)])),
    ...(measured ? { goal: { treatment: measured.treatment, holdout: measured.holdout }, measuredAt: measured.measuredAt } : {}),
    computedAt: now.toISOString(),
  });
}

/** The contact's passes through journeys, newest first: where each stands or how it ended. */
export async function contactJourneys(contactId: string, deps: { journeys: Pick<JourneyStore, 'get'>; states: Pick<JourneyStateStore, 'forContact'> }) {
  const { entries } = await deps.states.forContact(contactId);
  const names = new Map<string, string | undefined>();
  for (const id of new Set(entries.map((e) => e.journeyId))) names.set(id, (await deps.journeys.get(id, false))?.name);
  return entries
    .map((e) => ({
      journeyId: e.journeyId,
      journeyName: names.get(e.journeyId) ?? null,
      entry: e.entry,
      version: e.version,
      status: e.status,
      stepId: e.status === 'holdout' ? null : e.stepId,
      enteredAt: e.enteredAt,
      ...(e.dueAt && e.status === 'waiting' ? { waitingUntil: e.dueAt } : {}),
      ...(e.waitingFor && e.status === 'waiting' ? { waitingFor: e.waitingFor } : {}),
      responses: [...(e.responses ?? [])].sort(),
      goalReached: Boolean(e.goalEvents && [...e.goalEvents].length),
      ...(e.exitReason ? { exitReason: e.exitReason, exitedAt: e.exitedAt } : {}),
    }))
    .sort((a, b) => b.enteredAt.localeCompare(a.enteredAt));
}
