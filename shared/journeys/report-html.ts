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
 * layer; back edges are dashed curved arrows rising on the right of the boxes. Boxes carry
 * `data-step="<id>"` and a `<title>` with their counts.
 */
import { fmt, intervalSvg, pct, reportPageHead } from '../attribution/report-html.ts';
import type { Interval, MetricLift } from '../attribution/lift.ts';
import { escapeHtml } from '../html.ts';
import type { GoalGroupReport, JourneyReport, JourneyStepReport } from './report.ts';

// ---------------------------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------------------------

const BOX_W = 260;
const LINE_H = 15;
const BOX_LINES = 7;
const BOX_H = BOX_LINES * LINE_H + 12;
/** The size of a step's box in the flow. */
export const FLOW_BOX = { width: BOX_W, height: BOX_H } as const;
/** A long edge passes each layer between its ends through a slot of this width. */
const WAYPOINT_W = 14;
const H_GAP = 40;
/** Gap beside a waypoint: long edges run closer together than boxes. */
const WAYPOINT_GAP = 16;
const V_GAP = 80;
const MARGIN = 20;
/** How far a loop between neighbouring layers (or a step to itself) bulges out right of its boxes. */
const LOOP_BULGE = 50;

export interface FlowEdge {
  from: string;
  to: string;
  label: string;
}

export interface FlowLayout {
  /** Top-left corner of each step's box, and its layer. */
  boxes: Map<string, { x: number; y: number; depth: number }>;
  /**
   * Edges down to a deeper layer. One that skips layers passes each layer between its ends at a
   * waypoint of its own (x of its centre line, y of the layer's top; it runs down to y + box height),
   * so it never crosses a box.
   */
  forward: Array<FlowEdge & { via: Array<{ x: number; y: number }> }>;
  /**
   * Edges to a step at the same depth or above (loops through a wait). They leave the source's
   * right side and enter the target's; in between they rise through waypoints of their own in the
   * layers between (x of the centre line, y of the layer's top), listed bottom-up.
   */
  back: Array<FlowEdge & { via: Array<{ x: number; y: number }> }>;
  width: number;
  height: number;
}

/** Depth-first from the first step (then from any not reached), edges in definition order: an edge to a step still open closes a loop. */
function splitEdges(steps: readonly Pick<JourneyStepReport, 'id' | 'edges'>[]): { forward: FlowEdge[]; back: FlowEdge[]; topological: string[] } {
  const known = new Set(steps.map((s) => s.id));
  const outOf = new Map(steps.map((s) => [s.id, s.edges.filter((e) => known.has(e.to)).map((e) => ({ from: s.id, to: e.to, label: e.label }))]));
  const state = new Map<string, 'open' | 'done'>();
  const postorder: string[] = [];
  const forward: FlowEdge[] = [];
  const back: FlowEdge[] = [];
  const visit = (id: string): void => {
    state.set(id, 'open');
    for (const edge of outOf.get(id)!) {
      const seen = state.get(edge.to);
      if (seen === 'open') back.push(edge);
      else {
        forward.push(edge);
        if (seen === undefined) visit(edge.to);
      }
    }
    state.set(id, 'done');
    postorder.push(id);
  };
  for (const s of steps) if (!state.has(s.id)) visit(s.id);
  return { forward, back, topological: postorder.reverse() };
}

interface Slot {
  key: string;
  width: number;
  /** Keys of the slots in the layer above that lead here. */
  above: string[];
  /** Position in the report's step order (waypoints after the steps), to break ties. */
  rank: number;
}

/**
 * Places the steps in layers by longest path from the first step (the report's order starts at
 * `start`) over forward edges, gives a long edge a waypoint in every layer it skips, orders each
 * layer by the mean x of what leads into it from above. A back edge gets waypoints in the layers
 * between its ends too, so that it rises beside the boxes rather than through them.
 */
