import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SQSMessageAttributes } from 'aws-lambda';
import type { LocalBucket } from './buckets.ts';
import type { LocalEventBus, PutEntry } from './event-bus.ts';
import { listen, readRequestBody, sendJson, type RunningServer } from './http-util.ts';
import { LOOPBACK } from './ports.ts';
import { LocalQueueError, type LocalQueue } from './queue.ts';
import type { LocalScheduler, LocalSchedule, LocalScheduleInput } from './scheduler.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './lambda.ts';
import { LocalFirehoseError, type LocalFirehose } from './firehose.ts';

/** Requests counted by service and operation, for the benchmarks' cost model. */
export type RequestCounts = Record<string, number>;

interface AwsErrorShape {
  status: number;
  type: string;
  message: string;
}

class AwsApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

type JsonObject = Record<string, unknown>;

/** SQS JSON message attributes ({ DataType, StringValue, BinaryValue }) → Lambda event shape. */
function toLambdaAttributes(attributes: unknown): SQSMessageAttributes | undefined {
  if (!attributes || typeof attributes !== 'object') return undefined;
  const out: SQSMessageAttributes = {};
  for (const [name, raw] of Object.entries(attributes as Record<string, JsonObject>)) {
    out[name] = {
      dataType: String(raw.DataType ?? 'String'),
      stringValue: raw.StringValue === undefined ? undefined : String(raw.StringValue),
      binaryValue: raw.BinaryValue === undefined ? undefined : String(raw.BinaryValue),
      stringListValues: [],
      binaryListValues: [],
    };
  }
  return out;
}

function toApiAttributes(attributes: SQSMessageAttributes): JsonObject {
  const out: JsonObject = {};
  for (const [name, value] of Object.entries(attributes)) {
    out[name] = { DataType: value.dataType, StringValue: value.stringValue, BinaryValue: value.binaryValue };
  }
  return out;
}

const epochSeconds = (date: Date | undefined | null): number | undefined => (date ? date.getTime() / 1000 : undefined);
const fromEpoch = (value: unknown): Date | undefined => (typeof value === 'number' ? new Date(value * 1000) : typeof value === 'string' ? new Date(value) : undefined);

/**
 * The AWS APIs the handlers call that have no local emulator here — EventBridge PutEvents,
 * SQS, EventBridge Scheduler — served over HTTP with the real wire protocols (AWS JSON 1.1,
 * AWS JSON 1.0, REST-JSON), so handler code uses the real SDK clients, pointed here with the
 * standard AWS_ENDPOINT_URL_<SERVICE> variables.
 */
export class LocalAwsEndpoint {
  private running: RunningServer | undefined;
  readonly requests: RequestCounts = {};

  constructor(
    private readonly deps: {
      bus: LocalEventBus;
      queues: () => LocalQueue[];
      scheduler: LocalScheduler;
      secrets: Map<string, string>;
      /** S3 buckets served path-style (/<bucket>/<key>), by name. */
      buckets?: () => Map<string, LocalBucket>;
      firehose?: LocalFirehose;
    },
  ) {}

  get url(): string {
    if (!this.running) throw new Error('AWS endpoint not started');
    return this.running.url;
  }

  async start(port = 0): Promise<void> {
    this.running = await listen((req, res) => this.handle(req, res), port, LOOPBACK);
  }

  async stop(): Promise<void> {
    await this.running?.close();
    this.running = undefined;
  }

