import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient, paginateQuery, paginateScan, type QueryCommandInput, type ScanCommandInput, type TransactWriteCommand } from '@aws-sdk/lib-dynamodb';

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

/** Every item a query matches, page by page through the SDK's paginator. */
export async function* queryAll(db: DynamoDBDocumentClient, input: QueryCommandInput): AsyncGenerator<Item> {
  for await (const page of paginateQuery({ client: db }, input)) yield* page.Items ?? [];
}

/** Every item a scan reads, page by page through the SDK's paginator. */
export async function* scanAll(db: DynamoDBDocumentClient, input: ScanCommandInput): AsyncGenerator<Item> {
  for await (const page of paginateScan({ client: db }, input)) yield* page.Items ?? [];
}
