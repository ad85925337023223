/**
 * Weighted L2-penalised logistic regression on sparse rows, fitted by Newton's method (IRLS) with
 * a dense Hessian and a hand-written Cholesky solve (docs/learning-design.md, decision 1).
 *
 * The fit minimises
 *
 *   f(b, β) = Σᵢ wᵢ · logloss(yᵢ, σ(b + xᵢ·β)) + λ/2 · ‖β − β₀‖²
 *
 * where b is the intercept (never penalised) and β₀ the prior centre (0 unless given: the uplift
 * control model is centred on the treatment model's weights, so that where the holdout data say
 * nothing the two models agree and the predicted uplift is 0).
 *
 * Rows are sparse (compressed sparse rows, below): an example has ≈ 60 non-zeros of ≈ 320 columns,
 * and one Newton iteration costs Σᵢ kᵢ²/2 multiply-adds for the Hessian, kᵢ being row i's
 * non-zeros, plus a (p + 1)³/6 Cholesky factorisation. Everything is computed in a fixed order
 * from a fixed start, so the same examples give bitwise the same model.
 *
 * Invalid input (NaN, a label other than 0/1, a negative weight, unsorted indices, no examples, a
 * single class) throws a RangeError naming the problem: these are programming errors upstream
 * (the trainer's gates reject thin data before a fit), never a silent NaN model.
 */
import { logLoss } from './metrics.ts';

/**
 * A sparse matrix in compressed sparse row (CSR) form. Row r's non-zero entries are
 * `indices[k]`, `values[k]` for k in [rowStart[r], rowStart[r + 1]), with column indices strictly
 * increasing within a row (no repeats). The intercept is not a column: the model adds it.
 * Narrow storage (Float32Array values, Uint16Array indices) is accepted as is, so a sample held
 * in compact typed arrays needs no copy.
 */
export interface SparseRows {
  readonly rows: number;
  readonly columns: number;
  /** Length rows + 1, rowStart[0] = 0, non-decreasing, rowStart[rows] = the number of entries. */
  readonly rowStart: Int32Array | Uint32Array;
  readonly indices: Int32Array | Uint32Array | Uint16Array;
  readonly values: Float64Array | Float32Array;
}

/** One sparse vector: the columns (strictly increasing) and their values. */
export interface SparseVector {
  readonly indices: ArrayLike<number>;
  readonly values: ArrayLike<number>;
}

/** Labelled, weighted examples. */
export interface Examples {
  readonly x: SparseRows;
  /** 1 if the outcome happened, else 0; one per row. */
  readonly y: ArrayLike<number>;
  /** Non-negative finite weights, one per row (a weight of 2 counts a row twice); default all 1. */
  readonly weight?: ArrayLike<number>;
}

export interface FitOptions {
  /** The L2 penalty λ ≥ 0 on the non-intercept weights. */
  readonly lambda: number;
  /** The prior centre β₀ (one per column); default all 0. The fit starts there. */
  readonly prior?: ArrayLike<number>;
  /** Newton iterations at most; default 30. */
  readonly maxIterations?: number;
  /** Stop when the largest absolute change of a weight (intercept included) is below this; default 1e-8. */
  readonly tolerance?: number;
}

export interface LogisticModel {
  readonly intercept: number;
  /** One weight per column. */
  readonly weights: Float64Array;
  readonly lambda: number;
  /** Newton iterations taken. */
  readonly iterations: number;
  /** True when the last step was below the tolerance; false after maxIterations or a failed line search. */
  readonly converged: boolean;
  /** The objective f at the returned weights (weighted log-loss sum plus the penalty). */
  readonly objective: number;
  /**
   * The largest ridge added to the Hessian's diagonal to factor it (0 when it was always
   * positive definite, which λ > 0 guarantees up to a column collinear with the intercept).
   */
  readonly jitter: number;
}

export const DEFAULT_MAX_ITERATIONS = 30;
export const DEFAULT_TOLERANCE = 1e-8;
export const DEFAULT_LAMBDAS: readonly number[] = [0.3, 3, 30];

/**
 * Builds a CSR matrix from sparse vectors (each with strictly increasing indices), copying into
 * Float64Array values and Int32Array indices. Checks the same invariants as the fit.
 */
