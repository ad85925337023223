import { createHash, hash, randomUUID } from 'node:crypto';
import type {
  SQSBatchResponse,
  SQSEvent,
  SQSMessageAttribute,
  SQSMessageAttributes,
  SQSRecord,
  SQSRecordAttributes,
} from 'aws-lambda';

/**
 * In-process imitation of an Amazon SQS standard queue plus the Lambda SQS event source mapping
 * (with ReportBatchItemFailures), so queue-consumer handlers behave locally as they do on AWS:
 * visibility timeouts, redelivery, receive counts, redrive to a dead-letter queue, partial batch
 * failures and batching windows.
 *
 * Timers use the monotonic clock (the global `performance` and `setTimeout`, so a test's fake timers
 * drive them too); `now` only feeds the timestamps handlers can see.
 */

export interface LocalQueueOptions {
  name: string;
  /** QueueUrl the SDK uses. */
  url: string;
  /** Used as eventSourceARN. */
  arn: string;
  /** Default 'us-east-1'. */
  region?: string;
  /** 0..43200; may be fractional to keep tests quick. */
  visibilityTimeoutSeconds: number;
  /** Default delay for new messages, 0..900. */
  delaySeconds?: number;
  /** Redrive policy; requires deadLetterQueue. */
  maxReceiveCount?: number;
  deadLetterQueue?: LocalQueue;
  /** Clock in ms for SentTimestamp/ApproximateFirstReceiveTimestamp; default Date.now. */
  now?: () => number;
}

export interface SendOptions {
  delaySeconds?: number;
  messageAttributes?: SQSMessageAttributes;
  messageGroupId?: string;
}

export interface SendResult {
  messageId: string;
  md5OfBody: string;
  /** Present when the message has attributes (as SendMessage returns it). */
  md5OfMessageAttributes?: string;
}

export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  md5OfBody: string;
  /** Present when the message has attributes. */
  md5OfMessageAttributes?: string;
  attributes: SQSRecordAttributes;
  messageAttributes: SQSMessageAttributes;
}

export interface ConsumerOptions {
  /** 1..10000, as for a Lambda event source mapping. */
  batchSize: number;
  /** 0..300, default 0: how long to wait for a batch to fill. */
  maxBatchingWindowSeconds?: number;
  /** Concurrent handler invocations, default 2. */
  maxConcurrency?: number;
  handler: (event: SQSEvent) => Promise<SQSBatchResponse | void | undefined>;
  /** The handler threw or rejected; the whole batch will be redelivered. */
  onError?: (error: unknown, event: SQSEvent) => void;
}

export interface QueueStats {
  visible: number;
  inFlight: number;
  delayed: number;
  movedToDlq: number;
  /** Deliveries (a message received three times counts three times). */
  received: number;
  deleted: number;
}

