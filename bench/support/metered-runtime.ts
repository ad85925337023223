import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchWriteAll } from '../../shared/aws/dynamodb.ts';
import { startDynamoDbLocal } from '../../infra/local/dynamodb-local.ts';
import { LocalRuntime } from '../../infra/local/runtime.ts';
import { DynamoDbMeter } from '../../test/helpers/dynamodb-meter.ts';

/** us-east-1 list prices (on-demand, Lambda on arm64), per unit. */
export const PRICE = {
  dynamoWrite: 0.625 / 1e6,
  dynamoRead: 0.125 / 1e6,
  sqsRequest: 0.4 / 1e6,
  lambdaRequest: 0.2 / 1e6,
  lambdaGbSecondArm: 0.0000133334,
  eventBridgeEvent: 1 / 1e6,
  schedulerInvocation: 1 / 1e6,
};

export interface MeteredRuntime {
  runtime: LocalRuntime;
  meter: DynamoDbMeter;
  /** A client straight to DynamoDB Local, around the meter: for seeding that is not measured. */
  db: DynamoDBDocumentClient;
  api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T>;
  /** Writes items with BatchWriteItem, 8 requests in flight, unprocessed items retried (not metered). */
  seed(table: string, items: Array<Record<string, unknown>>): Promise<void>;
  /** Lambda invocations and GB-seconds (local handler time × configured memory) since `mark`. */
  lambdaSince(mark: Map<string, { invocations: number; ms: number }>): { invocations: number; queueInvocations: number; gbSeconds: number };
  lambdaMark(): Map<string, { invocations: number; ms: number }>;
  stop(): Promise<void>;
}

/**
 * The local runtime with its DynamoDB requests going through a metering proxy (capacity units as
 * DynamoDB reports them), for benchmarks that price what a flow would cost on AWS.
 */
export async function startMeteredRuntime(options: { environment?: Record<string, string> } = {}): Promise<MeteredRuntime> {
  const dynamodb = await startDynamoDbLocal();
  const meter = new DynamoDbMeter(dynamodb.endpoint);
  const meteredEndpoint = await meter.start();
  const raw = new DynamoDBClient({ endpoint: dynamodb.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'b', secretAccessKey: 'b' } });
  const db = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  let runtime: LocalRuntime;
  try {
    runtime = await LocalRuntime.start({ dynamodbEndpoint: meteredEndpoint, apiPort: 0, timeScale: 0.05, tablePrefix: 'bench-', ...(options.environment ? { environment: options.environment } : {}), log: process.env.BENCH_LOG ? (line) => console.error(line) : () => undefined });
  } catch (error) {
    await meter.stop();
    await dynamodb.stop();
    throw error;
  }
  const started = runtime;
  return {
    runtime: started,
    meter,
    db,
    async api<T>(method: string, path: string, body?: unknown): Promise<T> {
      const response = await fetch(`${started.urls.api}${path}`, {
        method,
        headers: { authorization: `Bearer ${started.devToken}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await response.json()) as T;
      if (response.status >= 300) throw new Error(`${method} ${path} → ${response.status}: ${JSON.stringify(json)}`);
      return json;
    },
    async seed(table, items) {
      const chunks: Array<Array<Record<string, unknown>>> = [];
      for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25));
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < chunks.length) {
            await batchWriteAll(db, table, chunks[next++]!.map((Item) => ({ PutRequest: { Item } })));
          }
        }),
      );
    },
    lambdaMark: () => new Map([...started.functions].map(([name, fn]) => [name, { invocations: fn.invocations, ms: fn.totalMs }])),
    lambdaSince(mark) {
      let invocations = 0;
      let queueInvocations = 0;
      let gbSeconds = 0;
      for (const [name, fn] of started.functions) {
        const before = mark.get(name) ?? { invocations: 0, ms: 0 };
        invocations += fn.invocations - before.invocations;
        if (fn.def.queue) queueInvocations += fn.invocations - before.invocations;
        gbSeconds += ((fn.totalMs - before.ms) / 1000) * ((fn.def.memoryMb ?? 512) / 1024);
      }
      return { invocations, queueInvocations, gbSeconds };
    },
    async stop() {
      await started.stop();
      await meter.stop();
      await dynamodb.stop();
      raw.destroy();
    },
  };
}
