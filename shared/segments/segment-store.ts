import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { documentClient, scanAll } from '../aws/dynamodb.ts';
import { ConflictError } from '../errors.ts';
import type { RuleNode } from './rule.ts';

/** One immutable version of a segment definition. */
export interface SegmentVersion {
  id: string;
  version: number;
  name: string;
  rule: RuleNode;
  /** Time zone of calendar windows in the rule ("within the last 30 days"). */
  timezone: string;
  createdAt: string;
  createdBy?: string;
  /** A deletion is a final tombstone version. */
  deleted?: boolean;
}

export interface SegmentStats {
  segmentId: string;
  version: number;
  computedAt: string;
  size: number;
  reachable: { email: number; sms: number };
  /** Members who opened or clicked in the last 90 days / members sent to in the last 90 days. */
  responseRate: number | null;
  /** Members who converted in the last 90 days / members. */
  conversionRate: number | null;
  revenuePerMember: number | null;
  meanPropensity: { email: number | null; sms: number | null };
}

/**
 * Segments are versioned: partition id, sort key version (1, 2, …). A PUT writes the next
 * version conditioned on it not existing, so two concurrent edits cannot both win; campaigns
 * keep the version they launched with.
 */
export class SegmentStore {
  constructor(
    private readonly tables: { segments: string; segmentStats: string },
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  async latest(id: string): Promise<SegmentVersion | undefined> {
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tables.segments,
        KeyConditionExpression: 'id = :id',
        ExpressionAttributeValues: { ':id': id },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = result.Items?.[0] as SegmentVersion | undefined;
    return item && !item.deleted ? item : undefined;
  }

  async version(id: string, version: number): Promise<SegmentVersion | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.tables.segments, Key: { id, version } }));
    return result.Item as SegmentVersion | undefined;
  }

  async versions(id: string): Promise<SegmentVersion[]> {
    const result = await this.db.send(
      new QueryCommand({ TableName: this.tables.segments, KeyConditionExpression: 'id = :id', ExpressionAttributeValues: { ':id': id }, ConsistentRead: true }),
    );
    return (result.Items ?? []) as SegmentVersion[];
  }

  /** `id` is given by imports that create one segment per name; a taken id throws ConditionalCheckFailedException. */
  async create(input: Pick<SegmentVersion, 'name' | 'rule' | 'timezone' | 'createdBy'>, now = new Date(), id: string = randomUUID()): Promise<SegmentVersion> {
    const segment: SegmentVersion = { ...input, id, version: 1, createdAt: now.toISOString() };
    await this.db.send(new PutCommand({ TableName: this.tables.segments, Item: segment, ConditionExpression: 'attribute_not_exists(id)' }));
    return segment;
  }

  /** Writes version `expected + 1`; a concurrent edit that got there first → 409. */
  async putVersion(current: SegmentVersion, input: Pick<SegmentVersion, 'name' | 'rule' | 'timezone' | 'createdBy'> & { deleted?: boolean }, now = new Date()): Promise<SegmentVersion> {
    const next: SegmentVersion = { ...input, id: current.id, version: current.version + 1, createdAt: now.toISOString() };
    try {
      await this.db.send(new PutCommand({ TableName: this.tables.segments, Item: next, ConditionExpression: 'attribute_not_exists(id)' }));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new ConflictError(`segment ${current.id} was changed meanwhile; read it again`, 'concurrent_update');
      throw error;
    }
    return next;
  }

  /** Latest live version of every segment. */
  async list(): Promise<SegmentVersion[]> {
    const latest = new Map<string, SegmentVersion>();
    for await (const item of scanAll(this.db, { TableName: this.tables.segments }) as AsyncIterable<SegmentVersion>) {
      const seen = latest.get(item.id);
      if (!seen || seen.version < item.version) latest.set(item.id, item);
    }
    return [...latest.values()].filter((s) => !s.deleted).sort((a, b) => a.name.localeCompare(b.name));
  }

  async saveStats(stats: SegmentStats): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tables.segmentStats, Item: stats }));
  }

  async stats(segmentId: string): Promise<SegmentStats | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.tables.segmentStats, Key: { segmentId } }));
    return result.Item as SegmentStats | undefined;
  }
}
