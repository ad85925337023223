import { describe, expect, test } from 'vitest';
import reference from '../fixtures/learning/expected-train.json' with { type: 'json' };
import { sigmoid } from '../../shared/learning/logistic.ts';
import { auc } from '../../shared/learning/metrics.ts';
import { mulberry32 } from '../../shared/learning/random.ts';
import { contactHashOf, foldOf, mergeParts, SampleBuilder, type ExampleInput, type SamplePart } from '../../shared/learning/sample.ts';
import { DEFAULT_THRESHOLDS, histogram, trainPropensity, trainUplift, UPLIFT_HISTOGRAM_BINS, type PropensityVersion, type StoredModel } from '../../shared/learning/train.ts';

/**
 * The trainer on synthetic exposures drawn from a known logistic model (mulberry32): a treated
 * model that ranks like the truth, an uplift found when there is one and not when there is none,
 * the gates on thin data, bitwise idempotence, and the stored size at 320 features.
 */

/** Columns of the synthetic encoding: 8 numerics, plan (3), region (10), two flags, channel (2), 7 sparse tokens. */
const FEATURES = [
  ...Array.from({ length: 8 }, (_, j) => `numeric${j}`),
  'plan=free',
  'plan=basic',
  'plan=pro',
  ...Array.from({ length: 10 }, (_, j) => `region=r${j}`),
  'engagement=low',
  'recentBuyer',
  'channel=email',
  'channel=sms',
  ...Array.from({ length: 7 }, (_, j) => `token${j}`),
];
const COLUMN = Object.fromEntries(FEATURES.map((name, j) => [name, j])) as Record<string, number>;
const NUMERIC_WEIGHTS = [0.6, -0.4, 0.3, 0, 0.25, 0, 0, -0.3];
const TOKEN_WEIGHTS = [0.4, 0, -0.3, 0, 0.2, 0, 0];
const REGION_WEIGHTS = [0.1, -0.1, 0, 0.2, 0, 0, -0.2, 0, 0.1, 0];
const HOLDOUT_SHARES = [0.1, 0.15, 0.2];
/** The true control logit's weights on the one-hot and flag columns (numerics: NUMERIC_WEIGHTS; intercept −2.9). */
const TRUE_WEIGHTS: Record<string, number> = {
  'plan=free': -0.3,
  'plan=pro': 0.5,
  'engagement=low': -0.5,
  recentBuyer: 0.8,
  ...Object.fromEntries(REGION_WEIGHTS.map((w, r) => [`region=r${r}`, w])),
  ...Object.fromEntries(TOKEN_WEIGHTS.map((w, t) => [`token${t}`, w])),
};
/**
 * The true uplift for low-engagement contacts on the free plan. The design's generator uses 6
 * points; at the ≈ 2,000 control test examples a unit test can afford, the Qini lower bound of the
 * true uplift itself is below 0 at 6 points (measured: 0.0017 [−0.0012, …]), so this uses 12.
 */
const UPLIFT_POINTS = 0.12;

interface Synthetic {
  readonly inputs: ExampleInput[];
  /** The true P(goal) of each input under its arm. */
  readonly truth: Float64Array;
}

/**
 * `contacts` contacts, one exposure each in one of three campaigns (holdout shares 10, 15, 20 %).
 * The control logit is known (base rate ≈ 8 %); treated contacts convert with the control
 * probability, plus, with `uplift: 'true'`, UPLIFT_POINTS when low-engagement on the free plan and
 * minus 2 points for recent buyers. Values are rounded to float32 first, so the truth is the
 * truth of the stored features.
 */
