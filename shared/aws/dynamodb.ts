import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchExecuteStatementCommand, BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient, paginateQuery, QueryCommand, paginateScan, UpdateCommand, type QueryCommandInput, type ScanCommandInput, type TransactWriteCommand } from '@aws-sdk/lib-dynamodb';

/**
 * One DynamoDB document client per process, created at module scope. The endpoint comes from
 * the standard AWS variables (AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL), which is how the
 * local runtime points it at DynamoDB Local.
 */
export const dynamodbClient = new DynamoDBClient({});
export const documentClient = DynamoDBDocumentClient.from(dynamodbClient, {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
});

/** One item of a TransactWriteItems request (document client shapes). */
export type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

type Key = Record<string, unknown>;
type Item = Record<string, unknown>;

/** Jittered exponential back-off before retrying what DynamoDB left unprocessed (attempt ≥ 1). */
const backOff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(1000, 25 * 2 ** attempt)));

/**
 * Every item of `keys` that exists in `table`, read with BatchGetItem 100 keys at a time;
 * unprocessed keys are retried with back-off. `onCapacity` receives the read units DynamoDB
 * reports for each request (and asks for them only when given).
 */
export async function batchGetAll(db: DynamoDBDocumentClient, table: string, keys: Key[], options: { consistent?: boolean; onCapacity?: (units: number) => void } = {}): Promise<Item[]> {
  const items: Item[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let request: Record<string, { Keys: Key[]; ConsistentRead?: boolean }> | undefined = { [table]: { Keys: keys.slice(i, i + 100), ConsistentRead: options.consistent ?? false } };
    for (let attempt = 0; request && Object.keys(request).length; attempt++) {
      if (attempt > 0) await backOff(attempt);
      const result = await db.send(new BatchGetCommand({ RequestItems: request, ...(options.onCapacity ? { ReturnConsumedCapacity: 'TOTAL' as const } : {}) }));
      options.onCapacity?.((result.ConsumedCapacity ?? []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0));
      items.push(...(result.Responses?.[table] ?? []));
      request = result.UnprocessedKeys as typeof request;
    }
  }
  return items;
}

/** Puts and deletes with BatchWriteItem, 25 at a time; unprocessed ones are retried with back-off. */
export async function batchWriteAll(db: DynamoDBDocumentClient, table: string, requests: Array<{ PutRequest: { Item: Item } } | { DeleteRequest: { Key: Key } }>): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let request: Record<string, typeof requests> | undefined = { [table]: requests.slice(i, i + 25) };
    for (let attempt = 0; request && Object.keys(request).length; attempt++) {
      if (attempt > 0) await backOff(attempt);
      request = (await db.send(new BatchWriteCommand({ RequestItems: request }))).UnprocessedItems as typeof request;
    }
  }
}

/** One PartiQL statement of a BatchExecuteStatement request, its parameters in document client shapes. */
export interface Statement {
  Statement: string;
  Parameters?: unknown[];
}

/** What became of one statement: applied, or refused with DynamoDB's code (ConditionalCheckFailed, DuplicateItem, …). */
export type StatementOutcome = { done: true } | { done: false; code: string; message: string };

/** Per-statement errors worth sending again: capacity and transient server errors. */
const RETRYABLE_STATEMENT_ERRORS = new Set(['ProvisionedThroughputExceeded', 'ThrottlingError', 'RequestLimitExceeded', 'InternalServerError', 'TransactionConflict']);
const MAX_STATEMENT_ATTEMPTS = 8;

/**
 * Runs conditional single-item writes (INSERT, which refuses an existing item; UPDATE … WHERE
 * <key> AND <condition>) with BatchExecuteStatement, 25 a request: each is its own write at the
 * capacity a PutItem or UpdateItem of the item would use (not a transaction), so a batch costs
 * what the single writes cost and saves the round trips; up to `concurrency` requests at a time. Outcomes come back in the order of the
 * statements; throttled ones are retried with back-off, other refusals are reported, not thrown.
 */
export async function executeAll(db: DynamoDBDocumentClient, statements: Statement[], concurrency = 4): Promise<StatementOutcome[]> {
  const outcomes: StatementOutcome[] = new Array<StatementOutcome>(statements.length);
  const starts = Array.from({ length: Math.ceil(statements.length / 25) }, (_, r) => r * 25);
  let nextRequest = 0;
  const runRequest = async (i: number) => {
    let pending = Array.from({ length: Math.min(25, statements.length - i) }, (_, k) => i + k);
    for (let attempt = 0; pending.length; attempt++) {
      if (attempt > 0) await backOff(attempt);
      const result = await db.send(new BatchExecuteStatementCommand({ Statements: pending.map((j) => statements[j]!) as never }));
      const retry: number[] = [];
      pending.forEach((j, k) => {
        const error = result.Responses?.[k]?.Error;
        if (!error) outcomes[j] = { done: true };
        else if (RETRYABLE_STATEMENT_ERRORS.has(String(error.Code)) && attempt + 1 < MAX_STATEMENT_ATTEMPTS) retry.push(j);
        else outcomes[j] = { done: false, code: String(error.Code), message: String(error.Message ?? '') };
      });
      pending = retry;
    }
  };
  // (shared/aws stays below shared/: no import of its concurrency helper)
  await Promise.all(
    Array.from({ length: Math.min(concurrency, starts.length) }, async () => {
      while (nextRequest < starts.length) await runRequest(starts[nextRequest++]!);
    }),
  );
  return outcomes;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new RangeError(`not a plain attribute name for PartiQL: ${JSON.stringify(name)}`);
  return name;
}

