import type { JourneyTask } from '../../events/journeys.ts';
import type { CampaignStore } from '../campaigns/campaign-store.ts';
import type { CampaignStatus } from '../campaigns/model.ts';
import { scheduleStartIssues } from '../campaigns/scheduling.ts';
import type { GoalModelSource } from '../campaigns/goal-model-source.ts';
import { ConflictError, ValidationError, type ValidationIssue } from '../errors.ts';
import type { SegmentService } from '../segments/segment-service.ts';
import type { SegmentStore } from '../segments/segment-store.ts';
import type { TemplateStore } from '../templates/template-store.ts';
import { parseJourneyDefinition, type JourneyDefinition } from './definition.ts';
import type { Journey, JourneyStatus, JourneyStore, JourneyVersion } from './journey-store.ts';
import { moveStepCampaigns, putStepCampaigns, stepCampaignId } from './step-campaigns.ts';

/** A journey's life as the marketer drives it: define, change (new versions), start, pause, resume, stop. */
export interface JourneyLifecycleDeps {
  journeys: JourneyStore;
  campaigns: Pick<CampaignStore, 'putOwned' | 'transition'>;
  segments: Pick<SegmentStore, 'latest'>;
  segmentService: Pick<SegmentService, 'compile'>;
  templates: Pick<TemplateStore, 'get'>;
  /** Puts tasks on the journey worker's queue. */
  enqueue: (tasks: JourneyTask[]) => Promise<void>;
  /** The one-time or recurring schedule of a segment_audience journey. */
  schedules: { create: (journey: Journey, definition: JourneyDefinition) => Promise<string | undefined>; remove: (name: string) => Promise<void> };
  /** Minutes between the checks of a segment_entry journey. */
  segmentCheckMinutes: number;
  /** Parallel scan segments of an audience. */
  scanSegments: number;
  /** The learned models: a journey with uplift targeting starts only with its uplift model active (409 model_not_active). */
  models: Pick<GoalModelSource, 'targeting'>;
}

/** The step campaigns' status that goes with the journey's. */
const CAMPAIGN_STATUS: Record<JourneyStatus, CampaignStatus> = { draft: 'draft', running: 'running', paused: 'paused', stopped: 'cancelled' };

/**
 * Parses and checks a definition: fields and graph (400 with the step's path), then what the
 * store knows: templates exist on the right channel, segments exist, split rules compile.
 */
export async function checkDefinition(input: unknown, deps: Pick<JourneyLifecycleDeps, 'segments' | 'segmentService' | 'templates'>): Promise<JourneyDefinition> {
  const parsed = parseJourneyDefinition(input);
  if (!parsed.ok) throw new ValidationError(parsed.issues);
  const def = parsed.definition;
  const issues: ValidationIssue[] = [];
  if (def.entry.type !== 'event') {
    if (!(await deps.segments.latest(def.entry.segmentId))) issues.push({ path: 'entry.segmentId', message: `segment ${def.entry.segmentId} does not exist` });
    if (def.entry.type === 'segment_audience') {
      if (def.entry.schedule.type === 'at' && def.entry.schedule.localTime) issues.push({ path: 'entry.schedule.localTime', message: 'is not supported for journeys: enter everyone at the time and use a wait_until step for each contact\u2019s local time' });
      else issues.push(...scheduleStartIssues(def.entry.schedule).map((i) => ({ ...i, path: `entry.${i.path}` })));
    }
  }
  for (const [id, step] of Object.entries(def.steps)) {
    if (step.type === 'send') {
      for (const channel of ['email', 'sms'] as const) {
        const templateId = step.templates[channel];
        if (!templateId) continue;
        const template = await deps.templates.get(templateId);
        if (!template) issues.push({ path: `steps.${id}.templates.${channel}`, message: `template ${templateId} does not exist` });
        else if (template.channel !== channel) issues.push({ path: `steps.${id}.templates.${channel}`, message: `template ${templateId} is an ${template.channel} template` });
      }
    }
    if (step.type === 'split') {
      for (const [i, branch] of step.branches.entries()) {
        if (!branch.when.rule) continue;
        try {
          await deps.segmentService.compile({ rule: branch.when.rule, timezone: def.limits.timezone });
        } catch (error) {
          if (!(error instanceof ValidationError)) throw error;
          issues.push(...error.issues.map((issue) => ({ ...issue, path: `steps.${id}.branches[${i}].when.${issue.path}` })));
        }
      }
    }
  }
  if (issues.length) throw new ValidationError(issues);
  return def;
}

const stepIds = (journeyId: string, version: number, def: JourneyDefinition): Record<string, string> =>
  Object.fromEntries(Object.entries(def.steps).flatMap(([stepId, step]) => (step.type === 'send' ? [[stepId, stepCampaignId(journeyId, version, stepId)]] : [])));

export async function createJourney(input: unknown, actor: string | undefined, deps: JourneyLifecycleDeps): Promise<{ journey: Journey; version: JourneyVersion }> {
  const def = await checkDefinition(input, deps);
  const created = await deps.journeys.create(def, (id) => stepIds(id, 1, def), actor);
  await putStepCampaigns(deps.campaigns, created.journey.id, 1, def, 'draft');
  return created;
}

