/**
 * The shape of Touchloop's topology: every function, its triggers, queues, tables, event
 * rules, schedules and permissions, declared once as data. Both engines read it: the CDK
 * stack (infra/stack.ts) and the local runtime (infra/local/runtime.ts).
 */

export type KeyType = 'S' | 'N';
export interface KeyDef {
  name: string;
  type: KeyType;
}

export interface IndexDef {
  name: string;
  partitionKey: KeyDef;
  sortKey?: KeyDef;
  /** ALL unless only keys are needed. */
  projection?: 'ALL' | 'KEYS_ONLY';
}

export interface TableDef {
  /** Access patterns served by the keys, written down next to the definition. */
  description: string;
  partitionKey: KeyDef;
  sortKey?: KeyDef;
  indexes?: IndexDef[];
  /** Attribute holding an epoch-seconds expiry. */
  timeToLiveAttribute?: string;
}

export interface QueueDef {
  description: string;
  /** Receives before a message moves to the queue's dead-letter queue. */
  maxReceiveCount: number;
  /** The queue is subscribed to an SNS topic of this name (e.g. where a provider publishes inbound messages). */
  snsTopic?: string;
}

export type TableAccess = 'read' | 'write' | 'readWrite';

export interface BucketDef<TQueue extends string = string> {
  description: string;
  /** Objects are deleted this many days after they are written (a lifecycle rule; locally, at start). */
  expireAfterDays: number;
  /** New objects under `prefix` are announced on `queue` as S3 event notifications (ObjectCreated). */
  notify?: { prefix: string; queue: TQueue };
}

/** read: GetObject (and presigned GETs); write: PutObject (and presigned PUTs). */
export type BucketAccess = 'read' | 'write' | 'readWrite';

export interface HttpRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
  /** API Gateway path syntax: `/v1/contacts/{id}`; `{proxy+}` greedy. */
  path: string;
  /** Public routes have no authorizer. Everything else needs a marketer's JWT. */
  public?: boolean;
}

export interface QueueTrigger {
  queue: string;
  batchSize: number;
  maxBatchingWindowSeconds?: number;
  /** Lambda event source mapping maximum concurrency (2..1000). */
  maxConcurrency?: number;
}

/** A function fed by a table's change stream (DynamoDB Streams, new images), the way Lambda's event source mapping polls it. */
export interface TableStreamTrigger<TTable extends string = string> {
  table: TTable;
  batchSize: number;
  maxBatchingWindowSeconds?: number;
  /** Where a new mapping starts reading: the oldest record kept (24 h) or new records only. */
  startingPosition: 'TRIM_HORIZON' | 'LATEST';
  /** Retries of a failing batch (halved on each function error) before its position goes to the function's stream DLQ. */
  retryAttempts: number;
}

export interface ScheduleTrigger {
  name: string;
  /** EventBridge Scheduler expression: cron(...), rate(...) or at(...). */
  expression: string;
  timezone?: string;
  /** JSON payload delivered to the function. */
  input?: Record<string, unknown>;
  description: string;
}

export interface FunctionDef<TTable extends string = string, TQueue extends string = string> {
  description: string;
  /** Source file, relative to the repository root, and the export that is the handler. */
  entry: string;
  handler: string;
  timeoutSeconds: number;
  memoryMb?: number;
  http?: HttpRoute[];
  queue?: QueueTrigger & { queue: TQueue };
  stream?: TableStreamTrigger<NoInfer<TTable>>;
  schedules?: ScheduleTrigger[];
  /** Tables the function uses, with the least access it needs; each sets env TABLE_<NAME>. */
  tables?: Partial<Record<TTable, TableAccess>>;
  /** Buckets the function uses, with the least access it needs; each sets env BUCKET_<NAME>. */
  buckets?: Partial<Record<string, BucketAccess>>;
  /** Queues the function sends to; each sets env QUEUE_URL_<NAME>. */
  sendsTo?: TQueue[];
  /** Puts events on the Touchloop bus (env EVENT_BUS_NAME). */
  publishesEvents?: boolean;
  /** Reads the project secret that signs tokens and keys address hashes (env TOUCHLOOP_SECRET_ARN). */
  usesSecret?: boolean;
  /** Sends email through SES with the project's configuration set (env EMAIL_FROM, SES_CONFIGURATION_SET). */
  sendsEmail?: boolean;
  /** Builds links to the public API (env PUBLIC_BASE_URL). */
  linksToPublicApi?: boolean;
  /** Verifies Turnstile/reCAPTCHA responses when a deployment configures a captcha secret (env CAPTCHA_SECRET_ARN). */
  verifiesCaptcha?: boolean;
  /**
   * Creates and deletes EventBridge Scheduler schedules that send to `targetQueue`
   * (env SCHEDULE_GROUP, SCHEDULER_ROLE_ARN, LAUNCH_QUEUE_ARN).
   */
  managesSchedules?: { targetQueue: TQueue };
  /** Sends SMS through the deployment's provider (End User Messaging SMS or Twilio). */
  sendsSms?: boolean;
  /** Checks Twilio webhook signatures with the account's auth token (env TWILIO_SECRET_ARN when Twilio is the provider). */
  receivesTwilioWebhooks?: boolean;
  /** Writes the public event stream: the Firehose delivery stream the stack creates or the deployment names (env EVENT_STREAM_NAME). */
  writesEventStream?: boolean;
  /**
   * A larger bundle budget (KB) than the default for a function off the request path whose work
   * needs it, with the reason in its description; the synth test holds every other function to
   * BUNDLE_BUDGET_BYTES.
   */
  bundleBudgetKb?: number;
  /** Extra plain environment values. */
  environment?: Record<string, string>;
}

