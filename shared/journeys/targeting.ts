/**
 * Uplift targeting at a journey's entry (docs/learning-design.md §5): a contact enters only when
 * the uplift model predicts the journey's first message moves it at least as much as the top N %
 * of the model's training exposures. Pure: the engine reads the model and the contact.
 *
 * A journey has no single send: the contact is scored for its first send step (breadth first from
 * `start`, the order the report draws), on the first channel of that step open to it (its order,
 * or email then SMS for 'best'; the step's first channel when none is open), at its local hour now.
 * That is what a campaign scores at its planned send, as closely as an entry can know it.
 */
import { checkEligibility, type FrequencyCap } from '../campaigns/eligibility.ts';
import { clearsThreshold, localHourOf, predictedUplift, type GoalUplift } from '../campaigns/goal-models.ts';
import type { Channel } from '../contacts/model.ts';
import type { EvalContact } from '../segments/contact-view.ts';
import type { JourneyDefinition, StepOfType } from './definition.ts';
import { edgesOf } from './graph.ts';

/** Why uplift targeting keeps a contact out of a journey (counted as `refused#<reason>`). */
export type TargetingRefusal = 'below_uplift' | 'no_score' | 'model_not_active';

/** The first send step reached from `start`, breadth first; undefined for a journey that sends nothing. */
export function firstSendStep(def: JourneyDefinition): StepOfType<'send'> | undefined {
  const seen = new Set([def.start]);
  const queue = [def.start];
  while (queue.length) {
    const id = queue.shift()!;
    const step = def.steps[id];
    if (!step) continue;
    if (step.type === 'send') return step;
    for (const edge of edgesOf(id, step)) {
      if (seen.has(edge.to)) continue;
      seen.add(edge.to);
      queue.push(edge.to);
    }
  }
  return undefined;
}

/** The channel an entering contact is scored on (see the module comment). */
export function entryChannel(step: StepOfType<'send'> | undefined, contact: EvalContact, now: Date, cap: FrequencyCap | undefined): Channel {
  const listed = !step ? (['email', 'sms'] as Channel[]) : step.channels === 'best' ? (['email', 'sms'] as Channel[]) : step.channels;
  const candidates = step ? listed.filter((c) => step.templates[c]) : listed;
  return candidates.find((c) => checkEligibility(contact, c, now, cap).eligible) ?? candidates[0] ?? 'email';
}

/**
 * Whether the contact may enter under the journey's targeting: undefined when it may, otherwise
 * why not. `uplift` is the active uplift model (undefined: it could not be loaded) and `threshold`
 * the cut the top N % gives (null: no lower bound).
 */
export function entryTargetingRefusal(def: JourneyDefinition, contact: EvalContact, uplift: GoalUplift | undefined, threshold: number | null, now: Date): TargetingRefusal | undefined {
  if (!uplift) return 'no_score';
  const channel = entryChannel(firstSendStep(def), contact, now, def.limits.frequencyCap);
  const hour = localHourOf(now, contact.timezone ?? def.limits.timezone);
  const predicted = predictedUplift(uplift, contact, channel, hour, now.getTime());
  if (predicted === undefined) return 'no_score';
  return clearsThreshold(predicted, threshold) ? undefined : 'below_uplift';
}