  private count(operation: string): void {
    this.requests[operation] = (this.requests[operation] ?? 0) + 1;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // S3 (path-style): bodies stream to disk, so they are not read here.
    const s3 = this.bucketRequest(req);
    if (s3) return s3.bucket.serve(req, res, s3.key, s3.url, (operation) => this.count(operation));
    const raw = await readRequestBody(req);
    const target = req.headers['x-amz-target'];
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      if (typeof target === 'string' && target.startsWith('AWSEvents.')) {
        return this.reply(res, 'application/x-amz-json-1.1', this.eventBridge(target.slice('AWSEvents.'.length), parseJson(raw)));
      }
      if (typeof target === 'string' && target.startsWith('AmazonSQS.')) {
        return this.reply(res, 'application/x-amz-json-1.0', this.sqs(target.slice('AmazonSQS.'.length), parseJson(raw)));
      }
      if (typeof target === 'string' && target.startsWith('secretsmanager.')) {
        return this.reply(res, 'application/x-amz-json-1.1', this.secretsManager(target.slice('secretsmanager.'.length), parseJson(raw)));
      }
      if (typeof target === 'string' && target.startsWith('Firehose_20150804.')) {
        return this.reply(res, 'application/x-amz-json-1.1', this.firehose(target.slice('Firehose_20150804.'.length), parseJson(raw)));
      }
      if (url.pathname === '/schedules' || url.pathname.startsWith('/schedules/')) {
        return this.reply(res, 'application/json', this.schedulerApi(req.method ?? 'GET', url, raw.length ? parseJson(raw) : {}));
      }
      throw new AwsApiError(400, 'UnknownOperationException', `Unsupported request ${req.method} ${url.pathname} ${target ?? ''}`);
    } catch (error) {
      const shape: AwsErrorShape =
        error instanceof AwsApiError
          ? { status: error.status, type: error.type, message: error.message }
          : error instanceof LocalQueueError
            ? { status: 400, type: error.code, message: error.message }
            : error instanceof LocalFirehoseError
              ? { status: error.status, type: error.type, message: error.message }
              : { status: 500, type: 'InternalFailure', message: error instanceof Error ? error.message : String(error) };
      sendJson(res, shape.status, { __type: shape.type, message: shape.message }, {
        'x-amzn-errortype': shape.type,
        'x-amzn-query-error': `${shape.type};Sender`,
      });
    }
  }

  /** A request addressed to one of the local buckets, with its object key. */
  private bucketRequest(req: IncomingMessage): { bucket: LocalBucket; key: string; url: URL } | undefined {
    if (req.headers['x-amz-target']) return undefined;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const [, name = '', ...rest] = url.pathname.split('/');
    const bucket = this.deps.buckets?.().get(name);
    if (!bucket) return undefined;
    let key: string;
    try {
      key = decodeURIComponent(rest.join('/'));
    } catch {
      key = '';
    }
    return { bucket, key, url };
  }

  private reply(res: ServerResponse, contentType: string, body: unknown): void {
    sendJson(res, 200, body, { 'content-type': contentType, 'x-amzn-requestid': crypto.randomUUID() });
  }

  private eventBridge(operation: string, input: JsonObject): unknown {
    this.count(`EventBridge.${operation}`);
    if (operation !== 'PutEvents') throw new AwsApiError(400, 'UnknownOperationException', `EventBridge ${operation} is not supported locally`);
    const entries = input.Entries;
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > 10) {
      throw new AwsApiError(400, 'ValidationException', 'Entries must hold 1 to 10 entries');
    }
    return this.deps.bus.putEvents(entries as PutEntry[]);
  }

  /** Amazon Data Firehose Direct PUT: the event stream's delivery stream (infra/local/firehose.ts). */
  private firehose(operation: string, input: JsonObject): unknown {
    this.count(`Firehose.${operation}`);
    if (!this.deps.firehose) throw new AwsApiError(400, 'UnknownOperationException', 'Firehose is not served by this endpoint');
    return this.deps.firehose.handle(operation, input);
  }

  private secretsManager(operation: string, input: JsonObject): unknown {
    this.count(`SecretsManager.${operation}`);
    if (operation !== 'GetSecretValue') throw new AwsApiError(400, 'UnknownOperationException', `Secrets Manager ${operation} is not supported locally`);
    const id = String(input.SecretId ?? '');
    const value = this.deps.secrets.get(id);
    if (value === undefined) throw new AwsApiError(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return { ARN: id, Name: id.split(':').pop(), SecretString: value, VersionId: 'local', VersionStages: ['AWSCURRENT'], CreatedDate: 0 };
  }

  private queueFor(input: JsonObject): LocalQueue {
    const url = input.QueueUrl;
    const queue = this.deps.queues().find((q) => q.url === url);
    if (queue) return queue;
    throw new AwsApiError(400, 'AWS.SimpleQueueService.NonExistentQueue', `The specified queue does not exist: ${String(url)}`);
  }

  private sqs(operation: string, input: JsonObject): unknown {
    this.count(`SQS.${operation}`);
    switch (operation) {
      case 'SendMessage': {
        const queue = this.queueFor(input);
        const sent = queue.send(String(input.MessageBody ?? ''), {
          delaySeconds: input.DelaySeconds as number | undefined,
          messageAttributes: toLambdaAttributes(input.MessageAttributes),
        });
        return { MessageId: sent.messageId, MD5OfMessageBody: sent.md5OfBody, MD5OfMessageAttributes: sent.md5OfMessageAttributes };
      }
      case 'SendMessageBatch': {
        const queue = this.queueFor(input);
        const entries = input.Entries as JsonObject[] | undefined;
        if (!Array.isArray(entries) || entries.length === 0) throw new AwsApiError(400, 'AWS.SimpleQueueService.EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.');
        if (entries.length > 10) throw new AwsApiError(400, 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest', 'Maximum number of entries per request are 10.');
        const ids = new Set(entries.map((e) => e.Id));
        if (ids.size !== entries.length) throw new AwsApiError(400, 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct', 'Two or more batch entries in the request have the same Id.');
        const total = entries.reduce((n, e) => n + Buffer.byteLength(String(e.MessageBody ?? ''), 'utf8'), 0);
        if (total > 1_048_576) throw new AwsApiError(400, 'AWS.SimpleQueueService.BatchRequestTooLong', 'Batch requests cannot be longer than 1048576 bytes.');
        const Successful: JsonObject[] = [];
        const Failed: JsonObject[] = [];
        for (const entry of entries) {
          try {
            const sent = queue.send(String(entry.MessageBody ?? ''), {
              delaySeconds: entry.DelaySeconds as number | undefined,
              messageAttributes: toLambdaAttributes(entry.MessageAttributes),
            });
            Successful.push({ Id: entry.Id, MessageId: sent.messageId, MD5OfMessageBody: sent.md5OfBody, MD5OfMessageAttributes: sent.md5OfMessageAttributes });
          } catch (error) {
            Failed.push({ Id: entry.Id, SenderFault: true, Code: error instanceof LocalQueueError ? error.code : 'InternalError', Message: (error as Error).message });
          }
        }
        return { Successful, Failed };
      }
      case 'ReceiveMessage': {
        const queue = this.queueFor(input);
        const messages = queue.receive((input.MaxNumberOfMessages as number | undefined) ?? 1, input.VisibilityTimeout as number | undefined);
        return {
          Messages: messages.map((m) => ({
            MessageId: m.messageId,
            ReceiptHandle: m.receiptHandle,
            Body: m.body,
            MD5OfBody: m.md5OfBody,
            MD5OfMessageAttributes: m.md5OfMessageAttributes,
            Attributes: m.attributes,
            MessageAttributes: toApiAttributes(m.messageAttributes),
          })),
        };
      }
      case 'DeleteMessage': {
        this.queueFor(input).deleteMessage(String(input.ReceiptHandle));
        return {};
      }
      case 'DeleteMessageBatch': {
        const queue = this.queueFor(input);
        const entries = (input.Entries as JsonObject[] | undefined) ?? [];
        for (const entry of entries) queue.deleteMessage(String(entry.ReceiptHandle));
        return { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] };
      }
      case 'ChangeMessageVisibility': {
        this.queueFor(input).changeVisibility(String(input.ReceiptHandle), Number(input.VisibilityTimeout));
        return {};
      }
      case 'PurgeQueue': {
        this.queueFor(input).purge();
        return {};
      }
      case 'GetQueueUrl': {
        const queue = this.deps.queues().find((q) => q.name === input.QueueName);
        if (!queue) throw new AwsApiError(400, 'AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.');
        return { QueueUrl: queue.url };
      }
      case 'GetQueueAttributes': {
        const queue = this.queueFor(input);
        const stats = queue.stats();
        return {
          Attributes: {
            QueueArn: queue.arn,
            ApproximateNumberOfMessages: String(stats.visible),
            ApproximateNumberOfMessagesNotVisible: String(stats.inFlight),
            ApproximateNumberOfMessagesDelayed: String(stats.delayed),
          },
        };
      }
      default:
        throw new AwsApiError(400, 'UnsupportedOperation', `SQS ${operation} is not supported locally`);
    }
  }

  private schedulerApi(method: string, url: URL, input: JsonObject): unknown {
    const name = decodeURIComponent(url.pathname.slice('/schedules/'.length));
    const { scheduler } = this.deps;
    const toInput = (): LocalScheduleInput => {
      const target = (input.Target ?? {}) as JsonObject;
      if (typeof input.ScheduleExpression !== 'string') throw new AwsApiError(400, 'ValidationException', 'ScheduleExpression is required');
      if (typeof target.Arn !== 'string') throw new AwsApiError(400, 'ValidationException', 'Target.Arn is required');
      const window = (input.FlexibleTimeWindow ?? {}) as JsonObject;
      return {
        name,
        groupName: (input.GroupName as string | undefined) ?? 'default',
        expression: input.ScheduleExpression,
        timezone: (input.ScheduleExpressionTimezone as string | undefined) ?? 'UTC',
        target: { arn: target.Arn, roleArn: target.RoleArn as string | undefined, input: target.Input as string | undefined },
        state: (input.State as 'ENABLED' | 'DISABLED' | undefined) ?? 'ENABLED',
        actionAfterCompletion: (input.ActionAfterCompletion as 'NONE' | 'DELETE' | undefined) ?? 'NONE',
        startDate: fromEpoch(input.StartDate),
        endDate: fromEpoch(input.EndDate),
        flexibleTimeWindowMinutes: window.Mode === 'FLEXIBLE' ? (window.MaximumWindowInMinutes as number) : undefined,
        description: input.Description as string | undefined,
      };
    };
    const arnOf = (s: LocalSchedule) => `arn:aws:scheduler:${LOCAL_REGION}:${LOCAL_ACCOUNT}:schedule/${s.groupName}/${s.name}`;
    const describe = (s: LocalSchedule) => ({
      Arn: arnOf(s),
      Name: s.name,
      GroupName: s.groupName,
      ScheduleExpression: s.expression,
      ScheduleExpressionTimezone: s.timezone,
      State: s.state,
      ActionAfterCompletion: s.actionAfterCompletion,
      Description: s.description,
      StartDate: epochSeconds(s.startDate),
      EndDate: epochSeconds(s.endDate),
      CreationDate: epochSeconds(s.createdAt),
      FlexibleTimeWindow: s.flexibleTimeWindowMinutes ? { Mode: 'FLEXIBLE', MaximumWindowInMinutes: s.flexibleTimeWindowMinutes } : { Mode: 'OFF' },
      Target: { Arn: s.target.arn, RoleArn: s.target.roleArn, Input: s.target.input },
    });
    const group = url.searchParams.get('groupName') ?? 'default';
    const wrap = <T>(fn: () => T): T => {
      try {
        return fn();
      } catch (error) {
        const err = error as Error & { status?: number };
        if (err.name === 'ConflictError') throw new AwsApiError(409, 'ConflictException', err.message);
        if (err.name === 'ScheduleNotFoundError') throw new AwsApiError(404, 'ResourceNotFoundException', err.message);
        if (err.status === 400 || err.name.startsWith('Invalid')) throw new AwsApiError(400, 'ValidationException', err.message);
        throw error;
      }
    };
    if (url.pathname === '/schedules' && method === 'GET') {
      this.count('Scheduler.ListSchedules');
      const prefix = url.searchParams.get('NamePrefix') ?? '';
      const inGroup = url.searchParams.get('ScheduleGroup') ?? undefined;
      return {
        Schedules: scheduler
          .list(inGroup)
          .filter((s) => s.name.startsWith(prefix))
          .map((s) => ({ Arn: arnOf(s), Name: s.name, GroupName: s.groupName, State: s.state, CreationDate: epochSeconds(s.createdAt), Target: { Arn: s.target.arn } })),
      };
    }
    switch (method) {
      case 'POST': {
        this.count('Scheduler.CreateSchedule');
        const created = wrap(() => scheduler.create(toInput()));
        return { ScheduleArn: arnOf(created) };
      }
      case 'PUT': {
        this.count('Scheduler.UpdateSchedule');
        const updated = wrap(() => scheduler.update(toInput()));
        return { ScheduleArn: arnOf(updated) };
      }
      case 'GET': {
        this.count('Scheduler.GetSchedule');
        const found = scheduler.get(name, group);
        if (!found) throw new AwsApiError(404, 'ResourceNotFoundException', `Schedule ${name} does not exist.`);
        return describe(found);
      }
      case 'DELETE': {
        this.count('Scheduler.DeleteSchedule');
        if (!scheduler.delete(name, group)) throw new AwsApiError(404, 'ResourceNotFoundException', `Schedule ${name} does not exist.`);
        return {};
      }
      default:
        throw new AwsApiError(400, 'UnknownOperationException', `Scheduler ${method} is not supported locally`);
    }
  }
}

function parseJson(raw: Buffer): JsonObject {
  try {
    const value: unknown = JSON.parse(raw.toString('utf8') || '{}');
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as JsonObject;
  } catch {
    // fall through
  }
  throw new AwsApiError(400, 'SerializationException', 'Request body is not a JSON object');
}
