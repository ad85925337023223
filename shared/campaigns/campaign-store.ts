import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { documentClient, scanAll, transitionStatus } from '../aws/dynamodb.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { LaunchModels } from './goal-model-source.ts';
import { emptyCounters, runsOf, type Campaign, type CampaignInput, type CampaignStatus } from './model.ts';

/** Which lifecycle action may start from which status. */
export const TRANSITIONS: Record<'launch' | 'pause' | 'resume' | 'cancel', { from: CampaignStatus[]; to: CampaignStatus }> = {
  launch: { from: ['draft'], to: 'scheduled' },
  pause: { from: ['running'], to: 'paused' },
  resume: { from: ['paused'], to: 'running' },
  cancel: { from: ['draft', 'scheduled', 'running', 'paused'], to: 'cancelled' },
};

export class InvalidTransitionError extends ConflictError {
  override name = 'InvalidTransitionError';
  constructor(action: string, status: CampaignStatus) {
    super(`cannot ${action} a campaign that is ${status}`, 'invalid_transition');
  }
}

export interface CounterDeltas {
  targeted?: number;
  queued?: number;
  sent?: number;
  holdout?: number;
  deferred?: number;
  failed?: number;
  cancelled?: number;
  suppressed?: Record<string, number>;
  spent?: number;
  /** Cost of the messages planned (queued or deferred) — what the budget limit is checked against at launch. */
  committed?: number;
  /** Forecast accumulators per channel: sum of propensities and of their variances. */
  forecast?: Partial<Record<'email' | 'sms', { sum: number; variance: number; count: number }>>;
  /**
   * Goal forecast accumulators (the goal's propensity model): Σp, Σp(1 − p), scored contacts,
   * Σp·E[value]; and Σ predicted uplift of the treated with their count (uplift targeting).
   */
  goalForecast?: { sum: number; variance: number; count: number; revenue: number; uplift: number; upliftCount: number };
}

/**
 * Campaigns and their lifecycle. Every status change is a conditional update on the current
 * status, so two racing requests cannot both launch or both cancel; counters move with atomic
 * ADDs aggregated per page or per message batch (never one write per recipient on this item).
 */
