/**
 * Reads the learned models a launch needs from the models table, cached per container for five
 * minutes (heads and versions alike: a launch's audience workers read the same few items for every
 * page, and a model retrained at night is picked up by the next launch within minutes).
 *
 * A run pins its versions at start (`resolveLaunchModels`, stored on the campaign), and every scan
 * segment of the run loads exactly those (`modelsForRun`): a retrain during a launch cannot give
 * two segments two thresholds.
 */
import { ConflictError } from '../errors.ts';
import { BTYD_ID, propensityId, upliftId } from '../learning/names.ts';
import type { ModelHead, ModelStore, StoredVersion } from '../learning/store.ts';
import { BETA_FORECAST } from './forecast.ts';
import { modelRef, propensityOf, spendOf, upliftOf, upliftThreshold, type GoalModels, type GoalUplift } from './goal-models.ts';

/** How long a head or version read is reused. */
export const MODEL_CACHE_MS = 5 * 60_000;

/** 409: targeting asks for an uplift model that is not active; names the model, its status and why. */
export class ModelNotActiveError extends ConflictError {
  override name = 'ModelNotActiveError';
  readonly model: { id: string; status: string; reason: string };
  constructor(modelId: string, status: string, reason: string) {
    super(`${modelId} is not active (status ${status}${reason ? `: ${reason}` : ''}); uplift targeting needs an active uplift model for the goal`, 'model_not_active');
    this.model = { id: modelId, status, reason };
  }
}

/** Uplift targeting as a campaign or journey asks for it. */
export interface TargetingOption {
  upliftTopPercent: number;
  goal?: string | undefined;
}

/** The uplift targeting a run applies: the model version, the share asked for and the threshold it gives. */
export interface TargetingApplied {
  goal: string;
  upliftTopPercent: number;
  modelId: string;
  modelVersion: number;
  /** Predicted uplift at or above which a contact is targeted; null: everyone the model can score. */
  threshold: number | null;
}

/** What a run pins at start (stored on the campaign). */
export interface LaunchModels {
  /** `propensity.<goal>@v<n>`, or `beta` when no propensity model for the goal was active. */
  forecastModel: string;
  /** The versions scored with (null: not active at launch). */
  modelVersions: { propensity: number | null; btyd: number | null };
  targeting?: TargetingApplied;
}

type Source = Pick<ModelStore, 'head' | 'version'>;

export class GoalModelSource {
  private readonly cache = new Map<string, { at: number; value: Promise<unknown> }>();

  constructor(
    private readonly store: Source,
    private readonly ttlMs = MODEL_CACHE_MS,
    private readonly clock: () => number = Date.now,
  ) {}

  private cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.clock();
    const hit = this.cache.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value as Promise<T>;
    const value = load();
    this.cache.set(key, { at: now, value });
    // A failed read is not remembered.
    value.catch(() => this.cache.delete(key));
    return value;
  }

  head(modelId: string): Promise<ModelHead | undefined> {
    return this.cached(`head#${modelId}`, () => this.store.head(modelId));
  }

  version(modelId: string, version: number): Promise<StoredVersion | undefined> {
    return this.cached(`v#${modelId}#${version}`, () => this.store.version(modelId, version));
  }

  /** An uplift version as a scorer (weights converted once per cache period), or undefined without one. */
  upliftScorer(modelId: string, version: number): Promise<GoalUplift | undefined> {
    return this.cached(`uplift#${modelId}#${version}`, async () => {
      const stored = await this.version(modelId, version);
      return stored && upliftOf(stored);
    });
  }

  /** The active version of a model, or undefined (no head, none active, stale). */
  async active(modelId: string): Promise<StoredVersion | undefined> {
    const head = await this.head(modelId);
    if (!head || head.activeVersion === null || head.status === 'stale') return undefined;
    return this.version(modelId, head.activeVersion);
  }

  /**
   * The uplift model targeting needs and the threshold its histogram gives, or a ModelNotActiveError
   * (with the head's status and reason; `missing` when the model was never trained).
   */
  async targeting(option: TargetingOption, defaultGoal: string): Promise<TargetingApplied> {
    const goal = option.goal ?? defaultGoal;
    const modelId = upliftId(goal);
    const head = await this.head(modelId);
    const stored = await this.active(modelId);
    const uplift = stored ? upliftOf(stored) : undefined;
    if (!stored || !uplift) {
      if (head && head.activeVersion !== null && head.status !== 'stale') throw new ModelNotActiveError(modelId, head.status, `version ${head.activeVersion} holds no fitted uplift histogram`);
      throw new ModelNotActiveError(modelId, head?.status ?? 'missing', head?.reason ?? `no ${modelId} model has been trained yet`);
    }
    return { goal, upliftTopPercent: option.upliftTopPercent, modelId, modelVersion: stored.version, threshold: upliftThreshold(uplift.histogram, option.upliftTopPercent) };
  }

  /** Pins the versions of a run: the goal's propensity model, btyd, and (when asked) uplift targeting. */
  async resolveLaunchModels(goal: string, targeting: TargetingOption | undefined): Promise<LaunchModels> {
    const propensity = await this.active(propensityId(goal));
    const usable = propensity && propensityOf(propensity) ? propensity : undefined;
    const btyd = await this.active(BTYD_ID);
    return {
      forecastModel: usable ? modelRef(usable.modelId, usable.version) : BETA_FORECAST,
      modelVersions: { propensity: usable?.version ?? null, btyd: btyd && spendOf(btyd) ? btyd.version : null },
      ...(targeting ? { targeting: await this.targeting(targeting, goal) } : {}),
    };
  }

  /** The scorers of the versions a run pinned (a version deleted meanwhile is left out: the run goes on without it). */
  async modelsForRun(goal: string, pinned: Pick<LaunchModels, 'modelVersions' | 'targeting'>): Promise<GoalModels> {
    const { propensity, btyd } = pinned.modelVersions;
    const p = propensity === null ? undefined : await this.version(propensityId(goal), propensity);
    const b = btyd === null ? undefined : await this.version(BTYD_ID, btyd);
    const u = pinned.targeting ? await this.version(pinned.targeting.modelId, pinned.targeting.modelVersion) : undefined;
    const scorer = p && propensityOf(p);
    const uplift = u && upliftOf(u);
    const spend = b && spendOf(b);
    return { goal, ...(scorer ? { propensity: scorer } : {}), ...(uplift ? { uplift } : {}), ...(spend ? { spend } : {}) };
  }
}