export function layoutFlow(steps: readonly Pick<JourneyStepReport, 'id' | 'edges'>[]): FlowLayout {
  const { forward, back: backEdges, topological } = splitEdges(steps);

  // Longest path over the forward edges, a DAG walked in topological order.
  const depth = new Map(steps.map((s) => [s.id, 0]));
  const out = new Map<string, FlowEdge[]>(steps.map((s) => [s.id, []]));
  for (const e of forward) out.get(e.from)!.push(e);
  for (const id of topological) for (const e of out.get(id)!) depth.set(e.to, Math.max(depth.get(e.to)!, depth.get(id)! + 1));

  const layerCount = steps.length ? Math.max(...depth.values()) + 1 : 0;
  const layers: Slot[][] = Array.from({ length: layerCount }, () => []);
  const slots = new Map<string, Slot>();
  const place = (slot: Slot, d: number) => {
    layers[d]!.push(slot);
    slots.set(slot.key, slot);
  };
  steps.forEach((s, i) => place({ key: s.id, width: BOX_W, above: [], rank: i }, depth.get(s.id)!));
  // Each forward edge as a chain of slots: its source, a waypoint per skipped layer, its target.
  const chains = forward.map((e, k) => {
    const chain = [e.from];
    for (let d = depth.get(e.from)! + 1; d < depth.get(e.to)!; d++) {
      const key = `${k}@${d}`;
      place({ key, width: WAYPOINT_W, above: [], rank: steps.length + k }, d);
      chain.push(key);
    }
    chain.push(e.to);
    for (let i = 1; i < chain.length; i++) slots.get(chain[i]!)!.above.push(chain[i - 1]!);
    return chain;
  });
  // A back edge's waypoints, top-down from its target; they follow the target's column and do not move the steps.
  const backChains = backEdges.map((e, k) => {
    const chain: string[] = [];
    for (let d = depth.get(e.to)! + 1; d < depth.get(e.from)!; d++) {
      const key = `back${k}@${d}`;
      place({ key, width: WAYPOINT_W, above: [chain.at(-1) ?? e.to], rank: steps.length + forward.length + k }, d);
      chain.push(key);
    }
    return chain;
  });

  const gapBetween = (a: Slot, b: Slot) => (a.width === WAYPOINT_W || b.width === WAYPOINT_W ? WAYPOINT_GAP : H_GAP);
  const widthOf = (layer: Slot[]) => layer.reduce((w, slot, i) => w + slot.width + (i ? gapBetween(layer[i - 1]!, slot) : 0), 0);
  const contentWidth = Math.max(0, ...layers.map(widthOf));
  const centre = new Map<string, number>();
  const ordered = (layer: Slot[]): Slot[] => {
    const mean = (slot: Slot) => (slot.above.length ? slot.above.reduce((sum, key) => sum + centre.get(key)!, 0) / slot.above.length : Number.MAX_SAFE_INTEGER);
    return [...layer].sort((a, b) => mean(a) - mean(b) || a.rank - b.rank);
  };
  const left = new Map<string, number>();
  layers.forEach((unordered, d) => {
    const layer = d === 0 ? unordered : ordered(unordered);
    let x = MARGIN + (contentWidth - widthOf(layer)) / 2;
    layer.forEach((slot, i) => {
      if (i) x += gapBetween(layer[i - 1]!, slot);
      left.set(slot.key, x);
      centre.set(slot.key, x + slot.width / 2);
      x += slot.width;
    });
  });

  const top = (d: number) => MARGIN + d * (BOX_H + V_GAP);
  const boxes = new Map(steps.map((s) => [s.id, { x: left.get(s.id)!, y: top(depth.get(s.id)!), depth: depth.get(s.id)! }]));
  const waypoint = (key: string) => ({ x: centre.get(key)!, y: top(Number(key.split('@')[1])) });
  const withWaypoints = forward.map((e, k) => ({ ...e, via: chains[k]!.slice(1, -1).map(waypoint) }));
  const back = backEdges.map((e, k) => ({ ...e, via: backChains[k]!.map(waypoint).reverse() }));
  const width = MARGIN + contentWidth + (back.length ? LOOP_BULGE : 0) + MARGIN;
  const height = MARGIN * 2 + layerCount * (BOX_H + V_GAP) - (layerCount ? V_GAP : 0);
  return { boxes, forward: withWaypoints, back, width, height };
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

const responsesText = (responses: Record<string, { count: number; rate: number | null }>, rate: (n: number) => string) =>
  Object.entries(responses)
    .map(([type, r]) => `${type} ${n0(r.count)}${r.rate === null ? '' : ` (${rate(r.rate)})`}`)
    .join(' · ');

/** A step's counts as lines: the full ones for its `<title>`, and the box's (shorter: no delivered, whole percentages, empty lines left out). */
function stepLines(step: JourneyStepReport): { title: string[]; box: string[] } {
  const entered = isWait(step) ? `entered ${n0(step.entered)} · waiting ${n0(step.waiting)}` : `entered ${n0(step.entered)}`;
  const exits = step.exited ? `exited ${n0(step.exited)}: ${countsText(step.exits)}` : 'no exits';
  const s = step.send;
  if (!s) return { title: [entered, `left ${n0(step.left)}`, exits], box: [entered, exits] };
  const sent = `sent ${n0(s.sent)}${s.queued ? ` · queued ${n0(s.queued)}` : ''}`;
  const notSent = (['skipped', 'failed'] as const).filter((k) => s[k] > 0).map((k) => `${k} ${n0(s[k])}`).join(' · ');
  const shown = Object.fromEntries(Object.entries(s.responses).filter(([type]) => type !== 'delivered'));
  const wholePercent = (n: number) => `${Math.round(n * 100)} %`;
  return {
    title: [entered, `left ${n0(step.left)}`, `sent ${n0(s.sent)} · queued ${n0(s.queued)} · skipped ${n0(s.skipped)} · failed ${n0(s.failed)}`, `responses: ${responsesText(s.responses, pct) || 'none yet'}`, exits],
    box: [entered, sent, ...(notSent ? [notSent] : []), responsesText(shown, wholePercent) || (s.responses['delivered'] ? `delivered ${n0(s.responses['delivered'].count)}` : 'no responses yet'), exits],
  };
}

function boxSvg(step: JourneyStepReport, at: { x: number; y: number }): string {
  const lines = [clip(step.label, 40), ...stepLines(step).box.map((l) => clip(l, 40))];
  const text = [
    `<text x="${at.x + 8}" y="${at.y + 18}" font-size="13" font-weight="bold">${escapeHtml(clip(step.id, 34))}</text>`,
    ...lines.map((line, i) => `<text x="${at.x + 8}" y="${at.y + 18 + (i + 1) * LINE_H}" font-size="12">${escapeHtml(line)}</text>`),
  ].join('');
  const title = [`${step.id} — ${step.label}`, ...stepLines(step).title].join('\n');
  return `<g data-step="${escapeHtml(step.id)}" data-type="${step.type}"><title>${escapeHtml(title)}</title><rect x="${at.x}" y="${at.y}" width="${BOX_W}" height="${BOX_H}" rx="6" fill="${TYPE_FILL[step.type]}" stroke="#555"/>${text}</g>`;
}

const halo = 'paint-order="stroke" stroke="#fff" stroke-width="3" stroke-linejoin="round"';

/**
 * A forward edge: from its start on the source's bottom, one S-curve across each gap between
 * layers, straight down through each waypoint, to the middle of the target's top. Its label sits
 * in the first gap, halfway along the first curve.
 */
function forwardEdgeSvg(edge: FlowLayout['forward'][number], from: { x: number; y: number }, to: { x: number; y: number }, start: number): string {
  const half = V_GAP / 2;
  let x = from.x + start;
  let y = from.y + BOX_H;
  let d = `M${round1(x)},${y}`;
  const ends = [...edge.via.map((w) => ({ x: w.x, top: w.y, bottom: w.y + BOX_H })), { x: to.x + BOX_W / 2, top: to.y, bottom: to.y }];
  for (const end of ends) {
    d += ` C${round1(x)},${y + half} ${round1(end.x)},${end.top - half} ${round1(end.x)},${end.top}`;
    if (end.bottom > end.top) d += ` L${round1(end.x)},${end.bottom}`;
    [x, y] = [end.x, end.bottom];
  }
  const labelX = (from.x + start + ends[0]!.x) / 2;
  const labelY = from.y + BOX_H + half;
  return `<g data-edge="${escapeHtml(`${edge.from}->${edge.to}`)}"><title>${escapeHtml(`${edge.from} → ${edge.to}: ${edge.label}`)}</title><path d="${d}" fill="none" stroke="#444" stroke-width="1.5" marker-end="url(#jr-arrow)"/><text x="${round1(labelX)}" y="${labelY + 4}" font-size="11" text-anchor="middle" ${halo}>${escapeHtml(clip(edge.label, 22))}</text></g>`;
}

/**
 * A back edge: out of the source's right side, up through its waypoints (if it skips layers), into
 * the target's right side; between neighbouring layers, or from a step to itself, a loop bulging to
 * the right. Dashed, with its label written along its rising part.
 */
function backEdgeSvg(edge: FlowLayout['back'][number], from: { x: number; y: number }, to: { x: number; y: number }): string {
  const half = V_GAP / 2;
  const sx = from.x + BOX_W;
  const sy = from.y + BOX_H * 0.35;
  const tx = to.x + BOX_W;
  const ty = to.y + BOX_H * 0.65;
  let d = `M${round1(sx)},${round1(sy)}`;
  let label: { x: number; y: number };
  if (edge.via.length === 0) {
    d += ` C${round1(sx + LOOP_BULGE)},${round1(sy)} ${round1(tx + LOOP_BULGE)},${round1(ty)} ${round1(tx)},${round1(ty)}`;
    label = { x: Math.max(sx, tx) + LOOP_BULGE * 0.75 + 4, y: (sy + ty) / 2 };
  } else {
    let [x, y] = [sx, sy];
    let curl = 30; // the first curve leaves the box sideways
    for (const w of edge.via) {
      d += ` C${round1(x + curl)},${round1(y - (curl ? 0 : half))} ${round1(w.x)},${w.y + BOX_H + half} ${round1(w.x)},${w.y + BOX_H} L${round1(w.x)},${w.y}`;
      [x, y, curl] = [w.x, w.y, 0];
    }
    d += ` C${round1(x)},${y - half} ${round1(tx + 30)},${round1(ty)} ${round1(tx)},${round1(ty)}`;
    label = { x: edge.via[0]!.x - 3, y: edge.via[0]!.y + BOX_H / 2 };
  }
  const text = `<text x="${round1(label.x)}" y="${round1(label.y)}" font-size="11" fill="#b5510c" text-anchor="middle" transform="rotate(-90 ${round1(label.x)} ${round1(label.y)})" ${halo}>${escapeHtml(clip(edge.label, 16))}</text>`;
  return `<g data-edge="${escapeHtml(`${edge.from}->${edge.to}`)}" data-back="true"><title>${escapeHtml(`${edge.from} → ${edge.to} (loop back): ${edge.label}`)}</title><path d="${d}" fill="none" stroke="#b5510c" stroke-width="1.5" stroke-dasharray="5 3" marker-end="url(#jr-arrow-back)"/>${text}</g>`;
}

/** The steps as a flow: boxes in layers, arrows with their labels, loops as curved arrows on the side. */
export function flowSvg(report: JourneyReport): string {
  const layout = layoutFlow(report.steps);
  const box = (id: string) => layout.boxes.get(id)!;
  // Several edges leave a box: spread their starting points along its bottom, left to right in the order of where they head (so they do not cross there).
  const heading = (e: FlowLayout['forward'][number]) => e.via[0]?.x ?? box(e.to).x + BOX_W / 2;
  const leaving = new Map<string, FlowLayout['forward']>();
  for (const e of layout.forward) leaving.set(e.from, [...(leaving.get(e.from) ?? []), e]);
  for (const siblings of leaving.values()) siblings.sort((a, b) => heading(a) - heading(b));
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

const figure = (caption: string, detail: string, body: string) => `<figure><figcaption>${escapeHtml(caption)} (${escapeHtml(detail)}), 0 at the vertical mark</figcaption>${body}</figure>`;

function goalSection(goal: JourneyReport['goal']): string {
  // The lift compares everyone who entered with the holdout: every goal conversion within the window after entering counts, whatever message came last (the goal's attribution model does not apply).
  const about = `<p>Goal <b>${escapeHtml(goal.event)}</b>: a conversion within ${goal.attributionWindowDays} days of entering counts; ${fmt(goal.holdoutPercent)} % of entries held out.</p>`;
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
${figure('Conversion-rate lift', 'absolute, percentage points, 95 % interval', intervalSvg('Conversion-rate lift', l.conversionRate.absolute, pct))}
${figure('Relative conversion-rate lift', '95 % interval', intervalSvg('Relative conversion-rate lift', l.conversionRate.relative, pct))}
${figure('Revenue-per-entry lift', 'absolute, 95 % interval', intervalSvg('Revenue-per-entry lift', l.revenuePerMember.absolute, (n) => fmt(n)))}`;
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
  const refused = Object.entries(t.refused ?? {});
  const targeting = report.targeting;
  return `<h2>Totals</h2><div>${kpis.map(([key, label, value]) => `<span class="kpi" data-kpi="${key}">${label}<b>${n0(value)}</b></span>`).join('')}</div>
${targeting ? `<p data-targeting="uplift">Only the ${n0(targeting.upliftTopPercent)} % of contacts the uplift model predicts the journey moves most enter; the holdout is drawn from them, so the lift below measures the effect on them.${refused.length ? ` Kept out: ${refused.map(([reason, n]) => `${n0(n)} ${escapeHtml(reason.replace(/_/g, ' '))}`).join(', ')}.` : ''}</p>` : ''}
${exits.length ? `<table data-table="exits"><tr><th>Exit reason</th><th>Exits</th></tr>${exits.map(([reason, n]) => `<tr><td>${escapeHtml(reason)}</td><td>${n0(n)}</td></tr>`).join('')}</table>` : '<p class="na">No exits yet.</p>'}`;
}

function stepsTable(report: JourneyReport): string {
  const rows = report.steps
    .map((s) => {
      const send = s.send
        ? `<td>${n0(s.send.sent)}</td><td>${n0(s.send.skipped)}</td><td>${n0(s.send.failed)}</td><td>${n0(s.send.queued)}</td><td class="text">${escapeHtml(responsesText(s.send.responses, pct)) || '—'}</td>`
        : '<td colspan="5" class="na">not a send step</td>';
      const edges = s.edges.map((e) => `${e.label} → ${e.to}`).join('; ');
      return `<tr data-step-row="${escapeHtml(s.id)}"><td>${escapeHtml(s.id)}</td><td class="text">${escapeHtml(s.label)}</td><td>${n0(s.entered)}</td><td>${isWait(s) ? n0(s.waiting) : '—'}</td><td>${n0(s.left)}</td><td class="text">${s.exited ? escapeHtml(`${n0(s.exited)}: ${countsText(s.exits)}`) : '0'}</td>${send}<td class="text">${escapeHtml(edges) || 'end'}</td></tr>`;
    })
    .join('\n');
  const retired = report.retiredSteps.length
    ? `<h3>Steps of earlier versions</h3><table data-table="retired-steps"><tr><th>Step</th><th>Entered</th><th>Left</th><th>Exits</th></tr>${report.retiredSteps.map((s) => `<tr><td>${escapeHtml(s.id)}</td><td>${n0(s.entered)}</td><td>${n0(s.left)}</td><td>${escapeHtml(countsText(s.exits)) || '0'}</td></tr>`).join('')}</table>`
    : '';
  return `<div class="scroll"><table data-table="steps"><tr><th>Step</th><th class="text">What</th><th>Entered</th><th>Waiting</th><th>Left</th><th class="text">Exited</th><th>Sent</th><th>Skipped</th><th>Failed</th><th>Queued</th><th class="text">Responses</th><th class="text">Leads to</th></tr>
${rows}</table></div>${retired}`;
}

/** The journey report as a standalone page (no scripts, no external resources). */
export function renderJourneyReportHtml(report: JourneyReport): string {
  const j = report.journey;
  return `${reportPageHead(`${j.name} — journey report`, '.text{text-align:left}figure{margin:.5rem 0}figcaption{color:#555}.scroll{overflow:auto;max-width:100%}.flow{overflow:auto;border:1px solid #ddd;margin:.5rem 0 1rem}.flow svg{display:block;max-width:none}')}
<h1>${escapeHtml(j.name)}</h1>
<p>Journey <b data-status="${escapeHtml(j.status)}">${escapeHtml(j.status)}</b>, version ${n0(j.version)}. Counts as of ${escapeHtml(report.computedAt)}.</p>
${totalsSection(report)}
${goalSection(report.goal)}
<h2>Flow</h2><p>Each box is a step with its counts; arrows are labelled with the branch that takes them. Dashed arrows loop back to an earlier step (or the same one).</p>
<div class="flow">${flowSvg(report)}</div>
<h2>Steps</h2>${stepsTable(report)}
</body></html>`;
}
