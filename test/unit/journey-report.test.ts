import { describe, expect, test } from 'vitest';
import { parseJourneyDefinition, type JourneyDefinition, type JourneyDefinitionInput } from '../../shared/journeys/definition.ts';
import { buildJourneyReport, stepLabel, type JourneyReport, type JourneyReportInput, type JourneyStats } from '../../shared/journeys/report.ts';
import { FLOW_BOX, layoutFlow, renderJourneyReportHtml, type FlowLayout } from '../../shared/journeys/report-html.ts';
import { expectedLift } from '../helpers/expected-lift.ts';

const EMAIL_TEMPLATE = '0b9d6a43-6c38-4a53-9d5f-0a4c2f1e8a01';
const SMS_TEMPLATE = '5f2c1e9a-3b7d-4e2a-8c61-7d9e0b4a2f02';
const JOURNEY_ID = '7c1e4b2a-9d3f-4e8a-b561-2f0d9c7e4a10';

/** Parses a definition the way the API will; a test that builds an invalid one fails here, naming the issues. */
function definitionOf(input: JourneyDefinitionInput): JourneyDefinition {
  const parsed = parseJourneyDefinition(input);
  if (!parsed.ok) throw new Error(`invalid test definition: ${JSON.stringify(parsed.issues)}`);
  return parsed.definition;
}

/** The welcome series of issue 14: form → email → wait 2 days → not clicked? SMS → exit; otherwise exit. A fresh object per call. */
function welcomeSeries(): JourneyDefinitionInput {
  return {
    name: 'Welcome series',
    entry: { type: 'event', trigger: { event: 'lead.captured' } },
    start: 'welcome',
    steps: {
      welcome: { type: 'send', channels: ['email'], templates: { email: EMAIL_TEMPLATE }, next: 'pause' },
      pause: { type: 'wait', duration: { amount: 2, unit: 'days' }, next: 'check' },
      check: {
        type: 'split',
        branches: [{ name: 'not clicked', when: { response: { step: 'welcome', type: 'clicked', responded: false } }, next: 'nudge' }],
        otherwise: 'done',
      },
      nudge: { type: 'send', channels: ['sms'], templates: { sms: SMS_TEMPLATE }, next: 'done' },
      done: { type: 'exit' },
    },
    goal: { event: 'purchase' },
  };
}

/** Counters of a welcome series that 1,000 contacts entered (100 held out). */
function welcomeStats(): JourneyStats {
  return {
    entries: 1000,
    holdout: 100,
    steps: {
      welcome: { entered: 900, left: 900, exits: { contact_missing: 10 } },
      pause: { entered: 890, left: 700, exits: { unsubscribed: 5, goal: 40 } },
      check: { entered: 655, left: 655, exits: {} },
      nudge: { entered: 500, left: 480, exits: {} },
      done: { entered: 635, left: 635, exits: { completed: 635 } },
    },
    exits: { unsubscribed: 5, completed: 635, goal: 40, contact_missing: 10 },
  };
}

function welcomeInput(overrides: Partial<JourneyReportInput> = {}): JourneyReportInput {
  return {
    journey: { id: JOURNEY_ID, name: 'Welcome series', status: 'running', version: 3, definition: definitionOf(welcomeSeries()) },
    stats: welcomeStats(),
    sends: {
      welcome: { sent: 880, skipped: 10, failed: 2, queued: 8, responses: { clicked: 155, delivered: 860, opened: 400 } },
      nudge: { sent: 470, skipped: 5, failed: 0, queued: 5, responses: { replied: 3, delivered: 465, clicked: 40 } },
    },
    goal: {
      // Every treatment converter spent 100, every holdout converter 80.
      treatment: { members: 900, converters: 81, revenue: 8100, revenueSquares: 81 * 100 * 100 },
      holdout: { members: 100, converters: 5, revenue: 400, revenueSquares: 5 * 80 * 80 },
    },
    measuredAt: '2026-12-06T03:00:00Z',
    computedAt: '2026-12-06T09:00:00Z',
    ...overrides,
  };
}

const stepOf = (report: JourneyReport, id: string) => {
  const step = report.steps.find((s) => s.id === id);
  if (!step) throw new Error(`no step ${id}`);
  return step;
};

