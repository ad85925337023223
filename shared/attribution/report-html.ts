import { escapeHtml } from '../html.ts';
import type { Interval, LiftReport, MetricLift } from './lift.ts';
import type { CampaignReportView, ModelReport, TargetingReport } from './report-view.ts';
import type { CampaignReport } from './run.ts';

/** A number for a report page, "—" when there is none. */
export const fmt = (n: number | null | undefined, digits = 2) => (n === null || n === undefined || !Number.isFinite(n) ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: digits }));
/** A share as a percentage for a report page, "—" when there is none. */
export const pct = (n: number | null | undefined) => (n === null || n === undefined || !Number.isFinite(n) ? '—' : `${(n * 100).toFixed(2)} %`);

/** Horizontal bars of the funnel, as inline SVG (no scripts, no CDN). */
function funnelSvg(funnel: CampaignReport['funnel']): string {
  const rows: Array<[string, number]> = [
    ['Sent', funnel.sent],
    ['Delivered', funnel.delivered],
    ['Opened', funnel.opened],
    ['Clicked', funnel.clicked],
    ...(funnel.visited === undefined ? [] : ([['Visited', funnel.visited]] as Array<[string, number]>)),
    ['Converted', funnel.converted],
  ];
  const max = Math.max(1, ...rows.map(([, v]) => v));
  const bars = rows
    .map(([label, value], i) => {
      const width = Math.round((value / max) * 360);
      const y = i * 30;
      return `<g data-step="${label.toLowerCase()}"><text x="0" y="${y + 18}" font-size="13">${label}</text><rect x="90" y="${y + 4}" width="${width}" height="20" fill="#1a5fb4"><title>${label}: ${fmt(value)}</title></rect><text x="${96 + width}" y="${y + 19}" font-size="12">${fmt(value)}</text></g>`;
    })
    .join('');
  return `<svg role="img" aria-label="Funnel" width="520" height="${rows.length * 30}" viewBox="0 0 520 ${rows.length * 30}" xmlns="http://www.w3.org/2000/svg">${bars}</svg>`;
}

/** A lift estimate with its interval on an axis through zero (also drawn by the journey report page). */
export function intervalSvg(label: string, interval: Interval | null | undefined, unit: (n: number) => string): string {
  if (!interval) return `<p class="na">${escapeHtml(label)}: not enough data for an interval.</p>`;
  const span = Math.max(Math.abs(interval.low), Math.abs(interval.high), Math.abs(interval.estimate), 1e-9) * 1.2;
  const x = (v: number) => 250 + (v / span) * 230;
  return `<svg role="img" aria-label="${escapeHtml(label)}" width="520" height="60" viewBox="0 0 520 60" xmlns="http://www.w3.org/2000/svg" data-interval="${escapeHtml(label)}">
<line x1="20" y1="30" x2="480" y2="30" stroke="#999"/><line x1="250" y1="15" x2="250" y2="45" stroke="#555"/>
<line x1="${x(interval.low)}" y1="30" x2="${x(interval.high)}" y2="30" stroke="#26a269" stroke-width="6"/>
<circle cx="${x(interval.estimate)}" cy="30" r="6" fill="#1a5fb4"><title>${escapeHtml(label)}: ${unit(interval.estimate)} (${unit(interval.low)} to ${unit(interval.high)})</title></circle>
<text x="${x(interval.low)}" y="55" font-size="11" text-anchor="middle">${unit(interval.low)}</text><text x="${x(interval.high)}" y="55" font-size="11" text-anchor="middle">${unit(interval.high)}</text>
</svg>`;
}