export function sparseRows(vectors: readonly SparseVector[], columns: number): SparseRows {
  const rowStart = new Int32Array(vectors.length + 1);
  let total = 0;
  vectors.forEach((v, r) => {
    if (v.indices.length !== v.values.length) throw new RangeError(`row ${r}: ${v.indices.length} indices but ${v.values.length} values`);
    total += v.indices.length;
    rowStart[r + 1] = total;
  });
  const indices = new Int32Array(total);
  const values = new Float64Array(total);
  vectors.forEach((v, r) => {
    const start = rowStart[r]!;
    for (let k = 0; k < v.indices.length; k++) {
      indices[start + k] = v.indices[k]!;
      values[start + k] = v.values[k]!;
    }
  });
  const x = { rows: vectors.length, columns, rowStart, indices, values };
  checkRows(x);
  return x;
}

/** Builds a CSR matrix from dense rows (each of length `columns`), keeping the non-zero entries. */
export function denseToSparse(dense: readonly ArrayLike<number>[], columns: number): SparseRows {
  return sparseRows(
    dense.map((row, r) => {
      if (row.length !== columns) throw new RangeError(`row ${r} has ${row.length} values, expected ${columns}`);
      const indices: number[] = [];
      const values: number[] = [];
      for (let j = 0; j < columns; j++) {
        if (row[j] !== 0) {
          indices.push(j);
          values.push(row[j]!);
        }
      }
      return { indices, values };
    }),
    columns,
  );
}

/** Throws a RangeError unless `x` is a well-formed CSR matrix with finite values. O(non-zeros). */
export function checkRows(x: SparseRows): void {
  const { rows, columns, rowStart, indices, values } = x;
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(columns) || columns < 0) throw new RangeError(`bad shape ${rows} × ${columns}`);
  if (rowStart.length !== rows + 1 || rowStart[0] !== 0) throw new RangeError(`rowStart must have rows + 1 = ${rows + 1} entries starting at 0`);
  if (rowStart[rows] !== indices.length || indices.length !== values.length) {
    throw new RangeError(`rowStart ends at ${rowStart[rows]} but there are ${indices.length} indices and ${values.length} values`);
  }
  for (let r = 0; r < rows; r++) {
    const start = rowStart[r]!;
    const end = rowStart[r + 1]!;
    if (end < start) throw new RangeError(`row ${r}: rowStart decreases`);
    let previous = -1;
    for (let k = start; k < end; k++) {
      const j = indices[k]!;
      if (j <= previous || j >= columns) throw new RangeError(`row ${r}: column ${j} is out of range or not strictly increasing (previous ${previous}, columns ${columns})`);
      if (!Number.isFinite(values[k]!)) throw new RangeError(`row ${r}, column ${j}: value ${values[k]} is not finite`);
      previous = j;
    }
  }
}

/** σ(η) = 1 / (1 + e^−η), evaluated without overflow on either side. */
export function sigmoid(eta: number): number {
  if (eta >= 0) return 1 / (1 + Math.exp(-eta));
  const e = Math.exp(eta);
  return e / (1 + e);
}

/** log(1 + e^η) without overflow (η for large η) or loss of precision for very negative η. */
function softplus(eta: number): number {
  return eta > 0 ? eta + Math.log1p(Math.exp(-eta)) : Math.log1p(Math.exp(eta));
}

/** The linear predictor b + x_r·β of every row, into `out`. */
function linearPredictor(x: SparseRows, intercept: number, beta: ArrayLike<number>, out: Float64Array): void {
  const { rows, rowStart, indices, values } = x;
  for (let r = 0; r < rows; r++) {
    let eta = intercept;
    const end = rowStart[r + 1]!;
    for (let k = rowStart[r]!; k < end; k++) eta += values[k]! * beta[indices[k]!]!;
    out[r] = eta;
  }
}

/** Throws unless the labels are 0/1 and the weights finite and ≥ 0, with a positive total; returns the weights. */
function checkExamples(data: Examples): Float64Array {
  const n = data.x.rows;
  checkRows(data.x);
  if (data.y.length !== n) throw new RangeError(`${data.y.length} labels for ${n} rows`);
  if (data.weight && data.weight.length !== n) throw new RangeError(`${data.weight.length} weights for ${n} rows`);
  const weight = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const y = data.y[r];
    if (y !== 0 && y !== 1) throw new RangeError(`row ${r}: label ${y} is not 0 or 1`);
    const w = data.weight ? data.weight[r]! : 1;
    if (!(Number.isFinite(w) && w >= 0)) throw new RangeError(`row ${r}: weight ${w} is not a finite number ≥ 0`);
    weight[r] = w;
  }
  return weight;
}

