/**
 * The trainer (docs/learning-design.md, decision 3 "Models", "Gates", "Metrics", and the `v#`
 * version of section 5): from a merged sample (sample.ts) to a model version object, with the
 * gates applied and their numbers stated.
 *
 * - **Folds** by contact: `contactHash mod 10` (sha256(goal:contactId)) → 0–6 train,
 *   7 validation, 8–9 test, so a contact's exposures never straddle train and test.
 * - **Weights**: an example counts total/kept of its stratum (the sampling weight). The uplift
 *   model and its Qini also balance the arms per campaign, 1/(1 − h) treated and 1/h control.
 *   For a fit the weights are rescaled to mean 1 over the training rows, so that λ is in units of
 *   examples whatever the sampling rate (validation log-loss and every metric are scale-free).
 * - **λ** ∈ {0.3, 3, 30} by weighted validation log-loss (`chooseLambda`, logistic.ts).
 * - **Propensity** is fitted on the treated examples; **uplift** is two-model: the treatment
 *   model is the propensity model, the control model is fitted on the holdout examples with its
 *   penalty centred on the treatment weights (`prior`), so where the holdouts say nothing the
 *   predicted uplift σ(x·βₜ) − σ(x·β꜀) is 0.
 * - **Determinism**: the sample is in a fixed order, every fit starts cold, the bootstrap seed is
 *   derived from `dataHash`, and the version holds no clock: the same sample and configuration
 *   give a bitwise-equal version. `dataHash` = sha256(LEARNING_CODE_VERSION, the kind, the goal,
 *   the configuration, the goal's strata as `encodePart` bytes); the active model compared against
 *   is not part of it, so a retrain over the same data is recognised whatever is active.
 *
 * Pure: no I/O. A model that fails a gate is still returned, with its status, reason and counts,
 * so the head can say why; `model` is null when nothing was fitted.
 */
import { createHash } from 'node:crypto';
import { chooseLambda, DEFAULT_LAMBDAS, predict, type Examples, type SparseRows } from './logistic.ts';
import { auc, aucSummary, bootstrapQini, brierSkill, calibration, logLoss, qini, topFeatures, type CalibrationBin, type Explanation } from './metrics.ts';
import { NUMERIC_NAMES } from './features.ts';
import { encodePart, foldOf, sampleWeight, type SamplePart } from './sample.ts';

/** Changes whenever the trainer's numbers would change for the same sample: part of `dataHash`. */
export const LEARNING_CODE_VERSION = 'touchloop-learning/1';

/** Goals whose model ids would collide with the channel scores `propensity.email|sms`. */
export const RESERVED_GOALS: readonly string[] = ['email', 'sms'];

export type ModelStatus = 'active' | 'insufficient_history' | 'no_signal' | 'not_better' | 'reserved_name';

/** The gates' thresholds (docs "Gates"); read from configuration at cold start by the caller. */
export interface GateThresholds {
  /** Propensity: training examples (treated, train fold) at least. */
  readonly minTrainExamples: number;
  /** Propensity: positives among them at least. */
  readonly minTrainPositives: number;
  /** Propensity: the largest test-AUC loss tolerated against the active model on the same test fold. */
  readonly maxAucLoss: number;
  /** Uplift: control (holdout) examples in the train fold at least. */
  readonly minControlExamples: number;
  /** Uplift: positives among them at least. */
  readonly minControlPositives: number;
  /** Uplift: Qini bootstrap resamples (by contact). */
  readonly bootstrapResamples: number;
}

export const DEFAULT_THRESHOLDS: GateThresholds = {
  minTrainExamples: 2000,
  minTrainPositives: 200,
  maxAucLoss: 0.01,
  minControlExamples: 1000,
  minControlPositives: 50,
  bootstrapResamples: 200,
};

export interface TrainConfig {
  readonly goal: string;
  /** One name per feature column (the encoder's spec), for explanations. */
  readonly featureNames: readonly string[];
  /** Candidate penalties; default {0.3, 3, 30}. */
  readonly lambdas?: readonly number[];
  readonly thresholds?: Partial<GateThresholds>;
}

/** A fitted logistic model as stored: plain numbers, JSON-serialisable. */
export interface StoredModel {
  readonly intercept: number;
  readonly weights: readonly number[];
}

