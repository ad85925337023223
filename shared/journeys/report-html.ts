/**
 * The journey report as a standalone HTML page: header, totals, the goal's lift over the holdout,
 * the steps drawn as a flow (inline SVG) and the same counts as a table (the accessible fallback).
 * Served with the report pages' CSP (`default-src 'none'; style-src 'unsafe-inline'`): no
 * scripts, no external resources. Every free text (journey name, branch names, exit reasons,
 * response types) goes through escapeHtml.
 *
 * The flow: each step is a box in a layer given by its longest path from `start` over forward
 * edges (depth-first from `start`, an edge to a step still on the stack is a back edge: a loop,
 * which the definition only allows through a wait). Forward edges run downwards from layer to
 * layer; back edges are curved arrows in lanes on the right-hand side. Boxes carry
 * `data-step="<id>"` and a `<title>` with their counts.
 */
import { fmt, intervalSvg, pct, reportPageHead } from '../attribution/report-html.ts';
import type { Interval, MetricLift } from '../attribution/lift.ts';
import { escapeHtml } from '../html.ts';
import type { GoalGroupReport, JourneyReport, JourneyStepReport } from './report.ts';

// ---------------------------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------------------------

const BOX_W = 210;
const LINE_H = 15;
const BOX_LINES = 6;
const BOX_H = BOX_LINES * LINE_H + 12;
const H_GAP = 40;
const V_GAP = 80;
const MARGIN = 20;
const LANE_GAP = 14;
/** Room right of the last lane for a back edge's label. */
const LANE_LABEL_ROOM = 110;

export interface FlowEdge {
  from: string;
  to: string;
  label: string;
}

export interface FlowLayout {
  /** Top-left corner of each step's box. */
  boxes: Map<string, { x: number; y: number; depth: number }>;
  forward: FlowEdge[];
  /** Edges to a step at the same depth or above (loops through a wait), each with its lane's x. */
  back: Array<FlowEdge & { laneX: number }>;
  width: number;
  height: number;
}

/**
 * Places the steps in layers by longest path from the first step (the report's order starts at
 * `start`) over forward edges, orders each layer by the mean position of its predecessors, and
 * gives each back edge its own lane on the right.
 */
export function layoutFlow(steps: readonly Pick<JourneyStepReport, 'id' | 'edges'>[]): FlowLayout {
  const ids = steps.map((s) => s.id);
  const known = new Set(ids);
  const outOf = new Map(steps.map((s) => [s.id, s.edges.filter((e) => known.has(e.to)).map((e) => ({ from: s.id, to: e.to, label: e.label }))]));

  // Depth-first from start (then from any step not reached), edges in definition order.
  const state = new Map<string, 'open' | 'done'>();
  const postorder: string[] = [];
  const forward: FlowEdge[] = [];
  const backEdges: FlowEdge[] = [];
  const visit = (id: string): void => {
    state.set(id, 'open');
    for (const edge of outOf.get(id)!) {
      const seen = state.get(edge.to);
      if (seen === 'open') backEdges.push(edge);
      else {
        forward.push(edge);
        if (seen === undefined) visit(edge.to);
      }
    }
    state.set(id, 'done');
    postorder.push(id);
  };
  for (const id of ids) if (!state.has(id)) visit(id);

  // Longest path over the forward edges (a DAG), in topological order (reverse postorder).
  const depth = new Map(ids.map((id) => [id, 0]));
  const forwardOut = new Map<string, FlowEdge[]>(ids.map((id) => [id, []]));
  const forwardIn = new Map<string, FlowEdge[]>(ids.map((id) => [id, []]));
  for (const e of forward) {
    forwardOut.get(e.from)!.push(e);
    forwardIn.get(e.to)!.push(e);
  }
  for (const id of [...postorder].reverse()) for (const e of forwardOut.get(id)!) depth.set(e.to, Math.max(depth.get(e.to)!, depth.get(id)! + 1));

  // Layers, each ordered by the mean slot of its predecessors in the layer above (report order breaks ties).
  const rank = new Map(ids.map((id, i) => [id, i]));
  const layerCount = Math.max(0, ...depth.values()) + (ids.length ? 1 : 0);
  const layers: string[][] = Array.from({ length: layerCount }, () => []);
  for (const id of ids) layers[depth.get(id)!]!.push(id);
  const widest = Math.max(1, ...layers.map((l) => l.length));
  const slot = new Map<string, number>(); // centre of the box in units of box pitch, layers centred on one axis
  layers.forEach((layer, d) => {
    if (d > 0) {
      const mean = (id: string) => {
        const preds = forwardIn.get(id)!.map((e) => slot.get(e.from)).filter((s) => s !== undefined);
        return preds.length ? preds.reduce((a, b) => a + b, 0) / preds.length : Number.MAX_SAFE_INTEGER;
      };
      layer.sort((a, b) => mean(a) - mean(b) || rank.get(a)! - rank.get(b)!);
    }
    layer.forEach((id, i) => slot.set(id, (widest - layer.length) / 2 + i));
  });

  const boxes = new Map<string, { x: number; y: number; depth: number }>();
  for (const id of ids) boxes.set(id, { x: MARGIN + slot.get(id)! * (BOX_W + H_GAP), y: MARGIN + depth.get(id)! * (BOX_H + V_GAP), depth: depth.get(id)! });
  const contentRight = MARGIN + widest * (BOX_W + H_GAP) - H_GAP;
  const back = backEdges.map((e, i) => ({ ...e, laneX: contentRight + 20 + i * LANE_GAP }));
  const width = contentRight + (back.length ? 20 + back.length * LANE_GAP + LANE_LABEL_ROOM : 0) + MARGIN;
  const height = MARGIN * 2 + layerCount * (BOX_H + V_GAP) - (layerCount ? V_GAP : 0);
  return { boxes, forward, back, width, height };
}