function liftSection(title: string, lift: LiftReport | null): string {
  if (!lift) return `<section><h3>${escapeHtml(title)}</h3><p class="na">No holdout to compare with.</p></section>`;
  return `<section><h3>${escapeHtml(title)}</h3>
<table data-table="lift"><tr><th></th><th>Treatment</th><th>Holdout</th><th>Absolute lift (95 % CI)</th><th>Relative lift</th><th>p-value</th></tr>
<tr><td>Conversion rate</td><td>${pct(lift.treatment.rate)}</td><td>${pct(lift.holdout.rate)}</td><td>${pct(lift.conversionRate.absolute.estimate)} (${pct(lift.conversionRate.absolute.low)} to ${pct(lift.conversionRate.absolute.high)})</td><td>${lift.conversionRate.relative ? pct(lift.conversionRate.relative.estimate) : '—'}</td><td>${fmt(lift.conversionRate.pValue, 4)}</td></tr>
<tr><td>Revenue per contact</td><td>${fmt(lift.treatment.revenuePerMember)}</td><td>${fmt(lift.holdout.revenuePerMember)}</td><td>${fmt(lift.revenuePerMember.absolute.estimate)} (${fmt(lift.revenuePerMember.absolute.low)} to ${fmt(lift.revenuePerMember.absolute.high)})</td><td>${lift.revenuePerMember.relative ? pct(lift.revenuePerMember.relative.estimate) : '—'}</td><td>${fmt(lift.revenuePerMember.pValue, 4)}</td></tr></table>
${intervalSvg('Conversion-rate lift', lift.conversionRate.absolute, pct)}
</section>`;
}

/** The visit rate of the treatment against the holdout's, with the same test as the conversion rate. */
function visitsSection(visits: CampaignReportView['visits']): string {
  if (!visits) return '<p class="na" data-visits="none">Visits are measured from the next attribution run.</p>';
  const lift: MetricLift | null = visits.lift;
  const row = lift
    ? `<td>${pct(lift.absolute.estimate)} (${pct(lift.absolute.low)} to ${pct(lift.absolute.high)})</td><td>${lift.relative ? `${pct(lift.relative.estimate)} (${pct(lift.relative.low)} to ${pct(lift.relative.high)})` : '—'}</td><td>${fmt(lift.pValue, 4)}</td>`
    : '<td colspan="3" class="na">No holdout to compare with.</td>';
  return `<table data-table="visits"><tr><th></th><th>Treatment</th><th>Holdout</th><th>Absolute lift (95 % CI)</th><th>Relative lift (95 % CI)</th><th>p-value</th></tr>
<tr><td>Visit rate</td><td data-visit-rate="treatment">${pct(visits.treatment.rate)} (${fmt(visits.treatment.visitors, 0)} of ${fmt(visits.treatment.members, 0)})</td><td data-visit-rate="holdout">${pct(visits.holdout.rate)} (${fmt(visits.holdout.visitors, 0)} of ${fmt(visits.holdout.members, 0)})</td>${row}</tr></table>
${lift ? intervalSvg('Visit-rate lift', lift.absolute, pct) : ''}`;
}

/** The funnel per variant and for the holdout (whose message steps do not apply). */
function funnelsTable(funnels: CampaignReportView['funnels']): string {
  if (!funnels.length) return '<p class="na">No groups measured.</p>';
  const cell = (n: number | null) => (n === null ? '<td class="na" title="not applicable: the holdout is sent nothing">n/a</td>' : `<td>${fmt(n, 0)}</td>`);
  const rows = funnels
    .map(
      (f) =>
        `<tr data-group="${escapeHtml(f.group)}"><td>${f.holdout ? 'Holdout' : escapeHtml(f.group || '(single)')}</td><td>${fmt(f.targeted, 0)}</td>${cell(f.sent)}${cell(f.delivered)}${cell(f.opened)}${cell(f.clicked)}<td>${fmt(f.visited, 0)}</td><td>${fmt(f.converted, 0)}</td><td>${fmt(f.revenue)}</td>${cell(f.unsubscribed)}</tr>`,
    )
    .join('');
  return `<table data-table="funnels"><tr><th>Group</th><th>Targeted</th><th>Sent</th><th>Delivered</th><th>Opened</th><th>Clicked</th><th>Visited</th><th>Converted</th><th>Revenue</th><th>Unsubscribed</th></tr>${rows}</table>
<p>Unique contacts; visited and converted within the goal window after the send (holdout: after the launch).</p>`;
}

