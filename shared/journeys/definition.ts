/**
 * A journey definition (issue 14, item 1): how contacts enter, the steps they go through keyed by
 * id, the goal that takes them out, and the guardrails shared with campaigns. `JourneyDefinition`
 * (zod) checks each field; `validateJourneyGraph` (graph.ts) checks the steps as a graph; use
 * `parseJourneyDefinition` for both, with issues whose paths name the step (`steps.welcome.next`).
 *
 * Field names follow campaigns and segments: `channels` ("best" or a preference order) and
 * `templates` as on campaign variants, `holdoutPercent` (default 10), `goal` (CampaignGoal),
 * `limits.frequencyCap` / `limits.quietHours`, `segmentId`, `schedule` (campaign Schedule), and
 * split conditions in the segment rule language.
 *
 * Shape, in brief:
 *
 *   entry       { type: "event", trigger }                 trigger: lead.captured | conversion | custom | consent.changed
 *               { type: "segment_entry", segmentId }       a contact newly matching the segment
 *               { type: "segment_audience", segmentId, schedule }   everyone in it, once or on a cron
 *   start       the first step's id
 *   steps       { "<id>": step }, step.type one of:
 *     send            channels, templates, next?
 *     wait            duration { amount, unit }, next?
 *     wait_until      time "09:00" in the contact's zone, weekdays?, next?
 *     wait_for_event  trigger (or a response to an earlier send), timeout, onEvent, onTimeout
 *     split           branches [{ name, when, next }], otherwise     first branch whose condition holds
 *     random_split    branches [{ name, weight, next }]              weights are percentages summing to 100
 *     update          set { attributes?, addTags?, removeTags? }, next?
 *     exit
 *
 * Ends: a step with no outgoing edge (an `exit`, or a send/wait/update without `next`) ends the
 * contact's path: `next` left out is an implicit exit. Branching steps (split, random_split,
 * wait_for_event) name every outcome: a forgotten `onTimeout` or `otherwise` would silently drop
 * everyone who took it, so it is an error rather than an exit.
 */
import * as z from 'zod';
import { CampaignGoal, Channel, FrequencyCapLimit, QuietHoursLimit, Schedule, SendRateLimit, Targeting } from '../campaigns/model.ts';
import { isValidTimeZone } from '../contacts/timezone.ts';
import { issuesFromZod, type ValidationIssue } from '../errors.ts';
import { isStorableNumber, NUMBER_RANGE } from '../numbers.ts';
import { Rule } from '../segments/rule.ts';
import { validateJourneyGraph } from './graph.ts';

export const MAX_STEPS = 100;
export const MAX_BRANCHES = 10;

/** Step ids appear in paths, reports and the flow drawing: short, lower case, no dots. */
export const StepId = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be a step id: a lower-case letter, then letters, digits, _ or - (at most 64)');
export type StepId = z.infer<typeof StepId>;

/**
 * An event name as /v1/events and conversions accept it (responses/behaviour-events.ts). Not
 * imported from there: that module reaches AWS (a keyed hash from Secrets Manager), and a
 * definition is pure.
 */
const EventName = z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9_.:-]+$/, 'may hold letters, digits and _ . : -');
const ConsentStatus = z.enum(['pending', 'confirmed', 'withdrawn']);
const TemplateId = z.uuid('must be a template id');

/** How long: minutes and hours are exact; days and weeks are calendar days in the contact's time zone. */
export const Duration = z.strictObject({
  amount: z.int().min(1).max(10_000),
  unit: z.enum(['minutes', 'hours', 'days', 'weeks']),
});
export type Duration = z.infer<typeof Duration>;

/** The events a journey reacts to: they enter a contact (entry), release a wait (wait_for_event). */
export const EventTrigger = z.discriminatedUnion('event', [
  /** A web form submission (any form, or one). */
  z.strictObject({ event: z.literal('lead.captured'), formId: z.string().min(1).max(100).optional() }),
  /** A conversion posted by the customer's site (`purchase`, `signup`…). */
  z.strictObject({ event: z.literal('conversion'), name: EventName }),
  /** A custom site event (`added_to_cart`…). */
  z.strictObject({ event: z.literal('custom'), name: EventName }),
  /** A channel's consent changed; both filters optional. */
  z.strictObject({ event: z.literal('consent.changed'), channel: Channel.optional(), status: ConsentStatus.optional() }),
]);
export type EventTrigger = z.infer<typeof EventTrigger>;

/** A response to a message the journey sent at an earlier step. opened: email only; replied: SMS only. */
export const ResponseType = z.enum(['delivered', 'opened', 'clicked', 'replied']);
export type ResponseType = z.infer<typeof ResponseType>;
const ResponseTo = z.strictObject({ step: StepId, type: ResponseType });