/** A new version: new entries take it; contacts in flight finish on theirs. */
export async function updateJourney(id: string, input: unknown, deps: JourneyLifecycleDeps): Promise<{ journey: Journey; version: JourneyVersion }> {
  const current = await deps.journeys.getOr404(id);
  if (current.status === 'stopped') throw new ConflictError('a stopped journey cannot be changed; create a new one', 'invalid_transition');
  const def = await checkDefinition(input, deps);
  if (current.status !== 'draft' && def.entry.type !== current.entry.type) {
    throw new ValidationError([{ path: 'entry.type', message: `cannot change from ${current.entry.type} to ${def.entry.type} once the journey has started; create a new journey` }]);
  }
  const next = current.version + 1;
  await putStepCampaigns(deps.campaigns, id, next, def, CAMPAIGN_STATUS[current.status]);
  return deps.journeys.addVersion(current, def, stepIds(id, next, def));
}

/** Every step campaign of every version (the statuses move together). */
async function allStepCampaigns(journey: Journey, deps: Pick<JourneyLifecycleDeps, 'journeys' | 'campaigns'>): Promise<string[]> {
  const ids: string[] = [];
  for (let v = 1; v <= journey.version; v++) {
    const version = await deps.journeys.version(journey.id, v);
    if (!version) continue;
    // A crash after the version was written and before its campaigns were: write them now.
    await putStepCampaigns(deps.campaigns, journey.id, v, version.definition, CAMPAIGN_STATUS[journey.status]);
    ids.push(...Object.values(version.stepCampaigns));
  }
  return ids;
}

/**
 * Start: draft → running, its step campaigns with it, then by entry: event journeys take the
 * next matching event; a segment audience enters now (immediate) or at its schedule; a
 * segment-entry journey marks who is in the segment now (they are not "newly matching") and is
 * checked every few minutes from then on.
 */
export async function startJourney(id: string, deps: JourneyLifecycleDeps, now = new Date()): Promise<Journey> {
  const current = await deps.journeys.getOr404(id);
  const latest = await deps.journeys.version(id, current.version);
  if (!latest) throw new Error(`journey ${id} version ${current.version} is missing`);
  if (current.status === 'draft') await checkDefinition(latest.definition, deps);
  if (current.status === 'draft' && latest.definition.targeting) await deps.models.targeting(latest.definition.targeting, latest.definition.goal.event);
  const fields: Record<string, unknown> = { startedAt: now.toISOString() };
  if (latest.definition.entry.type === 'segment_entry') fields.segmentChecks = { done: 0, nextAt: new Date(now.getTime() + deps.segmentCheckMinutes * 60_000).toISOString() };
  const started = await deps.journeys.transition(id, 'start', ['draft'], 'running', fields, now);
  await moveStepCampaigns(deps.campaigns, await allStepCampaigns(started, deps), ['draft'], 'running');
  const entry = latest.definition.entry;
  const scans = (mode: 'audience' | 'baseline', runKey: string): JourneyTask[] =>
    Array.from({ length: deps.scanSegments }, (_, segment) => ({ kind: 'scan', mode, journeyId: id, runKey, segment, totalSegments: deps.scanSegments }));
  try {
    if (entry.type === 'segment_entry') await deps.enqueue(scans('baseline', 'baseline'));
    else if (entry.type === 'segment_audience') {
      if (entry.schedule.type === 'immediate') await deps.enqueue(scans('audience', 'start'));
      else {
        const name = await deps.schedules.create(started, latest.definition);
        if (name) await deps.journeys.setFields(id, { scheduleName: name });
      }
    }
  } catch (error) {
    // Nothing will enter anyone: back to draft, so the marketer can start it again.
    await deps.journeys.transition(id, 'start', ['running'], 'draft').catch(() => undefined);
    await moveStepCampaigns(deps.campaigns, await allStepCampaigns({ ...started, status: 'draft' }, deps), ['running'], 'draft').catch(() => undefined);
    throw error;
  }
  return deps.journeys.getOr404(id);
}

/** Pause: no one enters or moves on; messages already on their way to the provider still go, queued ones wait. */
export async function pauseJourney(id: string, deps: JourneyLifecycleDeps, now = new Date()): Promise<Journey> {
  const paused = await deps.journeys.transition(id, 'pause', ['running'], 'paused', { pausedAt: now.toISOString() }, now);
  await moveStepCampaigns(deps.campaigns, await allStepCampaigns(paused, deps), ['running'], 'paused');
  return paused;
}

/** Resume: running again; a sweep puts parked waits back in the due index and releases the sends the pause held. */
export async function resumeJourney(id: string, deps: JourneyLifecycleDeps, now = new Date()): Promise<Journey> {
  const resumed = await deps.journeys.transition(id, 'resume', ['paused'], 'running', {}, now);
  await moveStepCampaigns(deps.campaigns, await allStepCampaigns(resumed, deps), ['paused'], 'running');
  await deps.enqueue([{ kind: 'resume', journeyId: id }]);
  return resumed;
}

/** Stop, for good: nothing more is sent (queued sends are cancelled by the senders); every entry in progress ends with `stopped`. */
export async function stopJourney(id: string, deps: JourneyLifecycleDeps, now = new Date()): Promise<Journey> {
  const stopped = await deps.journeys.transition(id, 'stop', ['draft', 'running', 'paused'], 'stopped', { stoppedAt: now.toISOString() }, now);
  await moveStepCampaigns(deps.campaigns, await allStepCampaigns(stopped, deps), ['draft', 'running', 'paused'], 'cancelled');
  if (stopped.scheduleName) await deps.schedules.remove(stopped.scheduleName);
  await deps.enqueue([{ kind: 'stop', journeyId: id }]);
  return stopped;
}