export interface PropensityConfig extends TrainConfig {
  /** The active version's model, scored on tonight's test fold for the `not_better` gate. */
  readonly active?: StoredModel;
}

export interface LambdaCandidate {
  readonly lambda: number;
  readonly validationLogLoss: number;
  readonly iterations: number;
  readonly converged: boolean;
}

export interface PropensityMetrics {
  readonly auc: number;
  readonly aucStandardError: number;
  /** The Hanley–McNeil lower bound auc − 1.96·SE; the gate requires > 0.5. */
  readonly aucLower95: number;
  readonly brier: number;
  /** ȳ(1 − ȳ) on the test fold. */
  readonly brierReference: number;
  readonly brierSkill: number;
  readonly logLoss: number;
  readonly calibration: readonly CalibrationBin[];
  readonly ece: number;
  /** The active model's AUC on the same test fold, when one was given. */
  readonly activeAuc: number | null;
}

export interface UpliftMetrics {
  /** Q at 5 %, 10 %, …, 100 % of the test fold's weight, best predicted uplift first. */
  readonly qini: readonly { x: number; q: number }[];
  readonly qiniCoefficient: number;
  /** The bootstrap's 2.5th percentile (the gate requires > 0) and 97.5th. */
  readonly qiniLower: number;
  readonly qiniUpper: number;
  readonly bootstrapSeed: number;
  /** The control model's weighted log-loss on the control test examples. */
  readonly controlLogLoss: number;
}

/** A stratum's size in the sample: examples seen and kept. */
export interface StratumCount {
  readonly treated: 0 | 1;
  readonly label: 0 | 1;
  readonly total: number;
  readonly kept: number;
}

interface VersionBase {
  readonly modelId: string;
  readonly goal: string;
  readonly status: ModelStatus;
  /** Why, in a sentence with the numbers (also for `active`). */
  readonly reason: string;
  readonly codeVersion: string;
  readonly dataHash: string;
  /** Example counts per fold and class (kept examples, not weights). */
  readonly counts: Readonly<Record<string, number>>;
  readonly thresholds: GateThresholds;
  readonly strata: readonly StratumCount[];
  /** The chosen λ and every candidate's validation log-loss; null without a fit. */
  readonly lambda: number | null;
  readonly candidates: readonly LambdaCandidate[];
  /** The top 10 features by |β|·sd (uplift: |βₜ − β꜀|·sd), with sign. */
  readonly explanations: readonly Explanation[];
}

/** `v#` of `propensity.<goal>`. */
export interface PropensityVersion extends VersionBase {
  readonly kind: 'propensity';
  readonly model: StoredModel | null;
  readonly metrics: PropensityMetrics | null;
}

/** `v#` of `uplift.<goal>`: both models, so the scorer needs one item. */
export interface UpliftVersion extends VersionBase {
  readonly kind: 'uplift';
  readonly treatment: StoredModel | null;
  readonly control: StoredModel | null;
  readonly metrics: UpliftMetrics | null;
  /**
   * Predicted uplift of the sample's treated examples (all folds, weighted by the sampling
   * weight, rounded to whole exposures): 401 bins of 0.001 centred on −0.2, −0.199, …, 0.2,
   * values beyond ±0.2 counted in the end bins. Null without a fit.
   */
  readonly upliftHistogram: readonly number[] | null;
}

export const UPLIFT_HISTOGRAM_BINS = 401;
export const UPLIFT_HISTOGRAM_STEP = 0.001;

/** One goal's examples of one arm, flattened in the sample's order. */
interface Rows {
  readonly x: SparseRows;
  readonly y: Uint8Array;
  /** Sampling weight total/kept. */
  readonly sampling: Float64Array;
  /** Arm balance: 1/(1 − h) treated, 1/h control. */
  readonly balance: Float64Array;
  readonly fold: Uint8Array;
  readonly contact: Float64Array;
}

