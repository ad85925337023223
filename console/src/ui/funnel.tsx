import { num, rate } from './format.ts';

export interface FunnelStage {
  label: string;
  value: number;
}

/**
 * A horizontal bar per stage (targeted → sent → delivered → opened → clicked → converted), each
 * with its count and its share of the first stage. Plain SVG; the numbers are also in the
 * accessible name and in text, so nothing depends on reading the bars.
 */
export function Funnel({ stages, title = 'Funnel' }: { stages: FunnelStage[]; title?: string }) {
  const top = Math.max(1, ...stages.map((s) => s.value));
  const rowH = 28;
  const labelW = 110;
  const width = 560;
  const barMax = width - labelW - 150;
  return (
    <svg class="funnel" viewBox={`0 0 ${width} ${stages.length * rowH + 4}`} role="img" aria-label={`${title}: ${stages.map((s) => `${s.label} ${s.value}`).join(', ')}`} data-chart="funnel">
      {stages.map((s, i) => {
        const w = Math.max(s.value > 0 ? 2 : 0, (s.value / top) * barMax);
        const y = i * rowH + 2;
        return (
          <g key={s.label} data-stage={s.label}>
            <text x={labelW - 8} y={y + 18} text-anchor="end">
              {s.label}
            </text>
            <rect x={labelW} y={y + 4} width={w} height={rowH - 8} rx={3} />
            <text x={labelW + w + 8} y={y + 18}>
              {num(s.value)}
              {i > 0 ? ` · ${rate(s.value, stages[0]!.value)}` : ''}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
