/**
 * Synthetic training data for the learned models (docs/learning-design.md, "Tests"): a seeded
 * population of contacts, a known response model on the same features the encoder sees, and an
 * optional true uplift, emitted as labelled `FeatureInput`s with their arm and true probabilities.
 *
 * The population: a plan (free / basic / pro), a region (10 countries), tenure, past purchases
 * (frequency, spend, recency within the 180-day RFM window), behaviour counts per channel and
 * window (the 7-day counts inside the 30-day inside the 90-day ones), lead points, reachability
 * and a noise attribute the outcome ignores. Treated contacts get a send on a reachable channel
 * at a random hour; controls (the holdout) get none.
 *
 * The base (control) probability is σ(η) with η linear in the encoder's own transforms
 * (log1p of counts and money, one-hot plan and country), so a logistic fit on `encode`d inputs is
 * well specified; the intercept is solved by bisection so that the population's mean base
 * probability is `baseRate` (default 8 %). With `uplift: 'true'` the treated probability adds
 * +6 points for low-engagement free-plan contacts (no open or click in 30 days) and −2 points for
 * recent buyers (a conversion in the last 30 days), clamped to [0, 1]; with `'none'` the treated
 * probability equals the base one.
 *
 * Everything draws from one mulberry32 stream in a fixed order: the same options give the same
 * examples.
 */
import type { Channel } from '../../shared/contacts/model.ts';
import { COUNT_NAMES, type CountName, type FeatureInput } from '../../shared/learning/features.ts';
import { sigmoid } from '../../shared/learning/logistic.ts';
import { mulberry32 } from '../../shared/learning/random.ts';

export const PLANS = ['free', 'basic', 'pro'] as const;
export const REGIONS = ['US', 'GB', 'DE', 'FR', 'ES', 'IT', 'NL', 'SE', 'BR', 'JP'] as const;
export type Plan = (typeof PLANS)[number];

export interface SyntheticOptions {
  readonly seed: number;
  readonly contacts: number;
  readonly uplift: 'none' | 'true';
  /** The share of contacts held out (control arm); default 0.1. */
  readonly holdoutShare?: number;
  /** The population's mean base probability; default 0.08. */
  readonly baseRate?: number;
}

export interface SyntheticExample {
  readonly contactId: string;
  readonly input: FeatureInput;
  readonly arm: 'treated' | 'control';
  /** The outcome drawn with probability `probability`. */
  readonly label: 0 | 1;
  /** The true probability of the outcome in this example's arm. */
  readonly probability: number;
  /** The true probabilities if treated and if not (their difference is the true uplift). */
  readonly pTreated: number;
  readonly pControl: number;
  /** True when the +6-point group's condition holds (low-engagement free plan). */
  readonly lowEngagementFree: boolean;
  /** True when the −2-point group's condition holds (a conversion in the last 30 days). */
  readonly recentBuyer: boolean;
}

/** The true model's coefficients on the encoder's transforms (the intercept is solved for). */
export const TRUE_EFFECTS = {
  plan: { free: 0, basic: 0.5, pro: 1.0 } satisfies Record<Plan, number>,
  region: [0, 0.3, -0.2, 0.1, -0.4, 0.2, 0, 0.5, -0.3, 0.15],
  clickedEmail30: 0.6,
  openedEmail30: 0.35,
  clickedSms30: 0.5,
  frequency: 0.7,
  recency: -0.25,
  tenure: -0.15,
  visited30: 0.3,
  unsubscribed90: -1.0,
} as const;

/** The uplift's size in probability points. */
export const UPLIFT_LOW_ENGAGEMENT_FREE = 0.06;
export const UPLIFT_RECENT_BUYER = -0.02;

interface Person {
  plan: Plan;
  region: number;
  input: Omit<FeatureInput, 'channel' | 'hourBucket' | 'weekend'>;
  eta: number;
}

/** A binomial draw by n Bernoulli trials (n is small here). */
function binomial(draw: () => number, n: number, p: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (draw() < p) k++;
  return k;
}

/** A Poisson draw by Knuth's product of uniforms (means here are small). */
function poisson(draw: () => number, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  let product = draw();
  while (product > limit) {
    k++;
    product *= draw();
  }
  return k;
}

/** Counts over 90 days, thinned to 30 and 7 days (each event falls in the last 30 of 90 days with probability 1/3). */
function windows(draw: () => number, in90: number): [number, number, number] {
  const in30 = binomial(draw, in90, 1 / 3);
  const in7 = binomial(draw, in30, 7 / 30);
  return [in7, in30, in90];
}

