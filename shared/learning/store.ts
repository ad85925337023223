/**
 * The models table (docs/learning-design.md §5): per model id (`propensity.<goal>`,
 * `uplift.<goal>`, `btyd`) a `head` item (status, reason, active and latest version, data hash,
 * headline metrics) and immutable `v#000001…` items (the version object the trainer returned,
 * with the feature spec its examples were encoded with), plus, under the model id `forecasts`,
 * one `fva#<launchedAt>#<campaignId>` item per campaign whose goal window closed (forecast
 * against actual).
 *
 * Versions are JSON strings in `body` (exact doubles, no DynamoDB number rules to satisfy). A
 * version is written only when its `dataHash` differs from the head's: retraining on the same
 * sample writes nothing. The version number is claimed with a conditional put, so two trainers
 * racing on one model cannot overwrite each other's version.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient, queryAll } from '../aws/dynamodb.ts';
import type { BgNbdFit, BtydGate, GammaGammaFit } from './btyd.ts';
import type { FeatureSpec } from './features.ts';
import type { ModelStatus, PropensityVersion, UpliftVersion } from './train.ts';

/** A model that was active but has not been retrained for this long is `stale`: its scores are removed. */
export const STALE_AFTER_DAYS = 30;
/** Versions kept per model (older ones are deleted when a new one is written). */
export const VERSIONS_KEPT = 60;
/** Model id of the forecast-against-actual items. */
export const FORECASTS_ID = 'forecasts';

export type ModelKind = 'propensity' | 'uplift' | 'btyd';
export type HeadStatus = ModelStatus | 'stale';

/** `btyd`'s version: BG/NBD and Gamma–Gamma parameters with the gate. */
export interface BtydVersion {
  readonly kind: 'btyd';
  readonly modelId: 'btyd';
  readonly status: 'active' | 'insufficient_history';
  readonly reason: string;
  readonly dataHash: string;
  readonly gate: BtydGate;
  readonly bgNbd: BgNbdFit | null;
  readonly gammaGamma: GammaGammaFit | null;
  /** Buyers the Gamma–Gamma fit used (a sample of at most 100,000). */
  readonly gammaGammaRows: number;
}

export type ModelBody = PropensityVersion | UpliftVersion | BtydVersion;

/** What the list and the head show without reading a version. */
export interface Headline {
  auc?: number;
  aucLower95?: number;
  brierSkill?: number;
  ece?: number;
  qiniCoefficient?: number;
  qiniLower?: number;
  buyers?: number;
  repeatBuyers?: number;
  examples?: number;
}

export interface ModelHead {
  modelId: string;
  kind: ModelKind;
  /** The goal (conversion event name) of a propensity or uplift model. */
  goal?: string;
  /** The latest training's verdict; `active` means `activeVersion` is the one scores and launches use. */
  status: HeadStatus;
  reason: string;
  /** The version in use, or null when none ever passed its gates (or it went stale). */
  activeVersion: number | null;
  /** The newest version written (active or not). */
  latestVersion: number;
  dataHash: string;
  /** When the latest training ran (written or recognised as unchanged), and by which attribution run. */
  trainedAt: string;
  runId: string;
  /** When the active version was trained. */
  activeTrainedAt?: string;
  headline: Headline;
}

export interface StoredVersion {
  modelId: string;
  version: number;
  trainedAt: string;
  runId: string;
  /** The encoding the examples were made with (null for btyd): the scorer encodes with exactly this. */
  spec: FeatureSpec | null;
  body: ModelBody;
}

/** One campaign's forecast against its actual, written when its goal window closed. */
export interface ForecastActual {
  campaignId: string;
  name: string;
  launchedAt: string;
  goal: string;
  /** `propensity.<goal>@v<n>`, or `beta` when the forecast came from the channel scores. */
  forecastModel: string;
  /** Expected converters among the treated, with its 95 % interval (Bernoulli noise only). */
  forecast: number;
  low: number;
  high: number;
  /** Treated contacts who converted within the goal window. */
  actual: number;
  treated: number;
  computedAt: string;
}

const versionKey = (n: number) => `v#${String(n).padStart(6, '0')}`;

