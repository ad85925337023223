/**
 * The journey report (issue 14, item 3): what `GET /v1/journeys/{id}/report` returns and the
 * HTML page draws (report-html.ts). Pure: it combines the definition, the step counters, the
 * per-step send counts and (once the nightly run has measured) the goal groups into one JSON
 * document.
 *
 * The report never holds NaN or ±Infinity (it is served as JSON, where both become null): a
 * difference of counters is clamped at 0, a rate over nothing is null, and a goal that cannot be
 * compared (not measured yet, an empty treatment or holdout) is `measured: false` with a reason.
 * Nullable fields are marked so below; every other number is a finite number.
 */
import { liftReport, type GroupStats, type LiftReport } from '../attribution/lift.ts';
import type { JourneyDefinition, JourneyStep, StepOfType, WaitTrigger } from './definition.ts';
import { edgesOf, WAIT_STEP_TYPES } from './graph.ts';

// ---------------------------------------------------------------------------------------------
// Input: counters as the journey stats item and the send records hold them
// ---------------------------------------------------------------------------------------------

/** Counters of one step. `exits` by reason at this step: completed, goal, unsubscribed, erased, stopped, contact_missing… */
export interface JourneyStepStats {
  entered: number;
  left: number;
  exits: Record<string, number>;
}

/** Counters of the whole journey: entries (holdout included), held-out entries, per step, and exits by reason. */
export interface JourneyStats {
  entries: number;
  holdout: number;
  steps: Record<string, JourneyStepStats>;
  exits: Record<string, number>;
  /** Contacts uplift targeting kept out at entry, by reason (absent until the first). */
  refused?: Record<string, number>;
}

/** A send step's send records: their outcome, and responses by type (delivered, opened, clicked, replied, converted, unsubscribed…). */
export interface StepSendStats {
  sent: number;
  skipped: number;
  failed: number;
  queued: number;
  responses: Record<string, number>;
}

/** The goal measured by the nightly run: entries not held out against held-out entries. */
export interface JourneyGoalGroups {
  treatment: GroupStats;
  holdout: GroupStats;
}

