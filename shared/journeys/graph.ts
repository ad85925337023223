/**
 * Graph checks on a journey definition whose fields already parsed (definition.ts). Pure: no I/O.
 *
 * What is refused, each issue at a path naming the step:
 * - a reference to a step that does not exist (`start`, `steps.a.next`, `steps.s.branches[1].next`…);
 * - a step that no path from `start` reaches;
 * - a loop with no wait in it (wait, wait_until and wait_for_event all pace a loop): contacts
 *   would go round it at once, without end — reported at the edge that closes it;
 * - a step from which no path ends: an end is an `exit` step or a step with no outgoing edge
 *   (a send, wait or update without `next` is an implicit exit), so this is a loop, paced by a
 *   wait, with no way out: contacts would stay in the journey for ever;
 * - a random split whose weights do not sum to 100;
 * - a response condition (split branch, or wait_for_event trigger) naming a step that is not a
 *   send step, or one that not every path to here passes through (a contact could reach the
 *   condition without ever having been sent the message), or a response that channel cannot give
 *   (opened: email; replied: SMS);
 * - a wait_for_event without a timeout or without the branch taken when it runs out.
 */
import type { ValidationIssue } from '../errors.ts';
import type { JourneyDefinition, JourneyStep, ResponseType, StepOfType } from './definition.ts';

/** Steps that hold a contact until time passes or an event arrives: a loop through one of them is paced. */
export const WAIT_STEP_TYPES: ReadonlySet<JourneyStep['type']> = new Set(['wait', 'wait_until', 'wait_for_event']);

type Steps = JourneyDefinition['steps'];

export interface StepEdge {
  from: string;
  to: string;
  /** Where the reference sits in the definition, e.g. `steps.check.branches[0].next`. */
  path: string;
}

/** The step's outgoing references, in definition order (unknown targets included). */
export function edgesOf(id: string, step: JourneyStep): StepEdge[] {
  const at = (suffix: string, to: string | undefined): StepEdge[] => (to === undefined ? [] : [{ from: id, to, path: `steps.${id}.${suffix}` }]);
  switch (step.type) {
    case 'send':
    case 'wait':
    case 'wait_until':
    case 'update':
      return at('next', step.next);
    case 'wait_for_event':
      return [...at('onEvent', step.onEvent), ...at('onTimeout', step.onTimeout)];
    case 'split':
      return [...step.branches.flatMap((b, i) => at(`branches[${i}].next`, b.next)), ...at('otherwise', step.otherwise)];
    case 'random_split':
      return step.branches.flatMap((b, i) => at(`branches[${i}].next`, b.next));
    case 'exit':
      return [];
  }
}

/** Percent weights may be written with decimals (33.3, 33.3, 33.4): compare with a tolerance. */
const WEIGHT_TOLERANCE = 1e-9;

/** The graph issues of a definition, in a stable order (empty when it is sound). */
export function validateJourneyGraph(def: Pick<JourneyDefinition, 'start' | 'steps'>): ValidationIssue[] {
  const steps = def.steps;
  const ids = Object.keys(steps);
  const issues: ValidationIssue[] = [];
  const exists = (id: string) => Object.hasOwn(steps, id);

  if (!exists(def.start)) issues.push({ path: 'start', message: `names step "${def.start}", which does not exist` });

  // Known edges only: a dangling reference is reported once, here, and then ignored by the walks below.
  const out = new Map<string, StepEdge[]>();
  for (const id of ids) {
    const known: StepEdge[] = [];
    for (const edge of edgesOf(id, steps[id]!)) {
      if (exists(edge.to)) known.push(edge);
      else issues.push({ path: edge.path, message: `names step "${edge.to}", which does not exist` });
    }
    out.set(id, known);
  }

  for (const id of ids) {
    const step = steps[id]!;
    if (step.type === 'wait_for_event') {
      if (!step.timeout) issues.push({ path: `steps.${id}.timeout`, message: 'is required: a wait for an event needs a timeout, or contacts whose event never comes wait for ever' });
      if (!step.onTimeout) issues.push({ path: `steps.${id}.onTimeout`, message: 'is required: name the step taken when the timeout runs out (an "exit" step to leave)' });
    }
    if (step.type === 'random_split') {
      const total = step.branches.reduce((sum, b) => sum + b.weight, 0);
      if (Math.abs(total - 100) > WEIGHT_TOLERANCE) issues.push({ path: `steps.${id}.branches`, message: `weights sum to ${round(total)}, not 100` });
    }
  }

  const reachable = exists(def.start) ? reachableFrom([def.start], (id) => out.get(id)!.map((e) => e.to)) : new Set<string>();
  if (exists(def.start)) {
    for (const id of ids) if (!reachable.has(id)) issues.push({ path: `steps.${id}`, message: `is not reachable from the start step "${def.start}"` });
  }

  issues.push(...loopsWithoutWait(steps, out));

  // Steps from which an end can be reached: walk back from the steps with no outgoing edge.
  const into = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const edges of out.values()) for (const e of edges) into.get(e.to)!.push(e.from);
  const ending = reachableFrom(
    ids.filter((id) => out.get(id)!.length === 0),
    (id) => into.get(id)!,
  );
  for (const id of ids) {
    if (reachable.has(id) && !ending.has(id)) issues.push({ path: `steps.${id}`, message: 'no path from this step ends: contacts who reach it would stay in the journey for ever (add a branch that leads to an exit)' });
  }

  issues.push(...responseReferenceIssues(def.start, steps, reachable, into));
  return issues;
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

