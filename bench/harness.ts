/** Small helpers shared by the benchmarks: medians of repeated runs, printed as a table. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** Optional target, printed beside the figure. */
  target?: string;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `fn` `runs` times after one warm-up and returns the median of what it returns. */
export async function medianOf(runs: number, fn: () => number | Promise<number>): Promise<number> {
  await fn();
  const results: number[] = [];
  for (let i = 0; i < runs; i++) results.push(await fn());
  return median(results);
}

export function print(title: string, figures: Figure[]): void {
  console.log(`\n${title}`);
  for (const f of figures) {
    const value = f.value >= 100 ? Math.round(f.value).toLocaleString('en-US') : f.value.toFixed(3);
    console.log(`  ${f.name.padEnd(58)} ${value.padStart(14)} ${f.unit}${f.target ? `   (target ${f.target})` : ''}`);
  }
}