/**
 * Fits the model by damped Newton iterations (docs above). Specifics:
 *
 * - **Start** (cold, so a refit is bitwise identical): β = β₀ and b = logit of the weighted base
 *   rate Σwᵢyᵢ / Σwᵢ, the optimum when no column has any signal.
 * - **Step**: solve H·d = g with g the gradient and H = Xᵀ·diag(wᵢμᵢ(1 − μᵢ))·X + λ·I (the
 *   intercept's diagonal unpenalised), accumulated as the upper triangle of a dense (p + 1)²
 *   matrix, then Cholesky. When a pivot is not above (p + 1)·ε times the largest diagonal entry
 *   (singular: λ = 0 with an empty column or one collinear with the intercept, or every μ
 *   saturated), a ridge of 1e-10 × the largest diagonal entry is added and multiplied by 10 until
 *   the factorisation succeeds; the largest ridge used is reported as `jitter`.
 * - **Line search**: the step is halved (up to 30 times) until the objective decreases by the
 *   Armijo fraction 1e-4 of the predicted decrease, allowing 1e-12 relative round-off (near the
 *   optimum differences are below double precision). Plain Newton is usually accepted at once.
 * - **Stop**: the largest |change| of any weight below `tolerance` (converged), `maxIterations`
 *   steps, or a line search that cannot decrease the objective (not converged).
 *
 * Throws a RangeError on malformed input, no positive total weight, or a single class (the
 * intercept would be ±∞: the trainer must not fit a model without positives and negatives).
 * With λ = 0 and separable data the weights grow without bound: the fit stops after
 * `maxIterations` with `converged: false`.
 */
export function fitLogistic(data: Examples, options: FitOptions): LogisticModel {
  const { lambda, maxIterations = DEFAULT_MAX_ITERATIONS, tolerance = DEFAULT_TOLERANCE } = options;
  if (!(Number.isFinite(lambda) && lambda >= 0)) throw new RangeError(`lambda must be a finite number ≥ 0, got ${lambda}`);
  if (!(Number.isInteger(maxIterations) && maxIterations >= 0)) throw new RangeError(`maxIterations must be an integer ≥ 0, got ${maxIterations}`);
  if (!(tolerance > 0)) throw new RangeError(`tolerance must be > 0, got ${tolerance}`);
  const { x } = data;
  const p = x.columns;
  const weight = checkExamples(data);
  const prior = new Float64Array(p);
  if (options.prior) {
    if (options.prior.length !== p) throw new RangeError(`prior has ${options.prior.length} entries for ${p} columns`);
    for (let j = 0; j < p; j++) {
      if (!Number.isFinite(options.prior[j]!)) throw new RangeError(`prior[${j}] = ${options.prior[j]} is not finite`);
      prior[j] = options.prior[j]!;
    }
  }

  let totalWeight = 0;
  let positiveWeight = 0;
  for (let r = 0; r < x.rows; r++) {
    totalWeight += weight[r]!;
    if (data.y[r] === 1) positiveWeight += weight[r]!;
  }
  if (!(totalWeight > 0)) throw new RangeError(`no examples with a positive weight (${x.rows} rows, total weight ${totalWeight})`);
  if (positiveWeight === 0 || positiveWeight === totalWeight) {
    throw new RangeError(`all examples with a positive weight have label ${positiveWeight === 0 ? 0 : 1}: a logistic model needs both classes`);
  }

  const y = data.y;
  const d = p + 1; // unknowns: the intercept (index 0), then column j at j + 1
  let theta = new Float64Array(d);
  theta[0] = Math.log(positiveWeight / (totalWeight - positiveWeight));
  theta.set(prior, 1);
  let candidate = new Float64Array(d);
  let eta = new Float64Array(x.rows);
  let candidateEta = new Float64Array(x.rows);
  const gradient = new Float64Array(d);
  const hessian = new Float64Array(d * d);
  const step = new Float64Array(d);

  /** f at the coefficients whose linear predictor is in `linear`. */
  const objectiveAt = (coefficients: Float64Array, linear: Float64Array): number => {
    let loss = 0;
    for (let r = 0; r < x.rows; r++) {
      const w = weight[r]!;
      if (w !== 0) loss += w * (softplus(linear[r]!) - (y[r] === 1 ? linear[r]! : 0));
    }
    let penalty = 0;
    for (let j = 0; j < p; j++) {
      const delta = coefficients[j + 1]! - prior[j]!;
      penalty += delta * delta;
    }
    return loss + 0.5 * lambda * penalty;
  };

  linearPredictor(x, theta[0]!, theta.subarray(1), eta);
  let objective = objectiveAt(theta, eta);
  let iterations = 0;
  let converged = false;
  let jitter = 0;

  while (iterations < maxIterations) {
    accumulate(x, y, weight, eta, gradient, hessian);
    for (let j = 0; j < p; j++) {
      gradient[j + 1] = gradient[j + 1]! + lambda * (theta[j + 1]! - prior[j]!);
      hessian[(j + 1) * d + j + 1] = hessian[(j + 1) * d + j + 1]! + lambda;
    }
    jitter = Math.max(jitter, choleskyInPlace(hessian, d));
    choleskySolve(hessian, d, gradient, step);

    let predicted = 0; // the decrease a full step predicts to first order: g·d
    for (let i = 0; i < d; i++) predicted += gradient[i]! * step[i]!;
    let scale = 1;
    let accepted = false;
    let candidateObjective = objective;
    for (let halving = 0; halving <= 30; halving++) {
      for (let i = 0; i < d; i++) candidate[i] = theta[i]! - scale * step[i]!;
      linearPredictor(x, candidate[0]!, candidate.subarray(1), candidateEta);
      candidateObjective = objectiveAt(candidate, candidateEta);
      if (candidateObjective <= objective - 1e-4 * scale * predicted + 1e-12 * Math.abs(objective)) {
        accepted = true;
        break;
      }
      scale /= 2;
    }
    if (!accepted) break;
    iterations++;
    let largest = 0;
    for (let i = 0; i < d; i++) largest = Math.max(largest, Math.abs(candidate[i]! - theta[i]!));
    [theta, candidate] = [candidate, theta];
    [eta, candidateEta] = [candidateEta, eta];
    objective = candidateObjective;
    if (largest < tolerance) {
      converged = true;
      break;
    }
  }

  return { intercept: theta[0]!, weights: theta.slice(1), lambda, iterations, converged, objective, jitter };
}