/** Live counts as they stand, read from the campaign's counters. */
function liveSection(report: CampaignReportView): string {
  const l = report.live;
  const cells: Array<[string, string, number]> = [
    ['targeted', 'Targeted', l.targeted],
    ['holdout', 'Holdout', l.holdout],
    ['sent', 'Sent', l.sent],
    ['delivered', 'Delivered', l.delivered],
    ['opened', 'Opened', l.opened],
    ['clicked', 'Clicked', l.clicked],
    ['unsubscribed', 'Unsubscribed', l.unsubscribed],
    ['bounced', 'Bounced', l.bounced],
    ['complained', 'Complained', l.complained],
    ['converted', 'Converted', l.converted],
  ];
  return `<h2>Live</h2><p>Counts as of ${escapeHtml(l.asOf)}, as they happen (converted: the goal event whose last touch was this campaign, inside its window). Campaign ${escapeHtml(report.status)}.</p>
<table data-table="live"><tr>${cells.map(([, label]) => `<th>${label}</th>`).join('')}</tr><tr>${cells.map(([key, , value]) => `<td data-live="${key}">${fmt(value, 0)}</td>`).join('')}</tr></table>`;
}

/** A share of 0–100 as the page writes it: "20 %", "12.5 %". */
const percent = (n: number) => `${fmt(n, 1)} %`;

/** The targeting paragraph: who was sent to, why, and what the lift below compares. */
export function targetingParagraph(t: TargetingReport): string {
  const share = percent(t.upliftTopPercent);
  const cut = t.threshold === null ? 'every contact it could score' : `predicted uplift ≥ ${fmt(t.threshold * 100, 2)} points`;
  const predicted = `The model expected ${fmt(t.predictedIncremental)} incremental ${escapeHtml(t.goal)} conversions among those sent to${t.measuredIncremental === null ? '; the measured lift appears after the next attribution run' : `; the holdout comparison measured ${fmt(t.measuredIncremental)}`}.`;
  return `<p data-targeting="uplift">Sent only to the ${share} of the segment the uplift model (${escapeHtml(t.modelId)} v${t.modelVersion}) predicts the message moves most (${cut}); the holdout was drawn from the same ${share}, so the lift below measures the effect on them. ${predicted}</p>`;
}

/** The model section: which model forecast the goal, the forecast against the measured converters, and targeting. */
function modelSection(model: ModelReport | null): string {
  if (!model) return '';
  const g = model.goalForecast;
  const forecast = g
    ? `<table data-table="goal-forecast"><tr><th>Goal</th><th>Model</th><th>Forecast converters</th><th>95 % interval</th><th>Measured converters</th><th>Expected revenue</th></tr>
<tr><td>${escapeHtml(g.event)}</td><td>${escapeHtml(g.model)}</td><td data-goal-forecast="expected">${fmt(g.expectedConverters)}</td><td>${fmt(g.low)} – ${fmt(g.high)}</td><td data-goal-forecast="measured">${model.measuredConverters === null ? '—' : fmt(model.measuredConverters, 0)}</td><td>${fmt(g.expectedRevenue)}</td></tr></table>
<p>The interval holds the chance in who converts (each contact a coin with the model's probability), not the model's own error: a measured count outside it says the model was off for this audience.</p>`
    : '<p class="na" data-goal-forecast="none">No goal model was active at launch: the launch forecast is per channel, from the contacts’ response scores (Beta).</p>';
  return `<h2>Model</h2>${forecast}${model.targeting ? targetingParagraph(model.targeting) : ''}`;
}

/**
 * The start of a report page up to `<body>`: its title and the shared inline style (the pages are
 * served with a CSP that allows inline style and nothing else: no scripts, no external resources).
 */