// ---------------------------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------------------------

/** Cuts a text to `max` characters with an ellipsis (before escaping, so no entity is cut in two). */
const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
const n0 = (n: number) => fmt(n, 0);
const round1 = (n: number) => Math.round(n * 10) / 10;

const TYPE_FILL: Record<JourneyStepReport['type'], string> = {
  send: '#e6effb',
  wait: '#fdf3dc',
  wait_until: '#fdf3dc',
  wait_for_event: '#fdf3dc',
  split: '#efe9fb',
  random_split: '#efe9fb',
  update: '#e7f5ec',
  exit: '#eeeeee',
};

const isWait = (step: JourneyStepReport) => step.type === 'wait' || step.type === 'wait_until' || step.type === 'wait_for_event';
const countsText = (record: Record<string, number>) => Object.entries(record).map(([k, v]) => `${k} ${n0(v)}`).join(', ');

/** The lines of a step's counts, as its box and its `<title>` show them (the box clips them). */
function stepLines(step: JourneyStepReport): { entered: string; send: string[]; exits: string } {
  const entered = isWait(step) ? `entered ${n0(step.entered)} · waiting ${n0(step.waiting)}` : `entered ${n0(step.entered)}`;
  const send = step.send
    ? [
        [`sent ${n0(step.send.sent)}`, ...(['skipped', 'failed', 'queued'] as const).filter((k) => step.send![k] > 0).map((k) => `${k} ${n0(step.send![k])}`)].join(' · '),
        Object.entries(step.send.responses)
          .filter(([type]) => type !== 'delivered' || Object.keys(step.send!.responses).length === 1)
          .map(([type, r]) => `${type} ${n0(r.count)}${r.rate === null ? '' : ` (${pct(r.rate)})`}`)
          .join(' · ') || 'no responses yet',
      ]
    : [];
  const exits = step.exited ? `exited ${n0(step.exited)}: ${countsText(step.exits)}` : 'no exits';
  return { entered, send, exits };
}

function stepTitle(step: JourneyStepReport): string {
  const lines = stepLines(step);
  const responses = step.send && Object.keys(step.send.responses).length ? [`responses: ${Object.entries(step.send.responses).map(([t, r]) => `${t} ${n0(r.count)}${r.rate === null ? '' : ` (${pct(r.rate)})`}`).join(', ')}`] : [];
  return [`${step.id} — ${step.label}`, `${lines.entered} · left ${n0(step.left)}`, ...(step.send ? [lines.send[0]!] : []), ...responses, lines.exits].join('\n');
}

