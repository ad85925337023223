import type { LaunchMessage } from '../../events/campaigns.ts';
import { ValidationError, type ValidationIssue } from '../errors.ts';
import type { SegmentStore } from '../segments/segment-store.ts';
import type { TemplateStore } from '../templates/template-store.ts';
import { TRANSITIONS, type CampaignStore } from './campaign-store.ts';
import type { GoalModelSource } from './goal-model-source.ts';
import { channelsOf, type Campaign, type CampaignInput } from './model.ts';
import { scheduleStartIssues } from './scheduling.ts';

/** A campaign's life as the marketer drives it: create and edit a draft, launch, pause, resume, cancel. */
export interface LifecycleDeps {
  campaigns: CampaignStore;
  segments: Pick<SegmentStore, 'latest'>;
  templates: Pick<TemplateStore, 'get'>;
  /** Puts a launch or resume on the launches queue (the launcher fans it out). */
  enqueue: (message: LaunchMessage) => Promise<void>;
  /** The one-time or recurring EventBridge schedule of a scheduled launch. */
  schedules: { create: (campaign: Campaign) => Promise<string | undefined>; remove: (name: string) => Promise<void> };
  /** The learned models: a launch with uplift targeting needs its uplift model active (409 model_not_active otherwise). */
  models: Pick<GoalModelSource, 'targeting'>;
}

/** References must exist: the segment, and each variant's templates on the right channel. */
async function checkReferences(input: CampaignInput, deps: LifecycleDeps): Promise<void> {
  const issues: ValidationIssue[] = [];
  if (!(await deps.segments.latest(input.segmentId))) issues.push({ path: 'segmentId', message: `segment ${input.segmentId} does not exist` });
  for (const [i, variant] of input.variants.entries()) {
    for (const channel of channelsOf(input)) {
      const id = variant.templates[channel];
      if (!id) continue;
      const template = await deps.templates.get(id);
      if (!template) issues.push({ path: `variants[${i}].templates.${channel}`, message: `template ${id} does not exist` });
      else if (template.channel !== channel) issues.push({ path: `variants[${i}].templates.${channel}`, message: `template ${id} is an ${template.channel} template` });
    }
  }
  if (issues.length) throw new ValidationError(issues);
}

export async function createCampaign(input: CampaignInput, actor: string | undefined, deps: LifecycleDeps): Promise<Campaign> {
  await checkReferences(input, deps);
  return deps.campaigns.create(input, actor);
}

export async function updateDraft(id: string, input: CampaignInput, deps: LifecycleDeps): Promise<Campaign> {
  await checkReferences(input, deps);
  return deps.campaigns.updateDraft(id, input);
}

/**
 * Launch: the references still exist and a scheduled start is not already past, then draft →
 * scheduled, then either the launch message (immediate) or the schedule that will send it. If
 * neither could be set up, nothing will fire it: the campaign goes back to draft, so the
 * marketer can launch again.
 */
export async function launchCampaign(id: string, deps: LifecycleDeps): Promise<Campaign> {
  const { campaigns } = deps;
  const current = await campaigns.getOr404(id);
  await checkReferences(current, deps);
  const { from, to } = TRANSITIONS.launch;
  // A campaign that cannot be launched anyway answers 409 from the transition below.
  const late = from.includes(current.status) ? scheduleStartIssues(current.schedule) : [];
  if (late.length) throw new ValidationError(late);
  // Targeting without an active uplift model would skip everyone: refused now, naming the model's status.
  if (current.targeting && from.includes(current.status)) await deps.models.targeting(current.targeting, current.goal.event);
  const scheduled = await campaigns.transition(id, 'launch', from, to);
  try {
    if (scheduled.schedule.type === 'immediate') {
      await deps.enqueue({ kind: 'launch', campaignId: scheduled.id });
    } else {
      const name = await deps.schedules.create(scheduled);
      if (name) await campaigns.setSchedule(scheduled.id, name);
    }
  } catch (error) {
    await campaigns.transition(id, 'launch', ['scheduled'], 'draft').catch(() => undefined);
    throw error;
  }
  return campaigns.getOr404(id);
}

export async function pauseCampaign(id: string, deps: LifecycleDeps): Promise<Campaign> {
  return deps.campaigns.transition(id, 'pause', TRANSITIONS.pause.from, TRANSITIONS.pause.to);
}

/** Resume: running again, and the launcher puts the paused sends back on the queues. */
export async function resumeCampaign(id: string, deps: LifecycleDeps): Promise<Campaign> {
  const resumed = await deps.campaigns.transition(id, 'resume', TRANSITIONS.resume.from, TRANSITIONS.resume.to);
  await deps.enqueue({ kind: 'resume', campaignId: resumed.id });
  return resumed;
}

/** Cancel: a scheduled launch's schedule goes too (the sender stops the sends already queued). */
export async function cancelCampaign(id: string, deps: LifecycleDeps): Promise<Campaign> {
  const cancelled = await deps.campaigns.transition(id, 'cancel', TRANSITIONS.cancel.from, TRANSITIONS.cancel.to);
  if (cancelled.scheduleName) await deps.schedules.remove(cancelled.scheduleName);
  return cancelled;
}