export type RuleTarget<TQueue extends string = string, TFunction extends string = string> =
  | { queue: TQueue }
  | { function: TFunction };

export interface RuleDef<TQueue extends string = string, TFunction extends string = string> {
  description: string;
  /** EventBridge event pattern, applied by EventBridge on AWS and by the local bus. */
  pattern: Record<string, unknown>;
  target: RuleTarget<TQueue, TFunction>;
  /** Bus the rule listens on: the project's own bus, or the account's default bus (AWS service events). */
  bus?: 'touchloop' | 'default';
}

export interface Topology<
  TTable extends string = string,
  TQueue extends string = string,
  TFunction extends string = string,
> {
  tables: Record<TTable, TableDef>;
  queues: Record<TQueue, QueueDef>;
  functions: Record<TFunction, FunctionDef<TTable, TQueue>>;
  rules: Record<string, RuleDef<TQueue, TFunction>>;
  /** S3 buckets the stack creates (the local runtime serves them from its AWS endpoint). */
  buckets?: Record<string, BucketDef<TQueue>>;
}

/**
 * Identity with inference: names of tables and queues are checked where functions use them, and
 * each function's entry keeps its literal type (which tables, which queues, which flags), so
 * shared/wiring.ts derives a function's configuration type from it.
 */
export function defineTopology<TTable extends string, TQueue extends string, const TFunctions extends Record<string, FunctionDef<TTable, TQueue>>>(
  topology: Topology<TTable, TQueue, Extract<keyof TFunctions, string>> & { functions: TFunctions },
): Omit<Topology<TTable, TQueue, Extract<keyof TFunctions, string>>, 'functions'> & { functions: TFunctions } {
  return topology;
}

// The names of the variables that carry the wiring are a contract with the handlers: it lives in events/.
export { bucketEnvVar, envSuffix, queueEnvVar, tableEnvVar } from '../events/wiring.ts';

/** Visibility timeout of a queue: at least six times its consumer's timeout (AWS guidance). */
export function queueVisibilityTimeoutSeconds(topology: Topology, queue: string): number {
  const consumers = Object.values(topology.functions).filter((f) => f.queue?.queue === queue);
  const longest = Math.max(30, ...consumers.map((f) => f.timeoutSeconds));
  return longest * 6;
}

/** A deployment's own timing for a declared schedule (e.g. the nightly attribution run at 03:30 Europe/Berlin). */
export interface ScheduleOverride {
  expression?: string;
  timezone?: string;
}

/**
 * The topology with some schedules retimed. Both engines take the result, so a deployment's
 * schedule is the same in `cdk deploy` (context) and `npm start` (environment).
 */
export function withScheduleOverrides<T extends Topology>(topology: T, overrides: Record<string, ScheduleOverride | undefined>): T {
  const known = new Set(Object.values(topology.functions).flatMap((f) => (f.schedules ?? []).map((s) => s.name)));
  for (const [name, override] of Object.entries(overrides)) {
    if (override && (override.expression || override.timezone) && !known.has(name)) throw new Error(`no schedule named ${name} to override`);
    if (override?.expression && !/^(cron|rate|at)\(.+\)$/.test(override.expression)) throw new Error(`schedule ${name}: "${override.expression}" is not a cron(...), rate(...) or at(...) expression`);
  }
  const functions = Object.fromEntries(
    Object.entries(topology.functions).map(([name, def]) => [
      name,
      def.schedules
        ? {
            ...def,
            schedules: def.schedules.map((s) => {
              const o = overrides[s.name];
              return { ...s, ...(o?.expression ? { expression: o.expression } : {}), ...(o?.timezone ? { timezone: o.timezone } : {}) };
            }),
          }
        : def,
    ]),
  );
  return { ...topology, functions } as T;
}

/** The topology with extra environment for one function (deployment settings such as the soft-bounce policy); undefined values are left out. */
export function withFunctionEnvironment<T extends Topology>(topology: T, functionName: string, environment: Record<string, string | undefined>): T {
  const def = topology.functions[functionName];
  if (!def) throw new Error(`no function named ${functionName}`);
  const set = Object.fromEntries(Object.entries(environment).filter((entry): entry is [string, string] => entry[1] !== undefined));
  if (!Object.keys(set).length) return topology;
  return { ...topology, functions: { ...topology.functions, [functionName]: { ...def, environment: { ...(def.environment ?? {}), ...set } } } } as T;
}