function boxSvg(step: JourneyStepReport, at: { x: number; y: number }): string {
  const lines = stepLines(step);
  const text = [
    `<text x="${at.x + 8}" y="${at.y + 18}" font-size="13" font-weight="bold">${escapeHtml(clip(step.id, 27))}</text>`,
    ...[clip(step.label, 31), lines.entered, ...lines.send.map((l) => clip(l, 33)), clip(lines.exits, 33)].map(
      (line, i) => `<text x="${at.x + 8}" y="${at.y + 18 + (i + 1) * LINE_H}" font-size="12">${escapeHtml(line)}</text>`,
    ),
  ].join('');
  return `<g data-step="${escapeHtml(step.id)}" data-type="${step.type}"><title>${escapeHtml(stepTitle(step))}</title><rect x="${at.x}" y="${at.y}" width="${BOX_W}" height="${BOX_H}" rx="6" fill="${TYPE_FILL[step.type]}" stroke="#555"/>${text}</g>`;
}

const halo = 'paint-order="stroke" stroke="#fff" stroke-width="3" stroke-linejoin="round"';

/** A point on the cubic Bézier p0…p3 at parameter t. */
function bezier(t: number, p0: number, p1: number, p2: number, p3: number): number {
  const u = 1 - t;
  return u * u * u * p0 + 3 * u * u * t * p1 + 3 * u * t * t * p2 + t * t * t * p3;
}

function forwardEdgeSvg(edge: FlowEdge, from: { x: number; y: number }, to: { x: number; y: number }, start: number): string {
  const sx = from.x + start;
  const sy = from.y + BOX_H;
  const tx = to.x + BOX_W / 2;
  const ty = to.y;
  const bend = Math.max(30, (ty - sy) / 2);
  const [c1y, c2y] = [sy + bend, ty - bend];
  // The label sits in the gap just below the source (bisection on y, which rises monotonically along the curve).
  const labelY = sy + V_GAP / 2;
  let [lo, hi] = [0, 1];
  for (let i = 0; i < 30; i++) {
    const mid = (lo + hi) / 2;
    if (bezier(mid, sy, c1y, c2y, ty) < labelY) lo = mid;
    else hi = mid;
  }
  const labelX = bezier(lo, sx, sx, tx, tx);
  return `<g data-edge="${escapeHtml(`${edge.from}->${edge.to}`)}"><title>${escapeHtml(`${edge.from} → ${edge.to}: ${edge.label}`)}</title><path d="M${round1(sx)},${sy} C${round1(sx)},${round1(c1y)} ${round1(tx)},${round1(c2y)} ${round1(tx)},${ty}" fill="none" stroke="#444" stroke-width="1.5" marker-end="url(#jr-arrow)"/><text x="${round1(labelX)}" y="${round1(labelY + 4)}" font-size="11" text-anchor="middle" ${halo}>${escapeHtml(clip(edge.label, 22))}</text></g>`;
}

function backEdgeSvg(edge: FlowEdge & { laneX: number }, from: { x: number; y: number }, to: { x: number; y: number }): string {
  const sx = from.x + BOX_W;
  const sy = from.y + BOX_H * 0.35;
  const tx = to.x + BOX_W;
  const ty = to.y + BOX_H * 0.65;
  const x = edge.laneX;
  // A curve out to the lane, along it and back in: the control points sit on the lane, so the arrow bulges to the right of every box it passes.
  return `<g data-edge="${escapeHtml(`${edge.from}->${edge.to}`)}" data-back="true"><title>${escapeHtml(`${edge.from} → ${edge.to} (back): ${edge.label}`)}</title><path d="M${sx},${round1(sy)} C${x},${round1(sy)} ${x},${round1(ty)} ${tx},${round1(ty)}" fill="none" stroke="#b5510c" stroke-width="1.5" stroke-dasharray="5 3" marker-end="url(#jr-arrow-back)"/><text x="${x + 4}" y="${round1((sy + ty) / 2)}" font-size="11" fill="#b5510c" ${halo}>${escapeHtml(clip(edge.label, 16))}</text></g>`;
}