/** The goal's examples of one arm as CSR rows (float32 values, uint16 indices: no widening copy). */
function rowsOf(sample: SamplePart, goal: string, treated: 0 | 1): Rows {
  const strata = sample.strata.filter((s) => s.goal === goal && s.treated === treated);
  const n = strata.reduce((sum, s) => sum + s.examples.length, 0);
  const nnz = strata.reduce((sum, s) => s.examples.reduce((acc, e) => acc + e.indices.length, sum), 0);
  const rowStart = new Int32Array(n + 1);
  const indices = new Uint16Array(nnz);
  const values = new Float32Array(nnz);
  const y = new Uint8Array(n);
  const sampling = new Float64Array(n);
  const balance = new Float64Array(n);
  const fold = new Uint8Array(n);
  const contact = new Float64Array(n);
  let r = 0;
  let at = 0;
  for (const s of strata) {
    const w = sampleWeight(s);
    for (const e of s.examples) {
      indices.set(e.indices, at);
      values.set(e.values, at);
      at += e.indices.length;
      rowStart[r + 1] = at;
      y[r] = e.label;
      sampling[r] = w;
      balance[r] = treated === 1 ? 1 / (1 - e.holdoutShare) : 1 / e.holdoutShare;
      fold[r] = foldOf(e.contactHash);
      contact[r] = e.contactHash;
      r++;
    }
  }
  return { x: { rows: n, columns: sample.columns, rowStart, indices, values }, y, sampling, balance, fold, contact };
}

type FoldName = 'train' | 'validation' | 'test';
const inFold = (fold: number, name: FoldName) => (name === 'train' ? fold <= 6 : name === 'validation' ? fold === 7 : fold >= 8);

/** The rows of one fold, with their weights (sampling, times the arm balance when `balanced`). */
interface FoldRows extends Examples {
  readonly x: SparseRows;
  readonly y: Uint8Array;
  readonly weight: Float64Array;
  readonly contact: Float64Array;
  readonly positives: number;
}

function foldRows(rows: Rows, name: FoldName, balanced: boolean): FoldRows {
  const keep: number[] = [];
  for (let r = 0; r < rows.x.rows; r++) if (inFold(rows.fold[r]!, name)) keep.push(r);
  const { rowStart, indices, values } = rows.x;
  const start = new Int32Array(keep.length + 1);
  let nnz = 0;
  keep.forEach((r, i) => (start[i + 1] = nnz += rowStart[r + 1]! - rowStart[r]!));
  const subIndices = new Uint16Array(nnz);
  const subValues = new Float32Array(nnz);
  const y = new Uint8Array(keep.length);
  const weight = new Float64Array(keep.length);
  const contact = new Float64Array(keep.length);
  let positives = 0;
  keep.forEach((r, i) => {
    subIndices.set(indices.subarray(rowStart[r]!, rowStart[r + 1]!) as Uint16Array, start[i]!);
    subValues.set(values.subarray(rowStart[r]!, rowStart[r + 1]!) as Float32Array, start[i]!);
    y[i] = rows.y[r]!;
    positives += y[i]!;
    weight[i] = rows.sampling[r]! * (balanced ? rows.balance[r]! : 1);
    contact[i] = rows.contact[r]!;
  });
  return { x: { rows: keep.length, columns: rows.x.columns, rowStart: start, indices: subIndices, values: subValues }, y, weight, contact, positives };
}

/** The train (0–6), validation (7) and test (8–9) folds of one arm's rows. */
function splitFolds(rows: Rows, balanced: boolean): Record<FoldName, FoldRows> {
  return { train: foldRows(rows, 'train', balanced), validation: foldRows(rows, 'validation', balanced), test: foldRows(rows, 'test', balanced) };
}

/** The weights rescaled to mean 1 (λ in units of examples); all-zero weights are returned as they are. */
function meanOne(rows: FoldRows): FoldRows {
  let total = 0;
  for (const w of rows.weight) total += w;
  if (!(total > 0)) return rows;
  const scale = rows.x.rows / total;
  return { ...rows, weight: rows.weight.map((w) => w * scale) };
}