/**
 * The gradient of the log-loss sum, and the upper triangle of its Hessian, at the linear
 * predictor `eta` (index 0 is the intercept). The Hessian loop is the hot path: per row,
 * kᵢ(kᵢ + 1)/2 multiply-adds into rows of a dense matrix that stays in cache for p ≈ 320.
 */
function accumulate(x: SparseRows, y: ArrayLike<number>, weight: Float64Array, eta: Float64Array, gradient: Float64Array, hessian: Float64Array): void {
  const { rows, rowStart, indices, values } = x;
  const d = x.columns + 1;
  gradient.fill(0);
  hessian.fill(0);
  for (let r = 0; r < rows; r++) {
    const w = weight[r]!;
    if (w === 0) continue;
    const mu = sigmoid(eta[r]!);
    const residual = w * (mu - (y[r] === 1 ? 1 : 0));
    const curvature = w * mu * (1 - mu);
    const start = rowStart[r]!;
    const end = rowStart[r + 1]!;
    gradient[0] = gradient[0]! + residual;
    hessian[0] = hessian[0]! + curvature;
    for (let a = start; a < end; a++) {
      const column = indices[a]! + 1;
      const value = values[a]!;
      gradient[column] = gradient[column]! + residual * value;
      const scaled = curvature * value;
      hessian[column] = hessian[column]! + scaled; // row 0: the intercept's cross term
      const base = column * d + 1;
      for (let b = a; b < end; b++) {
        const cell = base + indices[b]!;
        hessian[cell] = hessian[cell]! + scaled * values[b]!;
      }
    }
  }
}

/**
 * Cholesky factorisation H = L·Lᵀ in place, reading the upper triangle of the symmetric matrix
 * `h` (row-major, n × n) and leaving L in the lower triangle. If a pivot is not above n·ε times
 * the largest diagonal entry, the factorisation restarts from the original matrix plus a ridge
 * (1e-10 × the largest diagonal entry, × 10 per retry, at most 12 retries). Returns the ridge
 * used (0 if none); throws if even the largest ridge fails (a non-finite matrix).
 */