/** The steps as a flow: boxes in layers, arrows with their labels, loops as curved arrows on the side. */
export function flowSvg(report: JourneyReport): string {
  const layout = layoutFlow(report.steps);
  const box = (id: string) => layout.boxes.get(id)!;
  // Several edges leave a box: spread their starting points along its bottom, in definition order.
  const leaving = new Map<string, FlowEdge[]>();
  for (const e of layout.forward) leaving.set(e.from, [...(leaving.get(e.from) ?? []), e]);
  const forward = layout.forward.map((e) => {
    const siblings = leaving.get(e.from)!;
    const start = (BOX_W * (siblings.indexOf(e) + 1)) / (siblings.length + 1);
    return forwardEdgeSvg(e, box(e.from), box(e.to), start);
  });
  const back = layout.back.map((e) => backEdgeSvg(e, box(e.from), box(e.to)));
  const boxes = report.steps.map((s) => boxSvg(s, box(s.id)));
  const label = `Flow of the journey ${report.journey.name}: ${report.steps.length} step${report.steps.length === 1 ? '' : 's'}, ${layout.back.length} loop${layout.back.length === 1 ? '' : 's'}`;
  const marker = (id: string, fill: string) => `<marker id="${id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="${fill}"/></marker>`;
  return `<svg role="img" aria-label="${escapeHtml(label)}" width="${layout.width}" height="${layout.height}" viewBox="0 0 ${layout.width} ${layout.height}" xmlns="http://www.w3.org/2000/svg" data-flow="steps"><title>${escapeHtml(label)}</title>
<defs>${marker('jr-arrow', '#444')}${marker('jr-arrow-back', '#b5510c')}</defs>
${forward.join('\n')}
${back.join('\n')}
${boxes.join('\n')}
</svg>`;
}

// ---------------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------------

const interval = (i: Interval | null, unit: (n: number) => string) => (i ? `${unit(i.estimate)} (${unit(i.low)} to ${unit(i.high)})` : '—');

function liftRow(metric: string, key: string, lift: MetricLift, unit: (n: number) => string): string {
  return `<tr data-lift="${key}"><td>${metric}</td><td>${interval(lift.absolute, unit)}</td><td>${interval(lift.relative, pct)}</td><td>${fmt(lift.pValue, 4)}</td></tr>`;
}

function groupsTable(treatment: GoalGroupReport, holdout: GoalGroupReport, rates?: { treatment: { rate: number; revenuePerMember: number }; holdout: { rate: number; revenuePerMember: number } }): string {
  const row = (name: string, key: 'treatment' | 'holdout', g: GoalGroupReport) =>
    `<tr data-group="${key}"><td>${name}</td><td>${n0(g.members)}</td><td>${n0(g.converters)}</td><td>${rates ? pct(rates[key].rate) : '—'}</td><td>${fmt(g.revenue)}</td><td>${rates ? fmt(rates[key].revenuePerMember) : '—'}</td></tr>`;
  return `<table data-table="groups"><tr><th>Group</th><th>Entries</th><th>Converted</th><th>Conversion rate</th><th>Revenue</th><th>Revenue per entry</th></tr>${row('Treatment', 'treatment', treatment)}${row('Holdout', 'holdout', holdout)}</table>`;
}

function goalSection(goal: JourneyReport['goal']): string {
  const about = `<p>Goal <b>${escapeHtml(goal.event)}</b>, ${goal.attributionWindowDays}-day window, ${escapeHtml(goal.model.replace('_', ' '))} attribution${goal.halfLifeDays === undefined ? '' : ` (half-life ${fmt(goal.halfLifeDays)} days)`}; ${fmt(goal.holdoutPercent)} % of entries held out.</p>`;
  if (!goal.measured) {
    const groups = goal.treatment && goal.holdout ? groupsTable(goal.treatment, goal.holdout) : '';
    return `<h2>Goal and lift over the holdout</h2>${about}<p class="na" data-measured="none" data-reason="${goal.reason}">${escapeHtml(goal.message)}</p>${groups}`;
  }
  const l = goal.lift;
  return `<h2>Goal and lift over the holdout</h2>${about}<p data-measured="${escapeHtml(goal.measuredAt ?? 'yes')}">${goal.measuredAt ? `Measured by the nightly run at ${escapeHtml(goal.measuredAt)}.` : 'Measured by the nightly run.'}</p>
${groupsTable(goal.treatment, goal.holdout, l)}
<table data-table="lift"><tr><th>Treatment over holdout</th><th>Absolute lift (95 % CI)</th><th>Relative lift (95 % CI)</th><th>p-value</th></tr>
${liftRow('Conversion rate', 'conversion-rate', l.conversionRate, pct)}
${liftRow('Revenue per entry', 'revenue-per-entry', l.revenuePerMember, (n) => fmt(n))}</table>
${intervalSvg('Conversion-rate lift', l.conversionRate.absolute, pct)}
${intervalSvg('Relative conversion-rate lift', l.conversionRate.relative, pct)}
${intervalSvg('Revenue-per-entry lift', l.revenuePerMember.absolute, (n) => fmt(n))}`;
}

