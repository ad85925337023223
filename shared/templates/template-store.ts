import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient, scanAll } from '../aws/dynamodb.ts';
import type { EmailTemplate, SmsTemplate, Template } from './template.ts';

/** Templates are immutable once created (a campaign renders exactly what it launched with); a change is a new template. */
export class TemplateStore {
  private readonly cache = new Map<string, Template>();

  constructor(
    private readonly table: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  /** `id` is given by imports that derive it from the content (the same template twice is one template); a taken id throws ConditionalCheckFailedException. */
  async create(input: EmailTemplate | SmsTemplate, now = new Date(), id: string = randomUUID()): Promise<Template> {
    const template = { ...input, id, createdAt: now.toISOString(), version: 1 } as Template;
    await this.db.send(new PutCommand({ TableName: this.table, Item: template, ConditionExpression: 'attribute_not_exists(id)' }));
    return template;
  }

  /** Cached per container: templates never change. */
  async get(id: string): Promise<Template | undefined> {
    const hit = this.cache.get(id);
    if (hit) return hit;
    const result = await this.db.send(new GetCommand({ TableName: this.table, Key: { id } }));
    const template = result.Item as Template | undefined;
    if (template) {
      if (this.cache.size > 500) this.cache.clear();
      this.cache.set(id, template);
    }
    return template;
  }

  async list(): Promise<Template[]> {
    const items: Template[] = [];
    for await (const item of scanAll(this.db, { TableName: this.table })) items.push(item as unknown as Template);
    return items.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }
}