/** A PartiQL attribute name in double quotes (reserved words such as status need them); only plain identifiers are accepted. */
export const partiqlName = (name: string): string => `"${identifier(name)}"`;

/** A table name in double quotes for PartiQL. */
export function partiqlTable(table: string): string {
  if (!TABLE_NAME.test(table)) throw new RangeError(`not a DynamoDB table name: ${JSON.stringify(table)}`);
  return `"${table}"`;
}

/** INSERT of a whole item (refused with DuplicateItem when its key exists, like a put with attribute_not_exists). */
export function insertStatement(table: string, item: Record<string, unknown>): Statement {
  const entries = Object.entries(item).filter(([, value]) => value !== undefined);
  return {
    Statement: `INSERT INTO ${partiqlTable(table)} VALUE {${entries.map(([name]) => `'${identifier(name)}': ?`).join(', ')}}`,
    Parameters: entries.map(([, value]) => value),
  };
}

/** Every item a query matches, page by page through the SDK's paginator. */
export async function* queryAll(db: DynamoDBDocumentClient, input: QueryCommandInput): AsyncGenerator<Item> {
  for await (const page of paginateQuery({ client: db }, input)) yield* page.Items ?? [];
}

/**
 * One page of one partition, highest sort key first (a timeline, a consent log: newest first), of
 * at most `limit` items, continuing after `after` (a full key of that partition); `last` is the key
 * to continue after when there may be more.
 */
export async function newestFirstPage(
  db: DynamoDBDocumentClient,
  table: string,
  partition: { name: string; value: string },
  limit: number,
  options: { after?: Key | undefined; consistent?: boolean } = {},
): Promise<{ items: Item[]; last?: Key }> {
  const result = await db.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: '#p = :p',
      ExpressionAttributeNames: { '#p': partition.name },
      ExpressionAttributeValues: { ':p': partition.value },
      ScanIndexForward: false,
      Limit: limit,
      ...(options.consistent ? { ConsistentRead: true } : {}),
      ...(options.after ? { ExclusiveStartKey: options.after } : {}),
    }),
  );
  return { items: result.Items ?? [], ...(result.LastEvaluatedKey ? { last: result.LastEvaluatedKey } : {}) };
}

/** Every item a scan reads, page by page through the SDK's paginator. */
export async function* scanAll(db: DynamoDBDocumentClient, input: ScanCommandInput): AsyncGenerator<Item> {
  for await (const page of paginateScan({ client: db }, input)) yield* page.Items ?? [];
}

/**
 * A status transition on one item: `status` moves to `to` if it is one of `from` (and the item
 * exists), with `updatedAt`, a revision counter (`revision` + 1) and `fields` set in the same
 * update. Answers the item as it now is, or undefined when the condition failed (the caller reads
 * the item again to say why). Campaigns and journeys move their lifecycles with it.
 */
export async function transitionStatus(
  db: DynamoDBDocumentClient,
  input: { table: string; key: Record<string, unknown>; from: readonly string[]; to: string; fields?: Record<string, unknown>; revision: string; now: Date },
): Promise<Record<string, unknown> | undefined> {
  const names: Record<string, string> = { '#s': 'status', '#rev': input.revision, '#pk': Object.keys(input.key)[0]! };
  const values: Record<string, unknown> = { ':to': input.to, ':at': input.now.toISOString(), ':one': 1 };
  input.from.forEach((s, i) => (values[`:f${i}`] = s));
  const sets = ['#s = :to', 'updatedAt = :at', '#rev = #rev + :one'];
  Object.entries(input.fields ?? {}).forEach(([key, value], i) => {
    names[`#x${i}`] = key;
    values[`:x${i}`] = value;
    sets.push(`#x${i} = :x${i}`);
  });
  try {
    const result = await db.send(
      new UpdateCommand({
        TableName: input.table,
        Key: input.key,
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: `attribute_exists(#pk) AND #s IN (${input.from.map((_, i) => `:f${i}`).join(', ')})`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return result.Attributes;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return undefined;
    throw error;
  }
}