/** Concatenates fold rows (same columns) in the order given. */
function concatRows(a: FoldRows, b: FoldRows): FoldRows {
  const nnzA = a.x.indices.length;
  const rowStart = new Int32Array(a.x.rows + b.x.rows + 1);
  rowStart.set(a.x.rowStart);
  for (let r = 1; r <= b.x.rows; r++) rowStart[a.x.rows + r] = nnzA + b.x.rowStart[r]!;
  const join = <T extends Uint16Array | Float32Array | Float64Array | Uint8Array>(make: (n: number) => T, p: T, q: T) => {
    const out = make(p.length + q.length);
    out.set(p);
    out.set(q, p.length);
    return out;
  };
  return {
    x: { rows: a.x.rows + b.x.rows, columns: a.x.columns, rowStart, indices: join((n) => new Uint16Array(n), a.x.indices as Uint16Array, b.x.indices as Uint16Array), values: join((n) => new Float32Array(n), a.x.values as Float32Array, b.x.values as Float32Array) },
    y: join((n) => new Uint8Array(n), a.y, b.y),
    weight: join((n) => new Float64Array(n), a.weight, b.weight),
    contact: join((n) => new Float64Array(n), a.contact, b.contact),
    positives: a.positives + b.positives,
  };
}

/** The weighted standard deviation of every column (zeros included), √max(0, E[x²] − E[x]²). */
export function columnSd(x: SparseRows, weight: ArrayLike<number>): Float64Array {
  const sum = new Float64Array(x.columns);
  const squares = new Float64Array(x.columns);
  let total = 0;
  for (let r = 0; r < x.rows; r++) {
    const w = weight[r]!;
    total += w;
    for (let k = x.rowStart[r]!; k < x.rowStart[r + 1]!; k++) {
      const j = x.indices[k]!;
      const v = x.values[k]!;
      sum[j] = sum[j]! + w * v;
      squares[j] = squares[j]! + w * v * v;
    }
  }
  const sd = new Float64Array(x.columns);
  if (total > 0) for (let j = 0; j < x.columns; j++) sd[j] = Math.sqrt(Math.max(0, squares[j]! / total - (sum[j]! / total) ** 2));
  return sd;
}

function thresholdsOf(config: TrainConfig): GateThresholds {
  const t = { ...DEFAULT_THRESHOLDS, ...config.thresholds };
  for (const [name, value] of Object.entries(t)) if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`threshold ${name} must be a finite number ≥ 0, got ${value}`);
  if (!(Number.isInteger(t.bootstrapResamples) && t.bootstrapResamples >= 1)) throw new RangeError(`bootstrapResamples must be an integer ≥ 1, got ${t.bootstrapResamples}`);
  return t;
}

function checkConfig(sample: SamplePart, config: TrainConfig): void {
  if (config.featureNames.length !== sample.columns) throw new RangeError(`${config.featureNames.length} feature names for ${sample.columns} columns`);
  for (const lambda of config.lambdas ?? DEFAULT_LAMBDAS) if (!(Number.isFinite(lambda) && lambda >= 0)) throw new RangeError(`λ must be a finite number ≥ 0, got ${lambda}`);
}

/**
 * sha256 (hex) of LEARNING_CODE_VERSION, the kind, the goal, the configuration (feature names, λs,
 * thresholds, and `extra`: the treatment model's hash for uplift), and the goal's strata as
 * `encodePart` bytes (sorted by stratum, then priority: the merge's deterministic order).
 */
export function dataHashOf(sample: SamplePart, kind: 'propensity' | 'uplift', config: TrainConfig, extra = ''): string {
  const strata = sample.strata.filter((s) => s.goal === config.goal);
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ code: LEARNING_CODE_VERSION, kind, goal: config.goal, featureNames: config.featureNames, lambdas: config.lambdas ?? DEFAULT_LAMBDAS, thresholds: thresholdsOf(config), extra }));
  hash.update(encodePart({ columns: sample.columns, k: sample.k, strata }));
  return hash.digest('hex');
}

const stored = (model: { intercept: number; weights: Float64Array }): StoredModel => ({ intercept: model.intercept, weights: Array.from(model.weights) });

const strataCounts = (sample: SamplePart, goal: string): StratumCount[] =>
  sample.strata.filter((s) => s.goal === goal).map((s) => ({ treated: s.treated, label: s.label, total: s.total, kept: s.examples.length }));

const reservedReason = (goal: string) => `the goal '${goal}' is reserved: its model would collide with the channel score propensity.${goal}`;

