/**
 * The learned models as one standalone page (`GET /v1/models.html`), built like the campaign
 * report (attribution/report-html.ts, whose page head and number formats it shares): server
 * rendered, every stored string escaped, charts as inline SVG, no scripts. Per model: its status
 * and why; for propensity the calibration chart and AUC, Brier and ECE; for uplift the Qini curve
 * against random targeting and the coefficient with its bootstrap interval; the top features as
 * signed bars; for BTYD its parameters and buyer counts. Then how the launch forecasts fared
 * against the actuals. With no models it says what the nightly run needs to train one.
 */
import { fmt, intervalSvg, pct, reportPageHead } from './report-html.ts';
import { escapeHtml } from '../html.ts';
import { BTYD_THRESHOLDS } from '../learning/btyd.ts';
import type { CalibrationBin, Explanation } from '../learning/metrics.ts';
import type { BtydVersionView, ForecastAccuracy, LogisticVersionView, ModelsPage, ModelSummary, ModelVersionView } from '../learning/model-views.ts';
import { DEFAULT_THRESHOLDS, type PropensityMetrics, type UpliftMetrics } from '../learning/train.ts';

const STATUS_WORDS: Record<string, string> = {
  active: 'in use',
  insufficient_history: 'not enough history',
  no_signal: 'no signal',
  not_better: 'not better than the version in use',
  stale: 'stale',
  reserved_name: 'reserved name',
};

/** A chart's plotting box: its size and the margins left for the axes' labels. */
const PLOT = { width: 380, height: 260, left: 64, right: 40, top: 12, bottom: 44 } as const;
const plotX = (share: number) => PLOT.left + share * (PLOT.width - PLOT.left - PLOT.right);
const plotY = (share: number) => PLOT.height - PLOT.bottom - share * (PLOT.height - PLOT.top - PLOT.bottom);
const r1 = (n: number) => Math.round(n * 10) / 10;
/** A rate for an axis tick: "12.5 %", "25 %". */
const tickPct = (n: number) => `${fmt(n * 100, 1)} %`;
/** An instant as a reader wants it on the page: "2026-12-06 03:00 UTC". */
const utc = (iso: string) => (/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : iso);