function choleskyInPlace(h: Float64Array, n: number): number {
  // Mirror the upper triangle into the lower one; the upper triangle keeps the original.
  let largestDiagonal = 0;
  for (let i = 0; i < n; i++) {
    largestDiagonal = Math.max(largestDiagonal, Math.abs(h[i * n + i]!));
    for (let j = 0; j < i; j++) h[i * n + j] = h[j * n + i]!;
  }
  if (!Number.isFinite(largestDiagonal)) throw new RangeError('the Hessian has a non-finite entry');
  const floor = n * Number.EPSILON * largestDiagonal;
  const diagonal = new Float64Array(n);
  for (let i = 0; i < n; i++) diagonal[i] = h[i * n + i]!;
  let ridge = 0;
  for (let attempt = 0; attempt <= 12; attempt++) {
    if (attempt > 0) {
      ridge = attempt === 1 ? 1e-10 * Math.max(largestDiagonal, Number.MIN_VALUE) : ridge * 10;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < i; j++) h[i * n + j] = h[j * n + i]!;
      }
    }
    if (factor(h, n, diagonal, ridge, floor)) return ridge;
  }
  throw new RangeError('the Hessian could not be factored even with a ridge of 1e+1 × its largest diagonal entry');
}

/** One attempt at the lower Cholesky factor of (H + ridge·I) in h's lower triangle; false on a pivot ≤ floor. */
function factor(h: Float64Array, n: number, diagonal: Float64Array, ridge: number, floor: number): boolean {
  for (let j = 0; j < n; j++) {
    const rowJ = j * n;
    let pivot = diagonal[j]! + ridge;
    for (let k = 0; k < j; k++) pivot -= h[rowJ + k]! * h[rowJ + k]!;
    if (!(pivot > floor)) return false;
    const root = Math.sqrt(pivot);
    h[rowJ + j] = root;
    for (let i = j + 1; i < n; i++) {
      const rowI = i * n;
      let sum = h[rowI + j]!;
      for (let k = 0; k < j; k++) sum -= h[rowI + k]! * h[rowJ + k]!;
      h[rowI + j] = sum / root;
    }
  }
  return true;
}

/** Solves L·Lᵀ·out = rhs with L in the lower triangle of `l` (row-major n × n). */
function choleskySolve(l: Float64Array, n: number, rhs: Float64Array, out: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let sum = rhs[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * n + k]! * out[k]!;
    out[i] = sum / l[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let sum = out[i]!;
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i]! * out[k]!;
    out[i] = sum / l[i * n + i]!;
  }
}

/** P(y = 1) = σ(b + x_r·β) for every row of `x`, which must have the model's columns. */
export function predict(model: LogisticModel, x: SparseRows): Float64Array {
  if (x.columns !== model.weights.length) throw new RangeError(`rows have ${x.columns} columns, the model ${model.weights.length}`);
  checkRows(x);
  const out = new Float64Array(x.rows);
  linearPredictor(x, model.intercept, model.weights, out);
  for (let r = 0; r < x.rows; r++) out[r] = sigmoid(out[r]!);
  return out;
}

/** P(y = 1) for one sparse vector (indices within the model's columns; non-finite values throw). */
export function predictOne(model: LogisticModel, vector: SparseVector): number {
  let eta = model.intercept;
  for (let k = 0; k < vector.indices.length; k++) {
    const j = vector.indices[k]!;
    const v = vector.values[k]!;
    if (!(j >= 0 && j < model.weights.length) || !Number.isFinite(v)) throw new RangeError(`entry ${k}: column ${j}, value ${v} is not valid for the model`);
    eta += v * model.weights[j]!;
  }
  return sigmoid(eta);
}

export interface LambdaChoice {
  readonly lambda: number;
  /** The model fitted on the training examples with the chosen λ. */
  readonly model: LogisticModel;
  /** Every candidate in the order given, with its weighted validation log-loss. */
  readonly candidates: readonly { lambda: number; validationLogLoss: number; iterations: number; converged: boolean }[];
}

/**
 * Fits one model per λ on `train` (each from the cold start, so the choice is deterministic) and
 * keeps the one with the lowest weighted log-loss on `validation` (metrics.ts `logLoss`); on a tie
 * the earlier λ in the list wins. `options` (prior, iterations, tolerance) apply to every fit.
 */
export function chooseLambda(train: Examples, validation: Examples, lambdas: readonly number[] = DEFAULT_LAMBDAS, options: Omit<FitOptions, 'lambda'> = {}): LambdaChoice {
  if (lambdas.length === 0) throw new RangeError('no λ to choose from');
  let best: { lambda: number; model: LogisticModel; loss: number } | undefined;
  const candidates = lambdas.map((lambda) => {
    const model = fitLogistic(train, { ...options, lambda });
    const loss = logLoss(predict(model, validation.x), validation.y, validation.weight);
    if (!best || loss < best.loss) best = { lambda, model, loss };
    return { lambda, validationLogLoss: loss, iterations: model.iterations, converged: model.converged };
  });
  return { lambda: best!.lambda, model: best!.model, candidates };
}