export function reportPageHead(title: string, extraStyle = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body{font:14px system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:right}td:first-child,th:first-child{text-align:left}.kpi{display:inline-block;margin:0 1.5rem 1rem 0}.kpi b{display:block;font-size:1.4rem}.na{color:#777}${extraStyle}</style>
</head><body>`;
}

/** The campaign report as a standalone page: live counts, then what the last run measured — funnel, lift with intervals, variants, channels, forecast vs actual. */
export function renderReportHtml(report: CampaignReportView): string {
  const head = `${reportPageHead(`${report.name} — report`)}
<h1>${escapeHtml(report.name)}</h1>
<p>Goal <b>${escapeHtml(report.goal.event)}</b>, ${report.goal.attributionWindowDays}-day window, ${escapeHtml(report.goal.model.replace('_', ' '))} attribution. Launched ${escapeHtml(report.launchedAt)}.</p>
${liveSection(report)}
${modelSection(report.model)}`;
  if (!report.measured || !report.funnel || !report.holdout || !report.forecastVsActual) {
    return `${head}
<h2>Attribution and lift</h2><p class="na" data-measured="none">No attribution run has measured this campaign yet. Attributed conversions, revenue, lift over the holdout, variants, channels and forecast vs actual appear after the next nightly run.</p>
</body></html>`;
  }
  const f = report.funnel;
  const fv = report.forecastVsActual;
  const variants = report.variants
    .map((v) => `<tr><td>${escapeHtml(v.variant || '(single)')}</td><td>${fmt(v.members, 0)}</td><td>${fmt(v.opened, 0)}</td><td>${fmt(v.clicked, 0)}</td><td>${fmt(v.unsubscribed, 0)}</td><td>${fmt(v.converters, 0)}</td><td>${fmt(v.attributedConversions)}</td><td>${fmt(v.attributedRevenue)}</td><td>${v.lift ? pct(v.lift.conversionRate.absolute.estimate) : '—'}</td><td>${fmt(v.visitors, 0)}</td><td>${v.visitLift ? pct(v.visitLift.absolute.estimate) : '—'}</td></tr>`)
    .join('');
  const channels = (report.channels ?? [])
    .map((c) => `<tr data-channel="${escapeHtml(c.channel)}"><td>${escapeHtml(c.channel)}</td><td>${fmt(c.sent, 0)}</td><td>${fmt(c.delivered, 0)}</td><td>${fmt(c.opened, 0)}</td><td>${fmt(c.clicked, 0)}</td><td>${fmt(c.unsubscribed, 0)}</td><td>${fmt(c.converters, 0)}</td><td>${c.conversionRate === null ? '—' : pct(c.conversionRate)}</td><td>${fmt(c.revenue)}</td></tr>`)
    .join('');
  const fva = (['email', 'sms'] as const)
    .map((c) => {
      const r = fv[c];
      return `<tr><td>${c}</td><td>${fmt(r.forecast)}</td><td>${fmt(r.low)} – ${fmt(r.high)}</td><td>${fmt(r.actual, 0)}</td><td>${fmt(r.error)}</td></tr>`;
    })
    .join('');
  return `${head}
<h2>Attribution and lift</h2><p data-measured="${escapeHtml(report.measured.runId)}">As of the attribution run ${escapeHtml(report.measured.runId)}, computed ${escapeHtml(report.measured.computedAt)} (conversions ${escapeHtml(report.measured.range.from)} to ${escapeHtml(report.measured.range.to)}).</p>
<div><span class="kpi" data-kpi="sent">Sent<b>${fmt(f.sent, 0)}</b></span><span class="kpi" data-kpi="holdout">Holdout<b>${fmt(report.holdout.members, 0)}</b></span><span class="kpi" data-kpi="conversions">Attributed conversions<b>${fmt(f.converted)}</b></span><span class="kpi" data-kpi="revenue">Revenue<b>${fmt(report.revenue)}</b></span><span class="kpi" data-kpi="cost">Cost<b>${fmt(report.cost, 4)}</b></span><span class="kpi" data-kpi="roi">ROI<b>${report.roi === null ? '—' : pct(report.roi)}</b></span></div>
<h2>Funnel</h2>${funnelSvg(f)}
<p>Unsubscribed ${fmt(f.unsubscribed, 0)} · bounced ${fmt(f.bounced, 0)} · complained ${fmt(f.complained, 0)}</p>
<h2>Funnel by group</h2>${funnelsTable(report.funnels)}
<h2>Incremental lift over the holdout</h2>${liftSection('All variants', report.lift)}
<h3>Site visits</h3>${visitsSection(report.visits)}
<h2>Variants</h2><table data-table="variants"><tr><th>Variant</th><th>Members</th><th>Opened</th><th>Clicked</th><th>Unsubscribed</th><th>Converters</th><th>Attributed conversions</th><th>Attributed revenue</th><th>Lift</th><th>Visitors</th><th>Visit lift</th></tr>${variants}</table>
<h2>Channels</h2>${channels ? `<table data-table="channels"><tr><th>Channel</th><th>Sent</th><th>Delivered</th><th>Opened</th><th>Clicked</th><th>Unsubscribed</th><th>Converters</th><th>Conversion rate</th><th>Revenue</th></tr>${channels}</table>` : '<p class="na">No sends in this range.</p>'}
<h2>Forecast vs actual responders</h2><table><tr><th>Channel</th><th>Forecast</th><th>95 % interval</th><th>Actual</th><th>Error</th></tr>${fva}</table>
</body></html>`;
}
