import { randomUUID } from 'node:crypto';
import { BatchGetCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { documentClient, queryAll, transitionStatus, type TransactItem } from '../aws/dynamodb.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { JourneyDefinition } from './definition.ts';
import type { JourneyStats } from './report.ts';
import { addStats, statsUpdate } from './stats.ts';

export { statName, STAT_SHARDS } from './stats.ts';
export type { JourneyStats } from './report.ts';

export type JourneyStatus = 'draft' | 'running' | 'paused' | 'stopped';

/** The journey's head item: what it is called, where it stands, which version new entries take. */
export interface Journey {
  id: string;
  name: string;
  status: JourneyStatus;
  /** The latest definition version: new entries take it. */
  version: number;
  createdAt: string;
  updatedAt: string;
  createdBy?: string;
  startedAt?: string;
  pausedAt?: string;
  stoppedAt?: string;
  /** The latest version's entry, copied here so the event path matches without reading versions. */
  entry: JourneyDefinition['entry'];
  /** The latest version's goal event (conversions with this name take contacts out). */
  goalEvent: string;
  /** The EventBridge Scheduler schedule of a scheduled segment_audience journey. */
  scheduleName?: string;
  /** segment_entry journeys: the scans done so far and when the dispatcher starts the next. */
  segmentChecks?: { done: number; nextAt: string };
  /** Optimistic-concurrency revision of the head item. */
  rev: number;
}

/** One immutable definition version, with the campaign that carries each send step. */
export interface JourneyVersion {
  id: string;
  version: number;
  definition: JourneyDefinition;
  createdAt: string;
  /** Send step id → its step campaign id (shared/journeys/step-campaigns.ts). */
  stepCampaigns: Record<string, string>;
}

const HEAD = 'journey';
const REPORT = 'report';
export const versionSk = (version: number): string => `v#${String(version).padStart(6, '0')}`;
/** The goal lift's inputs as the nightly measurement stored them. */
export interface MeasuredGoal {
  treatment: { members: number; converters: number; revenue: number; revenueSquares: number };
  holdout: { members: number; converters: number; revenue: number; revenueSquares: number };
  measuredAt: string;
}

/**
 * The journeys table: head items, immutable versions, sharded step counters and the measured
 * goal. Status changes are conditional on the current status (two racing requests cannot both
 * start a journey); a new version is written in one transaction with the head's `version`.
 */
export class JourneyStore {
  constructor(
    private readonly table: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  /** A new journey (draft) and its version 1, in one transaction. */
  async create(definition: JourneyDefinition, stepCampaigns: (id: string) => Record<string, string>, actor?: string, now = new Date()): Promise<{ journey: Journey; version: JourneyVersion }> {
    const id = randomUUID();
    const at = now.toISOString();
    const journey: Journey = { id, name: definition.name, status: 'draft', version: 1, createdAt: at, updatedAt: at, entry: definition.entry, goalEvent: definition.goal.event, rev: 1, ...(actor ? { createdBy: actor } : {}) };
    const version: JourneyVersion = { id, version: 1, definition, createdAt: at, stepCampaigns: stepCampaigns(id) };
    await this.db.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: this.table, Item: { ...journey, sk: HEAD }, ConditionExpression: 'attribute_not_exists(id)' } },
          { Put: { TableName: this.table, Item: { ...version, sk: versionSk(1) }, ConditionExpression: 'attribute_not_exists(id)' } },
        ],
      }),
    );
    return { journey, version };
  }

  /** A new version for new entries; contacts in flight keep theirs. A stopped journey cannot change (409). */
  async addVersion(current: Journey, definition: JourneyDefinition, stepCampaigns: Record<string, string>, now = new Date()): Promise<{ journey: Journey; version: JourneyVersion }> {
    if (current.status === 'stopped') throw new ConflictError('a stopped journey cannot be changed; create a new one', 'invalid_transition');
    const at = now.toISOString();
    const next = current.version + 1;
    const version: JourneyVersion = { id: current.id, version: next, definition, createdAt: at, stepCampaigns };
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.table,
                Key: { id: current.id, sk: HEAD },
                UpdateExpression: 'SET version = :next, #n = :name, entry = :entry, goalEvent = :goal, updatedAt = :at, rev = rev + :one',
                ConditionExpression: 'rev = :rev AND #s <> :stopped',
                ExpressionAttributeNames: { '#n': 'name', '#s': 'status' },
                ExpressionAttributeValues: { ':next': next, ':name': definition.name, ':entry': definition.entry, ':goal': definition.goal.event, ':at': at, ':one': 1, ':rev': current.rev, ':stopped': 'stopped' },
              },
            },
            { Put: { TableName: this.table, Item: { ...version, sk: versionSk(next) }, ConditionExpression: 'attribute_not_exists(id)' } },
          ],
        }),
      );
    } catch (error) {
      if (error instanceof TransactionCanceledException) throw new ConflictError('the journey changed meanwhile; read it again', 'concurrent_update');
      throw error;
    }
    return { journey: { ...current, version: next, name: definition.name, entry: definition.entry, goalEvent: definition.goal.event, updatedAt: at, rev: current.rev + 1 }, version };
  }

  async get(id: string, consistent = true): Promise<Journey | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.table, Key: { id, sk: HEAD }, ConsistentRead: consistent }));
    return result.Item ? strip<Journey>(result.Item) : undefined;
  }

  async getOr404(id: string): Promise<Journey> {
    const journey = await this.get(id);
    if (!journey) throw new NotFoundError('journey', id);
    return journey;
  }

  async version(id: string, version: number): Promise<JourneyVersion | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.table, Key: { id, sk: versionSk(version) } }));
    return result.Item ? strip<JourneyVersion>(result.Item) : undefined;
  }

  /** Every journey's head, newest first (the API's list). */
  async list(): Promise<Journey[]> {
    const items: Journey[] = [];
    for (const status of ['draft', 'running', 'paused', 'stopped'] as const) items.push(...(await this.withStatus(status)));
    return items.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** The heads in one status, through the sparse byStatus index (then read consistently). */
  async withStatus(status: JourneyStatus): Promise<Journey[]> {
    const ids: string[] = [];
    for await (const item of queryAll(this.db, { TableName: this.table, IndexName: 'byStatus', KeyConditionExpression: '#s = :s', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':s': status } })) ids.push(String(item.id));
    const heads: Journey[] = [];
    for (let i = 0; i < ids.length; i += 100) {
      const result = await this.db.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: ids.slice(i, i + 100).map((id) => ({ id, sk: HEAD })) } } }));
      heads.push(...(result.Responses?.[this.table] ?? []).map((item) => strip<Journey>(item)));
    }
    return heads.filter((j) => j.status === status);
  }

  /** Moves the status if it is one of `from` (409 naming the current status otherwise), setting `fields` with it. */
  async transition(id: string, action: string, from: JourneyStatus[], to: JourneyStatus, fields: Record<string, unknown> = {}, now = new Date()): Promise<Journey> {
    const moved = await transitionStatus(this.db, { table: this.table, key: { id, sk: HEAD }, from, to, fields, revision: 'rev', now });
    if (moved) return strip<Journey>(moved);
    const current = await this.get(id);
    if (!current) throw new NotFoundError('journey', id);
    throw new ConflictError(`cannot ${action} a journey that is ${current.status}`, 'invalid_transition');
  }

  /** Sets head fields without a status change (the schedule's name, segment check progress). */
  async setFields(id: string, fields: Record<string, unknown>, condition?: { field: string; equals: unknown }): Promise<boolean> {
    const entries = Object.entries(fields);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id, sk: HEAD },
          UpdateExpression: `SET ${entries.map((_, i) => `#x${i} = :x${i}`).join(', ')}`,
          ConditionExpression: condition ? `attribute_exists(id) AND #c = :c` : 'attribute_exists(id)',
          ExpressionAttributeNames: { ...Object.fromEntries(entries.map(([k], i) => [`#x${i}`, k])), ...(condition ? { '#c': condition.field } : {}) },
          ExpressionAttributeValues: { ...Object.fromEntries(entries.map(([, v], i) => [`:x${i}`, v])), ...(condition ? { ':c': condition.equals } : {}) },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** An ADD of step counters on one shard, as a transaction item (it moves with the step it counts). */
  statsUpdate(journeyId: string, shard: number, counts: Record<string, number>): TransactItem {
    return statsUpdate(this.table, journeyId, shard, counts);
  }

  /** Adds step counters on one shard (after the step they count has moved its entry). */
  async addStats(journeyId: string, shard: number, counts: Record<string, number>): Promise<void> {
    await addStats(this.table, journeyId, shard, counts, this.db);
  }

  /** The step counters summed over the shards. */
  async stats(journeyId: string): Promise<JourneyStats> {
    const result = await this.db.send(
      new QueryCommand({ TableName: this.table, KeyConditionExpression: 'id = :id AND begins_with(sk, :p)', ExpressionAttributeValues: { ':id': journeyId, ':p': 'stats#' }, ConsistentRead: true }),
    );
    const stats: JourneyStats = { entries: 0, holdout: 0, steps: {}, exits: {} };
    const step = (id: string) => (stats.steps[id] ??= { entered: 0, left: 0, exits: {} });
    for (const item of result.Items ?? []) {
      for (const [key, raw] of Object.entries(item)) {
        const n = Number(raw);
        if (key === 'entries') stats.entries += n;
        else if (key === 'holdout') stats.holdout += n;
        else if (key.startsWith('entered#')) step(key.slice(8)).entered += n;
        else if (key.startsWith('left#')) step(key.slice(5)).left += n;
        else if (key.startsWith('refused#')) (stats.refused ??= {})[key.slice(8)] = (stats.refused?.[key.slice(8)] ?? 0) + n;
        else if (key.startsWith('exit#')) {
          const [, stepId, reason] = key.split('#') as [string, string, string];
          const s = step(stepId);
          s.exits[reason] = (s.exits[reason] ?? 0) + n;
          stats.exits[reason] = (stats.exits[reason] ?? 0) + n;
        }
      }
    }
    return stats;
  }

  async putMeasured(journeyId: string, measured: MeasuredGoal): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { id: journeyId, sk: REPORT, ...measured } }));
  }

  async measured(journeyId: string): Promise<MeasuredGoal | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.table, Key: { id: journeyId, sk: REPORT } }));
    return result.Item ? strip<MeasuredGoal>(result.Item, ['id']) : undefined;
  }
}

function strip<T>(item: Record<string, unknown>, also: string[] = []): T {
  const { sk: _sk, ...rest } = item;
  for (const key of also) delete rest[key];
  return rest as T;
}