/** A request SQS itself would reject; `code` is the SQS error code. */
export class LocalQueueError extends Error {
  override name = 'LocalQueueError';
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

const MAX_VISIBILITY_SECONDS = 43_200;
const MAX_DELAY_SECONDS = 900;
const MAX_RECEIVE_MESSAGES = 10;
/** SQS message size limit (body plus attributes) since Aug 2025. */
const MAX_MESSAGE_BYTES = 1_048_576;
const MAX_MESSAGE_ATTRIBUTES = 10;
/** Lambda caps an SQS batch at the 6 MB invocation payload whatever the batch size. */
const MAX_BATCH_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** Fixed SenderId, shaped like an IAM user id as in Lambda's sample events. */
const LOCAL_SENDER_ID = 'AIDAIENQZJOLO23YVJ4VO';
/** Characters SQS accepts in a body (XML 1.0 chars); anything else is InvalidMessageContents. */
const INVALID_BODY_CHARS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

type MessageState = 'visible' | 'delayed' | 'inflight';

interface StoredMessage {
  /** Arrival order; breaks ties between equal due times. */
  seq: number;
  id: string;
  body: string;
  md5OfBody: string;
  md5OfMessageAttributes: string | undefined;
  messageAttributes: SQSMessageAttributes;
  messageGroupId: string | undefined;
  deadLetterQueueSourceArn: string | undefined;
  sentTimestamp: number;
  /** Bytes counted against the message and batch payload limits. */
  size: number;
  receiveCount: number;
  firstReceiveTimestamp: number | undefined;
  receiptHandle: string | undefined;
  /** The handler changed this delivery's visibility itself (e.g. a back-off); keep it. */
  visibilityChanged: boolean;
  state: MessageState;
  /** Monotonic ms when a delayed message becomes visible / an in-flight one times out. */
  dueAt: number;
  /** Position in the timed heap while delayed or in flight. */
  heapIndex: number;
  /** Neighbours in the visible list while visible. */
  prev: StoredMessage | undefined;
  next: StoredMessage | undefined;
}

interface ConsumerState {
  batchSize: number;
  windowMs: number;
  maxConcurrency: number;
  handler: ConsumerOptions['handler'];
  onError: ConsumerOptions['onError'];
}

interface IdleWaiter {
  resolve: () => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

const monotonicMs = (): number => performance.now();

/**
 * Binary min-heap whose nodes remember their index, so a deleted or re-timed message is removed in
 * O(log n) instead of being scanned for.
 */
class IndexedHeap<T extends { heapIndex: number }> {
  private readonly items: T[] = [];
  private readonly before: (a: T, b: T) => boolean;

  constructor(before: (a: T, b: T) => boolean) {
    this.before = before;
  }

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.up(item.heapIndex);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top) this.remove(top);
    return top;
  }

  remove(item: T): void {
    const index = item.heapIndex;
    if (index < 0 || this.items[index] !== item) return;
    const last = this.items.pop() as T;
    item.heapIndex = -1;
    if (last === item) return;
    this.items[index] = last;
    last.heapIndex = index;
    this.up(index);
    this.down(last.heapIndex);
  }

  /** Empties the heap, returning what it held. */
  drain(): T[] {
    const all = this.items.splice(0);
    for (const item of all) item.heapIndex = -1;
    return all;
  }

  private up(index: number): void {
    const items = this.items;
    const item = items[index] as T;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (!this.before(item, parent)) break;
      items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    items[index] = item;
    item.heapIndex = index;
  }

  private down(index: number): void {
    const items = this.items;
    const length = items.length;
    const item = items[index] as T;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && this.before(items[right] as T, items[left] as T)) child = right;
      const childItem = items[child] as T;
      if (!this.before(childItem, item)) break;
      items[index] = childItem;
      childItem.heapIndex = index;
      index = child;
    }
    items[index] = item;
    item.heapIndex = index;
  }
}

/**
 * Visible messages in the order they became visible (so delivery is FIFO where SQS allows), as an
 * intrusive doubly linked list: O(1) append, take and remove without shifting arrays.
 */
class VisibleList {
  private head: StoredMessage | undefined;
  private tail: StoredMessage | undefined;
  size = 0;
  /** Sum of message sizes, for the batch payload limit. */
  bytes = 0;

  peek(): StoredMessage | undefined {
    return this.head;
  }

  push(message: StoredMessage): void {
    message.prev = this.tail;
    message.next = undefined;
    if (this.tail) this.tail.next = message;
    else this.head = message;
    this.tail = message;
    this.size++;
    this.bytes += message.size;
  }

  remove(message: StoredMessage): void {
    if (message.prev) message.prev.next = message.next;
    else this.head = message.next;
    if (message.next) message.next.prev = message.prev;
    else this.tail = message.prev;
    message.prev = undefined;
    message.next = undefined;
    this.size--;
    this.bytes -= message.size;
  }

  drain(): StoredMessage[] {
    const all: StoredMessage[] = [];
    for (let message = this.head; message; message = message.next) all.push(message);
    for (const message of all) {
      message.prev = undefined;
      message.next = undefined;
    }
    this.head = undefined;
    this.tail = undefined;
    this.size = 0;
    this.bytes = 0;
    return all;
  }
}

function secondsToMs(value: number, min: number, max: number, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new LocalQueueError('InvalidParameterValue', `${what} must be between ${min} and ${max} seconds, got ${String(value)}`);
  }
  return value * 1000;
}

