import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Server } from 'node:http';
import path from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { APIGatewayProxyEventV2, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import * as z from 'zod';
import { issuesFromZod, type ValidationIssue } from '../../shared/errors.ts';
import { repoRoot } from '../paths.ts';
import { topology as defaultTopology } from '../topology.ts';
import { bucketEnvVar, queueEnvVar, queueVisibilityTimeoutSeconds, tableEnvVar, type Topology } from '../topology-types.ts';
import { createLocalAuth, type LocalAuth } from './auth.ts';
import { LocalAwsEndpoint } from './aws-endpoint.ts';
import { LocalBucket } from './buckets.ts';
import { startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local.ts';
import { LocalEventBus, type BusEvent } from './event-bus.ts';
import { LocalFirehose } from './firehose.ts';
import { LocalConsoleServer, type ConsoleSignIn } from './console-server.ts';
import { LocalHttpGateway, type GatewayRoute, type LocalRoute } from './http-gateway.ts';
import { readRequestBody, sendJson } from './http-util.ts';
import { functionArn, LOCAL_ACCOUNT, LOCAL_REGION, LocalFunction } from './lambda.ts';
import { freePort, LOOPBACK } from './ports.ts';
import { LocalQueue } from './queue.ts';
import { LocalScheduler, type LocalSchedule } from './scheduler.ts';
import { SmsSink } from './sms-sink.ts';
import { LocalTableStream } from './table-stream.ts';
import { localClock, parseAdvance } from './clock.ts';
import { createTables } from './tables.ts';

export interface LocalRuntimeOptions {
  topology?: Topology;
  /** The API's bind address (default 127.0.0.1). DynamoDB Local, SES, the SMS sink and the AWS endpoint always listen on 127.0.0.1. */
  host?: string;
  /** API port; 0 picks a free one. Default 3000. */
  apiPort?: number;
  /** Use a running DynamoDB (tests share one); otherwise DynamoDB Local is started. */
  dynamodbEndpoint?: string;
  dynamodbPort?: number;
  /** Keep DynamoDB data under this directory (npm start --persist). */
  persistDir?: string;
  /** Keep bucket objects (import uploads) under this directory; otherwise a scratch directory removed at stop. */
  objectsDir?: string;
  /** Table name prefix, so several runtimes can share one DynamoDB Local. */
  tablePrefix?: string;
  sesPort?: number;
  smsPort?: number;
  awsPort?: number;
  /** Where the dev token and key are written, and the event stream's NDJSON files (`<stateDir>/stream/`); undefined writes nothing. */
  stateDir?: string;
  /**
   * Multiplies queue visibility timeouts, batching windows and retry back-offs; tests use a
   * small factor so redelivery takes milliseconds instead of minutes. Default 1 (AWS timing).
   */
  timeScale?: number;
  /** Extra environment for the handlers (e.g. feature settings). */
  environment?: Record<string, string>;
  log?: (line: string) => void;
  /**
   * Serve the marketers' console (built into `distDir` by infra/console/build.ts) on its own
   * loopback origin: `port`, default the API port + 1 (a free one when the API's is 0).
   */
  console?: { distDir: string; port?: number; signIn?: ConsoleSignIn };
}

export interface Wiring {
  routes: Array<{ routeKey: string; function: string; public: boolean }>;
  queueConsumers: Array<{ queue: string; function: string; batchSize: number; maxBatchingWindowSeconds: number; maxConcurrency?: number; maxReceiveCount: number }>;
  streamConsumers: Array<{ table: string; function: string; batchSize: number; maxBatchingWindowSeconds: number; startingPosition: string; retryAttempts: number }>;
  rules: Array<{ name: string; bus: string; pattern: Record<string, unknown>; target: { queue: string } | { function: string } }>;
  schedules: Array<{ name: string; function: string; expression: string; timezone: string }>;
  tables: string[];
  buckets: Array<{ name: string; notify?: { prefix: string; queue: string } }>;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  components: Record<string, { status: 'up' | 'down'; url: string; inboxUrl?: string; error?: string }>;
}

/** Event-rule and schedule targets: attempts before an event is parked in the target DLQ (EventBridge retries with back-off). */
const TARGET_ATTEMPTS = 3;
const BUS_NAME = 'touchloop-local-bus';
/** The event stream's delivery stream (EVENT_STREAM_NAME), served by the local AWS endpoint. */
export const LOCAL_EVENT_STREAM = 'touchloop-local-events';
const SCHEDULE_GROUP = 'touchloop-local-schedules';

/**
 * The whole pipeline on one machine: DynamoDB Local, a local SES with an inbox, an SMS sink,
 * the local AWS endpoint (EventBridge, SQS, Scheduler), in-process bus, queues and scheduler,
 * and an API Gateway stand-in, all wired from the same topology as the CDK stack.
 */
export class LocalRuntime {
  readonly topology: Topology;
  readonly functions = new Map<string, LocalFunction>();
  readonly queues = new Map<string, LocalQueue>();
  readonly deadLetterQueues = new Map<string, LocalQueue>();
  readonly bus: LocalEventBus;
  readonly scheduler: LocalScheduler;
  readonly smsSink = new SmsSink();
  readonly awsEndpoint: LocalAwsEndpoint;
  /** The event stream: NDJSON files under `<stateDir>/stream/` (only counted without a state directory). */
  readonly firehose: LocalFirehose;
  /** Table change streams and the functions they feed (Lambda's DynamoDB event source mappings). */
  readonly tableStreams = new Map<string, LocalTableStream>();
  /** `console` is empty when the runtime serves no console. */
  readonly urls = { api: '', console: '', dynamodb: '', ses: '', sesInbox: '', sms: '', aws: '' };
  devToken = '';
  auth!: LocalAuth;
  readonly tableNames: Record<string, string> = {};
  /** The topology's S3 buckets, served by the local AWS endpoint, by bucket name. */
  readonly buckets = new Map<string, LocalBucket>();
  /** Where bucket objects live when no state directory is given (removed at stop). */
  private scratchDir: string | undefined;
  /** Secrets Manager contents served by the local AWS endpoint, by ARN. */
  readonly secrets = new Map<string, string>();
  private gateway!: LocalHttpGateway;
  private consoleServer: LocalConsoleServer | undefined;
  private dynamodb: DynamoDbLocal | undefined;
  private dynamodbClient!: DynamoDBClient;
  private sesServer: Server | undefined;
  private readonly pendingInvocations = new Set<Promise<unknown>>();
  private readonly queueConsumers: Wiring['queueConsumers'] = [];
  private readonly streamConsumers: Wiring['streamConsumers'] = [];
  private streamsClient: DynamoDBStreamsClient | undefined;
  private createdTables = new Set<string>();
  private readonly log: (line: string) => void;
  private readonly timeScale: number;
  private stopped = false;

  private constructor(private readonly options: LocalRuntimeOptions) {
    this.topology = options.topology ?? defaultTopology;
    this.log = options.log ?? ((line) => console.log(line));
    this.timeScale = options.timeScale ?? 1;
    this.bus = new LocalEventBus(['default', BUS_NAME]);
    this.bus.onDeliveryError = (error, rule) => this.log(`[bus] rule ${rule.name} could not deliver: ${(error as Error).message}`);
    this.scheduler = new LocalScheduler({
      invoke: (schedule, firedAt) => this.fireSchedule(schedule, firedAt),
      onError: (error, schedule) => this.log(`[scheduler] ${schedule.name}: ${(error as Error).message}`),
    });
    this.firehose = new LocalFirehose([LOCAL_EVENT_STREAM], options.stateDir ? path.join(options.stateDir, 'stream') : undefined);
    this.awsEndpoint = new LocalAwsEndpoint({ bus: this.bus, queues: () => this.allQueues(), scheduler: this.scheduler, secrets: this.secrets, buckets: () => this.buckets, firehose: this.firehose });
  }

  static async start(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
    const runtime = new LocalRuntime(options);
    try {
      await runtime.boot();
    } catch (error) {
      await runtime.stop();
      throw error;
    }
    return runtime;
  }

  private async boot(): Promise<void> {
    const { options, topology } = this;
    const host = options.host ?? '127.0.0.1';

    // 1. Backing services.
    if (options.dynamodbEndpoint) {
      this.urls.dynamodb = options.dynamodbEndpoint;
    } else {
      this.dynamodb = await startDynamoDbLocal({ port: options.dynamodbPort, persistDir: options.persistDir });
      this.urls.dynamodb = this.dynamodb.endpoint;
    }
    const sesPort = options.sesPort ?? (await freePort());
    const { default: startSes } = (await import('aws-ses-v2-local')) as unknown as { default: (c: { host: string; port: number }) => Promise<Server> };
    this.sesServer = await startSes({ host: LOOPBACK, port: sesPort });
    this.urls.ses = `http://${LOOPBACK}:${sesPort}`;
    this.urls.sesInbox = `${this.urls.ses}/`;
    await this.smsSink.start(options.smsPort ?? 0);
    this.urls.sms = this.smsSink.url;
    await this.awsEndpoint.start(options.awsPort ?? 0);
    this.urls.aws = this.awsEndpoint.url;

    // 2. Environment the handlers read at cold start: the same variable names the CDK stack sets.
    // The API port is fixed before handlers load: links they build (PUBLIC_BASE_URL) need it.
    const apiPort = options.apiPort === 0 ? await freePort() : (options.apiPort ?? 3000);
    this.urls.api = `http://${host}:${apiPort}`;
    const prefix = options.tablePrefix ?? 'touchloop-';
    for (const name of Object.keys(topology.tables)) this.tableNames[name] = `${prefix}${name}`;
    const env: Record<string, string> = {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: this.urls.dynamodb,
      AWS_ENDPOINT_URL_SESV2: this.urls.ses,
      AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2: this.urls.sms,
      AWS_ENDPOINT_URL_EVENTBRIDGE: this.urls.aws,
      AWS_ENDPOINT_URL_SQS: this.urls.aws,
      AWS_ENDPOINT_URL_SCHEDULER: this.urls.aws,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: this.urls.aws,
      AWS_ENDPOINT_URL_S3: this.urls.aws,
      AWS_ENDPOINT_URL_FIREHOSE: this.urls.aws,
      EVENT_STREAM_NAME: LOCAL_EVENT_STREAM,
      TOUCHLOOP_SECRET_ARN: PROJECT_SECRET_ARN,
      EVENT_BUS_NAME: BUS_NAME,
      PUBLIC_BASE_URL: this.urls.api,
      EMAIL_FROM: 'Touchloop <no-reply@touchloop.local>',
      SES_CONFIGURATION_SET: 'touchloop-local-email',
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
      POWERTOOLS_DEV: 'true',
      ...options.environment,
    };
    for (const [name, table] of Object.entries(this.tableNames)) env[tableEnvVar(name)] = table;
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_ENDPOINT_URL;

    this.secrets.set(PROJECT_SECRET_ARN, loadOrCreateSecret(options.stateDir));

    // 3. Queues, each with its DLQ, as the stack declares them.
    for (const [name, def] of Object.entries(topology.queues)) {
      const url = `${this.urls.aws}/${LOCAL_ACCOUNT}/${name}`;
      const dlq = new LocalQueue({ name: `${name}-dlq`, url: `${url}-dlq`, arn: queueArn(`${name}-dlq`), visibilityTimeoutSeconds: 30 });
      this.deadLetterQueues.set(name, dlq);
      this.queues.set(
        name,
        new LocalQueue({
          name,
          url,
          arn: queueArn(name),
          visibilityTimeoutSeconds: queueVisibilityTimeoutSeconds(topology, name) * this.timeScale,
          maxReceiveCount: def.maxReceiveCount,
          deadLetterQueue: dlq,
        }),
      );
      env[queueEnvVar(name)] = url;
    }
    // The schedule group and role are shared; each scheduling function's target queue is its own (set when it loads, below).
    if (Object.values(topology.functions).some((def) => def.managesSchedules)) {
      env.SCHEDULE_GROUP = 'touchloop-campaigns';
      env.SCHEDULER_ROLE_ARN = `arn:aws:iam::${LOCAL_ACCOUNT}:role/touchloop-local-scheduler`;
    }
    env.SMS_PROVIDER = 'aws';
    env.SMS_ORIGINATION_IDENTITY = '+15555550100';
    env.SENDER_POSTAL_ADDRESS = 'Touchloop Local, 1 Example Street, Example City';
    // Buckets, on disk (kept with --persist, else in a scratch directory), announcing uploads to their queues.
    const objectsDir = options.objectsDir ?? (this.scratchDir = mkdtempSync(path.join(tmpdir(), 'touchloop-s3-')));
    for (const [name, def] of Object.entries(topology.buckets ?? {})) {
      const bucketName = `${prefix}${name.toLowerCase()}`;
      const notify = def.notify;
      const queue = notify ? this.queues.get(notify.queue) : undefined;
      if (notify && !queue) throw new Error(`bucket ${name} notifies unknown queue ${notify.queue}`);
      this.buckets.set(
        bucketName,
        new LocalBucket({ name: bucketName, dir: path.join(objectsDir, bucketName), expireAfterDays: def.expireAfterDays, ...(notify && queue ? { notify: { prefix: notify.prefix, deliver: (event) => queue.send(event) } } : {}) }),
      );
      env[bucketEnvVar(name)] = bucketName;
    }
    const targetDlq = new LocalQueue({ name: 'event-targets-dlq', url: `${this.urls.aws}/${LOCAL_ACCOUNT}/event-targets-dlq`, arn: queueArn('event-targets-dlq'), visibilityTimeoutSeconds: 30 });
    this.deadLetterQueues.set('event-targets', targetDlq);
    Object.assign(process.env, env, options.environment);

    // 4. Tables from the topology's definitions.
    this.dynamodbClient = new DynamoDBClient({ endpoint: this.urls.dynamodb, region: LOCAL_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const streamTables = new Set(Object.values(topology.functions).flatMap((f) => (f.stream ? [f.stream.table] : [])));
    this.createdTables = await createTables(this.dynamodbClient, topology.tables, (name) => this.tableNames[name]!, streamTables);

    // 5. Functions (imported now that their environment is in place) and their triggers.
    for (const [name, def] of Object.entries(topology.functions)) {
      const fn = new LocalFunction(name, def, repoRoot);
      // A function's own environment values are in place while its module initialises (they are read at cold start).
      const own = { ...def.environment, POWERTOOLS_SERVICE_NAME: name, ...(def.managesSchedules ? { LAUNCH_QUEUE_ARN: queueArn(def.managesSchedules.targetQueue) } : {}) };
      const saved = Object.fromEntries(Object.keys(own).map((k) => [k, process.env[k]]));
      Object.assign(process.env, own);
      try {
        await fn.load();
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
      this.functions.set(name, fn);
    }
    const routes: GatewayRoute[] = [];
    for (const [name, def] of Object.entries(topology.functions)) {
      const fn = this.functions.get(name)!;
      for (const route of def.http ?? []) {
        routes.push({ ...route, functionName: name, invoke: (event: APIGatewayProxyEventV2) => this.track(fn.invoke(event)) });
      }
      if (def.queue) {
        const queue = this.queues.get(def.queue.queue);
        if (!queue) throw new Error(`${name} consumes unknown queue ${def.queue.queue}`);
        queue.attachConsumer({
          batchSize: def.queue.batchSize,
          maxBatchingWindowSeconds: (def.queue.maxBatchingWindowSeconds ?? 0) * this.timeScale,
          maxConcurrency: def.queue.maxConcurrency,
          handler: (event: SQSEvent) => fn.invoke(event) as Promise<SQSBatchResponse | undefined>,
          onError: (error) => this.log(`[queue ${def.queue!.queue}] ${name} failed a batch: ${(error as Error).message}`),
        });
        this.queueConsumers.push({
          queue: def.queue.queue,
          function: name,
          batchSize: def.queue.batchSize,
          maxBatchingWindowSeconds: def.queue.maxBatchingWindowSeconds ?? 0,
          maxConcurrency: def.queue.maxConcurrency,
          maxReceiveCount: topology.queues[def.queue.queue]!.maxReceiveCount,
        });
      }
      if (def.stream) await this.attachTableStream(name, def.stream, fn);
      for (const schedule of def.schedules ?? []) {
        this.scheduler.create({
          name: schedule.name,
          groupName: SCHEDULE_GROUP,
          expression: schedule.expression,
          timezone: schedule.timezone ?? 'UTC',
          target: { arn: functionArn(name), input: JSON.stringify(schedule.input ?? {}) },
          description: schedule.description,
        });
      }
    }
    for (const [ruleName, def] of Object.entries(topology.rules)) {
      const target = def.target;
      this.bus.addRule({
        name: ruleName,
        bus: def.bus === 'default' ? 'default' : BUS_NAME,
        pattern: def.pattern,
        target,
        deliver:
          'queue' in target
            ? (event: BusEvent) => {
                const queue = this.queues.get(target.queue);
                if (!queue) throw new Error(`rule ${ruleName} targets unknown queue ${target.queue}`);
                queue.send(JSON.stringify(event));
              }
            : (event: BusEvent) => this.invokeWithRetries(target.function, event, `rule ${ruleName}`),
      });
    }

    // 6. Auth and the API.
    this.auth = await createLocalAuth(options.stateDir);
    this.devToken = await this.auth.mintToken({ sub: 'local-marketer', email: 'marketer@localhost' });
    if (options.stateDir) {
      mkdirSync(options.stateDir, { recursive: true });
      writeFileSync(path.join(options.stateDir, 'dev-token'), `${this.devToken}\n`, { mode: 0o600 });
    }
    this.gateway = new LocalHttpGateway(routes, this.auth, this.localRoutes(), { log: this.log });
    await this.gateway.start(apiPort, host);

    // 7. The console, on its own origin beside the API (which it reaches through its /v1 proxy).
    if (options.console) {
      this.consoleServer = new LocalConsoleServer({ distDir: options.console.distDir, apiUrl: `http://${LOOPBACK}:${apiPort}`, auth: this.auth, signIn: options.console.signIn });
      const consolePort = options.console.port ?? (options.apiPort === 0 ? 0 : apiPort + 1);
      await this.consoleServer.start(consolePort, host);
      this.urls.console = this.consoleServer.url;
    }
  }

  /** What the runtime answers itself, before the topology's routes: health and the local-only helpers. */
  private localRoutes(): LocalRoute[] {
    return [
      {
        method: 'GET',
        path: '/health',
        handle: async (_req, res) => {
          const health = await this.health();
          sendJson(res, health.status === 'ok' ? 200 : 503, health);
        },
      },
      { method: 'GET', path: '/_local/jwks.json', handle: async (_req, res) => sendJson(res, 200, { keys: [this.auth.publicJwk] }) },
      {
        method: 'POST',
        path: '/_local/sms/inbound',
        handle: async (req, res) => {
          // Stands in for the provider: an inbound SMS as End User Messaging SMS publishes it to the topic.
          const target = Object.entries(this.topology.queues).find(([, def]) => def.snsTopic === 'sms-inbound')?.[0];
          const input = parseLocalInboundSms(await readRequestBody(req, 64 * 1024).catch(() => undefined));
          if (!target) return sendJson(res, 404, { error: { code: 'not_found', message: 'no queue subscribes to the sms-inbound topic' } });
          if ('issues' in input) return sendJson(res, 400, { error: { code: 'validation_failed', message: `send a JSON object such as ${LOCAL_SMS_EXAMPLE}`, issues: input.issues } });
          const inboundMessageId = randomBytes(8).toString('hex');
          this.queues.get(target)!.send(
            JSON.stringify({
              Type: 'Notification',
              MessageId: randomBytes(8).toString('hex'),
              TopicArn: `arn:aws:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT}:sms-inbound`,
              Timestamp: new Date().toISOString(),
              Message: JSON.stringify({ originationNumber: input.from, destinationNumber: input.to ?? '+15555550100', messageKeyword: 'KEYWORD', messageBody: input.body, inboundMessageId }),
            }),
          );
          sendJson(res, 202, { inboundMessageId });
        },
      },
      {
        method: 'GET',
        path: '/_local/clock',
        handle: async (_req, res) => sendJson(res, 200, { now: new Date().toISOString(), offsetSeconds: localClock.offsetMs / 1000 }),
      },
      {
        method: 'POST',
        path: '/_local/clock',
        handle: async (req, res) => {
          // Moves the runtime's "now" forward (infra/local/clock.ts), then runs the dispatcher at once so what fell due goes.
          let body: unknown;
          try {
            body = JSON.parse((await readRequestBody(req, 4 * 1024)).toString('utf8') || '{}');
          } catch {
            body = undefined;
          }
          const ms = parseAdvance((body as { advance?: unknown } | undefined)?.advance);
          if (ms === undefined) return sendJson(res, 400, { error: { code: 'validation_failed', message: 'send {"advance": "2d"} (d, h, m or s) or a number of seconds', issues: [{ path: 'advance', message: 'must be a duration such as "2d", "36h", "90m" or a number of seconds' }] } });
          const now = localClock.advance(ms);
          await this.runDueWork();
          sendJson(res, 200, { now: now.toISOString(), offsetSeconds: localClock.offsetMs / 1000 });
        },
      },
      {
        method: 'POST',
        path: '/_local/schedules/{name}/run',
        handle: async (_req, res, url, params) => {
          const name = decodeOrUndefined(params.name!);
          if (name === undefined) {
            return sendJson(res, 400, { error: { code: 'validation_failed', message: 'The request path is not valid', issues: [{ path: 'params.name', message: 'is not valid percent-encoded UTF-8' }] } });
          }
          const group = this.scheduler.get(name, SCHEDULE_GROUP) ? SCHEDULE_GROUP : (url.searchParams.get('group') ?? 'default');
          if (!this.scheduler.get(name, group)) return sendJson(res, 404, { error: { code: 'not_found', message: `schedule ${name} not found` } });
          await this.scheduler.runNow(name, group);
          sendJson(res, 202, { fired: name, group });
        },
      },
    ];
  }

  /** A function fed by a table's changes, as Lambda's event source mapping feeds it, with its on-failure DLQ. */
  private async attachTableStream(name: string, trigger: NonNullable<Topology['functions'][string]['stream']>, fn: LocalFunction): Promise<void> {
    this.streamsClient ??= new DynamoDBStreamsClient({ endpoint: this.urls.dynamodb, region: LOCAL_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const dlqName = `${name}-stream-dlq`;
    const dlq = new LocalQueue({ name: dlqName, url: `${this.urls.aws}/${LOCAL_ACCOUNT}/${dlqName}`, arn: queueArn(dlqName), visibilityTimeoutSeconds: 30 });
    this.deadLetterQueues.set(`${name}-stream`, dlq);
    const stream = new LocalTableStream({
      functionName: name,
      tableName: this.tableNames[trigger.table]!,
      dynamodb: this.dynamodbClient,
      streams: this.streamsClient,
      batchSize: trigger.batchSize,
      maxBatchingWindowMs: (trigger.maxBatchingWindowSeconds ?? 0) * 1000 * this.timeScale,
      retryAttempts: trigger.retryAttempts,
      // Lambda's pace (about 4 polls a second), not scaled: idle() drains the stream at once, and the tests share one DynamoDB Local.
      pollIntervalMs: 250,
      retryDelayMs: 1000 * this.timeScale,
      // A new table's stream is read from its start; a persisted one from now on (its older records were published by an earlier run).
      startAt: this.createdTables.has(trigger.table) ? 'TRIM_HORIZON' : 'LATEST',
      invoke: (event) => this.track(fn.invoke(event)),
      onFailure: (record) => dlq.send(JSON.stringify(record)),
      log: this.log,
    });
    await stream.start();
    this.tableStreams.set(name, stream);
    this.streamConsumers.push({
      table: trigger.table,
      function: name,
      batchSize: trigger.batchSize,
      maxBatchingWindowSeconds: trigger.maxBatchingWindowSeconds ?? 0,
      startingPosition: trigger.startingPosition,
      retryAttempts: trigger.retryAttempts,
    });
  }

  /** Invokes a function asynchronously the way EventBridge/Scheduler do: retries, then the target DLQ. */
  private async invokeWithRetries(functionName: string, event: unknown, source: string): Promise<void> {
    const fn = this.functions.get(functionName);
    if (!fn) throw new Error(`${source} targets unknown function ${functionName}`);
    let lastError: unknown;
    for (let attempt = 1; attempt <= TARGET_ATTEMPTS; attempt++) {
      try {
        await this.track(fn.invoke(event));
        return;
      } catch (error) {
        lastError = error;
        this.log(`[${source}] ${functionName} attempt ${attempt} failed: ${(error as Error).message}`);
        if (attempt < TARGET_ATTEMPTS) await new Promise((r) => setTimeout(r, 1000 * 2 ** (attempt - 1) * this.timeScale));
      }
    }
    this.deadLetterQueues.get('event-targets')!.send(JSON.stringify(event), {
      messageAttributes: {
        ERROR_MESSAGE: { dataType: 'String', stringValue: String((lastError as Error)?.message ?? lastError), stringListValues: [], binaryListValues: [] },
        TARGET: { dataType: 'String', stringValue: functionName, stringListValues: [], binaryListValues: [] },
      },
    });
  }

  private async fireSchedule(schedule: LocalSchedule, firedAt: Date): Promise<void> {
    // EventBridge Scheduler's context attributes in the target input.
    const rawInput = (schedule.target.input ?? '{}')
      .replaceAll('<aws.scheduler.scheduled-time>', firedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'))
      .replaceAll('<aws.scheduler.schedule-arn>', `arn:aws:scheduler:${LOCAL_REGION}:${LOCAL_ACCOUNT}:schedule/${schedule.groupName}/${schedule.name}`)
      .replaceAll('<aws.scheduler.execution-id>', randomBytes(8).toString('hex'))
      .replaceAll('<aws.scheduler.attempt-number>', '1');
    const input: unknown = JSON.parse(rawInput);
    const fnName = [...this.functions.keys()].find((name) => functionArn(name) === schedule.target.arn);
    if (fnName) return this.invokeWithRetries(fnName, input, `schedule ${schedule.name}`);
    const queue = this.allQueues().find((q) => q.arn === schedule.target.arn);
    if (queue) {
      queue.send(rawInput);
      return;
    }
    throw new Error(`schedule ${schedule.name} targets ${schedule.target.arn}, which is not a local function or queue`);
  }

  /** Every queue, dead-letter queues included (they are ordinary queues on AWS too). */
  allQueues(): LocalQueue[] {
    return [...this.queues.values(), ...this.deadLetterQueues.values()];
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pendingInvocations.add(promise);
    const done = () => this.pendingInvocations.delete(promise);
    promise.then(done, done);
    return promise;
  }

  /** Resolves when no event delivery, invocation or queue message is in flight: the pipeline has settled. */
  async idle(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.bus.settled();
      await Promise.allSettled([...this.pendingInvocations]);
      await Promise.all([...this.queues.values()].map((q) => q.idle(Math.max(1, deadline - Date.now()))));
      // Table changes made so far reach their consumers now, batching window or not.
      const streamed = await Promise.all([...this.tableStreams.values()].map((s) => s.drain()));
      if (streamed.some(Boolean) && Date.now() <= deadline) continue;
      if (this.bus.pending === 0 && this.pendingInvocations.size === 0 && [...this.queues.values()].every((q) => isQuiet(q))) return;
      if (Date.now() > deadline) throw new Error('local runtime did not settle in time');
    }
  }

  /** The routes the runtime answers itself (not in the topology, not on AWS), as route keys. */
  describeLocalRoutes(): string[] {
    return this.gateway.listLocalRoutes();
  }

  describeWiring(): Wiring {
    return {
      routes: this.gateway.listRoutes().map((r) => ({ routeKey: r.routeKey, function: r.functionName, public: r.public })),
      queueConsumers: [...this.queueConsumers],
      streamConsumers: [...this.streamConsumers],
      rules: this.bus.listRules().map((r) => ({ name: r.name, bus: r.bus === 'default' ? 'default' : 'touchloop', pattern: r.pattern, target: r.target })),
      schedules: this.scheduler.list(SCHEDULE_GROUP).map((s) => ({
        name: s.name,
        function: [...this.functions.keys()].find((n) => functionArn(n) === s.target.arn) ?? s.target.arn,
        expression: s.expression,
        timezone: s.timezone,
      })),
      tables: Object.keys(this.tableNames),
      buckets: Object.entries(this.topology.buckets ?? {}).map(([name, def]) => ({ name, ...(def.notify ? { notify: { prefix: def.notify.prefix, queue: def.notify.queue } } : {}) })),
    };
  }

  async health(): Promise<HealthReport> {
    const probe = async (check: () => Promise<unknown>): Promise<{ status: 'up' | 'down'; error?: string }> => {
      try {
        await check();
        return { status: 'up' };
      } catch (error) {
        return { status: 'down', error: (error as Error).message };
      }
    };
    const fetchOk = async (url: string) => {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    };
    const [dynamodb, ses, sms] = await Promise.all([
      probe(() => this.dynamodbClient.send(new ListTablesCommand({ Limit: 1 }))),
      probe(() => fetchOk(`${this.urls.ses}/health-check`)),
      probe(() => fetchOk(`${this.urls.sms}/health`)),
    ]);
    const components: HealthReport['components'] = {
      api: { status: 'up', url: this.urls.api },
      dynamodb: { ...dynamodb, url: this.urls.dynamodb },
      ses: { ...ses, url: this.urls.ses, inboxUrl: this.urls.sesInbox },
      sms: { ...sms, url: this.urls.sms },
      aws: { status: 'up', url: this.urls.aws },
    };
    return { status: Object.values(components).every((c) => c.status === 'up') ? 'ok' : 'degraded', components };
  }

  /** Moves the runtime's clock forward and fires the dispatcher, so sends and journey waits that fell due go now. */
  async advanceClock(ms: number): Promise<Date> {
    const now = localClock.advance(ms);
    await this.runDueWork();
    return now;
  }

  /** The schedules that act on due work (the dispatcher) run once now. */
  private async runDueWork(): Promise<void> {
    for (const [name, def] of Object.entries(this.topology.functions)) {
      for (const schedule of def.schedules ?? []) {
        if (name === 'send-dispatcher' && this.scheduler.get(schedule.name, SCHEDULE_GROUP)) await this.scheduler.runNow(schedule.name, SCHEDULE_GROUP);
      }
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    localClock.reset();
    this.scheduler.stop();
    await this.consoleServer?.stop();
    await this.gateway?.stop();
    await Promise.all([...this.tableStreams.values()].map((s) => s.stop()));
    await Promise.all([...this.queues.values(), ...this.deadLetterQueues.values()].map((q) => q.stop()));
    await this.awsEndpoint.stop();
    await this.smsSink.stop();
    if (this.sesServer) {
      const server = this.sesServer;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.streamsClient?.destroy();
    this.dynamodbClient?.destroy();
    await this.dynamodb?.stop();
    if (this.scratchDir) rmSync(this.scratchDir, { recursive: true, force: true });
  }
}

const PROJECT_SECRET_ARN = `arn:aws:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT}:secret:touchloop-local-secret`;

/** The project secret: kept in the state directory so tokens and address hashes stay valid across restarts. */
function loadOrCreateSecret(stateDir: string | undefined): string {
  const file = stateDir ? path.join(stateDir, 'project-secret') : undefined;
  if (file && existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored.length >= 32) return stored;
  }
  const secret = randomBytes(48).toString('base64url');
  if (file) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, secret, { mode: 0o600 });
  }
  return secret;
}

const queueArn = (name: string): string => `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${name}`;

function isQuiet(queue: LocalQueue): boolean {
  const stats = queue.stats();
  return stats.visible === 0 && stats.inFlight === 0 && stats.delayed === 0;
}

const LOCAL_SMS_EXAMPLE = '{ "from": "+447400123456", "body": "STOP" }';

/** The body of POST /_local/sms/inbound: who sent what (and optionally to which number). */
const LocalInboundSms = z.strictObject({
  from: z.string().regex(/^\+[1-9]\d{1,14}$/, 'must be an E.164 phone number such as +447400123456'),
  to: z.string().regex(/^\+[1-9]\d{1,14}$/, 'must be an E.164 phone number').optional(),
  body: z.string().max(1600),
});

function parseLocalInboundSms(raw: Buffer | undefined): z.infer<typeof LocalInboundSms> | { issues: ValidationIssue[] } {
  if (!raw) return { issues: [{ path: '', message: 'the body is larger than 64 KB' }] };
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    return { issues: [{ path: '', message: 'the body is not valid JSON' }] };
  }
  const parsed = LocalInboundSms.safeParse(value);
  return parsed.success ? parsed.data : { issues: issuesFromZod(parsed.error.issues) };
}

function decodeOrUndefined(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
