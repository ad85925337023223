import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient, scanAll } from '../aws/dynamodb.ts';
import { BadRequestError, ConflictError, NotFoundError } from '../errors.ts';
import { newSiteKey, SITE_KEY_PATTERN, type Site, type SiteInput, type SitePatch } from './site.ts';

/** Sites: one item per site key; read on every public conversion and (cached) on tracked clicks. */
export class SiteStore {
  private originsCache?: { at: number; origins: Promise<Set<string>> };

  constructor(
    private readonly table: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
    private readonly originsTtlMs = 60_000,
  ) {}

  async create(input: SiteInput, now = new Date()): Promise<Site> {
    const at = now.toISOString();
    const site: Site = { ...input, id: newSiteKey(), createdAt: at, updatedAt: at };
    await this.db.send(new PutCommand({ TableName: this.table, Item: site, ConditionExpression: 'attribute_not_exists(id)' }));
    return site;
  }

  async get(id: string): Promise<Site | undefined> {
    if (!SITE_KEY_PATTERN.test(id)) return undefined;
    return (await this.db.send(new GetCommand({ TableName: this.table, Key: { id } }))).Item as Site | undefined;
  }

  async update(id: string, patch: SitePatch, now = new Date()): Promise<Site> {
    const current = await this.get(id);
    if (!current) throw new NotFoundError('site', id);
    const next: Site = {
      ...current,
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.allowedOrigins !== undefined ? { allowedOrigins: patch.allowedOrigins } : {}),
      rateLimit: { ...current.rateLimit, ...(patch.rateLimit ?? {}) },
      updatedAt: now.toISOString(),
    };
    if (patch.eventNames === null) delete next.eventNames;
    else if (patch.eventNames !== undefined) next.eventNames = patch.eventNames;
    try {
      // Conditional on the version read: two concurrent edits cannot silently overwrite each other.
      await this.db.send(
        new PutCommand({ TableName: this.table, Item: next, ConditionExpression: 'updatedAt = :seen', ExpressionAttributeValues: { ':seen': current.updatedAt } }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new ConflictError('The site changed while it was being edited; read it again and retry', 'concurrent_update');
      throw error;
    }
    this.originsCache = undefined;
    return next;
  }

  async delete(id: string): Promise<void> {
    // Conditional: deleting a site that does not exist is refused by DynamoDB, so a 404 writes nothing.
    try {
      if (!SITE_KEY_PATTERN.test(id)) throw new NotFoundError('site', id);
      await this.db.send(new DeleteCommand({ TableName: this.table, Key: { id }, ConditionExpression: 'attribute_exists(id)' }));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new NotFoundError('site', id);
      throw error;
    }
    this.originsCache = undefined;
  }

  async page(limit: number, cursor?: string): Promise<{ items: Site[]; nextCursor?: string }> {
    let start: Record<string, unknown> | undefined;
    if (cursor) {
      const id = Buffer.from(cursor, 'base64url').toString('utf8');
      if (!SITE_KEY_PATTERN.test(id)) throw new BadRequestError('cursor is not valid', 'invalid_cursor');
      start = { id };
    }
    const result = await this.db.send(new ScanCommand({ TableName: this.table, Limit: limit, ExclusiveStartKey: start }));
    const last = result.LastEvaluatedKey?.id as string | undefined;
    return { items: (result.Items ?? []) as Site[], nextCursor: last ? Buffer.from(last).toString('base64url') : undefined };
  }

  /** Every site's allowed origins, cached for a minute: sites are few and change rarely. */
  async allOrigins(now = Date.now()): Promise<Set<string>> {
    if (!this.originsCache || now - this.originsCache.at > this.originsTtlMs) {
      const origins = this.scanOrigins();
      this.originsCache = { at: now, origins };
      origins.catch(() => (this.originsCache = undefined));
    }
    return this.originsCache.origins;
  }

  private async scanOrigins(): Promise<Set<string>> {
    const origins = new Set<string>();
    for await (const item of scanAll(this.db, { TableName: this.table, ProjectionExpression: 'allowedOrigins' })) {
      for (const origin of (item.allowedOrigins as string[] | undefined) ?? []) origins.add(origin);
    }
    return origins;
  }
}