export function headlineOf(body: ModelBody): Headline {
  if (body.kind === 'btyd') return { buyers: body.gate.counts.buyers, repeatBuyers: body.gate.counts.repeatBuyers };
  const examples = Object.values(body.counts).reduce((s, n) => s + n, 0);
  if (body.kind === 'propensity') {
    const m = body.metrics;
    return { examples, ...(m ? { auc: m.auc, aucLower95: m.aucLower95, brierSkill: m.brierSkill, ece: m.ece } : {}) };
  }
  const m = body.metrics;
  return { examples, ...(m ? { qiniCoefficient: m.qiniCoefficient, qiniLower: m.qiniLower } : {}) };
}

export class ModelStore {
  constructor(
    readonly table: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  async head(modelId: string): Promise<ModelHead | undefined> {
    const item = (await this.db.send(new GetCommand({ TableName: this.table, Key: { modelId, sk: 'head' }, ConsistentRead: true }))).Item;
    return item ? headOf(item) : undefined;
  }

  /** Every model's head (a small table: one scan, heads only). */
  async heads(): Promise<ModelHead[]> {
    const out: ModelHead[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(new ScanCommand({ TableName: this.table, FilterExpression: 'sk = :h', ExpressionAttributeValues: { ':h': 'head' }, ExclusiveStartKey: startKey }));
      for (const item of page.Items ?? []) out.push(headOf(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return out.sort((a, b) => (a.modelId < b.modelId ? -1 : a.modelId > b.modelId ? 1 : 0));
  }

  async version(modelId: string, version: number): Promise<StoredVersion | undefined> {
    const item = (await this.db.send(new GetCommand({ TableName: this.table, Key: { modelId, sk: versionKey(version) } }))).Item;
    return item ? versionOf(item) : undefined;
  }

  /** The head and its active version, when the model is active (the scorer's and the launch's read). */
  async active(modelId: string): Promise<{ head: ModelHead; version: StoredVersion } | undefined> {
    const head = await this.head(modelId);
    if (!head || head.activeVersion === null || head.status === 'stale') return undefined;
    const version = await this.version(modelId, head.activeVersion);
    return version ? { head, version } : undefined;
  }

  /** The versions of a model, newest first, without their bodies' weights: number, status, reason, trainedAt, headline. */
  async versions(modelId: string): Promise<Array<{ version: number; status: string; reason: string; trainedAt: string; runId: string; headline: Headline }>> {
    const out: Array<{ version: number; status: string; reason: string; trainedAt: string; runId: string; headline: Headline }> = [];
    for await (const item of queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'modelId = :m AND begins_with(sk, :v)',
      ExpressionAttributeValues: { ':m': modelId, ':v': 'v#' },
      ScanIndexForward: false,
    })) {
      const v = versionOf(item);
      out.push({ version: v.version, status: v.body.status, reason: v.body.reason, trainedAt: v.trainedAt, runId: v.runId, headline: headlineOf(v.body) });
    }
    return out;
  }

  /**
   * Records a training's result. Same `dataHash` as the head: only `trainedAt`/`runId` move
   * (idempotent retraining). Otherwise the next version is written (conditional on not existing)
   * and the head points at it; it becomes the active version only when its status is `active`,
   * else the previous active version stays in use and the head says why the new one is not.
   */
  async record(body: ModelBody, spec: FeatureSpec | null, runId: string, now: Date): Promise<{ version: number; written: boolean; head: ModelHead }> {
    const modelId = body.modelId;
    const trainedAt = now.toISOString();
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.head(modelId);
      if (current && current.dataHash === body.dataHash) {
        await this.db.send(
          new UpdateCommand({ TableName: this.table, Key: { modelId, sk: 'head' }, UpdateExpression: 'SET trainedAt = :t, runId = :r', ExpressionAttributeValues: { ':t': trainedAt, ':r': runId } }),
        );
        return { version: current.latestVersion, written: false, head: { ...current, trainedAt, runId } };
      }
      const version = (current?.latestVersion ?? 0) + 1;
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: { modelId, sk: versionKey(version), version, trainedAt, runId, spec: spec ? JSON.stringify(spec) : null, body: JSON.stringify(body) },
            ConditionExpression: 'attribute_not_exists(sk)',
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) continue; // another trainer took this number: read the head again
        throw error;
      }
      const activates = body.status === 'active';
      const head: ModelHead = {
        modelId,
        kind: body.kind,
        ...(body.kind !== 'btyd' ? { goal: body.goal } : {}),
        status: body.status,
        reason: body.reason,
        activeVersion: activates ? version : (current?.status === 'stale' ? null : (current?.activeVersion ?? null)),
        latestVersion: version,
        dataHash: body.dataHash,
        trainedAt,
        runId,
        ...(activates ? { activeTrainedAt: trainedAt } : current?.activeTrainedAt && current.status !== 'stale' ? { activeTrainedAt: current.activeTrainedAt } : {}),
        headline: headlineOf(body),
      };
      await this.db.send(new PutCommand({ TableName: this.table, Item: { ...head, sk: 'head', headline: JSON.stringify(head.headline) } }));
      await this.prune(modelId, version);
      return { version, written: true, head };
    }
    throw new Error(`model ${modelId}: could not claim a version number after 5 attempts`);
  }

  /** Marks an active model not retrained for STALE_AFTER_DAYS as stale (no version is active any more). */
  async markStale(modelId: string, now: Date): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { modelId, sk: 'head' },
          UpdateExpression: 'SET #s = :stale, reason = :why, activeVersion = :none',
          ConditionExpression: 'attribute_exists(sk) AND activeTrainedAt < :limit',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: {
            ':stale': 'stale',
            ':why': `not retrained for ${STALE_AFTER_DAYS} days: its scores are removed until a new version passes its gates`,
            ':none': null,
            ':limit': new Date(now.getTime() - STALE_AFTER_DAYS * 86_400_000).toISOString(),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private async prune(modelId: string, newest: number): Promise<void> {
    const oldest = newest - VERSIONS_KEPT;
    if (oldest < 1) return;
    const page = await this.db.send(
      new QueryCommand({ TableName: this.table, KeyConditionExpression: 'modelId = :m AND sk BETWEEN :a AND :b', ExpressionAttributeValues: { ':m': modelId, ':a': 'v#', ':b': versionKey(oldest) }, ProjectionExpression: 'modelId, sk' }),
    );
    for (const item of page.Items ?? []) await this.db.send(new DeleteCommand({ TableName: this.table, Key: { modelId, sk: item.sk } }));
  }

  async putForecastActual(item: ForecastActual): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { modelId: FORECASTS_ID, sk: `fva#${item.launchedAt}#${item.campaignId}`, ...item } }));
  }

  /** The newest `limit` forecast-against-actual items, newest launch first. */
  async forecastActuals(limit = 20): Promise<ForecastActual[]> {
    const page = await this.db.send(
      new QueryCommand({ TableName: this.table, KeyConditionExpression: 'modelId = :m AND begins_with(sk, :f)', ExpressionAttributeValues: { ':m': FORECASTS_ID, ':f': 'fva#' }, ScanIndexForward: false, Limit: limit }),
    );
    return (page.Items ?? []).map(({ modelId: _m, sk: _s, ...rest }) => rest as unknown as ForecastActual);
  }

  /** Whether a campaign's forecast against actual is recorded already. */
  async hasForecastActual(launchedAt: string, campaignId: string): Promise<boolean> {
    const item = (await this.db.send(new GetCommand({ TableName: this.table, Key: { modelId: FORECASTS_ID, sk: `fva#${launchedAt}#${campaignId}` }, ProjectionExpression: 'sk' }))).Item;
    return Boolean(item);
  }
}

function headOf(item: Record<string, unknown>): ModelHead {
  const { sk: _sk, headline, ...rest } = item;
  return { ...(rest as unknown as ModelHead), headline: typeof headline === 'string' ? (JSON.parse(headline) as Headline) : {} };
}

function versionOf(item: Record<string, unknown>): StoredVersion {
  return {
    modelId: String(item.modelId),
    version: Number(item.version),
    trainedAt: String(item.trainedAt),
    runId: String(item.runId),
    spec: typeof item.spec === 'string' ? (JSON.parse(item.spec) as FeatureSpec) : null,
    body: JSON.parse(String(item.body)) as ModelBody,
  };
}