function synthetic(seed: number, contacts: number, uplift: 'none' | 'true', goal = 'purchase'): Synthetic {
  const draw = mulberry32(seed);
  const inputs: ExampleInput[] = [];
  const truth = new Float64Array(contacts);
  const normal = () => (draw() + draw() + draw() + draw() - 2) * Math.sqrt(3);
  for (let i = 0; i < contacts; i++) {
    const campaign = Math.floor(draw() * 3);
    const h = HOLDOUT_SHARES[campaign]!;
    const treated = draw() < 1 - h ? 1 : 0;
    const entries = new Map<number, number>();
    let logit = -2.9;
    NUMERIC_WEIGHTS.forEach((w, j) => {
      const v = Math.fround(normal());
      entries.set(j, v);
      logit += w * v;
    });
    const planDraw = draw();
    const plan = planDraw < 0.45 ? 0 : planDraw < 0.8 ? 1 : 2;
    entries.set(COLUMN['plan=free']! + plan, 1);
    logit += TRUE_WEIGHTS[FEATURES[COLUMN['plan=free']! + plan]!] ?? 0;
    const region = Math.floor(draw() * 10);
    entries.set(COLUMN['region=r0']! + region, 1);
    logit += TRUE_WEIGHTS[`region=r${region}`]!;
    const lowEngagement = draw() < 0.4;
    if (lowEngagement) entries.set(COLUMN['engagement=low']!, 1);
    logit += lowEngagement ? TRUE_WEIGHTS['engagement=low']! : 0;
    const recentBuyer = draw() < 0.2;
    if (recentBuyer) entries.set(COLUMN['recentBuyer']!, 1);
    logit += recentBuyer ? TRUE_WEIGHTS['recentBuyer']! : 0;
    const channel = draw() < 0.7 ? 0 : 1;
    if (treated) entries.set(COLUMN['channel=email']! + channel, 1);
    TOKEN_WEIGHTS.forEach((w, t) => {
      if (draw() < 0.1) {
        entries.set(COLUMN['token0']! + t, 1);
        logit += TRUE_WEIGHTS[`token${t}`]!;
      }
    });
    let p = sigmoid(logit);
    if (treated && uplift === 'true') p = Math.min(1, Math.max(0, p + (lowEngagement && plan === 0 ? UPLIFT_POINTS : 0) - (recentBuyer ? 0.02 : 0)));
    truth[i] = p;
    const label = draw() < p ? 1 : 0;
    const indices = [...entries.keys()].sort((a, b) => a - b);
    inputs.push({
      goal,
      campaignId: `campaign-${campaign}`,
      contactId: `contact-${seed}-${i}`,
      label,
      treated,
      holdoutShare: h,
      exposedAt: 1_780_000_000_000 + i * 1000,
      revenue: label ? 40 : 0,
      vector: { indices, values: indices.map((j) => entries.get(j)!) },
    });
  }
  return { inputs, truth };
}

/** The sample of the inputs, built in `parts` pages and merged (k per stratum). */
function sampleOf(inputs: readonly ExampleInput[], k = 100_000, parts = 1): SamplePart {
  const builders = Array.from({ length: parts }, () => new SampleBuilder(FEATURES.length, k));
  inputs.forEach((input, i) => builders[i % parts]!.add(input));
  return mergeParts(
    builders.map((b) => b.finish()),
    k,
  );
}

const config = { goal: 'purchase', featureNames: FEATURES };

describe('with a true uplift (57 k treated, 10 k control exposures)', () => {
  const data = synthetic(16, 68_000, 'true');
  const sample = sampleOf(data.inputs);
  const propensity = trainPropensity(sample, config);
  const uplift = trainUplift(sample, propensity, config);

  test('the propensity model is active (its treated model has an interaction a linear logit misses)', () => {
    expect(propensity.status, propensity.reason).toBe('active');
    expect(propensity.metrics!.aucLower95).toBeGreaterThan(0.5);
  });

  test('explanations name the strongest features with their signs', () => {
    const top = propensity.explanations.map((e) => `${e.sign > 0 ? '+' : '-'}${e.feature}`);
    expect(top).toHaveLength(10);
    expect(top.slice(0, 3)).toContain('+numeric0');
    expect(top).toContain('-numeric1');
    expect(top).toContain('+recentBuyer');
    expect(propensity.explanations.map((e) => e.importance)).toEqual([...propensity.explanations.map((e) => e.importance)].sort((a, b) => b - a));
  });

  test('the uplift model is active: its Qini lower bound is > 0, and it points at low engagement on the free plan', () => {
    expect(uplift.status, uplift.reason).toBe('active');
    const m = uplift.metrics!;
    expect(m.qiniLower).toBeGreaterThan(0);
    expect(m.qiniCoefficient).toBeGreaterThan(m.qiniLower);
    expect(m.qini).toHaveLength(20);
    expect(uplift.treatment).toEqual(propensity.model);
    const features = uplift.explanations.slice(0, 4).map((e) => `${e.sign > 0 ? '+' : '-'}${e.feature}`);
    expect(features).toContain('+engagement=low');
    expect(uplift.upliftHistogram).toHaveLength(UPLIFT_HISTOGRAM_BINS);
    const mass = uplift.upliftHistogram!.reduce((a, b) => a + b, 0);
    expect(Math.abs(mass - data.inputs.filter((e) => e.treated === 1).length)).toBeLessThan(UPLIFT_HISTOGRAM_BINS / 2);
  });
});

