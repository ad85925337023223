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

/** mulberry32: a small seeded PRNG, so every run of a benchmark works on the same data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