function reachableFrom(roots: string[], next: (id: string) => string[]): Set<string> {
  const seen = new Set<string>(roots);
  const stack = [...roots];
  while (stack.length) {
    for (const to of next(stack.pop()!)) {
      if (!seen.has(to)) {
        seen.add(to);
        stack.push(to);
      }
    }
  }
  return seen;
}

/**
 * Loops among steps that are not waits, one issue per edge that closes one (depth-first back
 * edge), with the loop spelled out.
 */
function loopsWithoutWait(steps: Steps, out: Map<string, StepEdge[]>): ValidationIssue[] {
  const isWait = (id: string) => WAIT_STEP_TYPES.has(steps[id]!.type);
  const issues: ValidationIssue[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const trail: string[] = [];
  const visit = (id: string): void => {
    state.set(id, 'open');
    trail.push(id);
    for (const edge of out.get(id)!) {
      if (isWait(edge.to)) continue;
      const seen = state.get(edge.to);
      if (seen === 'open') {
        const loop = [...trail.slice(trail.indexOf(edge.to)), edge.to].join(' → ');
        issues.push({ path: edge.path, message: `closes a loop with no wait in it (${loop}): contacts would go round it at once, without end` });
      } else if (seen === undefined) {
        visit(edge.to);
      }
    }
    trail.pop();
    state.set(id, 'done');
  };
  for (const id of Object.keys(steps)) if (!isWait(id) && !state.has(id)) visit(id);
  return issues;
}

/**
 * For each reachable step, the steps every path from start to it passes through (itself
 * included): the classic iterative data-flow; journeys have at most a hundred steps.
 */
function dominators(start: string, reachable: Set<string>, into: Map<string, string[]>, order: string[]): Map<string, Set<string>> {
  const dom = new Map<string, Set<string>>();
  for (const id of order) dom.set(id, id === start ? new Set([start]) : new Set(reachable));
  let changed = true;
  while (changed) {
    changed = false;
    for (const id of order) {
      if (id === start) continue;
      let meet: Set<string> | undefined;
      for (const p of into.get(id)!) {
        if (!reachable.has(p)) continue;
        const d = dom.get(p)!;
        meet = meet === undefined ? new Set(d) : new Set([...meet].filter((x) => d.has(x)));
      }
      const next = new Set(meet ?? []);
      next.add(id);
      if (next.size !== dom.get(id)!.size) {
        dom.set(id, next);
        changed = true;
      }
    }
  }
  return dom;
}

const RESPONSE_CHANNEL: Partial<Record<ResponseType, 'email' | 'sms'>> = { opened: 'email', replied: 'sms' };

function responseReferenceIssues(start: string, steps: Steps, reachable: Set<string>, into: Map<string, string[]>): ValidationIssue[] {
  // Definition order restricted to reachable steps; unreachable ones are reported already.
  const order = Object.keys(steps).filter((id) => reachable.has(id));
  if (order.length === 0) return [];
  const dom = dominators(start, reachable, into, order);
  const issues: ValidationIssue[] = [];
  const check = (at: string, ref: { step: string; type: ResponseType }, path: string): void => {
    const target = Object.hasOwn(steps, ref.step) ? steps[ref.step] : undefined;
    if (!target) {
      issues.push({ path: `${path}.step`, message: `names step "${ref.step}", which does not exist` });
    } else if (target.type !== 'send') {
      issues.push({ path: `${path}.step`, message: `names step "${ref.step}", which is a ${target.type} step, not a send step` });
    } else if (ref.step === at || !dom.get(at)!.has(ref.step)) {
      issues.push({ path: `${path}.step`, message: `names send step "${ref.step}", which not every path to "${at}" passes through first: a contact could get here without that message` });
    } else {
      const needs = RESPONSE_CHANNEL[ref.type];
      if (needs && !sendsBy(target, needs)) issues.push({ path: `${path}.type`, message: `"${ref.type}" needs ${needs === 'email' ? 'an email' : 'an SMS'}, and step "${ref.step}" does not send by ${needs}` });
    }
  };
  for (const id of order) {
    const step = steps[id]!;
    if (step.type === 'split') {
      step.branches.forEach((branch, i) => {
        if (branch.when.response) check(id, branch.when.response, `steps.${id}.branches[${i}].when.response`);
      });
    }
    if (step.type === 'wait_for_event' && step.trigger.event === 'response') check(id, step.trigger, `steps.${id}.trigger`);
  }
  return issues;
}

function sendsBy(step: StepOfType<'send'>, channel: 'email' | 'sms'): boolean {
  return step.channels === 'best' ? step.templates[channel] !== undefined : step.channels.includes(channel);
}
