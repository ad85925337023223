import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { JourneyDefinition, parseJourneyDefinition, type JourneyDefinitionInput } from '../../shared/journeys/definition.ts';
import { validateJourneyGraph } from '../../shared/journeys/graph.ts';

const EMAIL_TEMPLATE = '0b9d6a43-6c38-4a53-9d5f-0a4c2f1e8a01';
const SMS_TEMPLATE = '5f2c1e9a-3b7d-4e2a-8c61-7d9e0b4a2f02';

type StepsInput = JourneyDefinitionInput['steps'];

/** The welcome series of issue 14: form → email → wait 2 days → if the email was not clicked, SMS; a purchase is the goal. A fresh object per call. */
function welcomeSeries(): JourneyDefinitionInput & { steps: StepsInput } {
  return {
    name: 'Welcome series',
    entry: { type: 'event', trigger: { event: 'lead.captured', formId: 'newsletter' } },
    start: 'welcome',
    steps: {
      welcome: { type: 'send', channels: ['email'], templates: { email: EMAIL_TEMPLATE }, next: 'pause' },
      pause: { type: 'wait', duration: { amount: 2, unit: 'days' }, next: 'clicked' },
      clicked: {
        type: 'split',
        branches: [{ name: 'clicked', when: { response: { step: 'welcome', type: 'clicked' } }, next: 'done' }],
        otherwise: 'nudge',
      },
      nudge: { type: 'send', channels: ['sms'], templates: { sms: SMS_TEMPLATE } },
      done: { type: 'exit' },
    },
    goal: { event: 'purchase' },
  };
}

/** Parses the fields (they must be sound) and returns only the graph issues. */
function graphIssues(input: unknown) {
  return validateJourneyGraph(JourneyDefinition.parse(input));
}

const paths = (issues: { path: string }[]) => issues.map((i) => i.path);

describe('journey definition: the welcome series', () => {
  test('validates, with the campaign defaults filled in', () => {
    // Act
    const result = parseJourneyDefinition(welcomeSeries());

    // Assess
    expect(result).toMatchObject({ ok: true });
    if (!result.ok) return;
    expect(result.definition.holdoutPercent).toBe(10);
    expect(result.definition.entryRules.reentry).toBe('never');
    expect(result.definition.goal).toEqual({ event: 'purchase', attributionWindowDays: 7, model: 'last_touch' });
    expect(result.definition.exitOnUnsubscribe).toBe('any_channel');
    expect(result.definition.limits).toEqual({ quietHours: {}, sendRatePerSecond: {}, timezone: 'UTC' });
  });

  test('the SMS step may end the path without an exit step: a step with no next is an implicit exit', () => {
    const journey = welcomeSeries();
    expect(journey.steps['nudge']).not.toHaveProperty('next');
    expect(graphIssues(journey)).toEqual([]);
  });

  test('every entry kind and step kind parses', () => {
    // Prepare
    const journey = welcomeSeries();
    journey.entry = { type: 'segment_audience', segmentId: '2e1c9a7b-5d3f-4b8e-9a61-0c7d2e4f6a03', schedule: { type: 'recurring', cron: 'cron(0 9 ? * MON *)', timezone: 'Europe/Berlin' } };
    journey.entryRules = { reentry: { afterDays: 30 }, maxEntriesPerContact: 3, startAt: '2026-12-01T00:00:00Z', endAt: '2027-03-01T00:00:00Z' };
    journey.steps['nudge'] = { type: 'send', channels: 'best', templates: { email: EMAIL_TEMPLATE, sms: SMS_TEMPLATE }, next: 'morning' };
    journey.steps['morning'] = { type: 'wait_until', time: '09:00', weekdays: ['mon', 'tue'], next: 'cart' };
    journey.steps['cart'] = {
      type: 'wait_for_event',
      trigger: { event: 'custom', name: 'added_to_cart' },
      timeout: { amount: 3, unit: 'days' },
      onEvent: 'ab',
      onTimeout: 'tag',
    };
    journey.steps['ab'] = { type: 'random_split', branches: [{ name: 'a', weight: 50, next: 'pro' }, { name: 'b', weight: 50, next: 'done' }] };
    journey.steps['pro'] = { type: 'split', branches: [{ name: 'pro', when: { rule: { and: [{ field: 'attributes.plan', op: 'eq', value: 'pro' }, { score: 'engagement', op: 'gte', value: 0.5 }] } }, next: 'tag' }], otherwise: 'done' };
    journey.steps['tag'] = { type: 'update', set: { attributes: { nurtured: true, stage: null }, addTags: ['welcomed'] } };

    // Act
    const result = parseJourneyDefinition(journey);

    // Assess
    expect(result).toMatchObject({ ok: true });
  });
});

