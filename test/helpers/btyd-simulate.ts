/**
 * Customers simulated from known BG/NBD and Gamma–Gamma parameters, from a seeded mulberry32, for
 * the parameter-recovery tests and the committed reference data (test/fixtures/learning/). Written
 * from the models' generative stories, not from shared/learning/btyd.ts.
 */
import type { BgNbdParams, BgNbdRow, GammaGammaParams } from '../../shared/learning/btyd.ts';

/** mulberry32: uniform in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A uniform in (0, 1): never 0, so its logarithm is finite. */
const open = (random: () => number) => {
  let u = random();
  while (u === 0) u = random();
  return u;
};

/** A standard normal by Box–Muller (one of the pair). */
function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(open(random))) * Math.cos(2 * Math.PI * random());
}

/** Gamma(shape, scale 1) by Marsaglia–Tsang; shape < 1 through Gamma(shape + 1)·U^(1/shape). */
export function gamma(random: () => number, shape: number): number {
  if (shape < 1) return gamma(random, shape + 1) * Math.pow(open(random), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const z = normal(random);
    const v = (1 + c * z) ** 3;
    if (v <= 0) continue;
    const u = open(random);
    if (Math.log(u) < 0.5 * z * z + d - d * v + d * Math.log(v)) return d * v;
  }
}

function beta(random: () => number, a: number, b: number): number {
  const x = gamma(random, a);
  return x / (x + gamma(random, b));
}

export interface SimulatedCustomer {
  x: number;
  tx: number;
  T: number;
  /** Spend of each of the x + 1 conversions (the first included). */
  spends: number[];
  /** With `horizonDays`: whether the customer was still alive at T, and its conversions in (T, T + horizon]. */
  alive?: boolean;
  futureConversions?: number;
}

/**
 * BG/NBD customers: λ ~ Gamma(r, rate α), p ~ Beta(a, b); from the first conversion at day 0,
 * waits are exponential with rate λ and after each repeat conversion the customer leaves with
 * probability p. T is a whole number of days, uniform in 1..windowDays (first conversions spread
 * over the window). With `wholeDays` (as aggregated rows are, so that they merge) tₓ counts calendar
 * days like T: the first conversion falls at a uniform time of its day, and tₓ is the number of
 * midnights from it to the last one. Spends: ν ~ Gamma(q, rate v) per customer, each spend
 * ~ Gamma(p, rate ν). With `horizonDays` the story goes on past T (the wait in progress at T is
 * kept: exponential waits have no memory) and counts the conversions of the next horizonDays.
 */
export function simulateCustomers(
  seed: number,
  count: number,
  bgNbd: BgNbdParams,
  gammaGamma: GammaGammaParams,
  { windowDays = 180, wholeDays = true, horizonDays }: { windowDays?: number; wholeDays?: boolean; horizonDays?: number } = {},
): SimulatedCustomer[] {
  const random = mulberry32(seed);
  const customers: SimulatedCustomer[] = [];
  for (let i = 0; i < count; i++) {
    const T = 1 + Math.floor(random() * windowDays);
    const lambda = gamma(random, bgNbd.r) / bgNbd.alpha;
    const dropOut = beta(random, bgNbd.a, bgNbd.b);
    const wait = () => -Math.log(open(random)) / lambda;
    let x = 0;
    let tx = 0;
    let alive = true;
    let t = wait();
    for (; t <= T; t += wait()) {
      x++;
      tx = t;
      if (random() < dropOut) {
        alive = false;
        break;
      }
    }
    let futureConversions = 0;
    for (; horizonDays !== undefined && alive && t <= T + horizonDays; t += wait()) {
      futureConversions++;
      if (random() < dropOut) break;
    }
    const nu = gamma(random, gammaGamma.q) / gammaGamma.v;
    const spends = Array.from({ length: x + 1 }, () => gamma(random, gammaGamma.p) / nu);
    const customer: SimulatedCustomer = { x, tx: wholeDays ? Math.floor(random() + tx) : tx, T, spends };
    customers.push(horizonDays === undefined ? customer : { ...customer, alive, futureConversions });
  }
  return customers;
}

/** Aggregated BG/NBD rows `x|tx|T → n` (x clipped at 50), sorted by x, tx, T. */
export function aggregateRows(customers: readonly SimulatedCustomer[]): BgNbdRow[] {
  const counts = new Map<string, BgNbdRow>();
  for (const c of customers) {
    const x = Math.min(c.x, 50);
    const key = `${x}|${c.tx}|${c.T}`;
    const row = counts.get(key);
    if (row) row.n++;
    else counts.set(key, { x, tx: c.tx, T: c.T, n: 1 });
  }
  return [...counts.values()].sort((p, q) => p.x - q.x || p.tx - q.tx || p.T - q.T);
}

/** The reference data set's recipe: seed, size and the generating parameters. */
export const BTYD_REFERENCE_RECIPE = {
  seed: 20_261_206,
  customers: 2000,
  windowDays: 180,
  bgNbd: { r: 0.25, alpha: 4, a: 0.8, b: 2.5 },
  gammaGamma: { p: 6, q: 4, v: 15 },
};

/**
 * The data btyd_reference.py fits: BG/NBD rows [x, tx, T, n] in whole days and Gamma–Gamma rows
 * [number of conversions, mean spend rounded to 1e-6].
 */
export function btydReferenceData() {
  const { seed, customers, windowDays, bgNbd, gammaGamma } = BTYD_REFERENCE_RECIPE;
  const simulated = simulateCustomers(seed, customers, bgNbd, gammaGamma, { windowDays });
  return {
    ...BTYD_REFERENCE_RECIPE,
    bgNbdRows: aggregateRows(simulated).map((row) => [row.x, row.tx, row.T, row.n]),
    gammaGammaRows: simulated.map((c) => [c.spends.length, Math.round((c.spends.reduce((s, v) => s + v, 0) / c.spends.length) * 1e6) / 1e6]),
  };
}