function integerInRange(value: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new LocalQueueError('InvalidParameterValue', `${what} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** Lambda events carry list fields as empty arrays; a fresh copy also shields stored state from handlers. */
function normalizeAttribute(attribute: SQSMessageAttribute): SQSMessageAttribute {
  return isBinaryType(attribute.dataType)
    ? { binaryValue: attribute.binaryValue, stringListValues: [], binaryListValues: [], dataType: attribute.dataType }
    : { stringValue: attribute.stringValue, stringListValues: [], binaryListValues: [], dataType: attribute.dataType };
}

/** 'Binary' or a custom 'Binary.xyz' type; String and Number types carry stringValue. */
function isBinaryType(dataType: string): boolean {
  return dataType === 'Binary' || dataType.startsWith('Binary.');
}

function copyAttributes(attributes: SQSMessageAttributes): SQSMessageAttributes {
  const copy: SQSMessageAttributes = {};
  for (const name in attributes) copy[name] = normalizeAttribute(attributes[name] as SQSMessageAttribute);
  return copy;
}

function validateAttributes(attributes: SQSMessageAttributes): { attributes: SQSMessageAttributes; bytes: number } {
  const names = Object.keys(attributes);
  if (names.length > MAX_MESSAGE_ATTRIBUTES) {
    throw new LocalQueueError('InvalidParameterValue', `at most ${MAX_MESSAGE_ATTRIBUTES} message attributes are allowed, got ${names.length}`);
  }
  let bytes = 0;
  for (const name of names) {
    const attribute = attributes[name] as SQSMessageAttribute;
    const type = attribute?.dataType;
    const base = typeof type === 'string' ? type.split('.', 1)[0] : undefined;
    if (base !== 'String' && base !== 'Number' && base !== 'Binary') {
      throw new LocalQueueError('InvalidParameterValue', `message attribute "${name}" has invalid DataType ${String(type)}`);
    }
    const value = base === 'Binary' ? attribute.binaryValue : attribute.stringValue;
    if (typeof value !== 'string' || (base !== 'Binary' && value === '')) {
      throw new LocalQueueError(
        'InvalidParameterValue',
        `message attribute "${name}" of type ${type} needs a ${base === 'Binary' ? 'binaryValue' : 'non-empty stringValue'}`,
      );
    }
    bytes +=
      Buffer.byteLength(name) +
      Buffer.byteLength(type as string) +
      (base === 'Binary' ? Buffer.from(value, 'base64').length : Buffer.byteLength(value));
  }
  return { attributes: copyAttributes(attributes), bytes };
}

/** MD5OfMessageAttributes as SQS computes it: length-prefixed name, type, transport byte and value, by name. */
function md5OfAttributes(attributes: SQSMessageAttributes): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const md5 = createHash('md5');
  const writeBytes = (bytes: Buffer): void => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    md5.update(length);
    md5.update(bytes);
  };
  for (const name of names) {
    const attribute = attributes[name] as SQSMessageAttribute;
    writeBytes(Buffer.from(name, 'utf8'));
    writeBytes(Buffer.from(attribute.dataType, 'utf8'));
    if (isBinaryType(attribute.dataType)) {
      md5.update(Buffer.of(2));
      writeBytes(Buffer.from(attribute.binaryValue ?? '', 'base64'));
    } else {
      md5.update(Buffer.of(1));
      writeBytes(Buffer.from(attribute.stringValue ?? '', 'utf8'));
    }
  }
  return md5.digest('hex');
}

/**
 * Which records the event source mapping should keep after an invocation: 'all' for a complete
 * failure, otherwise the ids to keep (an empty set means delete everything). Mirrors Lambda's
 * documented success/failure conditions for ReportBatchItemFailures.
 */
function failedRecordIds(response: unknown, batchIds: ReadonlySet<string>): Set<string> | 'all' {
  if (response === undefined || response === null) return new Set();
  if (typeof response !== 'object') return 'all';
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return 'all';
  const ids = new Set<string>();
  for (const failure of failures as unknown[]) {
    const id = typeof failure === 'object' && failure !== null ? (failure as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== 'string' || id === '' || !batchIds.has(id)) return 'all';
    ids.add(id);
  }
  return ids;
}

export class LocalQueue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly region: string;

  private readonly visibilityMs: number;
  private readonly defaultDelayMs: number;
  private readonly maxReceiveCount: number | undefined;
  private readonly deadLetterQueue: LocalQueue | undefined;
  private readonly now: () => number;
  /** Distinguishes this queue's receipt handles from another queue's for the same (redriven) message id. */
  private readonly handleTag = randomUUID().slice(0, 8);

  private readonly messages = new Map<string, StoredMessage>();
  private readonly visible = new VisibleList();
  /** Delayed and in-flight messages, earliest due first; one timer serves them all. */
  private readonly timed = new IndexedHeap<StoredMessage>((a, b) => a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq));
  private inFlightCount = 0;
  private delayedCount = 0;
  private movedToDlq = 0;
  private receivedCount = 0;
  private deletedCount = 0;
  private nextSeq = 0;
  private nextHandle = 0;

  private timer: NodeJS.Timeout | undefined;
  private timerDueAt = Number.POSITIVE_INFINITY;
  private consumer: ConsumerState | undefined;
  private pumpScheduled: NodeJS.Immediate | undefined;
  private windowTimer: NodeJS.Timeout | undefined;
  private windowDeadline: number | undefined;
  private running = 0;
  private readonly invocations = new Set<Promise<void>>();
  private readonly idleWaiters = new Set<IdleWaiter>();
  private stopped = false;

  constructor(options: LocalQueueOptions) {
    this.name = options.name;
    this.url = options.url;
    this.arn = options.arn;
    this.region = options.region ?? 'us-east-1';
    this.visibilityMs = secondsToMs(options.visibilityTimeoutSeconds, 0, MAX_VISIBILITY_SECONDS, 'VisibilityTimeout');
    this.defaultDelayMs = secondsToMs(options.delaySeconds ?? 0, 0, MAX_DELAY_SECONDS, 'DelaySeconds');
    // SQS only accepts a redrive policy with both parts.
    if ((options.maxReceiveCount === undefined) !== (options.deadLetterQueue === undefined)) {
      throw new LocalQueueError('InvalidParameterValue', `queue ${options.name}: maxReceiveCount and deadLetterQueue must be given together`);
    }
    if (options.maxReceiveCount !== undefined) integerInRange(options.maxReceiveCount, 1, 1000, 'maxReceiveCount');
    if (options.deadLetterQueue === this) throw new LocalQueueError('InvalidParameterValue', 'a queue cannot be its own dead-letter queue');
    this.maxReceiveCount = options.maxReceiveCount;
    this.deadLetterQueue = options.deadLetterQueue;
    this.now = options.now ?? Date.now;
  }

  send(body: string, options: SendOptions = {}): SendResult {
    if (typeof body !== 'string' || body.length === 0) {
      throw new LocalQueueError('MissingParameter', 'message body must be a non-empty string');
    }
    if (INVALID_BODY_CHARS.test(body)) {
      throw new LocalQueueError('InvalidMessageContents', 'message body contains characters outside the allowed set (#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF)');
    }
    const { attributes, bytes: attributeBytes } = validateAttributes(options.messageAttributes ?? {});
    const size = Buffer.byteLength(body) + attributeBytes;
    if (size > MAX_MESSAGE_BYTES) {
      throw new LocalQueueError('InvalidParameterValue', `message of ${size} bytes exceeds the ${MAX_MESSAGE_BYTES}-byte SQS limit`);
    }
    const delayMs =
      options.delaySeconds === undefined ? this.defaultDelayMs : secondsToMs(options.delaySeconds, 0, MAX_DELAY_SECONDS, 'DelaySeconds');
    const message: StoredMessage = {
      seq: this.nextSeq++,
      id: randomUUID(),
      body,
      md5OfBody: hash('md5', body, 'hex'),
      md5OfMessageAttributes: md5OfAttributes(attributes),
      messageAttributes: attributes,
      messageGroupId: options.messageGroupId,
      deadLetterQueueSourceArn: undefined,
      sentTimestamp: this.now(),
      size,
      receiveCount: 0,
      firstReceiveTimestamp: undefined,
      receiptHandle: undefined,
      visibilityChanged: false,
      state: 'visible',
      dueAt: 0,
      heapIndex: -1,
      prev: undefined,
      next: undefined,
    };
    this.messages.set(message.id, message);
    if (delayMs > 0) {
      message.state = 'delayed';
      message.dueAt = monotonicMs() + delayMs;
      this.delayedCount++;
      this.timed.push(message);
      this.armTimer();
    } else {
      this.makeVisible(message);
    }
    const result: SendResult = { messageId: message.id, md5OfBody: message.md5OfBody };
    if (message.md5OfMessageAttributes !== undefined) result.md5OfMessageAttributes = message.md5OfMessageAttributes;
    return result;
  }

  receive(maxMessages = 1, visibilityTimeoutSeconds?: number): ReceivedMessage[] {
    integerInRange(maxMessages, 1, MAX_RECEIVE_MESSAGES, 'MaxNumberOfMessages');
    const visibilityMs =
      visibilityTimeoutSeconds === undefined
        ? this.visibilityMs
        : secondsToMs(visibilityTimeoutSeconds, 0, MAX_VISIBILITY_SECONDS, 'VisibilityTimeout');
    this.advance();
    const received: ReceivedMessage[] = [];
    while (received.length < maxMessages) {
      const message = this.peekDeliverable();
      if (!message) break;
      this.takeVisible(message, visibilityMs);
      const result: ReceivedMessage = {
        messageId: message.id,
        receiptHandle: message.receiptHandle as string,
        body: message.body,
        md5OfBody: message.md5OfBody,
        attributes: this.systemAttributes(message),
        messageAttributes: copyAttributes(message.messageAttributes),
      };
      if (message.md5OfMessageAttributes !== undefined) result.md5OfMessageAttributes = message.md5OfMessageAttributes;
      received.push(result);
    }
    this.checkIdle();
    return received;
  }

  deleteMessage(receiptHandle: string): boolean {
    const message = this.lookup(receiptHandle);
    if (!message) return false;
    if (message.state === 'visible') {
      // Its visibility timed out but nobody received it since, so the handle is still current (as in SQS).
      this.visible.remove(message);
    } else {
      this.timed.remove(message);
      if (message.state === 'inflight') this.inFlightCount--;
      else this.delayedCount--;
    }
    this.messages.delete(message.id);
    this.deletedCount++;
    if (this.timed.size === 0) this.clearTimer();
    this.checkIdle();
    return true;
  }

  changeVisibility(receiptHandle: string, visibilityTimeoutSeconds: number): boolean {
    const ms = secondsToMs(visibilityTimeoutSeconds, 0, MAX_VISIBILITY_SECONDS, 'VisibilityTimeout');
    this.advance();
    const message = this.lookup(receiptHandle);
    // SQS refuses (MessageNotInflight) once the message is visible again.
    if (!message || message.state !== 'inflight') return false;
    message.visibilityChanged = true;
    this.timed.remove(message);
    message.dueAt = monotonicMs() + ms;
    this.timed.push(message);
    if (ms === 0) this.advance();
    else this.armTimer();
    return true;
  }

  /** Deletes every message, in flight or delayed included, as PurgeQueue does. */
  purge(): void {
    for (const message of this.visible.drain()) this.messages.delete(message.id);
    for (const message of this.timed.drain()) this.messages.delete(message.id);
    this.inFlightCount = 0;
    this.delayedCount = 0;
    this.clearTimer();
    this.clearWindow();
    this.checkIdle();
  }

  attachConsumer(options: ConsumerOptions): void {
    if (this.stopped) throw new Error(`queue ${this.name} is stopped`);
    if (this.consumer) throw new Error(`queue ${this.name} already has a consumer`);
    if (typeof options.handler !== 'function') throw new TypeError('consumer handler must be a function');
    this.consumer = {
      batchSize: integerInRange(options.batchSize, 1, 10_000, 'batchSize'),
      windowMs: secondsToMs(options.maxBatchingWindowSeconds ?? 0, 0, 300, 'maxBatchingWindowSeconds'),
      // AWS's minimum is 2, but 1 is allowed here: it is what reserved concurrency 1 gives on AWS.
      maxConcurrency: integerInRange(options.maxConcurrency ?? 2, 1, 1000, 'maxConcurrency'),
      handler: options.handler,
      onError: options.onError,
    };
    this.schedulePump();
  }

  /** Messages this queue has accepted since it was created (sent, or redriven into it as a DLQ). */
  get accepted(): number {
    return this.nextSeq;
  }

  stats(): QueueStats {
    this.advance();
    return {
      visible: this.visible.size,
      inFlight: this.inFlightCount,
      delayed: this.delayedCount,
      movedToDlq: this.movedToDlq,
      received: this.receivedCount,
      deleted: this.deletedCount,
    };
  }

  /** Resolves once nothing is visible, delayed or in flight and no handler runs; rejects after timeoutMs. */
  idle(timeoutMs = 30_000): Promise<void> {
    this.advance();
    if (this.isIdle()) return Promise.resolve();
    if (this.stopped) return Promise.reject(this.notIdleError('is stopped and not idle'));
    return new Promise<void>((resolve, reject) => {
      const waiter: IdleWaiter = {
        resolve,
        reject,
        // Referenced on purpose: a caller awaiting idle() should keep the process alive until it settles.
        timer: setTimeout(() => {
          this.idleWaiters.delete(waiter);
          reject(this.notIdleError(`not idle after ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.idleWaiters.add(waiter);
    });
  }

  /** Stops the consumer and all timers, then waits for running handler invocations to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    this.clearWindow();
    if (this.pumpScheduled) clearImmediate(this.pumpScheduled);
    this.pumpScheduled = undefined;
    while (this.invocations.size > 0) await Promise.allSettled([...this.invocations]);
    const idle = this.isIdle();
    for (const waiter of this.idleWaiters) {
      clearTimeout(waiter.timer);
      if (idle) waiter.resolve();
      else waiter.reject(this.notIdleError('was stopped before becoming idle'));
    }
    this.idleWaiters.clear();
  }

  // --- internals -------------------------------------------------------------------------------

  /** Called by the source queue's redrive; keeps id, body, attributes and SentTimestamp as SQS does. */
  private acceptRedriven(source: StoredMessage, sourceArn: string): void {
    const id = this.messages.has(source.id) ? randomUUID() : source.id;
    const message: StoredMessage = {
      ...source,
      seq: this.nextSeq++,
      id,
      deadLetterQueueSourceArn: sourceArn,
      receiveCount: 0,
      firstReceiveTimestamp: undefined,
      receiptHandle: undefined,
      visibilityChanged: false,
      state: 'visible',
      dueAt: 0,
      heapIndex: -1,
      prev: undefined,
      next: undefined,
    };
    this.messages.set(id, message);
    this.makeVisible(message);
  }

  private makeVisible(message: StoredMessage): void {
    message.state = 'visible';
    this.visible.push(message);
    this.schedulePump();
  }

  /** Next message to deliver, redriving those already received maxReceiveCount times on the way. */
  private peekDeliverable(): StoredMessage | undefined {
    for (;;) {
      const message = this.visible.peek();
      if (!message) return undefined;
      if (this.maxReceiveCount === undefined || message.receiveCount < this.maxReceiveCount) return message;
      this.visible.remove(message);
      this.messages.delete(message.id);
      this.movedToDlq++;
      (this.deadLetterQueue as LocalQueue).acceptRedriven(message, this.arn);
    }
  }

  private takeVisible(message: StoredMessage, visibilityMs: number): void {
    this.visible.remove(message);
    message.state = 'inflight';
    message.receiveCount++;
    message.firstReceiveTimestamp ??= this.now();
    message.receiptHandle = Buffer.from(`${message.id}:${(this.nextHandle++).toString(36)}:${this.handleTag}`).toString('base64url');
    message.dueAt = monotonicMs() + visibilityMs;
    this.inFlightCount++;
    this.receivedCount++;
    this.timed.push(message);
    this.armTimer();
  }

  private lookup(receiptHandle: string): StoredMessage | undefined {
    if (typeof receiptHandle !== 'string' || receiptHandle === '') return undefined;
    const decoded = Buffer.from(receiptHandle, 'base64url').toString('utf8');
    const message = this.messages.get(decoded.slice(0, decoded.indexOf(':')));
    return message && message.receiptHandle === receiptHandle ? message : undefined;
  }

  private systemAttributes(message: StoredMessage): SQSRecordAttributes {
    const attributes: SQSRecordAttributes = {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentTimestamp),
      SenderId: LOCAL_SENDER_ID,
      ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp),
    };
    if (message.messageGroupId !== undefined) attributes.MessageGroupId = message.messageGroupId;
    if (message.deadLetterQueueSourceArn !== undefined) attributes.DeadLetterQueueSourceArn = message.deadLetterQueueSourceArn;
    return attributes;
  }

  private toRecord(message: StoredMessage): SQSRecord {
    const record: SQSRecord = {
      messageId: message.id,
      receiptHandle: message.receiptHandle as string,
      body: message.body,
      attributes: this.systemAttributes(message),
      messageAttributes: copyAttributes(message.messageAttributes),
      md5OfBody: message.md5OfBody,
      eventSource: 'aws:sqs',
      eventSourceARN: this.arn,
      awsRegion: this.region,
    };
    if (message.md5OfMessageAttributes !== undefined) record.md5OfMessageAttributes = message.md5OfMessageAttributes;
    return record;
  }

  /** Moves due delayed/in-flight messages to visible. Also run lazily so state is right even without timers. */
  private advance(): void {
    const now = monotonicMs();
    for (;;) {
      const message = this.timed.peek();
      if (!message || message.dueAt > now) break;
      this.timed.remove(message);
      if (message.state === 'inflight') this.inFlightCount--;
      else this.delayedCount--;
      this.makeVisible(message);
    }
  }

  /**
   * Keeps one timer at (or before) the earliest due time. It is only moved earlier; one that fires
   * early just re-arms, which is cheaper than re-arming on every delete.
   */
  private armTimer(): void {
    if (this.stopped) return;
    const next = this.timed.peek();
    if (!next) {
      this.clearTimer();
      return;
    }
    if (this.timer && this.timerDueAt <= next.dueAt) return;
    if (this.timer) clearTimeout(this.timer);
    // +1 ms: timers round to whole ms and may fire a hair before performance.now() reaches dueAt.
    const delay = Math.max(0, Math.ceil(next.dueAt - monotonicMs())) + 1;
    this.timerDueAt = next.dueAt;
    this.timer = setTimeout(() => this.onTimer(), delay);
    // The queue alone must not keep the process alive (a caller awaiting idle() does).
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerDueAt = Number.POSITIVE_INFINITY;
    this.advance();
    this.armTimer();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueAt = Number.POSITIVE_INFINITY;
  }

  private clearWindow(): void {
    if (this.windowTimer) clearTimeout(this.windowTimer);
    this.windowTimer = undefined;
    this.windowDeadline = undefined;
  }

  /** Coalesces wake-ups; setImmediate rather than a microtask so a long drain never starves I/O. */
  private schedulePump(): void {
    if (this.pumpScheduled || !this.consumer || this.stopped) return;
    this.pumpScheduled = setImmediate(() => {
      this.pumpScheduled = undefined;
      this.pump();
    });
  }

  /** The event source mapping's poller: starts invocations while there is work and spare concurrency. */
  private pump(): void {
    const consumer = this.consumer;
    if (!consumer || this.stopped) return;
    this.advance();
    while (this.running < consumer.maxConcurrency) {
      if (!this.peekDeliverable()) {
        this.clearWindow();
        break;
      }
      const full = this.visible.size >= consumer.batchSize || this.visible.bytes >= MAX_BATCH_PAYLOAD_BYTES;
      if (!full && consumer.windowMs > 0) {
        // Batching window: wait for the batch to fill, up to the window measured from the first message.
        if (this.windowDeadline === undefined) {
          this.windowDeadline = monotonicMs() + consumer.windowMs;
          this.windowTimer = setTimeout(() => {
            this.windowTimer = undefined;
            this.pump();
          }, Math.ceil(consumer.windowMs) + 1);
          this.windowTimer.unref();
          break;
        }
        if (monotonicMs() < this.windowDeadline) {
          if (!this.windowTimer) {
            this.windowTimer = setTimeout(() => {
              this.windowTimer = undefined;
              this.pump();
            }, Math.ceil(this.windowDeadline - monotonicMs()) + 1);
            this.windowTimer.unref();
          }
          break;
        }
      }
      this.clearWindow();
      this.invoke(consumer, this.takeBatch(consumer.batchSize));
    }
    this.checkIdle();
  }

  private takeBatch(batchSize: number): StoredMessage[] {
    const batch: StoredMessage[] = [];
    let bytes = 0;
    while (batch.length < batchSize) {
      const message = this.peekDeliverable();
      if (!message) break;
      if (batch.length > 0 && bytes + message.size > MAX_BATCH_PAYLOAD_BYTES) break;
      bytes += message.size;
      // Held while the invocation runs; the visibility timeout starts when it ends (see invoke).
      this.takeVisible(message, MAX_VISIBILITY_SECONDS * 1000);
      message.visibilityChanged = false;
      batch.push(message);
    }
    return batch;
  }

  private invoke(consumer: ConsumerState, batch: StoredMessage[]): void {
    const records = batch.map((message) => this.toRecord(message));
    const event: SQSEvent = { Records: records };
    this.running++;
    const invocation = (async () => {
      let keep: Set<string> | 'all';
      try {
        const response: unknown = await consumer.handler(event);
        keep = failedRecordIds(response, new Set(records.map((record) => record.messageId)));
      } catch (error) {
        keep = 'all';
        if (consumer.onError) {
          try {
            consumer.onError(error, event);
          } catch {
            // A failing error reporter must not wedge the poller.
          }
        } else {
          console.error(`[local-sqs] handler for ${this.name} failed; the batch will be redelivered`, error);
        }
      }
      // Failed records stay in flight until their visibility timeout ends, then are redelivered.
      if (keep !== 'all') {
        for (const record of records) {
          // Captured handles: if a record was re-received meanwhile, this delete fails as on AWS.
          if (!keep.has(record.messageId)) this.deleteMessage(record.receiptHandle);
        }
      }
      // On AWS a visibility timeout of 6× the function timeout means a message is never redelivered
      // while its invocation still runs; locally (where tests scale timeouts down) the timeout counts
      // from the end of the invocation instead, unless the handler set a visibility itself.
      for (const [i, record] of records.entries()) {
        const message = batch[i]!;
        if (this.messages.get(message.id) === message && message.state === 'inflight' && message.receiptHandle === record.receiptHandle && !message.visibilityChanged) {
          this.timed.remove(message);
          message.dueAt = monotonicMs() + this.visibilityMs;
          this.timed.push(message);
          this.armTimer();
        }
      }
    })();
    this.invocations.add(invocation);
    void invocation.finally(() => {
      this.invocations.delete(invocation);
      this.running--;
      this.schedulePump();
      this.checkIdle();
    });
  }

  private isIdle(): boolean {
    return this.visible.size === 0 && this.delayedCount === 0 && this.inFlightCount === 0 && this.running === 0;
  }

  private checkIdle(): void {
    if (this.idleWaiters.size === 0 || !this.isIdle()) return;
    for (const waiter of this.idleWaiters) {
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
    this.idleWaiters.clear();
  }

  private notIdleError(reason: string): Error {
    const stats = {
      visible: this.visible.size,
      inFlight: this.inFlightCount,
      delayed: this.delayedCount,
      movedToDlq: this.movedToDlq,
      received: this.receivedCount,
      deleted: this.deletedCount,
      runningInvocations: this.running,
    };
    return new Error(`queue ${this.name} ${reason}: ${JSON.stringify(stats)}`);
  }
}