describe('journey definition: refusals name the step', () => {
  test('a reference to a step that does not exist', () => {
    const journey = welcomeSeries();
    journey.steps['welcome'] = { type: 'send', channels: ['email'], templates: { email: EMAIL_TEMPLATE }, next: 'pasue' };
    const issues = graphIssues(journey);
    expect(issues).toContainEqual({ path: 'steps.welcome.next', message: 'names step "pasue", which does not exist' });
  });

  test('a start step that does not exist', () => {
    const journey = { ...welcomeSeries(), start: 'hello' };
    expect(paths(graphIssues(journey))).toContain('start');
  });

  test('a branch pointing nowhere is named by its index', () => {
    const journey = welcomeSeries();
    journey.steps['clicked'] = { type: 'split', branches: [{ name: 'clicked', when: { response: { step: 'welcome', type: 'clicked' } }, next: 'thanks' }], otherwise: 'nudge' };
    expect(paths(graphIssues(journey))).toContain('steps.clicked.branches[0].next');
  });

  test('an unreachable step', () => {
    const journey = welcomeSeries();
    journey.steps['orphan'] = { type: 'send', channels: ['email'], templates: { email: EMAIL_TEMPLATE }, next: 'done' };
    expect(graphIssues(journey)).toEqual([{ path: 'steps.orphan', message: 'is not reachable from the start step "welcome"' }]);
  });

  test('a loop with no wait in it is refused at the edge that closes it; the same loop through a wait is accepted', () => {
    // Prepare: the SMS goes back to the split at once (clicked → nudge → clicked).
    const tight = welcomeSeries();
    tight.steps['nudge'] = { type: 'send', channels: ['sms'], templates: { sms: SMS_TEMPLATE }, next: 'clicked' };
    const paced = welcomeSeries();
    paced.steps['nudge'] = { type: 'send', channels: ['sms'], templates: { sms: SMS_TEMPLATE }, next: 'pause' };

    // Act
    const refused = graphIssues(tight);
    const accepted = graphIssues(paced);

    // Assess
    expect(refused).toHaveLength(1);
    expect(refused[0]!.path).toBe('steps.nudge.next');
    expect(refused[0]!.message).toContain('clicked → nudge → clicked');
    expect(accepted).toEqual([]);
  });

  test('a step that loops back to itself', () => {
    const journey = welcomeSeries();
    journey.steps['done'] = { type: 'update', set: { addTags: ['x'] }, next: 'done' };
    expect(paths(graphIssues(journey))).toEqual(['steps.done.next', 'steps.done']);
  });

  test('paths that never end: a paced loop with no way out', () => {
    // Prepare: after the SMS, back to the wait, and the split only ever leads round again.
    const journey = welcomeSeries();
    journey.steps['nudge'] = { type: 'send', channels: ['sms'], templates: { sms: SMS_TEMPLATE }, next: 'pause' };
    journey.steps['clicked'] = { type: 'split', branches: [{ name: 'clicked', when: { response: { step: 'welcome', type: 'clicked' } }, next: 'pause' }], otherwise: 'nudge' };
    delete journey.steps['done'];

    // Act
    const issues = graphIssues(journey);

    // Assess: every reachable step is named (none of them can get out), and nothing else is wrong.
    expect(paths(issues).sort()).toEqual(['steps.clicked', 'steps.nudge', 'steps.pause', 'steps.welcome']);
    expect(issues.every((i) => i.message.startsWith('no path from this step ends'))).toBe(true);
  });

  test('random split weights that do not sum to 100; decimals that do are accepted', () => {
    const journey = welcomeSeries();
    journey.steps['welcome'] = { type: 'random_split', branches: [{ name: 'a', weight: 50, next: 'pause' }, { name: 'b', weight: 30, next: 'done' }] };
    journey.steps['pause'] = { type: 'wait', duration: { amount: 2, unit: 'days' }, next: 'nudge' };
    delete journey.steps['clicked'];
    expect(graphIssues(journey)).toEqual([{ path: 'steps.welcome.branches', message: 'weights sum to 80, not 100' }]);

    journey.steps['welcome'] = {
      type: 'random_split',
      branches: [{ name: 'a', weight: 33.3, next: 'pause' }, { name: 'b', weight: 33.3, next: 'done' }, { name: 'c', weight: 33.4, next: 'done' }],
    };
    expect(graphIssues(journey)).toEqual([]);
  });

  test('a response condition on a step that is not a send step', () => {
    const journey = welcomeSeries();
    journey.steps['clicked'] = { type: 'split', branches: [{ name: 'clicked', when: { response: { step: 'pause', type: 'clicked' } }, next: 'done' }], otherwise: 'nudge' };
    expect(graphIssues(journey)).toEqual([{ path: 'steps.clicked.branches[0].when.response.step', message: 'names step "pause", which is a wait step, not a send step' }]);
  });

  test('a response condition on a send that comes later, or only on some paths', () => {
    // A later send: the split asks about the SMS before it is sent.
    const later = welcomeSeries();
    later.steps['clicked'] = { type: 'split', branches: [{ name: 'clicked', when: { response: { step: 'nudge', type: 'clicked' } }, next: 'done' }], otherwise: 'nudge' };
    expect(paths(graphIssues(later))).toEqual(['steps.clicked.branches[0].when.response.step']);

    // An A/B test of two emails that join at the wait: neither email is on every path to the split.
    const ab = welcomeSeries();
    ab.start = 'ab';
    ab.steps['ab'] = { type: 'random_split', branches: [{ name: 'a', weight: 50, next: 'welcome' }, { name: 'b', weight: 50, next: 'welcome_b' }] };
    ab.steps['welcome_b'] = { type: 'send', channels: ['email'], templates: { email: EMAIL_TEMPLATE }, next: 'pause' };
    const issues = graphIssues(ab);
    expect(paths(issues)).toEqual(['steps.clicked.branches[0].when.response.step']);
    expect(issues[0]!.message).toContain('not every path to "clicked" passes through');

    // Asking about the step that was on the way in, once the paths have joined, is fine.
    ab.steps['clicked'] = { type: 'split', branches: [{ name: 'clicked', when: { response: { step: 'welcome', type: 'clicked' } }, next: 'done' }], otherwise: 'nudge' };
    ab.start = 'welcome';
    delete ab.steps['ab'];
    delete ab.steps['welcome_b'];
    expect(graphIssues(ab)).toEqual([]);
  });

  test('a response the channel cannot give', () => {
    const journey = welcomeSeries();
    journey.steps['clicked'] = { type: 'split', branches: [{ name: 'replied', when: { response: { step: 'welcome', type: 'replied' } }, next: 'done' }], otherwise: 'nudge' };
    expect(graphIssues(journey)).toEqual([{ path: 'steps.clicked.branches[0].when.response.type', message: '"replied" needs an SMS, and step "welcome" does not send by sms' }]);
  });

  test('a wait for an event without a timeout, or without the branch the timeout takes', () => {
    // Prepare: wait for the welcome email's click instead of a fixed two days.
    const journey = welcomeSeries();
    journey.steps['pause'] = { type: 'wait_for_event', trigger: { event: 'response', step: 'welcome', type: 'clicked' }, onEvent: 'done' };
    delete journey.steps['clicked'];

    // Act
    const issues = graphIssues(journey);

    // Assess: both missing parts are named; nudge is unreachable (it was only the timeout's way).
    expect(paths(issues)).toEqual(['steps.pause.timeout', 'steps.pause.onTimeout', 'steps.nudge']);

    journey.steps['pause'] = { type: 'wait_for_event', trigger: { event: 'response', step: 'welcome', type: 'clicked' }, timeout: { amount: 2, unit: 'days' }, onEvent: 'done', onTimeout: 'nudge' };
    expect(graphIssues(journey)).toEqual([]);
  });

  test('a wait for a response to a send that is not on the way in', () => {
    const journey = welcomeSeries();
    journey.steps['pause'] = { type: 'wait_for_event', trigger: { event: 'response', step: 'nudge', type: 'clicked' }, timeout: { amount: 2, unit: 'days' }, onEvent: 'done', onTimeout: 'nudge' };
    delete journey.steps['clicked'];
    expect(paths(graphIssues(journey))).toEqual(['steps.pause.trigger.step']);
  });
});