/**
 * Trains `propensity.<goal>` on the sample's treated examples of the goal and applies the
 * propensity gates in order: reserved name; ≥ minTrainExamples training examples with
 * ≥ minTrainPositives positives (and both classes in the test fold); test AUC lower bound > 0.5
 * and Brier skill > 0 (else `no_signal`); AUC not below the active model's − maxAucLoss on the
 * same test fold (else `not_better`). Metrics are weighted by the sampling weight on the test fold.
 */
export function trainPropensity(sample: SamplePart, config: PropensityConfig): PropensityVersion {
  checkConfig(sample, config);
  const thresholds = thresholdsOf(config);
  const modelId = `propensity.${config.goal}`;
  const dataHash = dataHashOf(sample, 'propensity', config);
  const base = { kind: 'propensity' as const, modelId, goal: config.goal, codeVersion: LEARNING_CODE_VERSION, dataHash, thresholds, strata: strataCounts(sample, config.goal) };
  const empty = { lambda: null, candidates: [], explanations: [], model: null, metrics: null };
  if (RESERVED_GOALS.includes(config.goal)) return { ...base, ...empty, status: 'reserved_name', reason: reservedReason(config.goal), counts: {} };

  const { train, validation, test } = splitFolds(rowsOf(sample, config.goal, 1), false);
  const counts = {
    trainExamples: train.x.rows,
    trainPositives: train.positives,
    validationExamples: validation.x.rows,
    validationPositives: validation.positives,
    testExamples: test.x.rows,
    testPositives: test.positives,
  };
  const thin = [
    train.x.rows < thresholds.minTrainExamples && `${train.x.rows} training examples (at least ${thresholds.minTrainExamples} needed)`,
    train.positives < thresholds.minTrainPositives && `${train.positives} training positives (at least ${thresholds.minTrainPositives} needed)`,
    train.positives === train.x.rows && train.x.rows > 0 && 'no training negatives',
    validation.x.rows === 0 && 'no validation examples',
    (test.positives === 0 || test.positives === test.x.rows) && `a test fold of ${test.x.rows} examples with ${test.positives} positives (both classes needed)`,
  ].filter((s): s is string => typeof s === 'string');
  if (thin.length > 0) return { ...base, ...empty, status: 'insufficient_history', reason: `insufficient history for ${modelId}: ${thin.join('; ')}`, counts };

  const choice = chooseLambda(meanOne(train), validation, config.lambdas ?? DEFAULT_LAMBDAS);
  const predicted = predict(choice.model, test.x);
  const summary = aucSummary(predicted, test.y, test.weight);
  const skill = brierSkill(predicted, test.y, test.weight);
  const table = calibration(predicted, test.y, test.weight);
  const activeAuc = config.active ? auc(predict(fromStored(config.active, sample.columns), test.x), test.y, test.weight) : null;
  const metrics: PropensityMetrics = {
    auc: summary.auc,
    aucStandardError: summary.standardError,
    aucLower95: summary.lower95,
    brier: skill.brier,
    brierReference: skill.reference,
    brierSkill: skill.skill,
    logLoss: logLoss(predicted, test.y, test.weight),
    calibration: table.bins,
    ece: table.ece,
    activeAuc,
  };
  const numbers = `test AUC ${fmt(summary.auc)} (lower bound ${fmt(summary.lower95)}), Brier skill ${fmt(skill.skill)}`;
  let status: ModelStatus = 'active';
  let reason = `${numbers}; λ = ${choice.lambda}`;
  if (!(summary.lower95 > 0.5) || !(skill.skill > 0)) {
    status = 'no_signal';
    reason = `no signal: ${numbers}; the AUC lower bound must exceed 0.5 and the skill 0`;
  } else if (activeAuc !== null && summary.auc < activeAuc - thresholds.maxAucLoss) {
    status = 'not_better';
    reason = `not better: test AUC ${fmt(summary.auc)} against the active model's ${fmt(activeAuc)} on the same test fold (at most ${thresholds.maxAucLoss} lower allowed)`;
  }
  return {
    ...base,
    status,
    reason,
    counts,
    lambda: choice.lambda,
    candidates: choice.candidates,
    explanations: topFeatures(choice.model.weights, columnSd(train.x, train.weight), config.featureNames),
    model: stored(choice.model),
    metrics,
  };
}