export class CampaignStore {
  constructor(
    private readonly table: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  async create(input: CampaignInput, actor?: string, now = new Date()): Promise<Campaign> {
    const at = now.toISOString();
    const campaign: Campaign = {
      ...input,
      id: randomUUID(),
      status: 'draft',
      createdAt: at,
      updatedAt: at,
      version: 1,
      counters: emptyCounters(),
      spent: 0,
      ...(actor ? { createdBy: actor } : {}),
    };
    await this.db.send(new PutCommand({ TableName: this.table, Item: campaign, ConditionExpression: 'attribute_not_exists(id)' }));
    return campaign;
  }

  /** Writes a campaign a journey owns (its id is derived from the journey, version and step): once; an existing one is left as it is. */
  async putOwned(campaign: Campaign): Promise<boolean> {
    try {
      await this.db.send(new PutCommand({ TableName: this.table, Item: campaign, ConditionExpression: 'attribute_not_exists(id)' }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async get(id: string, consistent = true): Promise<Campaign | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.table, Key: { id }, ConsistentRead: consistent }));
    return result.Item as Campaign | undefined;
  }

  async getOr404(id: string): Promise<Campaign> {
    const campaign = await this.get(id);
    if (!campaign) throw new NotFoundError('campaign', id);
    return campaign;
  }

  /** The marketer's campaigns (not the ones journeys own for their send steps), newest first. */
  async list(): Promise<Campaign[]> {
    const items: Campaign[] = [];
    for await (const item of scanAll(this.db, { TableName: this.table, FilterExpression: 'attribute_not_exists(journey)' })) items.push(item as unknown as Campaign);
    return items.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** Every campaign run there has been (the current run and those listed in runIds), for erasure. */
  async runs(): Promise<Array<{ campaignId: string; runId: string }>> {
    const out: Array<{ campaignId: string; runId: string }> = [];
    for await (const item of scanAll(this.db, { TableName: this.table, ProjectionExpression: 'id, runId, runIds' })) {
      for (const runId of runsOf(item as Pick<Campaign, 'runId' | 'runIds'>)) out.push({ campaignId: String(item.id), runId });
    }
    return out;
  }

  /** Replaces a draft's definition; anything but a draft → 409. */
  async updateDraft(id: string, input: CampaignInput, now = new Date()): Promise<Campaign> {
    const current = await this.getOr404(id);
    if (current.status !== 'draft') throw new ConflictError(`only a draft can be edited; this campaign is ${current.status}`, 'invalid_transition');
    const next: Campaign = { ...current, ...input, updatedAt: now.toISOString(), version: current.version + 1 };
    try {
      await this.db.send(
        new PutCommand({ TableName: this.table, Item: next, ConditionExpression: '#s = :draft AND version = :v', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':draft': 'draft', ':v': current.version } }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new ConflictError('the campaign changed meanwhile; read it again', 'concurrent_update');
      throw error;
    }
    return next;
  }

  /** Moves the status if it is one of `from`, setting `fields` with it; otherwise 409 naming the current status. */
  async transition(id: string, action: string, from: CampaignStatus[], to: CampaignStatus, fields: Record<string, unknown> = {}, now = new Date()): Promise<Campaign> {
    const moved = await transitionStatus(this.db, { table: this.table, key: { id }, from, to, fields, revision: 'version', now });
    if (moved) return moved as unknown as Campaign;
    const current = await this.get(id);
    if (!current) throw new NotFoundError('campaign', id);
    throw new InvalidTransitionError(action, current.status);
  }

  /** Adds counter deltas in one update (zero deltas are skipped). */
  async addCounters(id: string, deltas: CounterDeltas): Promise<Campaign | undefined> {
    const names: Record<string, string> = {};
    const values: Record<string, number> = {};
    const adds: string[] = [];
    let n = 0;
    const add = (path: string[], value: number | undefined) => {
      if (!value) return;
      const parts = path.map((p) => {
        const key = `#p${n++}`;
        names[key] = p;
        return key;
      });
      values[`:v${n}`] = value;
      adds.push(`${parts.join('.')} :v${n}`);
    };
    for (const key of ['targeted', 'queued', 'sent', 'holdout', 'deferred', 'failed', 'cancelled'] as const) add(['counters', key], deltas[key]);
    add(['spent'], deltas.spent);
    add(['committed'], deltas.committed);
    if (adds.length === 0 && !deltas.suppressed && !deltas.forecast && !deltas.goalForecast) return undefined;
    // Nested counters created on first use: maps for suppression reasons and forecast sums exist from creation.
    for (const [reason, count] of Object.entries(deltas.suppressed ?? {})) add(['counters', 'suppressed', reason], count);
    for (const [channel, f] of Object.entries(deltas.forecast ?? {})) {
      add(['forecastSums', `${channel}_sum`], f.sum);
      add(['forecastSums', `${channel}_variance`], f.variance);
      add(['forecastSums', `${channel}_count`], f.count);
    }
    const g = deltas.goalForecast;
    if (g) {
      add(['forecastSums', 'goal_sum'], g.sum);
      add(['forecastSums', 'goal_variance'], g.variance);
      add(['forecastSums', 'goal_count'], g.count);
      add(['forecastSums', 'revenue_sum'], g.revenue);
      add(['forecastSums', 'uplift_sum'], g.uplift);
      add(['forecastSums', 'uplift_count'], g.upliftCount);
    }
    if (adds.length === 0) return undefined;
    const result = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { id },
        UpdateExpression: `ADD ${adds.join(', ')}`,
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return result.Attributes as Campaign;
  }

  /** Starts a run: scheduled → running with its run id, segment version and fan-out size; a repeated start of the same run is a no-op. */
  async startRun(id: string, runId: string, fields: { segmentVersion: number; fanoutTotal: number; models?: LaunchModels }, now = new Date()): Promise<Campaign | undefined> {
    // The models the run scores with (forecastModel, modelVersions, targetingApplied), set with the run.
    const models = fields.models;
    const modelFields = models ? { forecastModel: models.forecastModel, modelVersions: models.modelVersions, ...(models.targeting ? { targetingApplied: models.targeting } : {}) } : {};
    const modelSet = Object.keys(modelFields).map((k) => `, ${k} = :${k}`).join('');
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id },
          // runIds lists every run (recurring campaigns have many): erasure finds a person's send records through it.
          UpdateExpression: `SET #s = :running, runId = :run, segmentVersion = :sv, fanout = :fanout, launchedAt = if_not_exists(launchedAt, :at), updatedAt = :at, forecastSums = if_not_exists(forecastSums, :empty), version = version + :one${modelSet} ADD runIds :runs`,
          ConditionExpression: '#s = :scheduled AND (attribute_not_exists(runId) OR runId <> :run)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: {
            ':running': 'running',
            ':scheduled': 'scheduled',
            ':run': runId,
            ':runs': new Set([runId]),
            ':sv': fields.segmentVersion,
            ':fanout': { total: fields.fanoutTotal, done: 0 },
            ':at': now.toISOString(),
            ':empty': {},
            ':one': 1,
            ...Object.fromEntries(Object.entries(modelFields).map(([k, v]) => [`:${k}`, v])),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes as Campaign;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /** One scan segment of the run finished. */
  async segmentDone(id: string, runId: string): Promise<Campaign | undefined> {
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id },
          UpdateExpression: 'ADD #f.#done :one',
          ConditionExpression: 'runId = :run',
          ExpressionAttributeNames: { '#f': 'fanout', '#done': 'done' },
          ExpressionAttributeValues: { ':one': 1, ':run': runId },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes as Campaign;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /**
   * Finishes the run when the audience is fully scanned and nothing is queued or deferred:
   * one-time campaigns complete, recurring ones wait for their next firing.
   */
  async completeIfDone(id: string, runId: string, recurring: boolean, now = new Date()): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id },
          UpdateExpression: 'SET #s = :to, completedAt = :at, updatedAt = :at, version = version + :one',
          ConditionExpression: '#s = :running AND runId = :run AND #f.#done >= #f.#t AND #c.#q <= :zero AND #c.#d <= :zero',
          ExpressionAttributeNames: { '#s': 'status', '#f': 'fanout', '#done': 'done', '#t': 'total', '#c': 'counters', '#q': 'queued', '#d': 'deferred' },
          ExpressionAttributeValues: { ':to': recurring ? 'scheduled' : 'completed', ':running': 'running', ':run': runId, ':at': now.toISOString(), ':zero': 0, ':one': 1 },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Live response counters (delivered, opened, clicked…) summed per batch. */
  async addResponses(id: string, counts: Record<string, number>): Promise<void> {
    const entries = Object.entries(counts).filter(([, n]) => n);
    if (!entries.length) return;
    const add = () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id },
          UpdateExpression: `ADD ${entries.map((_, i) => `responses.#r${i} :n${i}`).join(', ')}`,
          ConditionExpression: 'attribute_exists(responses)',
          ExpressionAttributeNames: Object.fromEntries(entries.map(([type], i) => [`#r${i}`, type])),
          ExpressionAttributeValues: Object.fromEntries(entries.map(([, n], i) => [`:n${i}`, n])),
        }),
      );
    // One write once the map exists (every response after the campaign's first); the first creates it.
    try {
      await add();
      return;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { id },
        UpdateExpression: 'SET responses = if_not_exists(responses, :empty)',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeValues: { ':empty': {} },
      }),
    );
    await add();
  }

  async setForecast(id: string, forecast: NonNullable<Campaign['forecast']>): Promise<void> {
    await this.db.send(new UpdateCommand({ TableName: this.table, Key: { id }, UpdateExpression: 'SET forecast = :f', ExpressionAttributeValues: { ':f': forecast } }));
  }

  async setSchedule(id: string, scheduleName: string | null): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { id },
        UpdateExpression: scheduleName ? 'SET scheduleName = :n' : 'REMOVE scheduleName',
        ...(scheduleName ? { ExpressionAttributeValues: { ':n': scheduleName } } : {}),
      }),
    );
  }
}
