/** Numbers, percentages and times as a marketer reads them, in the browser's locale and zone. */
const nf = new Intl.NumberFormat(undefined);
export const num = (n: number | undefined | null): string => (typeof n === 'number' && Number.isFinite(n) ? nf.format(n) : '—');
export const pct = (n: number | undefined | null, digits = 1): string => (typeof n === 'number' && Number.isFinite(n) ? `${(n * 100).toFixed(digits)} %` : '—');
export const rate = (part: number | undefined, whole: number | undefined): string => (whole ? pct((part ?? 0) / whole) : '—');
const df = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export const when = (iso: string | undefined | null): string => {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : df.format(d);
};
/** `<input type="datetime-local">` value ↔ ISO instant, in the browser's zone. */
export const toLocalInput = (iso: string | undefined): string => {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};
export const fromLocalInput = (value: string): string | undefined => (value ? new Date(value).toISOString() : undefined);
