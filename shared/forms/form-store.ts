import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, documentClient } from '../aws/dynamodb.ts';
import type { Interaction } from '../contacts/timeline.ts';
import { BadRequestError } from '../errors.ts';
import type { Form, FormDefinitionData } from './definition.ts';
import { formSubmissionResource, submissionKeyOf, submissionsCursor, type FormSubmissionResource, type SubmissionsQuery } from './submissions.ts';

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

/**
 * A form's submissions: the form_submitted entries on the contacts' timelines, found through the
 * interactions table's sparse index byForm (formId, occurredAt; keys only) and read from the table
 * itself. An erased person's submissions leave the list with them: erasure moves their entries to
 * a pseudonym without the index key.
 */
export class FormSubmissions {
  static readonly INDEX = 'byForm';

  constructor(
    private readonly interactionsTable: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  /** Newest first, a page at a time; the cursor is bound to the form and must lie inside [from, to]. */
  async page(formId: string, query: SubmissionsQuery): Promise<{ items: FormSubmissionResource[]; nextCursor?: string }> {
    const { from, to } = query;
    const start = query.cursor === undefined ? undefined : submissionKeyOf(query.cursor, formId, { from, to });
    const range = from && to ? ' AND occurredAt BETWEEN :from AND :to' : from ? ' AND occurredAt >= :from' : to ? ' AND occurredAt <= :to' : '';
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.interactionsTable,
        IndexName: FormSubmissions.INDEX,
        KeyConditionExpression: `formId = :f${range}`,
        ExpressionAttributeValues: { ':f': formId, ...(from ? { ':from': from } : {}), ...(to ? { ':to': to } : {}) },
        ScanIndexForward: false,
        Limit: query.limit,
        ...(start ? { ExclusiveStartKey: { formId, ...start } } : {}),
      }),
    );
    const keys = (result.Items ?? []).map((k) => ({ contactId: k.contactId as string, sk: k.sk as string }));
    // Consistent reads: a submission applied a moment ago shows as applied. One erased meanwhile is gone from the table and left out.
    const found = await batchGetAll(this.db, this.interactionsTable, keys, { consistent: true });
    const entries = new Map(found.map((item) => [`${String(item.contactId)}\u0000${String(item.sk)}`, item as unknown as Interaction]));
    const items = keys.flatMap((k) => {
      const entry = entries.get(`${k.contactId}\u0000${k.sk}`);
      return entry ? [formSubmissionResource(entry)] : [];
    });
    const last = result.LastEvaluatedKey;
    return { items, ...(last ? { nextCursor: submissionsCursor(formId, { occurredAt: String(last.occurredAt), contactId: String(last.contactId), sk: String(last.sk) }) } : {}) };
  }
}