function totalsSection(report: JourneyReport): string {
  const t = report.totals;
  const kpis: Array<[string, string, number]> = [
    ['entries', 'Entries', t.entries],
    ['holdout', 'Held out', t.holdout],
    ['treatment', 'Treatment', t.treatment],
    ['in-flight', 'In flight', t.inFlight],
    ['exited', 'Exited', t.exited],
  ];
  const exits = Object.entries(t.exits);
  return `<h2>Totals</h2><div>${kpis.map(([key, label, value]) => `<span class="kpi" data-kpi="${key}">${label}<b>${n0(value)}</b></span>`).join('')}</div>
${exits.length ? `<table data-table="exits"><tr><th>Exit reason</th><th>Exits</th></tr>${exits.map(([reason, n]) => `<tr><td>${escapeHtml(reason)}</td><td>${n0(n)}</td></tr>`).join('')}</table>` : '<p class="na">No exits yet.</p>'}`;
}

function stepsTable(report: JourneyReport): string {
  const rows = report.steps
    .map((s) => {
      const send = s.send
        ? `<td>${n0(s.send.sent)}</td><td>${n0(s.send.skipped)}</td><td>${n0(s.send.failed)}</td><td>${n0(s.send.queued)}</td><td>${escapeHtml(Object.entries(s.send.responses).map(([t, r]) => `${t} ${n0(r.count)}${r.rate === null ? '' : ` (${pct(r.rate)})`}`).join(', ')) || '—'}</td>`
        : '<td colspan="5" class="na">not a send step</td>';
      const edges = s.edges.map((e) => `${e.label} → ${e.to}`).join('; ');
      return `<tr data-step-row="${escapeHtml(s.id)}"><td>${escapeHtml(s.id)}</td><td>${escapeHtml(s.label)}</td><td>${n0(s.entered)}</td><td>${isWait(s) ? n0(s.waiting) : '—'}</td><td>${n0(s.left)}</td><td>${s.exited ? escapeHtml(`${n0(s.exited)}: ${countsText(s.exits)}`) : '0'}</td>${send}<td>${escapeHtml(edges) || 'end'}</td></tr>`;
    })
    .join('\n');
  const retired = report.retiredSteps.length
    ? `<h3>Steps of earlier versions</h3><table data-table="retired-steps"><tr><th>Step</th><th>Entered</th><th>Left</th><th>Exits</th></tr>${report.retiredSteps.map((s) => `<tr><td>${escapeHtml(s.id)}</td><td>${n0(s.entered)}</td><td>${n0(s.left)}</td><td>${escapeHtml(countsText(s.exits)) || '0'}</td></tr>`).join('')}</table>`
    : '';
  return `<div class="scroll"><table data-table="steps"><tr><th>Step</th><th>What</th><th>Entered</th><th>Waiting</th><th>Left</th><th>Exited</th><th>Sent</th><th>Skipped</th><th>Failed</th><th>Queued</th><th>Responses</th><th>Leads to</th></tr>
${rows}</table></div>${retired}`;
}

/** The journey report as a standalone page (no scripts, no external resources). */
export function renderJourneyReportHtml(report: JourneyReport): string {
  const j = report.journey;
  return `${reportPageHead(`${j.name} — journey report`, '.scroll{overflow:auto;max-width:100%}.flow{overflow:auto;border:1px solid #ddd;margin:.5rem 0 1rem}.flow svg{display:block;max-width:none}')}
<h1>${escapeHtml(j.name)}</h1>
<p>Journey <b data-status="${escapeHtml(j.status)}">${escapeHtml(j.status)}</b>, version ${n0(j.version)}. Counts as of ${escapeHtml(report.computedAt)}.</p>
${totalsSection(report)}
${goalSection(report.goal)}
<h2>Flow</h2><p>Each box is a step with its counts; arrows are labelled with the branch that takes them. Dashed arrows on the right loop back to an earlier step.</p>
<div class="flow">${flowSvg(report)}</div>
<h2>Steps</h2>${stepsTable(report)}
</body></html>`;
}