describe('retraining', () => {
  test('the same exposures, paged differently, give a bitwise-equal version and the same dataHash', () => {
    const data = synthetic(17, 20_000, 'true');
    const sample = sampleOf(data.inputs);
    const propensity = trainPropensity(sample, config);
    const uplift = trainUplift(sample, propensity, config);
    expect(propensity.model).not.toBeNull();
    expect(uplift.control).not.toBeNull();
    const again = sampleOf([...data.inputs].reverse(), 100_000, 7);
    const propensityAgain = trainPropensity(again, config);
    expect(propensityAgain.dataHash).toBe(propensity.dataHash);
    expect(Float64Array.from(propensityAgain.model!.weights)).toEqual(Float64Array.from(propensity.model!.weights));
    expect(JSON.stringify(propensityAgain)).toBe(JSON.stringify(propensity));
    const upliftAgain = trainUplift(again, propensityAgain, config);
    expect(JSON.stringify(upliftAgain)).toBe(JSON.stringify(uplift));
    const changed = trainPropensity(sampleOf(data.inputs.slice(1)), config);
    expect(changed.dataHash).not.toBe(propensity.dataHash);
  });

});

describe('without an uplift (57 k treated, 10 k control exposures)', () => {
  const data = synthetic(61, 68_000, 'none');
  const sample = sampleOf(data.inputs);
  const propensity = trainPropensity(sample, config);

  test('the propensity model is active and ranks the test fold within 0.02 AUC of the true model, calibrated to ECE ≤ 0.02', () => {
    expect(propensity.status, propensity.reason).toBe('active');
    expect(propensity.counts.trainExamples).toBeGreaterThan(39_000);
    const test = data.inputs.map((input, i) => ({ input, p: data.truth[i]! })).filter(({ input }) => input.treated === 1 && foldOf(contactHashOf(input.goal, input.contactId)) >= 8);
    expect(test.length).toBe(propensity.counts.testExamples);
    const trueAuc = auc(
      test.map((t) => t.p),
      test.map((t) => t.input.label),
    );
    const m = propensity.metrics!;
    expect(m.auc).toBeGreaterThanOrEqual(trueAuc - 0.02);
    expect(m.auc).toBeLessThan(trueAuc + 0.02);
    expect(m.aucLower95).toBeGreaterThan(0.5);
    expect(m.brierSkill).toBeGreaterThan(0);
    expect(m.ece).toBeLessThanOrEqual(0.02);
    expect(m.calibration).toHaveLength(10);
    expect(propensity.candidates.map((c) => c.lambda)).toEqual([0.3, 3, 30]);
    expect(propensity.reason).toMatch(/test AUC 0\.\d{4} \(lower bound 0\.\d{4}\), Brier skill/);
  });

  test('the uplift model finds no signal (Qini lower bound ≤ 0)', () => {
    const uplift = trainUplift(sample, propensity, config);
    expect(uplift.status, uplift.reason).toBe('no_signal');
    expect(uplift.metrics!.qiniLower).toBeLessThanOrEqual(0);
    expect(uplift.reason).toMatch(/^no signal: Qini coefficient -?0\.\d{4}, bootstrap 95 % interval/);
    expect(uplift.control).not.toBeNull();
  });

  test('not_better: a new version losing more than the allowed AUC to the active model on the same test fold', () => {
    const strong = propensity.model!;
    const weak = { intercept: strong.intercept, weights: strong.weights.map((w, j) => (j === COLUMN['numeric0'] ? w : 0)) };
    const againstWeak = trainPropensity(sample, { ...config, active: weak });
    expect(againstWeak.status).toBe('active');
    expect(againstWeak.metrics!.activeAuc).toBeLessThan(againstWeak.metrics!.auc - 0.05);
    expect(againstWeak.dataHash).toBe(propensity.dataHash); // the active model is not part of the data hash
    const thin = sampleOf(data.inputs.slice(0, 6000));
    const truth = { intercept: -2.9, weights: FEATURES.map((name, j) => TRUE_WEIGHTS[name] ?? (j < 8 ? NUMERIC_WEIGHTS[j]! : 0)) };
    const beaten = trainPropensity(thin, { ...config, active: truth, thresholds: { maxAucLoss: 0 } });
    expect(beaten.metrics!.activeAuc).toBeGreaterThan(beaten.metrics!.auc);
    expect(beaten.status).toBe('not_better');
    expect(beaten.reason).toMatch(/against the active model's 0\.\d{4} on the same test fold \(at most 0 lower allowed\)/);
    const gap = beaten.metrics!.activeAuc! - beaten.metrics!.auc;
    expect(trainPropensity(thin, { ...config, active: truth, thresholds: { maxAucLoss: gap + 1e-9 } }).status).toBe('active');
  });
});

describe('gates on thin or unusable data', () => {
  test('1,500 exposures: insufficient_history with the counts and thresholds, and no model', () => {
    const sample = sampleOf(synthetic(5, 1500, 'true').inputs);
    const propensity = trainPropensity(sample, config);
    expect(propensity.status).toBe('insufficient_history');
    expect(propensity.model).toBeNull();
    expect(propensity.thresholds).toEqual(DEFAULT_THRESHOLDS);
    expect(propensity.counts.trainExamples).toBeLessThan(2000);
    expect(propensity.reason).toContain(`${propensity.counts.trainExamples} training examples (at least 2000 needed)`);
    expect(propensity.reason).toContain(`${propensity.counts.trainPositives} training positives (at least 200 needed)`);
    expect(propensity.strata.reduce((sum, s) => sum + s.total, 0)).toBe(1500);
    const uplift = trainUplift(sample, propensity, config);
    expect(uplift.status).toBe('insufficient_history');
    expect(uplift.reason).toMatch(/no treatment model \(propensity\.purchase is insufficient_history/);
    expect(uplift.reason).toMatch(/\d+ control training examples \(at least 1000 needed\)/);
    expect(uplift.counts.controlTrainExamples).toBeLessThan(1000);
  });

  test('lowered thresholds let the same 1,500 exposures train', () => {
    const sample = sampleOf(synthetic(5, 1500, 'true').inputs);
    const thresholds = { minTrainExamples: 500, minTrainPositives: 50, minControlExamples: 100, minControlPositives: 5, bootstrapResamples: 20 };
    const propensity = trainPropensity(sample, { ...config, thresholds });
    expect(propensity.model).not.toBeNull();
    expect(['active', 'no_signal']).toContain(propensity.status);
    expect(trainUplift(sample, propensity, { ...config, thresholds }).control).not.toBeNull();
  });

  test('goals named email or sms are reserved', () => {
    const sample = sampleOf(synthetic(7, 300, 'none', 'email').inputs);
    const propensity = trainPropensity(sample, { ...config, goal: 'email' });
    expect(propensity.status).toBe('reserved_name');
    expect(propensity.reason).toMatch(/collide with the channel score propensity\.email/);
    expect(trainUplift(sample, propensity, { ...config, goal: 'email' }).status).toBe('reserved_name');
  });

  test('a goal absent from the sample, mismatched names or goals, and bad thresholds', () => {
    const sample = sampleOf(synthetic(9, 300, 'none').inputs);
    const absent = trainPropensity(sample, { ...config, goal: 'signup' });
    expect(absent.status).toBe('insufficient_history');
    expect(absent.counts.trainExamples).toBe(0);
    expect(() => trainPropensity(sample, { ...config, featureNames: FEATURES.slice(1) })).toThrow(/31 feature names for 32 columns/);
    expect(() => trainPropensity(sample, { ...config, thresholds: { minTrainExamples: Number.NaN } })).toThrow(/minTrainExamples/);
    expect(() => trainUplift(sample, absent, config)).toThrow(/goal 'signup', not 'purchase'/);
  });

  test('all one class: insufficient_history, not a fit that throws or a NaN model', () => {
    const inputs = synthetic(13, 6000, 'none').inputs.map((e) => ({ ...e, label: 0 as const }));
    const propensity = trainPropensity(sampleOf(inputs), config);
    expect(propensity.status).toBe('insufficient_history');
    expect(propensity.reason).toMatch(/0 training positives/);
  });
});

describe('stored size and the histogram', () => {
  test('at 320 features both versions serialise to JSON of at most 25 KB', () => {
    const columns = 320;
    const draw = mulberry32(320);
    const names = Array.from({ length: columns }, (_, j) => (j < 64 ? `counts.opened.email.30d#${j}` : `attributes.h${j}`));
    const builder = new SampleBuilder(columns, 100_000);
    for (let i = 0; i < 5000; i++) {
      const indices = Array.from(new Set(Array.from({ length: 40 }, () => Math.floor(draw() * columns)))).sort((a, b) => a - b);
      const values = indices.map(() => Math.round((draw() * 2 - 1) * 100) / 100);
      const logit = -2 + values.slice(0, 5).reduce((a, b) => a + b, 0);
      const treated = draw() < 0.8 ? 1 : 0;
      builder.add({ goal: 'purchase', campaignId: 'c', contactId: `${i}`, label: draw() < sigmoid(logit) + (treated ? 0.05 : 0) ? 1 : 0, treated, holdoutShare: 0.2, exposedAt: i, revenue: 0, vector: { indices, values } });
    }
    const sample = builder.finish();
    const thresholds = { minTrainExamples: 1000, minTrainPositives: 100, minControlExamples: 300, minControlPositives: 20, bootstrapResamples: 50 };
    const propensity: PropensityVersion = trainPropensity(sample, { goal: 'purchase', featureNames: names, thresholds });
    const uplift = trainUplift(sample, propensity, { goal: 'purchase', featureNames: names, thresholds });
    expect(propensity.model!.weights).toHaveLength(320);
    expect(uplift.control!.weights).toHaveLength(320);
    const sizes = [JSON.stringify(propensity).length, JSON.stringify(uplift).length];
    for (const size of sizes) expect(size).toBeLessThanOrEqual(25_000);
    expect(JSON.parse(JSON.stringify(uplift))).toEqual(uplift);
  });

  test('the uplift histogram bins by 0.001 around 0 and clamps beyond ±0.2', () => {
    const bins = histogram([0, 0.0004, 0.0006, -0.2, -0.5, 0.3, 0.2], [1, 1, 2, 1, 3, 1, 1.4]);
    expect(bins).toHaveLength(401);
    expect(bins[200]).toBe(2);
    expect(bins[201]).toBe(2);
    expect(bins[0]).toBe(4);
    expect(bins[400]).toBe(2);
    expect(() => histogram([Number.NaN], [1])).toThrow(/not finite/);
  });
});

/** The exposures of train_reference.py `exposures`, drawn in the same order from the same seed. */
function referenceInputs(): ExampleInput[] {
  const { seed, rows, columns, goal, holdouts, trueWeights, intercept, upliftLogit } = reference.data;
  const draw = mulberry32(seed);
  const inputs: ExampleInput[] = [];
  for (let i = 0; i < rows; i++) {
    const campaign = Math.floor(draw() * 3);
    const h = holdouts[campaign]!;
    const treated = draw() < 1 - h ? 1 : 0;
    const indices: number[] = [];
    const values: number[] = [];
    let eta = intercept;
    for (let j = 0; j < columns; j++) {
      if (draw() < 0.5) {
        const v = Math.floor(draw() * 17 - 8) / 4;
        indices.push(j);
        values.push(v);
        eta += trueWeights[j]! * v;
      }
    }
    if (treated && indices[0] === 0 && values[0]! > 0) eta += upliftLogit;
    const label = draw() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
    inputs.push({ goal, campaignId: `cmp-${campaign}`, contactId: `c${i}`, label, treated, holdoutShare: h, exposedAt: i, revenue: 0, vector: { indices, values } });
  }
  return inputs;
}

describe('against the reference (train_reference.py: hashlib, scipy L-BFGS-B, numpy metrics)', () => {
  const inputs = referenceInputs();
  const builder = new SampleBuilder(reference.data.columns, reference.data.k);
  for (const input of inputs) builder.add(input);
  const sample = builder.finish();
  const names = Array.from({ length: reference.data.columns }, (_, j) => `x${j}`);
  const thresholds = { minTrainExamples: 500, minTrainPositives: 50, minControlExamples: 200, minControlPositives: 20, bootstrapResamples: 50 };
  const propensity = trainPropensity(sample, { goal: 'purchase', featureNames: names, thresholds });
  const uplift = trainUplift(sample, propensity, { goal: 'purchase', featureNames: names, thresholds });
  const close = (actual: number, expected: number, tolerance: number) => expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(expected)));
  /** Counts and λ exactly, every candidate's validation log-loss within 1e-9, the fitted model within 1e-8. */
  const expectFit = (version: { counts: object; lambda: number | null; candidates: readonly { validationLogLoss: number }[] }, model: StoredModel, r: (typeof reference)['uplift' | 'propensity']) => {
    expect(version.counts).toMatchObject(r.counts);
    expect(version.lambda).toBe(r.lambda);
    version.candidates.forEach((c, i) => close(c.validationLogLoss, r.candidates[i]!.validationLogLoss, 1e-9));
    close(model.intercept, r.intercept, 1e-8);
    model.weights.forEach((w, j) => close(w, r.weights[j]!, 1e-8));
  };

  test('the test regenerates the reference exposures and the same bottom-k strata', () => {
    const c = reference.data.checksums;
    expect(inputs.reduce((sum, e) => sum + e.label, 0)).toBe(c.labels);
    expect(inputs.reduce((sum, e) => sum + e.treated, 0)).toBe(c.treated);
    expect(inputs.reduce((sum, e) => sum + (e.vector.values as number[]).reduce((a, b) => a + b, 0), 0)).toBeCloseTo(c.values, 9);
    expect(propensity.strata).toEqual(reference.strata);
  });

  test('propensity: same folds and λ, weights within 1e-8 (L-BFGS-B’s remaining Newton step is 8e-10), test metrics within 1e-9', () => {
    const r = reference.propensity;
    expectFit(propensity, propensity.model!, r);
    const m = propensity.metrics!;
    close(m.auc, r.metrics.auc, 1e-12);
    close(m.aucStandardError, r.metrics.standardError, 1e-12);
    close(m.aucLower95, r.metrics.lower95, 1e-12);
    close(m.brier, r.metrics.brier, 1e-9);
    close(m.brierSkill, r.metrics.brierSkill, 1e-9);
    close(m.logLoss, r.metrics.logLoss, 1e-9);
    close(m.ece, r.metrics.ece, 1e-9);
    expect(propensity.explanations.map((e) => [e.feature, e.sign])).toEqual(r.explanations.map((e) => [e.feature, e.sign]));
    propensity.explanations.forEach((e, i) => close(e.importance, r.explanations[i]!.importance, 1e-8));
  });

  test('uplift: the control model centred on the treatment weights, its λ, and the Qini coefficient', () => {
    const r = reference.uplift;
    expectFit(uplift, uplift.control!, r);
    close(uplift.metrics!.qiniCoefficient, r.qiniCoefficient, 1e-9);
    close(uplift.metrics!.controlLogLoss, r.controlLogLoss, 1e-9);
    expect(uplift.explanations.map((e) => [e.feature, e.sign])).toEqual(r.explanations.map((e) => [e.feature, e.sign]));
  });
});