describe('journey definition: field checks', () => {
  test('an unknown field, a template for a channel the step does not use, contradictory entry rules', () => {
    // Prepare
    const journey = welcomeSeries();
    journey.steps['nudge'] = { type: 'send', channels: ['sms'], templates: { email: EMAIL_TEMPLATE } };
    (journey.steps['done'] as Record<string, unknown>)['next'] = 'welcome';
    journey.entryRules = { reentry: 'never', maxEntriesPerContact: 2 };

    // Act
    const result = parseJourneyDefinition(journey);

    // Assess: zod issues, with the same path style; the graph is not looked at until the fields are sound.
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(paths(result.issues).sort()).toEqual(['entryRules.maxEntriesPerContact', 'steps.done.next', 'steps.nudge.templates', 'steps.nudge.templates.email']);
  });

  test('a bad segment rule in a split is reported inside the branch', () => {
    const journey = welcomeSeries();
    journey.steps['clicked'] = { type: 'split', branches: [{ name: 'pro', when: { rule: { field: 'attributes.plan', op: 'gt', value: 'pro' } }, next: 'done' }], otherwise: 'nudge' } as StepsInput[string];
    const result = parseJourneyDefinition(journey);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.length).toBeGreaterThan(0);
    for (const issue of result.issues) expect(issue.path.startsWith('steps.clicked.branches[0].when')).toBe(true);
  });

  test('holdout is on by default and may be turned off, not above 50 %', () => {
    expect(JourneyDefinition.parse({ ...welcomeSeries(), holdoutPercent: 0 }).holdoutPercent).toBe(0);
    expect(JourneyDefinition.safeParse({ ...welcomeSeries(), holdoutPercent: 60 }).success).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties: random DAGs whose every path ends validate; a back edge with no wait is refused.

/**
 * A random DAG over s0…s(n-1), rooted at s0: each step hangs under one of the five before it (so
 * every step is reachable and fan-out stays within a split's ten branches), plus extra forward
 * edges. Steps with no children end the path (an exit, or a step without next); the rest get a
 * step type that fits their number of children.
 */
interface Dag {
  n: number;
  children: string[][];
  /** The parent each step hangs under (undefined for s0). */
  parent: (number | undefined)[];
  kinds: number[];
}

const dagArb: fc.Arbitrary<Dag> = fc.integer({ min: 1, max: 30 }).chain((n) =>
  fc
    .record({
      parentPick: fc.array(fc.nat(4), { minLength: n, maxLength: n }),
      extra: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: n }),
      kinds: fc.array(fc.nat(3), { minLength: n, maxLength: n }),
    })
    .map(({ parentPick, extra, kinds }) => {
      const children: string[][] = Array.from({ length: n }, () => []);
      const parent: (number | undefined)[] = [undefined];
      for (let i = 1; i < n; i++) {
        const p = i - 1 - (parentPick[i]! % Math.min(i, 5));
        parent.push(p);
        children[p]!.push(`s${i}`);
      }
      for (const [a, b] of extra) {
        const [from, to] = [Math.min(a, b), Math.max(a, b)];
        if (from !== to && children[from]!.length < 10 && !children[from]!.includes(`s${to}`)) children[from]!.push(`s${to}`);
      }
      return { n, children, parent, kinds };
    }),
);

const ruleWhen = { rule: { field: 'attributes.plan', op: 'eq', value: 'pro' } };
type Step = StepsInput[string];
const sendStep = (next?: string): Step => ({ type: 'send', channels: ['email'], templates: { email: EMAIL_TEMPLATE }, ...(next === undefined ? {} : { next }) });
const randomSplitOver = (next: string[]): Step => {
  const share = Math.floor(100 / next.length);
  return { type: 'random_split', branches: next.map((to, b) => ({ name: `v${b}`, weight: b === 0 ? 100 - share * (next.length - 1) : share, next: to })) };
};

function stepFor(dag: Dag, i: number): Step {
  const next = dag.children[i]!;
  const kind = dag.kinds[i]!;
  // s0 is a send in half the graphs: later splits may then ask about its response (it is on every path).
  const respondsToStart = dag.kinds[0]! % 2 === 0 && dag.n > 1;
  if (i === 0 && respondsToStart) return sendStep(next[0]);
  if (next.length === 0) {
    const ends: Step[] = [{ type: 'exit' }, sendStep(), { type: 'update', set: { addTags: ['seen'] } }, { type: 'wait', duration: { amount: 1, unit: 'hours' } }];
    return ends[kind]!;
  }
  if (next.length === 1) {
    const to = next[0]!;
    const one: Step[] = [sendStep(to), { type: 'update', set: { attributes: { step: i } }, next: to }, { type: 'wait', duration: { amount: 1 + kind, unit: 'days' }, next: to }, { type: 'wait_until', time: '09:00', next: to }];
    return one[kind]!;
  }
  if (next.length === 2 && kind === 2) return { type: 'wait_for_event', trigger: { event: 'conversion', name: 'purchase' }, timeout: { amount: 2, unit: 'days' }, onEvent: next[0]!, onTimeout: next[1]! };
  if (kind % 2 === 1) return randomSplitOver(next);
  const when = respondsToStart ? { response: { step: 's0', type: 'clicked' as const, responded: kind === 0 } } : ruleWhen;
  return { type: 'split', branches: next.slice(0, -1).map((to, b) => ({ name: `b${b}`, when, next: to })), otherwise: next.at(-1)! };
}

function journeyOf(dag: Dag): JourneyDefinitionInput & { steps: StepsInput } {
  const steps: StepsInput = {};
  for (let i = 0; i < dag.n; i++) steps[`s${i}`] = stepFor(dag, i);
  const first = steps['s0']!;
  if (first.type === 'send' && dag.children[0]!.length > 1) {
    // Route s0's other children through a random split right after it, so none is unreachable.
    steps['s0'] = { ...first, next: 'fanout' };
    steps['fanout'] = randomSplitOver(dag.children[0]!);
  }
  return { name: 'Generated', entry: { type: 'segment_entry', segmentId: '2e1c9a7b-5d3f-4b8e-9a61-0c7d2e4f6a03' }, start: 's0', steps };
}

const WAIT_TYPES = new Set(['wait', 'wait_until', 'wait_for_event']);

/**
 * Adds an edge from step u back to an ancestor v (or u itself) along tree edges that pass no
 * wait — or, with `viaWait`, through a new wait step — by making u a split over its old children
 * plus v.
 */
function withBackEdge(journey: JourneyDefinitionInput & { steps: StepsInput }, dag: Dag, pick: number, depth: number, viaWait: boolean): { u: string; v: string } | undefined {
  const isWait = (i: number) => WAIT_TYPES.has(journey.steps[`s${i}`]!.type);
  const candidates = Array.from({ length: dag.n }, (_, i) => i).filter((i) => i > 0 && !isWait(i));
  if (candidates.length === 0) return undefined;
  const u = candidates[pick % candidates.length]!;
  const chain = [u];
  for (let p = dag.parent[u]; p !== undefined && p > 0 && !isWait(p); p = dag.parent[p]) chain.push(p);
  const v = chain[depth % chain.length]!;
  const target = viaWait ? 'x_wait' : `s${v}`;
  if (viaWait) journey.steps['x_wait'] = { type: 'wait', duration: { amount: 1, unit: 'days' }, next: `s${v}` };
  const targets = [...dag.children[u]!, target];
  journey.steps[`s${u}`] = { type: 'split', branches: targets.slice(0, 10).map((to, b) => ({ name: `b${b}`, when: ruleWhen, next: to })), otherwise: targets[10] ?? 'x_end' };
  if (targets.length <= 10) journey.steps['x_end'] = { type: 'exit' };
  return { u: `s${u}`, v: `s${v}` };
}

describe('journey graph: properties', () => {
  test('random DAGs whose every path ends validate', () => {
    const seen = new Set<string>();
    let respondedSplits = 0;
    fc.assert(
      fc.property(dagArb, (dag) => {
        const journey = journeyOf(dag);
        for (const step of Object.values(journey.steps)) {
          seen.add(step.type);
          if (step.type === 'split' && step.branches.some((b) => b.when.response)) respondedSplits++;
        }
        const result = parseJourneyDefinition(journey);
        expect(result.ok ? [] : result.issues).toEqual([]);
      }),
      { numRuns: 300 },
    );
    // Not vacuous: the graphs held every kind of step, and splits on a response to the first send.
    expect([...seen].sort()).toEqual(['exit', 'random_split', 'send', 'split', 'update', 'wait', 'wait_for_event', 'wait_until']);
    expect(respondedSplits).toBeGreaterThan(0);
  });

  test('adding a back edge with no wait on it is refused, every issue naming that edge; the same edge through a wait is accepted', () => {
    let tried = 0;
    fc.assert(
      fc.property(dagArb, fc.nat(), fc.nat(), (dag, pick, depth) => {
        // Prepare
        const tight = journeyOf(dag);
        const paced = journeyOf(dag);
        const added = withBackEdge(tight, dag, pick, depth, false);
        fc.pre(added !== undefined);
        withBackEdge(paced, dag, pick, depth, true);
        tried++;

        // Act
        const refused = graphIssues(tight);
        const accepted = graphIssues(paced);

        // Assess
        expect(refused.length).toBeGreaterThan(0);
        expect(refused.every((i) => i.message.startsWith('closes a loop with no wait in it'))).toBe(true);
        // Every such loop uses the new edge, wherever the walk found it closing.
        expect(refused.every((i) => i.message.includes(`${added!.u} → ${added!.v}`))).toBe(true);
        expect(accepted).toEqual([]);
      }),
      { numRuns: 300 },
    );
    expect(tried).toBeGreaterThan(150);
  });
});
