import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../aws/dynamodb.ts';
import { BadRequestError } from '../errors.ts';
import type { Form, FormDefinitionData } from './definition.ts';

/** Form definitions: one item per form, read on every public submission. */
export class FormStore {
  constructor(
    private readonly table: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  async create(data: FormDefinitionData, now = new Date()): Promise<Form> {
    const at = now.toISOString();
    const form: Form = { ...data, id: randomUUID(), createdAt: at, updatedAt: at, version: 1 };
    await this.db.send(new PutCommand({ TableName: this.table, Item: form, ConditionExpression: 'attribute_not_exists(id)' }));
    return form;
  }

  async get(id: string): Promise<Form | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.table, Key: { id } }));
    return result.Item as Form | undefined;
  }

  async page(limit: number, cursor?: string): Promise<{ items: Form[]; nextCursor?: string }> {
    let start: Record<string, unknown> | undefined;
    if (cursor) {
      const id = Buffer.from(cursor, 'base64url').toString('utf8');
      if (!/^[0-9a-f-]{36}$/.test(id)) throw new BadRequestError('cursor is not valid', 'invalid_cursor');
      start = { id };
    }
    const result = await this.db.send(new ScanCommand({ TableName: this.table, Limit: limit, ExclusiveStartKey: start }));
    const last = result.LastEvaluatedKey?.id as string | undefined;
    return { items: (result.Items ?? []) as Form[], nextCursor: last ? Buffer.from(last).toString('base64url') : undefined };
  }
}