/** A stored model back in logistic.ts's shape, checked against the column count. */
function fromStored(model: StoredModel, columns: number) {
  if (model.weights.length !== columns) throw new RangeError(`the stored model has ${model.weights.length} weights for ${columns} columns`);
  return { intercept: model.intercept, weights: Float64Array.from(model.weights), lambda: 0, iterations: 0, converged: true, objective: 0, jitter: 0 };
}

const fmt = (value: number) => value.toFixed(4);

/**
 * Trains `uplift.<goal>` from the propensity version (the treatment model) and the sample's
 * control examples of the goal. Gates in order: reserved name; a fitted treatment model;
 * ≥ minControlExamples control training examples with ≥ minControlPositives positives (and
 * control and treated examples in the test fold); then the Qini coefficient's bootstrap 2.5th
 * percentile (by contact, seeded from the data hash) must be > 0, else `no_signal`. The control
 * model's penalty is centred on the treatment weights, its λ chosen on the control validation
 * fold; both arms are balanced per campaign (1/(1 − h), 1/h) times the sampling weight.
 * The treatment model is used whenever it was fitted, whatever the propensity status: a response
 * model that does not beat the base rate can still differ from the control model (the uplift
 * gate judges that), and the caller decides whether to publish a propensity score.
 */
export function trainUplift(sample: SamplePart, propensity: PropensityVersion, config: TrainConfig): UpliftVersion {
  checkConfig(sample, config);
  if (propensity.goal !== config.goal) throw new RangeError(`the propensity model is for goal '${propensity.goal}', not '${config.goal}'`);
  const thresholds = thresholdsOf(config);
  const modelId = `uplift.${config.goal}`;
  const dataHash = dataHashOf(sample, 'uplift', config, propensity.dataHash);
  const base = { kind: 'uplift' as const, modelId, goal: config.goal, codeVersion: LEARNING_CODE_VERSION, dataHash, thresholds, strata: strataCounts(sample, config.goal) };
  const empty = { lambda: null, candidates: [], explanations: [], treatment: null, control: null, metrics: null, upliftHistogram: null };
  if (RESERVED_GOALS.includes(config.goal)) return { ...base, ...empty, status: 'reserved_name', reason: reservedReason(config.goal), counts: {} };

  const treatedRows = rowsOf(sample, config.goal, 1);
  const { train, validation, test: controlTest } = splitFolds(rowsOf(sample, config.goal, 0), true);
  const { train: treatedTrain, test: treatedTest } = splitFolds(treatedRows, true);
  const counts = {
    controlTrainExamples: train.x.rows,
    controlTrainPositives: train.positives,
    controlValidationExamples: validation.x.rows,
    controlTestExamples: controlTest.x.rows,
    treatedTestExamples: treatedTest.x.rows,
  };
  const thin = [
    !propensity.model && `no treatment model (${propensity.modelId} is ${propensity.status}: ${propensity.reason})`,
    train.x.rows < thresholds.minControlExamples && `${train.x.rows} control training examples (at least ${thresholds.minControlExamples} needed)`,
    train.positives < thresholds.minControlPositives && `${train.positives} control training positives (at least ${thresholds.minControlPositives} needed)`,
    train.positives === train.x.rows && train.x.rows > 0 && 'no control training negatives',
    validation.x.rows === 0 && 'no control validation examples',
    (controlTest.x.rows === 0 || treatedTest.x.rows === 0) && `a test fold of ${treatedTest.x.rows} treated and ${controlTest.x.rows} control examples (both arms needed)`,
  ].filter((s): s is string => typeof s === 'string');
  if (thin.length > 0 || !propensity.model) return { ...base, ...empty, status: 'insufficient_history', reason: `insufficient history for ${modelId}: ${thin.join('; ')}`, counts };

  const treatment = fromStored(propensity.model, sample.columns);
  const choice = chooseLambda(meanOne(train), validation, config.lambdas ?? DEFAULT_LAMBDAS, { prior: treatment.weights });
  const control = choice.model;
  const test = concatRows(treatedTest, controlTest);
  const uplift = upliftOf(treatment, control, test.x);
  const treatedFlag = new Uint8Array(test.x.rows).fill(1, 0, treatedTest.x.rows);
  const seed = Number.parseInt(dataHash.slice(0, 8), 16) | 0;
  const examples = { uplift, y: test.y, treated: treatedFlag, weight: test.weight, contact: test.contact };
  const curve = qini(examples);
  const bootstrap = bootstrapQini(examples, { seed, resamples: thresholds.bootstrapResamples });
  const metrics: UpliftMetrics = {
    qini: curve.points,
    qiniCoefficient: curve.coefficient,
    qiniLower: bootstrap.lower,
    qiniUpper: bootstrap.upper,
    bootstrapSeed: seed,
    controlLogLoss: logLoss(predict(control, controlTest.x), controlTest.y, controlTest.weight),
  };
  const numbers = `Qini coefficient ${fmt(curve.coefficient)}, bootstrap 95 % interval [${fmt(bootstrap.lower)}, ${fmt(bootstrap.upper)}] over ${thresholds.bootstrapResamples} resamples by contact`;
  const signal = bootstrap.lower > 0;
  const difference = treatment.weights.map((w, j) => w - control.weights[j]!);
  const both = concatRows(treatedTrain, train);
  return {
    ...base,
    status: signal ? 'active' : 'no_signal',
    reason: signal ? `${numbers}; λ = ${choice.lambda}` : `no signal: ${numbers}; the lower bound must exceed 0`,
    counts,
    lambda: choice.lambda,
    candidates: choice.candidates,
    explanations: topFeatures(difference, columnSd(both.x, both.weight), config.featureNames),
    treatment: propensity.model,
    control: stored(control),
    metrics,
    upliftHistogram: histogram(upliftOf(treatment, control, treatedRows.x), treatedRows.sampling),
  };
}