/** The smallest of 1, 2, 2.5, 5 × 10ᵏ at least `n` (a round axis end). */
function niceCeil(n: number): number {
  if (!(n > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(n));
  return ([1, 2, 2.5, 5, 10].find((m) => m * power >= n * (1 - 1e-12)) ?? 10) * power;
}

/** Axes with three ticks each, labelled with `xLabel` and `yLabel`; values in [0, 1] of the box. */
function axes(xLabel: string, yLabel: string, xTicks: Array<[number, string]>, yTicks: Array<[number, string]>): string {
  const xAxis = `<line x1="${plotX(0)}" y1="${plotY(0)}" x2="${plotX(1)}" y2="${plotY(0)}" stroke="#555"/>`;
  const yAxis = `<line x1="${plotX(0)}" y1="${plotY(0)}" x2="${plotX(0)}" y2="${plotY(1)}" stroke="#555"/>`;
  const xt = xTicks.map(([at, label]) => `<text x="${r1(plotX(at))}" y="${plotY(0) + 16}" font-size="11" text-anchor="middle">${escapeHtml(label)}</text>`).join('');
  const yt = yTicks.map(([at, label]) => `<text x="${plotX(0) - 6}" y="${r1(plotY(at)) + 4}" font-size="11" text-anchor="end">${escapeHtml(label)}</text>`).join('');
  const names = `<text x="${r1((plotX(0) + plotX(1)) / 2)}" y="${PLOT.height - 6}" font-size="12" text-anchor="middle">${escapeHtml(xLabel)}</text><text x="12" y="${r1((plotY(0) + plotY(1)) / 2)}" font-size="12" text-anchor="middle" transform="rotate(-90 12 ${r1((plotY(0) + plotY(1)) / 2)})">${escapeHtml(yLabel)}</text>`;
  return xAxis + yAxis + xt + yt + names;
}

const chart = (name: string, label: string, body: string) =>
  `<svg role="img" aria-label="${escapeHtml(label)}" data-chart="${name}" width="${PLOT.width}" height="${PLOT.height}" viewBox="0 0 ${PLOT.width} ${PLOT.height}" xmlns="http://www.w3.org/2000/svg"><title>${escapeHtml(label)}</title>${body}</svg>`;

/** Predicted against observed conversion rate per calibration bin, with the diagonal of a calibrated model. */
export function calibrationSvg(bins: readonly CalibrationBin[]): string {
  const top = Math.min(1, niceCeil(Math.max(0.01, ...bins.flatMap((b) => [b.predicted, b.observed]))));
  const at = (v: number) => Math.min(1, Math.max(0, v / top));
  const ticks: Array<[number, string]> = [0, 0.5, 1].map((s) => [s, tickPct(s * top)]);
  const diagonal = `<line x1="${plotX(0)}" y1="${plotY(0)}" x2="${plotX(1)}" y2="${plotY(1)}" stroke="#999" stroke-dasharray="4 3"/>`;
  const line = `<polyline fill="none" stroke="#1a5fb4" stroke-width="1.5" points="${bins.map((b) => `${r1(plotX(at(b.predicted)))},${r1(plotY(at(b.observed)))}`).join(' ')}"/>`;
  const dots = bins
    .map((b) => `<circle data-bin cx="${r1(plotX(at(b.predicted)))}" cy="${r1(plotY(at(b.observed)))}" r="4" fill="#1a5fb4"><title>predicted ${pct(b.predicted)}, observed ${pct(b.observed)} (weight ${fmt(b.weight, 0)})</title></circle>`)
    .join('');
  return chart('calibration', 'Calibration: observed against predicted conversion rate per tenth of the test fold', axes('Predicted conversion rate', 'Observed', ticks, ticks) + diagonal + line + dots);
}

/** The Qini curve (incremental conversions against the share targeted, best predicted uplift first) and the random-targeting line. */
export function qiniSvg(points: UpliftMetrics['qini']): string {
  const all = [{ x: 0, q: 0 }, ...points];
  const last = all[all.length - 1]!;
  const high = Math.max(0, ...all.map((p) => p.q));
  const low = Math.min(0, ...all.map((p) => p.q));
  const span = high - low || 1;
  const y = (q: number) => (q - low) / span;
  const curve = `<polyline fill="none" stroke="#1a5fb4" stroke-width="2" points="${all.map((p) => `${r1(plotX(p.x))},${r1(plotY(y(p.q)))}`).join(' ')}"><title>Qini curve: ${fmt(last.q)} incremental conversions at 100 %</title></polyline>`;
  const random = `<line data-line="random" x1="${plotX(0)}" y1="${r1(plotY(y(0)))}" x2="${plotX(1)}" y2="${r1(plotY(y(last.q)))}" stroke="#999" stroke-dasharray="4 3"><title>random targeting</title></line>`;
  const xTicks: Array<[number, string]> = [0, 0.5, 1].map((s) => [s, tickPct(s)]);
  const yTicks: Array<[number, string]> = [
    [0, fmt(low, 1)],
    [1, fmt(high, 1)],
  ];
  return chart('qini', 'Qini curve against random targeting', axes('Share targeted, highest predicted uplift first', 'Incremental conversions', xTicks, yTicks) + random + curve);
}

/** The top features as horizontal bars of their signed weights around a zero axis. */
export function featuresSvg(explanations: readonly Explanation[], positive: string, negative: string): string {
  const rowHeight = 24;
  const labelWidth = 250;
  const half = 150;
  const axisX = labelWidth + half;
  const max = Math.max(1e-12, ...explanations.map((e) => Math.abs(e.weight)));
  const rows = explanations
    .map((e, i) => {
      const y = i * rowHeight;
      const width = r1((Math.abs(e.weight) / max) * (half - 40));
      const x = e.weight >= 0 ? axisX : axisX - width;
      const name = e.feature.length > 38 ? `${e.feature.slice(0, 37)}…` : e.feature;
      const valueX = e.weight >= 0 ? axisX + width + 4 : axisX - width - 4;
      return `<g data-feature="${escapeHtml(e.feature)}"><title>${escapeHtml(e.feature)}: weight ${fmt(e.weight, 4)}, importance ${fmt(e.importance, 4)} (${e.sign > 0 ? escapeHtml(positive) : escapeHtml(negative)})</title><text x="0" y="${y + 16}" font-size="12">${escapeHtml(name)}</text><rect x="${x}" y="${y + 5}" width="${width}" height="14" fill="${e.weight >= 0 ? '#26a269' : '#c01c28'}"/><text x="${valueX}" y="${y + 16}" font-size="11" text-anchor="${e.weight >= 0 ? 'start' : 'end'}">${fmt(e.weight, 3)}</text></g>`;
    })
    .join('');
  const height = Math.max(1, explanations.length) * rowHeight;
  return `<svg role="img" aria-label="Top features by importance, with signed weights" data-chart="features" width="${labelWidth + 2 * half}" height="${height}" viewBox="0 0 ${labelWidth + 2 * half} ${height}" xmlns="http://www.w3.org/2000/svg"><line x1="${axisX}" y1="0" x2="${axisX}" y2="${height}" stroke="#555"/>${rows}</svg>`;
}

function featuresSection(view: LogisticVersionView): string {
  if (!view.explanations.length) return '<p class="na">No features to show: no model was fitted.</p>';
  const uplift = view.kind === 'uplift';
  const words = uplift
    ? { intro: 'Where the message moves the goal most: the treated model’s weight minus the control model’s per feature, ranked by |difference| · sd. Green: more moved by the message; red: less.', positive: 'more moved by the message', negative: 'less moved by the message' }
    : { intro: 'Ranked by |β| · sd (the change in log-odds from a one-sd change). Green raises the chance of the goal, red lowers it.', positive: 'raises the chance', negative: 'lowers the chance' };
  return `<h4>Top features</h4><p>${words.intro}</p>${featuresSvg(view.explanations, words.positive, words.negative)}`;
}

function propensitySection(view: LogisticVersionView): string {
  const m = view.metrics as PropensityMetrics | null;
  if (!m) return `<p class="na">No metrics: no model was fitted (counts: ${countsText(view.counts)}).</p>`;
  return `<div><span class="kpi" data-kpi="auc">AUC<b>${fmt(m.auc, 3)}</b></span><span class="kpi" data-kpi="auc-lower">AUC lower 95 %<b>${fmt(m.aucLower95, 3)}</b></span><span class="kpi" data-kpi="brier">Brier score<b>${fmt(m.brier, 4)}</b></span><span class="kpi" data-kpi="brier-skill">Brier skill<b>${fmt(m.brierSkill, 3)}</b></span><span class="kpi" data-kpi="ece">ECE<b>${fmt(m.ece, 4)}</b></span></div>
<p>On the test fold (contacts never trained on), weighted to the whole history. AUC: how often a converter is ranked above a non-converter (0.5 is chance). Brier skill: the squared error's improvement over predicting the base rate. ECE: the mean distance between predicted and observed rates.${m.activeAuc === null ? '' : ` The version in use scored ${fmt(m.activeAuc, 3)} AUC on the same fold.`}</p>
<h4>Calibration</h4>${calibrationSvg(m.calibration)}
${featuresSection(view)}`;
}

function upliftSection(view: LogisticVersionView): string {
  const m = view.metrics as UpliftMetrics | null;
  if (!m) return `<p class="na">No Qini curve: no control model was fitted (counts: ${countsText(view.counts)}).</p>`;
  return `<div><span class="kpi" data-kpi="qini">Qini coefficient<b>${fmt(m.qiniCoefficient, 4)}</b></span><span class="kpi" data-kpi="qini-interval">Bootstrap 95 %<b>${fmt(m.qiniLower, 4)} to ${fmt(m.qiniUpper, 4)}</b></span></div>
<p>The Qini coefficient is the incremental conversions per treated contact gained by targeting in the order of predicted uplift rather than at random, on the test fold; the model is used when the bootstrap's lower end is above 0.</p>
<h4>Qini curve</h4>${qiniSvg(m.qini)}
${intervalSvg('Qini coefficient (bootstrap 95 % interval)', { estimate: m.qiniCoefficient, low: m.qiniLower, high: m.qiniUpper }, (n) => fmt(n, 4))}
${featuresSection(view)}`;
}

function btydSection(view: BtydVersionView): string {
  const c = view.gate.counts;
  const buyers = `<div><span class="kpi" data-kpi="buyers">Buyers<b>${fmt(c.buyers, 0)}</b></span><span class="kpi" data-kpi="repeat-buyers">Repeat buyers<b>${fmt(c.repeatBuyers, 0)}</b></span></div>
<p>Needs ${fmt(c.minBuyers, 0)} buyers, ${fmt(c.minRepeatBuyers, 0)} of them repeat buyers. Churn is 1 − P(alive) from BG/NBD; expected value is the expected conversions in 90 days times the Gamma–Gamma expected spend.</p>`;
  const row = (name: string, meaning: string, value: number | undefined) => `<tr><td>${name}</td><td>${meaning}</td><td>${fmt(value, 4)}</td></tr>`;
  const bg = view.bgNbd;
  const gg = view.gammaGamma;
  const table =
    bg || gg
      ? `<table data-table="btyd"><tr><th>Parameter</th><th>Meaning</th><th>Value</th></tr>${
          bg ? row('r', 'purchase-rate Gamma shape', bg.r) + row('α', 'purchase-rate Gamma rate (per day)', bg.alpha) + row('a', 'drop-out Beta a', bg.a) + row('b', 'drop-out Beta b', bg.b) : ''
        }${gg ? row('p', 'spend Gamma shape', gg.p) + row('q', 'spend-scale Gamma shape', gg.q) + row('v', 'spend-scale Gamma rate', gg.v) : ''}</table>${gg ? `<p>Gamma–Gamma fitted on ${fmt(view.gammaGammaRows, 0)} buyers.</p>` : ''}`
      : '<p class="na">No parameters: the models were not fitted.</p>';
  return buyers + table;
}

const countsText = (counts: Readonly<Record<string, number>>) =>
  Object.entries(counts)
    .map(([k, v]) => `${escapeHtml(k)} ${fmt(v, 0)}`)
    .join(', ') || 'none';

function versionSection(view: ModelVersionView): string {
  if (view.kind === 'btyd') return btydSection(view);
  return view.kind === 'propensity' ? propensitySection(view) : upliftSection(view);
}

function modelSection({ model, shown, shownIs }: ModelsPage['models'][number]): string {
  const title = model.kind === 'btyd' ? 'Churn and expected value (btyd)' : `${model.kind === 'propensity' ? 'Propensity' : 'Uplift'} for ${model.goal ?? ''} (${model.modelId})`;
  const which =
    shownIs === 'active'
      ? `Version ${shown!.version} is in use, trained ${escapeHtml(utc(shown!.trainedAt))}.`
      : shownIs === 'latest'
        ? `No version is in use; the figures below are the latest version’s (${shown!.version}), trained ${escapeHtml(utc(shown!.trainedAt))}.`
        : 'No version is stored.';
  return `<section data-model="${escapeHtml(model.modelId)}" data-status="${escapeHtml(model.status)}"><h3>${escapeHtml(title)}</h3>
<p><span class="badge">${escapeHtml(STATUS_WORDS[model.status] ?? model.status)}</span> ${escapeHtml(model.reason)}</p>
<p>${which} Last trained ${escapeHtml(utc(model.trainedAt))}.</p>
${shown ? versionSection(shown) : ''}</section>`;
}

function overviewTable(models: readonly ModelSummary[]): string {
  const headline = (m: ModelSummary) => {
    const h = m.headline;
    if (m.kind === 'btyd') return `${fmt(h.buyers, 0)} buyers, ${fmt(h.repeatBuyers, 0)} repeat`;
    if (m.kind === 'uplift') return h.qiniCoefficient === undefined ? '—' : `Qini ${fmt(h.qiniCoefficient, 4)} (lower ${fmt(h.qiniLower, 4)})`;
    return h.auc === undefined ? '—' : `AUC ${fmt(h.auc, 3)}, ECE ${fmt(h.ece, 4)}`;
  };
  const rows = models
    .map((m) => `<tr><td>${escapeHtml(m.modelId)}</td><td>${escapeHtml(STATUS_WORDS[m.status] ?? m.status)}</td><td>${m.activeVersion ?? '—'}</td><td>${m.latestVersion}</td><td>${escapeHtml(headline(m))}</td><td>${escapeHtml(utc(m.trainedAt))}</td></tr>`)
    .join('');
  return `<table data-table="models"><tr><th>Model</th><th>Status</th><th>In use</th><th>Latest</th><th>Headline</th><th>Trained</th></tr>${rows}</table>`;
}

/** Actual over forecast per campaign, by launch date, with the interval as a bar and 1 (on target) as a line. */
export function forecastSvg(items: ForecastAccuracy['items']): string {
  const shown = items.filter((i) => i.forecast > 0).sort((a, b) => (a.launchedAt < b.launchedAt ? -1 : a.launchedAt > b.launchedAt ? 1 : 0));
  if (!shown.length) return '<p class="na">No campaign had a forecast above 0 to compare with.</p>';
  const top = niceCeil(Math.max(2, ...shown.flatMap((i) => [i.actual / i.forecast, i.high / i.forecast])));
  const y = (ratio: number) => Math.min(1, Math.max(0, ratio / top));
  const x = (k: number) => (shown.length === 1 ? 0.5 : 0.04 + (0.92 * k) / (shown.length - 1));
  const onTarget = `<line x1="${plotX(0)}" y1="${r1(plotY(y(1)))}" x2="${plotX(1)}" y2="${r1(plotY(y(1)))}" stroke="#999" stroke-dasharray="4 3"><title>actual = forecast</title></line>`;
  const marks = shown
    .map((item, k) => {
      const cx = r1(plotX(x(k)));
      return `<g data-campaign="${escapeHtml(item.campaignId)}"><title>${escapeHtml(item.name)} (${escapeHtml(item.launchedAt.slice(0, 10))}): actual ${fmt(item.actual, 0)}, forecast ${fmt(item.forecast)} (${fmt(item.low)} – ${fmt(item.high)}), ${escapeHtml(item.forecastModel)}</title><line x1="${cx}" y1="${r1(plotY(y(item.low / item.forecast)))}" x2="${cx}" y2="${r1(plotY(y(item.high / item.forecast)))}" stroke="#26a269" stroke-width="4"/><circle cx="${cx}" cy="${r1(plotY(y(item.actual / item.forecast)))}" r="4" fill="${item.inInterval ? '#1a5fb4' : '#c01c28'}"/></g>`;
    })
    .join('');
  const first = shown[0]!.launchedAt.slice(0, 10);
  const last = shown[shown.length - 1]!.launchedAt.slice(0, 10);
  const xTicks: Array<[number, string]> = shown.length === 1 ? [[0.5, first]] : [[0.04, first], [0.96, last]];
  const yTicks: Array<[number, string]> = [0, 1 / top, 1].map((s) => [s, `${fmt(s * top, 1)}×`]);
  return chart('forecast', 'Actual over forecast converters per campaign, by launch date', axes('Launch date', 'Actual ÷ forecast', xTicks, yTicks) + onTarget + marks);
}

function forecastSection(accuracy: ForecastAccuracy): string {
  const s = accuracy.summary;
  if (!accuracy.items.length) return '<h2>Forecast against actual</h2><p class="na" data-forecasts="none">No campaign\u2019s goal window has closed since forecasts were recorded: each campaign appears here once its window closes.</p>';
  const byModel = s.byModel.map((m) => `<tr><td>${escapeHtml(m.forecastModel)}</td><td>${fmt(m.count, 0)}</td><td>${pct(m.coverage)}</td><td>${pct(m.mape)}</td></tr>`).join('');
  const rows = accuracy.items
    .map(
      (i) =>
        `<tr data-fva="${escapeHtml(i.campaignId)}"><td>${escapeHtml(i.name)}</td><td>${escapeHtml(i.launchedAt.slice(0, 10))}</td><td>${escapeHtml(i.goal)}</td><td>${escapeHtml(i.forecastModel)}</td><td>${fmt(i.forecast)}</td><td>${fmt(i.low)} – ${fmt(i.high)}</td><td>${fmt(i.actual, 0)}</td><td>${i.inInterval ? 'yes' : 'no'}</td><td>${pct(i.absolutePercentageError)}</td></tr>`,
    )
    .join('');
  return `<h2>Forecast against actual</h2>
<div><span class="kpi" data-kpi="campaigns">Campaigns<b>${fmt(s.count, 0)}</b></span><span class="kpi" data-kpi="coverage">Inside the 95 % interval<b>${pct(s.coverage)}</b></span><span class="kpi" data-kpi="mape">Mean absolute % error<b>${pct(s.mape)}</b></span></div>
<p>${escapeHtml(accuracy.note)}</p>
${forecastSvg(accuracy.items)}
<table data-table="forecast-models"><tr><th>Forecast from</th><th>Campaigns</th><th>Coverage</th><th>MAPE</th></tr>${byModel}</table>
<table data-table="forecasts"><tr><th>Campaign</th><th>Launched</th><th>Goal</th><th>Forecast from</th><th>Forecast</th><th>95 % interval</th><th>Actual</th><th>Inside</th><th>Error</th></tr>${rows}</table>`;
}

/** Propensity and uplift per goal, goal by goal, then the BTYD model. */
function pageOrder(a: ModelSummary, b: ModelSummary): number {
  const key = (m: ModelSummary) => `${m.kind === 'btyd' ? '\uffff' : m.goal ?? ''}\u0000${m.kind === 'propensity' ? 0 : 1}`;
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

/** The models page (see the module comment). */
export function renderModelsHtml(page: ModelsPage): string {
  const models = [...page.models].sort((a, b) => pageOrder(a.model, b.model));
  const t = DEFAULT_THRESHOLDS;
  const intro = models.length
    ? `${overviewTable(models.map((m) => m.model))}${models.map(modelSection).join('\n')}`
    : `<p class="na" data-models="none">No models yet: the nightly run trains one per goal once there is enough history — ${fmt(t.minTrainExamples, 0)} examples, ${fmt(t.minTrainPositives, 0)} positives (uplift also needs ${fmt(t.minControlExamples, 0)} holdout examples with ${fmt(t.minControlPositives, 0)} positives; churn and expected value need ${fmt(BTYD_THRESHOLDS.minBuyers, 0)} buyers, ${fmt(BTYD_THRESHOLDS.minRepeatBuyers, 0)} of them repeat buyers). Until then scores and forecasts come from each contact's own responses.</p>`;
  return `${reportPageHead('Learned models', '.badge{display:inline-block;padding:0 .4rem;border:1px solid #999;border-radius:.3rem;margin-right:.3rem}section{margin-bottom:2rem}')}
<h1>Learned models</h1>
<p>What the nightly run learned from sends and their outcomes: who is likely to reach each goal (propensity), who is moved by a message rather than converting anyway (uplift), and who is going quiet and what they are worth (churn and expected value). A model that fails a gate is not used, and says why.</p>
<h2>Models</h2>${intro}
${forecastSection(page.forecasts)}
</body></html>`;
}