/** What a wait_for_event listens for: an event, or a response to an earlier send step. */
export const WaitTrigger = z.discriminatedUnion('event', [...EventTrigger.options, z.strictObject({ event: z.literal('response'), step: StepId, type: ResponseType })]);
export type WaitTrigger = z.infer<typeof WaitTrigger>;

export const JourneyEntry = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('event'), trigger: EventTrigger }),
  /** Checked on a schedule and after the nightly run; only contacts that were not in the segment before enter. */
  z.strictObject({ type: z.literal('segment_entry'), segmentId: z.uuid('must be a segment id') }),
  /** The whole audience at a time: immediate, `at` (optionally in each contact's local time) or `recurring` (cron). */
  z.strictObject({ type: z.literal('segment_audience'), segmentId: z.uuid('must be a segment id'), schedule: Schedule }),
]);
export type JourneyEntry = z.output<typeof JourneyEntry>;

const Instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 instant with an offset, such as 2026-12-01T09:00:00Z' });

export const EntryRules = z
  .strictObject({
    /** Whether a contact who entered before may enter again: never, or once this many days have passed since the last entry. */
    reentry: z.union([z.literal('never'), z.strictObject({ afterDays: z.int().min(1).max(3650) })]).default('never'),
    /** At most this many entries per contact over the journey's life (only meaningful with re-entry). */
    maxEntriesPerContact: z.int().min(1).max(1000).optional(),
    /** Entries are accepted from startAt until endAt; contacts already in flight carry on after endAt. */
    startAt: Instant.optional(),
    endAt: Instant.optional(),
  })
  .prefault({})
  .superRefine((rules, ctx) => {
    if (rules.startAt && rules.endAt && Date.parse(rules.endAt) <= Date.parse(rules.startAt)) {
      ctx.addIssue({ code: 'custom', path: ['endAt'], message: 'must be after startAt' });
    }
    if (rules.reentry === 'never' && rules.maxEntriesPerContact !== undefined && rules.maxEntriesPerContact > 1) {
      ctx.addIssue({ code: 'custom', path: ['maxEntriesPerContact'], message: 'allows more than one entry, but reentry is "never"' });
    }
  });
export type EntryRules = z.output<typeof EntryRules>;

/**
 * A split condition: a segment rule evaluated on the contact now (attributes, segment membership,
 * scores, behaviour), or whether they responded to an earlier send. One key or the other (an object
 * rather than a union, so a mistake in the rule is reported at its own path).
 */
export const SplitCondition = z
  .strictObject({
    rule: Rule.optional(),
    /** `responded: false` is "did not": e.g. the welcome email was not clicked. */
    response: ResponseTo.extend({ responded: z.boolean().default(true) }).optional(),
  })
  .superRefine((when, ctx) => {
    if ((when.rule === undefined) === (when.response === undefined)) ctx.addIssue({ code: 'custom', message: 'must hold either "rule" or "response"' });
  });
export type SplitCondition = z.output<typeof SplitCondition>;

const BranchName = z.string().trim().min(1).max(100);
const Clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time like 09:00');
const Weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
const AttributeName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'must be an attribute name (letters, digits, _)');
const Tag = z.string().trim().min(1).max(100);
const AttributeValue = z.union([z.string().max(2048), z.number().refine(isStorableNumber, NUMBER_RANGE), z.boolean(), z.null()]);

const SendStep = z.strictObject({
  type: z.literal('send'),
  /** Channels in order of preference, or "best" (highest expected value per contact), as on campaigns. */
  channels: z.union([z.array(Channel).min(1).max(2), z.literal('best')]),
  templates: z.strictObject({ email: TemplateId.optional(), sms: TemplateId.optional() }),
  next: StepId.optional(),
});
const WaitStep = z.strictObject({ type: z.literal('wait'), duration: Duration, next: StepId.optional() });
const WaitUntilStep = z.strictObject({
  type: z.literal('wait_until'),
  /** The next time the contact's clock shows this (on one of `weekdays`, if given); contacts without a zone use the journey's. */
  time: Clock,
  weekdays: z.array(Weekday).min(1).max(7).optional(),
  next: StepId.optional(),
});
const WaitForEventStep = z.strictObject({
  type: z.literal('wait_for_event'),
  trigger: WaitTrigger,
  /** Required: checked by validateJourneyGraph so the issue names the step and what to add. */
  timeout: Duration.optional(),
  onEvent: StepId,
  onTimeout: StepId.optional(),
});
const SplitStep = z.strictObject({
  type: z.literal('split'),
  /** Evaluated in order; the first that holds wins. */
  branches: z.array(z.strictObject({ name: BranchName, when: SplitCondition, next: StepId })).min(1).max(MAX_BRANCHES),
  otherwise: StepId,
});
const RandomSplitStep = z.strictObject({
  type: z.literal('random_split'),
  /** Weights are percentages and must sum to 100 (checked by validateJourneyGraph); assignment is a hash of journey, step and contact. */
  branches: z
    .array(z.strictObject({ name: BranchName, weight: z.number().positive().max(100).refine(isStorableNumber, NUMBER_RANGE), next: StepId }))
    .min(2)
    .max(MAX_BRANCHES),
});
const UpdateStep = z.strictObject({
  type: z.literal('update'),
  set: z
    .strictObject({
      /** null removes the attribute. */
      attributes: z.record(AttributeName, AttributeValue).optional(),
      addTags: z.array(Tag).min(1).max(50).optional(),
      removeTags: z.array(Tag).min(1).max(50).optional(),
    })
    .refine((s) => s.attributes !== undefined || s.addTags !== undefined || s.removeTags !== undefined, 'must change an attribute or a tag'),
  next: StepId.optional(),
});
const ExitStep = z.strictObject({ type: z.literal('exit') });