/** Columns that describe a send (channel, hour bucket, channel crosses): a control has none of them. */
const SEND_COLUMNS = new Set(NUMERIC_NAMES.flatMap((name, j) => (name.startsWith('channel=') || name.startsWith('hour=') ? [j] : [])));

/** The rows without their send columns: what the control model sees (its training rows never have them). Two passes, typed arrays only. */
function withoutSend(x: SparseRows): SparseRows {
  let kept = 0;
  for (let k = 0; k < x.indices.length; k++) if (!SEND_COLUMNS.has(x.indices[k]!)) kept++;
  const rowStart = new Int32Array(x.rows + 1);
  const indices = new Uint16Array(kept);
  const values = new Float32Array(kept);
  let at = 0;
  for (let r = 0; r < x.rows; r++) {
    for (let k = x.rowStart[r]!; k < x.rowStart[r + 1]!; k++) {
      if (SEND_COLUMNS.has(x.indices[k]!)) continue;
      indices[at] = x.indices[k]!;
      values[at] = x.values[k]!;
      at++;
    }
    rowStart[r + 1] = at;
  }
  return { rows: x.rows, columns: x.columns, rowStart, indices, values };
}

/**
 * σ(b + x·βₜ) − σ(b꜀ + x₀·β꜀) per row, x₀ being the row without its send columns: the treatment
 * model is evaluated as sent (on the row's channel at its hour), the control model as not sent,
 * exactly as scoring and launch evaluate them (shared/learning/score.ts).
 */
function upliftOf(treatment: Parameters<typeof predict>[0], control: Parameters<typeof predict>[0], x: SparseRows): Float64Array {
  const t = predict(treatment, x);
  const c = predict(control, withoutSend(x));
  return t.map((p, r) => p - c[r]!);
}

/** The 401-bin uplift histogram (see `UpliftVersion.upliftHistogram`): weights summed per bin, rounded to integers. */
export function histogram(uplift: ArrayLike<number>, weight: ArrayLike<number>): number[] {
  const bins = new Float64Array(UPLIFT_HISTOGRAM_BINS);
  const half = (UPLIFT_HISTOGRAM_BINS - 1) / 2;
  for (let r = 0; r < uplift.length; r++) {
    const u = uplift[r]!;
    if (!Number.isFinite(u)) throw new RangeError(`histogram: uplift ${r} = ${u} is not finite`);
    const bin = Math.min(UPLIFT_HISTOGRAM_BINS - 1, Math.max(0, Math.round(u / UPLIFT_HISTOGRAM_STEP) + half));
    bins[bin] = bins[bin]! + weight[r]!;
  }
  return Array.from(bins, Math.round);
}