/** Every path in a JSON value whose value is null, and every number that is not finite. */
function nullsAndNonFinite(value: unknown, path = ''): { nulls: string[]; nonFinite: string[] } {
  const found = { nulls: [] as string[], nonFinite: [] as string[] };
  const walk = (v: unknown, p: string): void => {
    if (v === null) found.nulls.push(p);
    else if (typeof v === 'number' && !Number.isFinite(v)) found.nonFinite.push(p);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${p}[${i}]`));
    else if (typeof v === 'object') for (const [k, x] of Object.entries(v as object)) walk(x, p ? `${p}.${k}` : k);
  };
  walk(value, path);
  return found;
}

describe('journey report: the welcome series', () => {
  test('totals: treatment, exits by reason (known reasons first) and the entries still in flight', () => {
    // Act
    const report = buildJourneyReport(welcomeInput());

    // Assess
    expect(report.journey).toEqual({ id: JOURNEY_ID, name: 'Welcome series', status: 'running', version: 3 });
    expect(report.totals).toEqual({ entries: 1000, holdout: 100, treatment: 900, exited: 690, inFlight: 210, exits: { completed: 635, goal: 40, unsubscribed: 5, contact_missing: 10 } });
    expect(Object.keys(report.totals.exits)).toEqual(['completed', 'goal', 'unsubscribed', 'contact_missing']);
    expect(report.computedAt).toBe('2026-12-06T09:00:00Z');
  });

  test('steps breadth first from start, with labels, counts, waiting only at waits, and edges', () => {
    // Act
    const report = buildJourneyReport(welcomeInput());

    // Assess
    expect(report.steps.map((s) => [s.id, s.type, s.label])).toEqual([
      ['welcome', 'send', 'Send email'],
      ['pause', 'wait', 'Wait 2 days'],
      ['check', 'split', 'Split: not clicked, otherwise'],
      ['nudge', 'send', 'Send sms'],
      ['done', 'exit', 'Exit'],
    ]);
    expect(stepOf(report, 'pause')).toMatchObject({ entered: 890, left: 700, waiting: 190, exits: { goal: 40, unsubscribed: 5 }, exited: 45, send: null });
    expect(Object.keys(stepOf(report, 'pause').exits)).toEqual(['goal', 'unsubscribed']);
    // A send step whose entered and left differ is not "waiting": only waits hold contacts.
    expect(stepOf(report, 'nudge')).toMatchObject({ entered: 500, left: 480, waiting: 0 });
    expect(stepOf(report, 'done')).toMatchObject({ entered: 635, waiting: 0, exits: { completed: 635 }, exited: 635, edges: [] });
    expect(stepOf(report, 'check').edges).toEqual([
      { to: 'nudge', label: 'not clicked', kind: 'branch' },
      { to: 'done', label: 'otherwise', kind: 'otherwise' },
    ]);
    expect(stepOf(report, 'welcome').edges).toEqual([{ to: 'pause', label: 'next', kind: 'next' }]);
    expect(report.retiredSteps).toEqual([]);
  });

  test('send steps: outcomes and responses in funnel order with their rate over sent', () => {
    // Act
    const report = buildJourneyReport(welcomeInput());

    // Assess
    const welcome = stepOf(report, 'welcome').send!;
    expect(welcome).toMatchObject({ sent: 880, skipped: 10, failed: 2, queued: 8 });
    expect(Object.keys(welcome.responses)).toEqual(['delivered', 'opened', 'clicked']);
    expect(welcome.responses['clicked']!.count).toBe(155);
    expect(welcome.responses['clicked']!.rate).toBeCloseTo(155 / 880, 12);
    expect(Object.keys(stepOf(report, 'nudge').send!.responses)).toEqual(['delivered', 'clicked', 'replied']);
    expect(stepOf(report, 'nudge').send!.responses['replied']).toEqual({ count: 3, rate: 3 / 470 });
  });

  test('goal: the definition goal, both groups, and lift equal to an independent two-proportion computation', () => {
    // Act
    const report = buildJourneyReport(welcomeInput());

    // Assess
    const goal = report.goal;
    expect(goal).toMatchObject({ event: 'purchase', attributionWindowDays: 7, model: 'last_touch', holdoutPercent: 10, measured: true, measuredAt: '2026-12-06T03:00:00Z' });
    if (!goal.measured) throw new Error('expected a measured goal');
    expect(goal.treatment).toEqual({ members: 900, converters: 81, revenue: 8100 });
    expect(goal.holdout).toEqual({ members: 100, converters: 5, revenue: 400 });
    const expected = expectedLift(81, 900, 5, 100);
    const rate = goal.lift.conversionRate;
    expect(goal.lift.treatment.rate).toBeCloseTo(expected.pT, 12);
    expect(goal.lift.holdout.rate).toBeCloseTo(expected.pH, 12);
    for (const key of ['estimate', 'low', 'high'] as const) {
      expect(rate.absolute[key]).toBeCloseTo(expected.absolute[key], 9);
      expect(rate.relative![key]).toBeCloseTo(expected.relative[key], 9);
    }
    expect(rate.pValue).toBeCloseTo(expected.pValue, 9);

    // Revenue per entry: 9 against 4; Welch's interval is the estimate ± t·SE with t just above 1.96 at these sizes.
    const revenue = goal.lift.revenuePerMember;
    expect(revenue.absolute.estimate).toBeCloseTo(5, 12);
    const variance = (sum: number, squares: number, n: number) => (squares - (sum * sum) / n) / (n - 1);
    const se = Math.sqrt(variance(8100, 810_000, 900) / 900 + variance(400, 32_000, 100) / 100);
    const halfWidth = (revenue.absolute.high - revenue.absolute.low) / 2;
    expect(halfWidth / se).toBeGreaterThan(1.96);
    expect(halfWidth / se).toBeLessThan(1.99);
    expect(revenue.relative!.estimate).toBeCloseTo(9 / 4 - 1, 12);
    expect(revenue.pValue).toBeGreaterThan(0);
    expect(revenue.pValue).toBeLessThan(1);
  });

  test('a goal with a half-life keeps it in the JSON; the page says what the lift counts; counters of a step the definition no longer has are listed apart', () => {
    // Prepare
    const input = welcomeSeries();
    input.goal = { event: 'signup', attributionWindowDays: 14, model: 'time_decay', halfLifeDays: 3 };
    const stats = welcomeStats();
    stats.steps['old_reminder'] = { entered: 12, left: 12, exits: { stopped: 2 } };

    // Act
    const report = buildJourneyReport(welcomeInput({ stats, journey: { id: JOURNEY_ID, name: 'Welcome series', status: 'paused', version: 4, definition: definitionOf(input) } }));

    // Assess
    expect(report.goal).toMatchObject({ event: 'signup', attributionWindowDays: 14, model: 'time_decay', halfLifeDays: 3 });
    expect(report.steps.map((s) => s.id)).not.toContain('old_reminder');
    expect(report.retiredSteps).toEqual([{ id: 'old_reminder', entered: 12, left: 12, exits: { stopped: 2 } }]);
    const html = renderJourneyReportHtml(report);
    expect(html).toContain('<tr><td>old_reminder</td><td>12</td><td>12</td><td>stopped 2</td></tr>');
    expect(dataSteps(html)).not.toContain('old_reminder'); // not drawn: it is not in this version's flow
    // The page states what the lift counts (any goal conversion within the window after entering): the goal's attribution model does not apply to it.
    expect(html).toContain('a conversion within 14 days of entering counts');
    expect(html).not.toContain('time decay attribution');
  });
});

/** A journey with every step type (and every wait_until weekday pattern the labels spell). */
function everyStepType(): JourneyDefinitionInput {
  return {
    ...welcomeSeries(),
    start: 'first',
    steps: {
      first: { type: 'send', channels: 'best', templates: { email: EMAIL_TEMPLATE, sms: SMS_TEMPLATE }, next: 'morning' },
      morning: { type: 'wait_until', time: '09:00', weekdays: ['fri', 'mon', 'tue', 'wed', 'thu'], next: 'weekend' },
      weekend: { type: 'wait_until', time: '10:30', weekdays: ['sun', 'sat'], next: 'scattered' },
      scattered: { type: 'wait_until', time: '08:00', weekdays: ['mon', 'wed', 'thu', 'fri'], next: 'daily' },
      daily: { type: 'wait_until', time: '07:00', weekdays: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], next: 'buy' },
      buy: { type: 'wait_for_event', trigger: { event: 'conversion', name: 'purchase' }, timeout: { amount: 3, unit: 'days' }, onEvent: 'ab', onTimeout: 'hour' },
      hour: { type: 'wait', duration: { amount: 1, unit: 'hours' }, next: 'later' },
      later: { type: 'wait', duration: { amount: 90, unit: 'minutes' }, next: 'opened' },
      opened: { type: 'wait_for_event', trigger: { event: 'response', step: 'first', type: 'opened' }, timeout: { amount: 1, unit: 'weeks' }, onEvent: 'tag', onTimeout: 'tag' },
      ab: { type: 'random_split', branches: [{ name: 'A', weight: 50, next: 'tag' }, { name: 'B', weight: 50, next: 'tag' }] },
      tag: { type: 'update', set: { attributes: { nurtured: true, stage: null }, addTags: ['welcomed'], removeTags: ['cold'] } },
    },
  };
}

describe('journey report: step labels', () => {
  const stepsOf = () => definitionOf(everyStepType()).steps;

  test.each([
    ['first', 'Send by the best channel'],
    ['morning', 'Wait until 09:00 mon–fri'],
    ['weekend', 'Wait until 10:30 sat, sun'],
    ['scattered', 'Wait until 08:00 mon, wed–fri'],
    ['daily', 'Wait until 07:00'],
    ['buy', 'Wait for conversion purchase (timeout 3 days)'],
    ['hour', 'Wait 1 hour'],
    ['later', 'Wait 90 minutes'],
    ['opened', 'Wait for opened on first (timeout 1 week)'],
    ['ab', 'Random split: A 50 %, B 50 %'],
    ['tag', 'Update: set nurtured, stage; tag welcomed; untag cold'],
  ])('%s: %s', (id, label) => {
    expect(stepLabel(stepsOf()[id]!)).toBe(label);
  });

  test('wait_for_event edges say on event and on timeout; random split branches carry their weight', () => {
    const report = buildJourneyReport({
      journey: { id: JOURNEY_ID, name: 'labels', status: 'draft', version: 1, definition: definitionOf(everyStepType()) },
      stats: { entries: 0, holdout: 0, steps: {}, exits: {} },
      sends: {},
      computedAt: '2026-12-06T09:00:00Z',
    });
    expect(stepOf(report, 'buy').edges).toEqual([
      { to: 'ab', label: 'on event', kind: 'on_event' },
      { to: 'hour', label: 'on timeout', kind: 'on_timeout' },
    ]);
    expect(stepOf(report, 'ab').edges.map((e) => e.label)).toEqual(['A (50 %)', 'B (50 %)']);
  });
});

describe('journey report: degenerate inputs', () => {
  /** A journey nobody entered, holding out no one. */
  function emptyInput(goal?: JourneyReportInput['goal']): JourneyReportInput {
    const definition = definitionOf({ ...welcomeSeries(), holdoutPercent: 0 });
    return { journey: { id: JOURNEY_ID, name: 'Empty', status: 'running', version: 1, definition }, stats: { entries: 0, holdout: 0, steps: {}, exits: {} }, sends: {}, computedAt: '2026-12-06T09:00:00Z', ...(goal ? { goal } : {}) };
  }
  const empty = { members: 0, converters: 0, revenue: 0, revenueSquares: 0 };

  test('0 entries and holdout 0 %: measured false with a reason, zeros everywhere, and no NaN or stray null', () => {
    // Act
    const report = buildJourneyReport(emptyInput({ treatment: { ...empty }, holdout: { ...empty } }));

    // Assess
    expect(report.goal).toMatchObject({ measured: false, reason: 'no_holdout', holdoutPercent: 0 });
    if (report.goal.measured) throw new Error('expected measured: false');
    expect(report.goal.message).toMatch(/holds out no one/);
    expect(report.totals).toEqual({ entries: 0, holdout: 0, treatment: 0, exited: 0, inFlight: 0, exits: {} });
    expect(report.steps.map((s) => [s.id, s.entered, s.waiting, s.exited])).toEqual([
      ['welcome', 0, 0, 0],
      ['pause', 0, 0, 0],
      ['check', 0, 0, 0],
      ['nudge', 0, 0, 0],
      ['done', 0, 0, 0],
    ]);
    expect(stepOf(report, 'welcome').send).toEqual({ sent: 0, skipped: 0, failed: 0, queued: 0, responses: {} });
    // Through JSON, as the API serves it: NaN and Infinity would turn into null.
    const json = JSON.parse(JSON.stringify(report)) as unknown;
    const { nulls, nonFinite } = nullsAndNonFinite(json);
    expect(nonFinite).toEqual([]);
    // The only nulls are the documented ones: `send` of steps that do not send, and a measuredAt not known.
    expect(nulls.sort()).toEqual(['goal.measuredAt', 'steps[1].send', 'steps[2].send', 'steps[4].send']);
    expect(renderJourneyReportHtml(report)).not.toMatch(/NaN|Infinity|undefined/);
  });

  test('each reason for no lift: not measured yet, no entries, an empty treatment, an empty holdout', () => {
    const withHoldout = (goal?: JourneyReportInput['goal']) => {
      const input = emptyInput(goal);
      input.journey.definition = definitionOf(welcomeSeries());
      return buildJourneyReport(input).goal;
    };
    const some = { members: 40, converters: 3, revenue: 90, revenueSquares: 2700 };
    expect(withHoldout()).toMatchObject({ measured: false, reason: 'not_measured' });
    expect(withHoldout({ treatment: { ...empty }, holdout: { ...empty } })).toMatchObject({ measured: false, reason: 'no_entries' });
    expect(withHoldout({ treatment: { ...empty }, holdout: { ...some } })).toMatchObject({ measured: false, reason: 'empty_treatment', holdout: { members: 40, converters: 3, revenue: 90 } });
    expect(withHoldout({ treatment: { ...some }, holdout: { ...empty } })).toMatchObject({ measured: false, reason: 'empty_holdout', treatment: { members: 40 } });
    expect(withHoldout({ treatment: { ...some }, holdout: { ...some } })).toMatchObject({ measured: true });
  });

  test('a send step with nothing sent has a null rate, not NaN; counters out of step never go below 0', () => {
    // Prepare
    const input = welcomeInput({ sends: { welcome: { sent: 0, skipped: 4, failed: 0, queued: 0, responses: { delivered: 0 } } } });
    input.stats.steps['pause'] = { entered: 3, left: 5, exits: {} };
    input.stats.exits = { completed: 5000 };

    // Act
    const report = buildJourneyReport(input);

    // Assess
    expect(stepOf(report, 'welcome').send!.responses).toEqual({ delivered: { count: 0, rate: null } });
    expect(stepOf(report, 'pause').waiting).toBe(0);
    expect(report.totals.inFlight).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------------

const svgsOf = (html: string) => [...html.matchAll(/<svg[\s>]/g)].length;
const dataSteps = (html: string) => [...html.matchAll(/<g data-step="([^"]*)"/g)].map((m) => m[1]!);
/** The flow SVG's declared size. */
function flowSize(html: string): { width: number; height: number } {
  const m = /<svg role="img" aria-label="Flow[^"]*" width="([\d.]+)" height="([\d.]+)" viewBox="0 0 ([\d.]+) ([\d.]+)"/.exec(html);
  if (!m) throw new Error('no flow svg');
  expect([m[3], m[4]]).toEqual([m[1], m[2]]);
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** A hundred steps: a split with 10 branches and an otherwise, into 11 lanes of 9 steps; one lane loops back through a wait. */
function hundredSteps(): JourneyDefinitionInput {
  const steps: Record<string, unknown> = {};
  const lanes = 11;
  const kinds = ['send', 'wait', 'update', 'wait_until', 'send', 'wait', 'update', 'send', 'wait'];
  for (let lane = 0; lane < lanes; lane++) {
    kinds.forEach((kind, i) => {
      const id = `l${lane}_s${i}`;
      const next = i + 1 < kinds.length ? { next: `l${lane}_s${i + 1}` } : {};
      if (kind === 'send') steps[id] = { type: 'send', channels: ['email'], templates: { email: EMAIL_TEMPLATE }, ...next };
      if (kind === 'wait') steps[id] = { type: 'wait', duration: { amount: i + 1, unit: 'hours' }, ...next };
      if (kind === 'update') steps[id] = { type: 'update', set: { addTags: [`lane ${lane}`] }, ...next };
      if (kind === 'wait_until') steps[id] = { type: 'wait_until', time: '09:00', ...next };
    });
  }
  // Lane 0 loops: its last wait waits for a custom event and goes back to the lane's first step on it.
  steps['l0_s8'] = { type: 'wait_for_event', trigger: { event: 'custom', name: 'came_back' }, timeout: { amount: 2, unit: 'days' }, onEvent: 'l0_s0', onTimeout: 'l0_s7' };
  steps['l0_s7'] = { type: 'send', channels: ['email'], templates: { email: EMAIL_TEMPLATE } };
  steps['l0_s6'] = { type: 'update', set: { addTags: ['lane 0'] }, next: 'l0_s8' };
  steps['hub'] = {
    type: 'split',
    branches: Array.from({ length: 10 }, (_, b) => ({ name: `segment ${b} <b> & "q"`, when: { rule: { field: 'attributes.plan', op: 'eq', value: `plan${b}` } }, next: `l${b}_s0` })),
    otherwise: 'l10_s0',
  };
  return { name: 'A hundred steps', entry: { type: 'event', trigger: { event: 'custom', name: 'big' } }, start: 'hub', steps, goal: { event: 'purchase' } } as JourneyDefinitionInput;
}

/** A loop through a wait: remind → pause → check → (not yet) remind. */
function reminderLoop(): JourneyDefinitionInput {
  return {
    name: 'Reminders',
    entry: { type: 'event', trigger: { event: 'lead.captured' } },
    start: 'remind',
    steps: {
      remind: { type: 'send', channels: ['email'], templates: { email: EMAIL_TEMPLATE }, next: 'pause' },
      pause: { type: 'wait', duration: { amount: 1, unit: 'days' }, next: 'check' },
      check: { type: 'split', branches: [{ name: 'not yet', when: { rule: { field: 'attributes.activated', op: 'eq', value: false } }, next: 'remind' }], otherwise: 'listen' },
      listen: { type: 'wait_for_event', trigger: { event: 'custom', name: 'ping' }, timeout: { amount: 3, unit: 'days' }, onEvent: 'listen', onTimeout: 'done' },
      done: { type: 'exit' },
    },
    goal: { event: 'activated' },
  };
}

const reportOf = (definition: JourneyDefinitionInput, name = 'Journey') =>
  buildJourneyReport({ journey: { id: JOURNEY_ID, name, status: 'running', version: 1, definition: definitionOf(definition) }, stats: { entries: 0, holdout: 0, steps: {}, exits: {} }, sends: {}, computedAt: '2026-12-06T09:00:00Z' });

/** Waypoints of long edges that would run through a box of their layer (there should be none). */
function waypointsInBoxes(layout: FlowLayout): string[] {
  return [...layout.forward, ...layout.back].flatMap((e) =>
    e.via.flatMap((w) => [...layout.boxes].filter(([, b]) => b.y === w.y && w.x >= b.x && w.x <= b.x + FLOW_BOX.width).map(([id]) => `${e.from}->${e.to} through ${id}`)),
  );
}

describe('journey report page', () => {
  test('the welcome series: a box per step with its counts in a title, edges labelled, no script, the lift drawn', () => {
    // Act
    const html = renderJourneyReportHtml(buildJourneyReport(welcomeInput()));

    // Assess
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toMatch(/<\/body><\/html>$/);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\son\w+=/i); // no event handler attributes
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i); // nothing external
    expect(dataSteps(html)).toEqual(['welcome', 'pause', 'check', 'nudge', 'done']);
    const pause = /<g data-step="pause"[^>]*><title>([^<]*)<\/title>/.exec(html)?.[1];
    expect(pause).toContain('pause — Wait 2 days');
    expect(pause).toContain('entered 890 · waiting 190');
    expect(pause).toContain('exited 45: goal 40, unsubscribed 5');
    const welcome = /<g data-step="welcome"[^>]*><title>([^<]*)<\/title>/.exec(html)?.[1];
    expect(welcome).toContain('sent 880 · queued 8 · skipped 10 · failed 2');
    expect(welcome).toContain('responses: delivered 860 (97.73 %) · opened 400 (45.45 %) · clicked 155 (17.61 %)');
    // The box itself: shorter lines (no delivered, whole percentages) that fit its width.
    const welcomeBox = /<g data-step="welcome"[^>]*>[\s\S]*?<\/g>/.exec(html)![0];
    expect([...welcomeBox.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1])).toEqual([
      'welcome',
      'Send email',
      'entered 900',
      'sent 880 · queued 8',
      'skipped 10 · failed 2',
      'opened 400 (45 %) · clicked 155 (18 %)',
      'exited 10: contact_missing 10',
    ]);
    expect(html).toContain('data-edge="check-&gt;nudge"');
    expect(html).toMatch(/data-edge="check-&gt;nudge"><title>[^<]*<\/title><path[^>]*\/><text[^>]*>not clicked<\/text>/);
    expect(html).not.toContain('data-back="true"');
    expect(svgsOf(html)).toBe([...html.matchAll(/<\/svg>/g)].length);
    expect(html).toContain('data-interval="Conversion-rate lift"');
    expect(html).toContain('data-interval="Relative conversion-rate lift"');
    expect(html).toMatch(/<tr data-lift="conversion-rate"><td>Conversion rate<\/td><td>4\.00 % \(-0\.66 % to 8\.66 %\)/);
    expect(html).toMatch(/<span class="kpi" data-kpi="in-flight">In flight<b>210<\/b>/);
    // The table repeats every step's counts for screen readers.
    expect([...html.matchAll(/<tr data-step-row="([^"]+)">/g)].map((m) => m[1])).toEqual(['welcome', 'pause', 'check', 'nudge', 'done']);
    expect(html).toMatch(/<tr data-step-row="pause"><td>pause<\/td><td class="text">Wait 2 days<\/td><td>890<\/td><td>190<\/td>/);
  });

  test('layers by longest path: the exit after the SMS sits below it, not beside the split', () => {
    const layout = layoutFlow(buildJourneyReport(welcomeInput()).steps);
    expect(Object.fromEntries([...layout.boxes].map(([id, b]) => [id, b.depth]))).toEqual({ welcome: 0, pause: 1, check: 2, nudge: 3, done: 4 });
    expect(layout.back).toEqual([]);
    // The otherwise edge skips the SMS layer: it passes it beside the SMS box, not through it.
    const otherwise = layout.forward.find((e) => e.from === 'check' && e.to === 'done')!;
    expect(otherwise.via).toHaveLength(1);
    expect(otherwise.via[0]!.y).toBe(layout.boxes.get('nudge')!.y);
    expect(waypointsInBoxes(layout)).toEqual([]);
    expect(layout.forward.filter((e) => e !== otherwise).every((e) => e.via.length === 0)).toBe(true);
  });

  test('long edges in a graph of every step type keep out of the boxes', () => {
    const layout = layoutFlow(reportOf(everyStepType()).steps);
    expect(layout.forward.some((e) => e.via.length >= 2)).toBe(true); // the property below is not vacuous
    expect(waypointsInBoxes(layout)).toEqual([]);
  });

  test('not measured: the reason instead of the lift', () => {
    const html = renderJourneyReportHtml(buildJourneyReport(welcomeInput({ goal: undefined })));
    expect(html).toContain('data-reason="not_measured"');
    expect(html).not.toContain('data-table="lift"');
    expect(html).not.toContain('data-interval=');
  });

  test('a hostile journey name and branch names are escaped everywhere', () => {
    // Prepare
    const definition = welcomeSeries();
    const name = `</title><script>alert("x")</script> & 'co'`;
    definition.name = name;
    (definition.steps['check'] as { branches: { name: string }[] }).branches[0]!.name = `"><img src=x onerror=alert(1)> & <svg onload=alert(2)>`;
    const report = buildJourneyReport({ ...welcomeInput(), journey: { id: JOURNEY_ID, name, status: '<b>running</b>', version: 1, definition: definitionOf(definition) } });

    // Act
    const html = renderJourneyReportHtml(report);

    // Assess
    expect(html).not.toMatch(/<script|<img|<svg onload|<b>running/i);
    expect(html).toContain('<title>&lt;/title&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39; — journey report</title>');
    expect(html).toContain('<h1>&lt;/title&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;</h1>');
    expect(html).toContain('aria-label="Flow of the journey &lt;/title&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;: 5 steps, 0 loops"');
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt; &amp; &lt;svg onload=alert(2)&gt;');
    // Every svg that opens closes; no stray markup was made from the names.
    expect(svgsOf(html)).toBe([...html.matchAll(/<\/svg>/g)].length);
    expect(dataSteps(html)).toEqual(['welcome', 'pause', 'check', 'nudge', 'done']);
  });

  test('a loop through a wait is drawn as a back edge on the side, a wait that listens to itself too', () => {
    // Act
    const report = reportOf(reminderLoop());
    const layout = layoutFlow(report.steps);
    const html = renderJourneyReportHtml(report);

    // Assess
    expect(layout.back.map((e) => `${e.from}->${e.to}:${e.label}`)).toEqual(['check->remind:not yet', 'listen->listen:on event']);
    // check (layer 2) → remind (layer 0) rises through a waypoint in layer 1, beside the wait's box; the self-loop needs none.
    expect(layout.back.map((e) => e.via.length)).toEqual([1, 0]);
    expect(layout.back[0]!.via[0]!.y).toBe(layout.boxes.get('pause')!.y);
    expect(waypointsInBoxes(layout)).toEqual([]);
    expect(html).toContain('<g data-edge="check-&gt;remind" data-back="true">');
    expect(html).toContain('<g data-edge="listen-&gt;listen" data-back="true">');
    expect(html).not.toMatch(/data-edge="(remind-&gt;pause|pause-&gt;check|check-&gt;listen|listen-&gt;done)" data-back/);
    expect(html).toContain('2 loops');
  });

  test('the largest definition (100 steps, 10 branches and an otherwise) renders with every box, no overlap and a sensible size', () => {
    // Prepare
    const definition = hundredSteps();
    expect(Object.keys(definition.steps)).toHaveLength(100);

    // Act
    const report = reportOf(definition, 'Big & <bold>');
    const html = renderJourneyReportHtml(report);
    const layout = layoutFlow(report.steps);

    // Assess
    expect(new Set(dataSteps(html))).toEqual(new Set(Object.keys(definition.steps)));
    expect(dataSteps(html)).toHaveLength(100);
    expect(svgsOf(html)).toBe([...html.matchAll(/<\/svg>/g)].length);
    for (const tag of ['g', 'text', 'title']) expect([...html.matchAll(new RegExp(`<${tag}[\\s>]`, 'g'))].length, tag).toBe([...html.matchAll(new RegExp(`</${tag}>`, 'g'))].length);
    expect(html).not.toContain('<b> & "q"');
    expect(layout.back.map((e) => `${e.from}->${e.to}`)).toEqual(['l0_s8->l0_s0']);
    // The hub's 11 lanes side by side, 10 layers deep (hub + 9).
    expect(Math.max(...[...layout.boxes.values()].map((b) => b.depth))).toBe(9);
    const size = flowSize(html);
    expect(size).toEqual({ width: layout.width, height: layout.height });
    expect(size.width).toBeLessThan(11 * (FLOW_BOX.width + 40) + 200);
    expect(size.height).toBeLessThan(10 * (FLOW_BOX.height + 100));
    const boxes = [...layout.boxes.values()];
    for (const [i, a] of boxes.entries()) {
      expect(a.x + FLOW_BOX.width).toBeLessThanOrEqual(size.width);
      expect(a.y + FLOW_BOX.height).toBeLessThanOrEqual(size.height);
      for (const b of boxes.slice(i + 1)) expect(Math.abs(a.x - b.x) >= FLOW_BOX.width || Math.abs(a.y - b.y) >= FLOW_BOX.height, 'boxes overlap').toBe(true);
    }
    expect(waypointsInBoxes(layout)).toEqual([]);
  });

  test('a chain of 100 steps is one box per layer: tall, one box wide', () => {
    const steps: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) steps[`s${i}`] = i % 2 ? { type: 'wait', duration: { amount: 1, unit: 'days' }, ...(i < 99 ? { next: `s${i + 1}` } : {}) } : { type: 'send', channels: ['sms'], templates: { sms: SMS_TEMPLATE }, next: `s${i + 1}` };
    const report = reportOf({ name: 'Chain', entry: { type: 'event', trigger: { event: 'lead.captured' } }, start: 's0', steps, goal: {} } as JourneyDefinitionInput);
    const layout = layoutFlow(report.steps);
    expect(new Set([...layout.boxes.values()].map((b) => b.x)).size).toBe(1);
    expect(new Set([...layout.boxes.values()].map((b) => b.y)).size).toBe(100);
    expect(flowSize(renderJourneyReportHtml(report))).toEqual({ width: layout.width, height: layout.height });
    expect(layout.width).toBeLessThan(FLOW_BOX.width + 100);
  });
});