function person(draw: () => number): Person {
  const u = draw();
  const plan: Plan = u < 0.6 ? 'free' : u < 0.85 ? 'basic' : 'pro';
  const region = Math.min(REGIONS.length - 1, Math.floor(draw() * REGIONS.length));
  const tenureDays = Math.floor(-Math.log(1 - draw()) * 400);
  const engagement = draw();
  const counts = Object.fromEntries(COUNT_NAMES.map((n) => [n, 0])) as Record<CountName, number>;
  const fill = (behaviour: string, scope: string, values: [number, number, number]) => {
    values.forEach((v, k) => (counts[`${behaviour}.${scope}.${[7, 30, 90][k]}d` as CountName] = v));
  };
  const emailSent = windows(draw, Math.floor(draw() * 13));
  // Opens and clicks thin the sends window by window, keeping 7 ⊂ 30 ⊂ 90.
  const thin = (base: [number, number, number], p: number): [number, number, number] => {
    const in90 = binomial(draw, base[2] - base[1], p);
    const in30 = binomial(draw, base[1] - base[0], p);
    const in7 = binomial(draw, base[0], p);
    return [in7, in7 + in30, in7 + in30 + in90];
  };
  const emailOpened = thin(emailSent, engagement * 0.6);
  const emailClicked = thin(emailOpened, 0.35);
  const smsSent = windows(draw, plan === 'free' ? Math.floor(draw() * 3) : Math.floor(draw() * 6));
  const smsClicked = thin(smsSent, engagement * 0.3);
  const unsubscribed = windows(draw, draw() < 0.03 ? 1 : 0);
  const visited = windows(draw, poisson(draw, 0.5 + engagement * 3));
  fill('sent', 'email', emailSent);
  fill('opened', 'email', emailOpened);
  fill('clicked', 'email', emailClicked);
  fill('sent', 'sms', smsSent);
  fill('clicked', 'sms', smsClicked);
  fill('unsubscribed', 'email', unsubscribed);
  fill('visited', 'any', visited);
  const frequency = poisson(draw, { free: 0.3, basic: 0.8, pro: 1.5 }[plan]);
  const recencyDays = frequency ? Math.floor(draw() * 180) : null;
  let monetary = 0;
  for (let k = 0; k < frequency; k++) monetary += 20 + draw() * 80;
  monetary = Math.round(monetary * 100) / 100;
  // The converted counts agree with recency: the last conversion is in a window when recent enough.
  if (recencyDays !== null) fill('converted', 'any', [recencyDays < 7 ? 1 : 0, recencyDays < 30 ? 1 : 0, recencyDays < 90 ? 1 : 0]);
  const reachable: Record<Channel, boolean> = { email: draw() < 0.95, sms: draw() < 0.4 };
  if (!reachable.email && !reachable.sms) reachable.email = true;
  const input = {
    attributes: { plan, newsletter: draw() < 0.5 },
    country: REGIONS[region]!,
    tenureDays,
    recencyDays,
    frequency,
    monetary,
    counts,
    lead: Math.floor(draw() * 100),
    reachable,
  };
  const e = TRUE_EFFECTS;
  const eta =
    e.plan[plan] +
    e.region[region]! +
    e.clickedEmail30 * Math.log1p(counts['clicked.email.30d']) +
    e.openedEmail30 * Math.log1p(counts['opened.email.30d']) +
    e.clickedSms30 * Math.log1p(counts['clicked.sms.30d']) +
    e.frequency * Math.log1p(frequency) +
    (recencyDays === null ? 0 : e.recency * Math.log1p(recencyDays)) +
    e.tenure * Math.log1p(tenureDays) +
    e.visited30 * Math.log1p(counts['visited.any.30d']) +
    e.unsubscribed90 * Math.log1p(counts['unsubscribed.email.90d']);
  return { plan, region, input, eta };
}

/** The intercept b with mean σ(b + ηᵢ) = rate, by bisection on [−20, 20] (the mean is increasing in b). */
function interceptFor(etas: readonly number[], rate: number): number {
  let lo = -20;
  let hi = 20;
  for (let k = 0; k < 100; k++) {
    const mid = (lo + hi) / 2;
    let mean = 0;
    for (const eta of etas) mean += sigmoid(mid + eta);
    if (mean / etas.length < rate) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** The synthetic examples, one per contact, in contact order. */
export function syntheticExamples(options: SyntheticOptions): SyntheticExample[] {
  const { seed, contacts, uplift, holdoutShare = 0.1, baseRate = 0.08 } = options;
  if (!(Number.isInteger(contacts) && contacts > 0)) throw new RangeError(`contacts is ${contacts}`);
  const draw = mulberry32(seed);
  const people = Array.from({ length: contacts }, () => person(draw));
  const intercept = interceptFor(
    people.map((p) => p.eta),
    baseRate,
  );
  return people.map((p, i) => {
    const pControl = sigmoid(intercept + p.eta);
    const activity = p.input.counts;
    const lowEngagementFree =
      p.plan === 'free' && activity['opened.email.30d'] + activity['clicked.email.30d'] + activity['opened.sms.30d'] + activity['clicked.sms.30d'] === 0;
    const recentBuyer = p.input.recencyDays !== null && p.input.recencyDays < 30;
    const shift = uplift === 'true' ? (lowEngagementFree ? UPLIFT_LOW_ENGAGEMENT_FREE : 0) + (recentBuyer ? UPLIFT_RECENT_BUYER : 0) : 0;
    const pTreated = Math.min(1, Math.max(0, pControl + shift));
    const arm = draw() < holdoutShare ? 'control' : 'treated';
    const channels = (['email', 'sms'] as const).filter((c) => p.input.reachable[c]);
    const channel = arm === 'treated' ? channels[Math.floor(draw() * channels.length)]! : null;
    const hourBucket = arm === 'treated' ? Math.floor(draw() * 6) : null;
    const weekend = draw() < 2 / 7;
    const probability = arm === 'treated' ? pTreated : pControl;
    const label = draw() < probability ? 1 : 0;
    return {
      contactId: `c${String(i).padStart(6, '0')}`,
      input: { ...p.input, channel, hourBucket, weekend },
      arm,
      label,
      probability,
      pTreated,
      pControl,
      lowEngagementFree,
      recentBuyer,
    };
  });
}