export const JourneyStep = z.discriminatedUnion('type', [SendStep, WaitStep, WaitUntilStep, WaitForEventStep, SplitStep, RandomSplitStep, UpdateStep, ExitStep]);
export type JourneyStep = z.output<typeof JourneyStep>;
export type StepOfType<T extends JourneyStep['type']> = Extract<JourneyStep, { type: T }>;

const sendChannelIssues = (step: StepOfType<'send'>): { path: (string | number)[]; message: string }[] => {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const channels = step.channels === 'best' ? (['email', 'sms'] as const) : step.channels;
  if (step.channels !== 'best' && new Set(step.channels).size !== step.channels.length) issues.push({ path: ['channels'], message: 'lists a channel twice' });
  if (!channels.some((c) => step.templates[c])) issues.push({ path: ['templates'], message: `needs a template for ${step.channels === 'best' ? 'email or sms' : channels.join(' or ')}` });
  if (step.channels !== 'best') {
    for (const c of ['email', 'sms'] as const) {
      if (step.templates[c] && !channels.includes(c)) issues.push({ path: ['templates', c], message: `the step does not send by ${c}` });
    }
  }
  return issues;
};

export const JourneyDefinition = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    entry: JourneyEntry,
    entryRules: EntryRules,
    /** Share of entering contacts held out (they enter, are counted, and get nothing), as on campaigns: on by default. */
    holdoutPercent: z.number().min(0).max(50).refine(isStorableNumber, NUMBER_RANGE).default(10),
    start: StepId,
    steps: z
      .record(StepId, JourneyStep)
      .refine((steps) => Object.keys(steps).length >= 1, 'needs at least one step')
      .refine((steps) => Object.keys(steps).length <= MAX_STEPS, `has more than ${MAX_STEPS} steps`),
    /** The conversion that takes a contact out when reached, and what the report measures against the holdout. */
    goal: CampaignGoal,
    /** Unsubscribing from one channel ends the journey (any_channel), or only unsubscribing from every channel it uses. Erasure always ends it. */
    exitOnUnsubscribe: z.enum(['any_channel', 'all_channels']).default('any_channel'),
    limits: z
      .strictObject({
        /** Counted across journeys and campaigns, per contact. */
        frequencyCap: FrequencyCapLimit.optional(),
        quietHours: QuietHoursLimit,
        /** Messages per second per channel for the journey's sends (each send step), as on campaigns. */
        sendRatePerSecond: SendRateLimit,
        /** Time zone for wait_until when a contact has none. */
        timezone: z.string().refine(isValidTimeZone, 'must be an IANA time zone such as Europe/Berlin').default('UTC'),
      })
      .prefault({}),
    /** Whether the messages are marketing (unsubscribe footer, STOP line, quiet hours, caps): default true. */
    marketing: z.boolean().default(true),
    /** Only contacts in the top N % by the uplift model's predicted effect enter (checked at entry, before the holdout draw), as on campaigns. */
    targeting: Targeting.optional(),
  })
  .superRefine((journey, ctx) => {
    for (const [id, step] of Object.entries(journey.steps)) {
      if (step.type === 'send') for (const issue of sendChannelIssues(step)) ctx.addIssue({ code: 'custom', path: ['steps', id, ...issue.path], message: issue.message });
    }
  });
export type JourneyDefinition = z.output<typeof JourneyDefinition>;
export type JourneyDefinitionInput = z.input<typeof JourneyDefinition>;

/**
 * Parses a journey definition: field checks first, then (only when the fields are sound) the
 * graph checks. Issues carry paths such as `steps.welcome.next`.
 */
export function parseJourneyDefinition(input: unknown): { ok: true; definition: JourneyDefinition } | { ok: false; issues: ValidationIssue[] } {
  const parsed = JourneyDefinition.safeParse(input);
  if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error.issues) };
  const issues = validateJourneyGraph(parsed.data);
  return issues.length ? { ok: false, issues } : { ok: true, definition: parsed.data };
}