export interface JourneyReportInput {
  journey: { id: string; name: string; status: string; version: number; definition: JourneyDefinition };
  stats: JourneyStats;
  /** By send step id; a send step without an entry has sent nothing. */
  sends: Record<string, StepSendStats>;
  /** Absent until the nightly run has measured the journey. */
  goal?: JourneyGoalGroups;
  /** When the nightly run measured `goal`. */
  measuredAt?: string;
  computedAt: string;
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

export interface JourneyReport {
  journey: {
    id: string;
    name: string;
    /** The journey's status as stored (draft, running, paused, stopped…). */
    status: string;
    /** The definition version the steps below are drawn from. */
    version: number;
  };
  /** When this report was put together (the counters are as of then). */
  computedAt: string;
  totals: JourneyTotals;
  /** Every step of the definition, breadth first from `start` (edges in definition order), then any others in definition order. */
  steps: JourneyStepReport[];
  /**
   * Counters for step ids this definition does not have (a step removed in a later version, with
   * contacts that went through it on the version they entered with), in id order.
   */
  retiredSteps: Array<{ id: string } & JourneyStepStats>;
  goal: JourneyGoalReport;
  /** The definition's uplift targeting (absent without): only the top share by predicted uplift enters. */
  targeting?: { upliftTopPercent: number; goal: string };
}

export interface JourneyTotals {
  /** Contacts who entered, held-out ones included (one per entry: a contact who re-enters counts again). */
  entries: number;
  /** Entries held out: counted and measured, sent nothing. */
  holdout: number;
  /** entries − holdout: the entries that go through the steps. */
  treatment: number;
  /** Σ exits. */
  exited: number;
  /** treatment − exited, the entries still in the journey (at least 0). */
  inFlight: number;
  /** Exits by reason (completed, goal, unsubscribed, erased, stopped, contact_missing…), known reasons first. */
  exits: Record<string, number>;
  /** With uplift targeting: contacts it kept out at entry by reason (below_uplift, no_score, model_not_active); not entries, so never counted above. */
  refused?: Record<string, number>;
}

/** Where a step leads. `kind` says which field of the step holds the reference. */
export interface JourneyEdgeReport {
  to: string;
  /** What the drawing writes on the arrow: a branch name, "otherwise", "on event", "on timeout" or "next". */
  label: string;
  kind: 'next' | 'branch' | 'otherwise' | 'on_event' | 'on_timeout';
}

/** A response count of a send step and its rate: count / sent, null while nothing was sent. */
export interface ResponseReport {
  count: number;
  rate: number | null;
}

export interface JourneyStepReport {
  id: string;
  type: JourneyStep['type'];
  /** A short description: "Send email/sms", "Wait 2 days", "Wait until 09:00 mon–fri", "Split: clicked, otherwise"… */
  label: string;
  /** Times contacts reached this step. */
  entered: number;
  /** Times contacts moved on from it (to the next step or out). */
  left: number;
  /** For wait, wait_until and wait_for_event: entered − left (at least 0), the contacts waiting there now; 0 for other steps. */
  waiting: number;
  /** Exits at this step by reason, known reasons first. */
  exits: Record<string, number>;
  /** Σ exits. */
  exited: number;
  /** Send steps only: the send records and the responses to them; null for other steps. */
  send: {
    sent: number;
    skipped: number;
    failed: number;
    queued: number;
    /** By response type, in the order delivered, opened, clicked, replied, converted, unsubscribed, then others by name. */
    responses: Record<string, ResponseReport>;
  } | null;
  /** Outgoing edges in definition order; empty for an exit (or a step without `next`, an implicit exit). */
  edges: JourneyEdgeReport[];
}

/** A group of the goal measurement: its size, converters and revenue (from the nightly run). */
export interface GoalGroupReport {
  members: number;
  converters: number;
  revenue: number;
}

/** Why there is no lift: no run yet, nothing held out, or a group still empty. */
export type NotMeasuredReason = 'not_measured' | 'no_holdout' | 'no_entries' | 'empty_treatment' | 'empty_holdout';

export type JourneyGoalReport = {
  /** The goal from the definition (CampaignGoal): the conversion event, attribution window, model and, for time_decay, its half-life. */
  event: string;
  attributionWindowDays: number;
  model: JourneyDefinition['goal']['model'];
  halfLifeDays?: number;
  /** The journey's configured holdout share (percent of entries). */
  holdoutPercent: number;
} & (
  | {
      measured: true;
      /** When the nightly run measured it (null when the caller did not say). */
      measuredAt: string | null;
      treatment: GoalGroupReport;
      holdout: GoalGroupReport;
      /**
       * Treatment over holdout by `liftReport` (attribution/lift.ts): rates and revenue per member of
       * each group, absolute and relative lift of the conversion rate and of revenue per member with
       * 95 % intervals and p-values (relative and pValue are null where no test is possible).
       */
      lift: LiftReport;
    }
  | {
      measured: false;
      reason: NotMeasuredReason;
      /** The reason in a sentence, for the page and the API's reader. */
      message: string;
      /** When the nightly run measured it, if it has. */
      measuredAt: string | null;
      /** The groups as measured, when there was a run (one of them is empty). */
      treatment?: GoalGroupReport;
      holdout?: GoalGroupReport;
    }
);

// ---------------------------------------------------------------------------------------------
// Building it
// ---------------------------------------------------------------------------------------------

const EXIT_REASON_ORDER = ['completed', 'goal', 'unsubscribed', 'erased', 'stopped', 'contact_missing'];
const RESPONSE_ORDER = ['delivered', 'opened', 'clicked', 'replied', 'converted', 'unsubscribed'];

/** A copy of a count record with the known keys first (in `known` order) and the rest by name. */
function ordered<T>(record: Record<string, T>, known: readonly string[]): Record<string, T> {
  const rank = (key: string) => (known.includes(key) ? known.indexOf(key) : known.length);
  const keys = Object.keys(record).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(keys.map((k) => [k, record[k]!]));
}

const sum = (record: Record<string, number>): number => Object.values(record).reduce((s, n) => s + n, 0);
const nonNegative = (n: number): number => Math.max(0, n);

/** The steps breadth first from `start` (edges in definition order), then the ones it does not reach, in definition order. */
export function stepOrder(definition: Pick<JourneyDefinition, 'start' | 'steps'>): string[] {
  const steps = definition.steps;
  const seen = new Set<string>();
  const order: string[] = [];
  const queue = Object.hasOwn(steps, definition.start) ? [definition.start] : [];
  for (const id of queue) seen.add(id);
  while (queue.length) {
    const id = queue.shift()!;
    order.push(id);
    for (const edge of edgesOf(id, steps[id]!)) {
      if (Object.hasOwn(steps, edge.to) && !seen.has(edge.to)) {
        seen.add(edge.to);
        queue.push(edge.to);
      }
    }
  }
  return [...order, ...Object.keys(steps).filter((id) => !seen.has(id))];
}

/** The step's outgoing edges with the words the drawing puts on them. */
export function edgeReports(id: string, step: JourneyStep): JourneyEdgeReport[] {
  switch (step.type) {
    case 'split':
      return [...step.branches.map((b) => ({ to: b.next, label: b.name, kind: 'branch' as const })), { to: step.otherwise, label: 'otherwise', kind: 'otherwise' }];
    case 'random_split':
      return step.branches.map((b) => ({ to: b.next, label: `${b.name} (${b.weight} %)`, kind: 'branch' as const }));
    case 'wait_for_event':
      return [{ to: step.onEvent, label: 'on event', kind: 'on_event' as const }, ...(step.onTimeout === undefined ? [] : [{ to: step.onTimeout, label: 'on timeout', kind: 'on_timeout' as const }])];
    default:
      return edgesOf(id, step).map((e) => ({ to: e.to, label: 'next', kind: 'next' as const }));
  }
}

const plural = (n: number, unit: string) => `${n} ${n === 1 ? unit.replace(/s$/, '') : unit}`;
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** "mon–fri" for a run of three or more days in a row, "sat, sun" otherwise; every day is left out. */
function weekdaysText(days: readonly string[] | undefined): string {
  if (!days) return '';
  const indexes = [...new Set(days)].map((d) => WEEKDAYS.indexOf(d as (typeof WEEKDAYS)[number])).sort((a, b) => a - b);
  if (indexes.length === 7) return '';
  const runs: number[][] = [];
  for (const i of indexes) {
    const run = runs.at(-1);
    if (run && run.at(-1) === i - 1) run.push(i);
    else runs.push([i]);
  }
  const words = runs.flatMap((run) => (run.length >= 3 ? [`${WEEKDAYS[run[0]!]}–${WEEKDAYS[run.at(-1)!]}`] : run.map((i) => WEEKDAYS[i]!)));
  return ` ${words.join(', ')}`;
}

function triggerText(trigger: WaitTrigger): string {
  switch (trigger.event) {
    case 'lead.captured':
      return trigger.formId === undefined ? 'a form submission' : `a submission of form ${trigger.formId}`;
    case 'conversion':
      return `conversion ${trigger.name}`;
    case 'custom':
      return `event ${trigger.name}`;
    case 'consent.changed': {
      const filters = [trigger.channel, trigger.status].filter((x) => x !== undefined);
      return `a consent change${filters.length ? ` (${filters.join(', ')})` : ''}`;
    }
    case 'response':
      return `${trigger.type} on ${trigger.step}`;
  }
}

function updateText(set: StepOfType<'update'>['set']): string {
  const parts = [
    ...(set.attributes ? [`set ${Object.keys(set.attributes).join(', ')}`] : []),
    ...(set.addTags ? [`tag ${set.addTags.join(', ')}`] : []),
    ...(set.removeTags ? [`untag ${set.removeTags.join(', ')}`] : []),
  ];
  return `Update: ${parts.join('; ')}`;
}

/** A short human description of a step. */
export function stepLabel(step: JourneyStep): string {
  switch (step.type) {
    case 'send':
      return step.channels === 'best' ? 'Send by the best channel' : `Send ${step.channels.join('/')}`;
    case 'wait':
      return `Wait ${plural(step.duration.amount, step.duration.unit)}`;
    case 'wait_until':
      return `Wait until ${step.time}${weekdaysText(step.weekdays)}`;
    case 'wait_for_event':
      return `Wait for ${triggerText(step.trigger)}${step.timeout ? ` (timeout ${plural(step.timeout.amount, step.timeout.unit)})` : ''}`;
    case 'split':
      return `Split: ${[...step.branches.map((b) => b.name), 'otherwise'].join(', ')}`;
    case 'random_split':
      return `Random split: ${step.branches.map((b) => `${b.name} ${b.weight} %`).join(', ')}`;
    case 'update':
      return updateText(step.set);
    case 'exit':
      return 'Exit';
  }
}

const NO_STEP_STATS: JourneyStepStats = { entered: 0, left: 0, exits: {} };

function sendReport(stats: StepSendStats | undefined): NonNullable<JourneyStepReport['send']> {
  const s = stats ?? { sent: 0, skipped: 0, failed: 0, queued: 0, responses: {} };
  const responses = Object.fromEntries(Object.entries(ordered(s.responses, RESPONSE_ORDER)).map(([type, count]) => [type, { count, rate: s.sent > 0 ? count / s.sent : null }]));
  return { sent: s.sent, skipped: s.skipped, failed: s.failed, queued: s.queued, responses };
}

function stepReport(id: string, step: JourneyStep, stats: JourneyStepStats, sends: StepSendStats | undefined): JourneyStepReport {
  return {
    id,
    type: step.type,
    label: stepLabel(step),
    entered: stats.entered,
    left: stats.left,
    waiting: WAIT_STEP_TYPES.has(step.type) ? nonNegative(stats.entered - stats.left) : 0,
    exits: ordered(stats.exits, EXIT_REASON_ORDER),
    exited: sum(stats.exits),
    send: step.type === 'send' ? sendReport(sends) : null,
    edges: edgeReports(id, step),
  };
}

const groupReport = (g: GroupStats): GoalGroupReport => ({ members: g.members, converters: g.converters, revenue: g.revenue });

function goalReport(definition: JourneyDefinition, groups: JourneyGoalGroups | undefined, measuredAt: string | null): JourneyGoalReport {
  const goal = {
    event: definition.goal.event,
    attributionWindowDays: definition.goal.attributionWindowDays,
    model: definition.goal.model,
    ...(definition.goal.halfLifeDays === undefined ? {} : { halfLifeDays: definition.goal.halfLifeDays }),
    holdoutPercent: definition.holdoutPercent,
  };
  const notMeasured = (reason: NotMeasuredReason, message: string): JourneyGoalReport => ({
    ...goal,
    measured: false,
    reason,
    message,
    measuredAt,
    ...(groups ? { treatment: groupReport(groups.treatment), holdout: groupReport(groups.holdout) } : {}),
  });
  if (definition.holdoutPercent === 0 && (groups === undefined || groups.holdout.members === 0)) {
    return notMeasured('no_holdout', 'The journey holds out no one (holdout 0 %), so there is no group to measure its lift against.');
  }
  if (!groups) return notMeasured('not_measured', 'The nightly run has not measured this journey yet: goal conversions, revenue and lift appear after it.');
  if (groups.treatment.members === 0 && groups.holdout.members === 0) return notMeasured('no_entries', 'No contact has entered the journey within the measured range.');
  if (groups.treatment.members === 0) return notMeasured('empty_treatment', 'Every measured entry was held out: there is no treatment group to compare yet.');
  if (groups.holdout.members === 0) return notMeasured('empty_holdout', 'No measured entry was held out yet: there is no holdout group to compare with.');
  return { ...goal, measured: true, measuredAt, treatment: groupReport(groups.treatment), holdout: groupReport(groups.holdout), lift: liftReport(groups.treatment, groups.holdout) };
}

/**
 * The report of one journey version. Steps without counters count 0; a send step without send
 * counts has sent nothing. Throws only where liftReport does: goal groups that are not counts
 * (negative, or more converters than members) are a programming error.
 */
export function buildJourneyReport(input: JourneyReportInput): JourneyReport {
  const { journey, stats } = input;
  const definition = journey.definition;
  const steps = stepOrder(definition).map((id) => stepReport(id, definition.steps[id]!, stats.steps[id] ?? NO_STEP_STATS, input.sends[id]));
  const retiredSteps = Object.keys(stats.steps)
    .filter((id) => !Object.hasOwn(definition.steps, id))
    .sort()
    .map((id) => {
      const s = stats.steps[id]!;
      return { id, entered: s.entered, left: s.left, exits: ordered(s.exits, EXIT_REASON_ORDER) };
    });
  const exited = sum(stats.exits);
  const treatment = nonNegative(stats.entries - stats.holdout);
  return {
    journey: { id: journey.id, name: journey.name, status: journey.status, version: journey.version },
    computedAt: input.computedAt,
    ...(definition.targeting ? { targeting: { upliftTopPercent: definition.targeting.upliftTopPercent, goal: definition.targeting.goal ?? definition.goal.event } } : {}),
    totals: { entries: stats.entries, holdout: stats.holdout, treatment, exited, inFlight: nonNegative(treatment - exited), exits: ordered(stats.exits, EXIT_REASON_ORDER), ...(definition.targeting || stats.refused ? { refused: stats.refused ?? {} } : {}) },
    steps,
    retiredSteps,
    goal: goalReport(definition, input.goal, input.measuredAt ?? null),
  };
}
