import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalQueue, LocalQueueError, type LocalQueueOptions } from '../../infra/local/queue.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const created: LocalQueue[] = [];
let counter = 0;

/** Queues default to a 50 ms visibility timeout so redelivery tests stay quick. */
function makeQueue(options: Partial<LocalQueueOptions> = {}): LocalQueue {
  const name = options.name ?? `queue-${++counter}`;
  const queue = new LocalQueue({
    url: `http://localhost:9324/000000000000/${name}`,
    arn: `arn:aws:sqs:us-east-1:000000000000:${name}`,
    visibilityTimeoutSeconds: 0.05,
    ...options,
    name,
  });
  created.push(queue);
  return queue;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(created.splice(0).map((queue) => queue.stop()));
  vi.useRealTimers();
});

describe('LocalQueue as an SQS standard queue', () => {
  it('sends, receives in send order and deletes', async () => {
    const queue = makeQueue({ visibilityTimeoutSeconds: 30, now: () => 1_700_000_000_000 });
    const first = queue.send('hello', {
      messageAttributes: { timestamp: { dataType: 'Number', stringValue: '1493147359900' } },
    });
    const second = queue.send('world', { messageGroupId: 'tenant-1' });

    expect(first.messageId).toMatch(UUID);
    expect(first.md5OfBody).toBe(md5('hello'));
    // Digest AWS returns for this attribute (pinned by moto's SQS tests).
    expect(first.md5OfMessageAttributes).toBe('235c5c510d26fb653d073faed50ae77c');
    expect(second.md5OfMessageAttributes).toBeUndefined();
    expect(second.messageId).not.toBe(first.messageId);
    expect(queue.stats()).toMatchObject({ visible: 2, inFlight: 0, delayed: 0 });

    const messages = queue.receive(10);
    expect(messages.map((m) => m.body)).toEqual(['hello', 'world']);
    const [a, b] = messages;
    expect(a).toMatchObject({
      messageId: first.messageId,
      md5OfBody: md5('hello'),
      md5OfMessageAttributes: '235c5c510d26fb653d073faed50ae77c',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '1700000000000',
        ApproximateFirstReceiveTimestamp: '1700000000000',
      },
      messageAttributes: {
        timestamp: { dataType: 'Number', stringValue: '1493147359900', stringListValues: [], binaryListValues: [] },
      },
    });
    expect(a?.attributes.SenderId).toMatch(/^[A-Z0-9]+$/);
    expect(b?.attributes.MessageGroupId).toBe('tenant-1');
    expect(queue.stats()).toMatchObject({ visible: 0, inFlight: 2, received: 2 });
    expect(queue.receive(10)).toEqual([]);

    expect(queue.deleteMessage(a?.receiptHandle ?? '')).toBe(true);
    expect(queue.deleteMessage(a?.receiptHandle ?? '')).toBe(false);
    expect(queue.deleteMessage(b?.receiptHandle ?? '')).toBe(true);
    expect(queue.stats()).toEqual({ visible: 0, inFlight: 0, delayed: 0, movedToDlq: 0, received: 2, deleted: 2 });
    await queue.idle(100);
  });

  it('computes MD5OfMessageAttributes over several attributes sorted by name, binary included', () => {
    const queue = makeQueue();
    const sent = queue.send('derp', {
      messageAttributes: {
        ccc: { stringValue: 'testjunk', dataType: 'String' },
        aaa: { binaryValue: Buffer.from([2, 3, 4]).toString('base64'), dataType: 'Binary' },
        zzz: { dataType: 'Number', stringValue: '0230.01' },
        öther_encodings: { dataType: 'String', stringValue: 'Tüst' },
      },
    });
    expect(sent.md5OfBody).toBe('58fd9edd83341c29f1aebba81c31e257');
    expect(sent.md5OfMessageAttributes).toBe('8ae21a7957029ef04146b42aeaa18a22');
  });

  it('redelivers after the visibility timeout with an increasing ApproximateReceiveCount', async () => {
    let clock = 1_000;
    const queue = makeQueue({ now: () => clock });
    queue.send('again');
    clock = 2_000;
    const handles: string[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const [message] = queue.receive();
      expect(message?.attributes.ApproximateReceiveCount).toBe(String(attempt));
      expect(message?.attributes.SentTimestamp).toBe('1000');
      // Set on the first receive only.
      expect(message?.attributes.ApproximateFirstReceiveTimestamp).toBe('2000');
      handles.push(message?.receiptHandle ?? '');
      // Invisible until the timeout runs out.
      expect(queue.receive()).toEqual([]);
      expect(queue.stats()).toMatchObject({ visible: 0, inFlight: 1 });
      clock += 1_000;
      await sleep(80);
      expect(queue.stats()).toMatchObject({ visible: 1, inFlight: 0 });
    }
    expect(new Set(handles).size).toBe(3);
    expect(queue.stats().received).toBe(3);
  });

  it('rejects stale and foreign receipt handles', async () => {
    const queue = makeQueue();
    const other = makeQueue();
    queue.send('m');
    const [first] = queue.receive();
    await sleep(80);
    const [second] = queue.receive();
    expect(second?.messageId).toBe(first?.messageId);
    expect(queue.deleteMessage(first?.receiptHandle ?? '')).toBe(false);
    expect(queue.changeVisibility(first?.receiptHandle ?? '', 10)).toBe(false);
    expect(queue.deleteMessage('not-a-handle')).toBe(false);
    expect(queue.deleteMessage('')).toBe(false);
    expect(other.deleteMessage(second?.receiptHandle ?? '')).toBe(false);
    expect(queue.stats()).toMatchObject({ inFlight: 1, deleted: 0 });
    expect(queue.deleteMessage(second?.receiptHandle ?? '')).toBe(true);
    expect(queue.stats()).toMatchObject({ visible: 0, inFlight: 0, deleted: 1 });
  });

  it('accepts the latest handle after the timeout ran out as long as nobody received the message again', async () => {
    const queue = makeQueue();
    queue.send('late');
    const [message] = queue.receive();
    await sleep(80);
    expect(queue.stats()).toMatchObject({ visible: 1, inFlight: 0 });
    expect(queue.deleteMessage(message?.receiptHandle ?? '')).toBe(true);
    expect(queue.stats()).toMatchObject({ visible: 0, deleted: 1 });
    expect(queue.receive()).toEqual([]);
  });

  it('changes the visibility of an in-flight message', async () => {
    const queue = makeQueue();
    queue.send('m');
    const [message] = queue.receive();
    const handle = message?.receiptHandle ?? '';
    expect(queue.changeVisibility(handle, 2)).toBe(true);
    await sleep(100);
    expect(queue.receive()).toEqual([]);
    expect(queue.changeVisibility(handle, 0)).toBe(true);
    const [again] = queue.receive();
    expect(again?.attributes.ApproximateReceiveCount).toBe('2');
    // The first handle is stale now.
    expect(queue.changeVisibility(handle, 1)).toBe(false);
    // A visible message is not in flight, so its visibility cannot be changed.
    await sleep(80);
    expect(queue.changeVisibility(again?.receiptHandle ?? '', 1)).toBe(false);
  });

  it('honours the queue delay and a per-message delay', async () => {
    vi.useFakeTimers();
    const queue = makeQueue({ delaySeconds: 0.5 });
    queue.send('queue-default');
    queue.send('immediate', { delaySeconds: 0 });
    queue.send('short', { delaySeconds: 0.05 });
    expect(queue.stats()).toMatchObject({ visible: 1, delayed: 2 });
    expect(queue.receive(10, 30).map((m) => m.body)).toEqual(['immediate']);
    await vi.advanceTimersByTimeAsync(40);
    expect(queue.receive(10, 30)).toEqual([]);
    await vi.advanceTimersByTimeAsync(20);
    expect(queue.receive(10, 30).map((m) => m.body)).toEqual(['short']);
    expect(queue.stats()).toMatchObject({ delayed: 1 });
    await vi.advanceTimersByTimeAsync(430);
    expect(queue.receive(10, 30)).toEqual([]);
    await vi.advanceTimersByTimeAsync(20);
    expect(queue.receive(10, 30).map((m) => m.body)).toEqual(['queue-default']);
    expect(queue.stats().delayed).toBe(0);
  });

  it('purges visible, delayed and in-flight messages', async () => {
    const queue = makeQueue({ visibilityTimeoutSeconds: 30 });
    queue.send('a');
    queue.send('b', { delaySeconds: 60 });
    queue.send('c');
    const [received] = queue.receive();
    queue.purge();
    expect(queue.stats()).toMatchObject({ visible: 0, inFlight: 0, delayed: 0 });
    expect(queue.deleteMessage(received?.receiptHandle ?? '')).toBe(false);
    await queue.idle(100);
  });

  it('validates input as SQS does', () => {
    const queue = makeQueue();
    const code = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (error) {
        return error instanceof LocalQueueError ? error.code : `other: ${String(error)}`;
      }
      return undefined;
    };
    expect(code(() => queue.send(''))).toBe('MissingParameter');
    expect(code(() => queue.send('null \u0000 byte'))).toBe('InvalidMessageContents');
    expect(code(() => queue.send('lone \uD800 surrogate'))).toBe('InvalidMessageContents');
    expect(code(() => queue.send('emoji 😀 and tab\t are fine'))).toBeUndefined();
    expect(code(() => queue.send('x'.repeat(1_048_577)))).toBe('InvalidParameterValue');
    expect(code(() => queue.send('m', { delaySeconds: 901 }))).toBe('InvalidParameterValue');
    expect(code(() => queue.send('m', { messageAttributes: { a: { dataType: 'String' } } }))).toBe('InvalidParameterValue');
    expect(code(() => queue.send('m', { messageAttributes: { a: { dataType: 'Blob', stringValue: 'x' } } }))).toBe('InvalidParameterValue');
    expect(code(() => queue.receive(11))).toBe('InvalidParameterValue');
    expect(code(() => queue.receive(0))).toBe('InvalidParameterValue');
    expect(code(() => makeQueue({ maxReceiveCount: 3 }))).toBe('InvalidParameterValue');
    expect(code(() => queue.attachConsumer({ batchSize: 0, handler: async () => undefined }))).toBe('InvalidParameterValue');
    queue.attachConsumer({ batchSize: 1, handler: async () => undefined });
    expect(code(() => queue.attachConsumer({ batchSize: 1, handler: async () => undefined }))).toMatch(/already has a consumer/);
  });
});

describe('LocalQueue consumer (Lambda SQS event source mapping)', () => {
  it('never redelivers a message while its invocation is still running; the visibility timeout counts from its end', async () => {
    vi.useFakeTimers();
    const queue = makeQueue({ visibilityTimeoutSeconds: 0.05 });
    let deliveries = 0;
    let running = false;
    queue.attachConsumer({
      batchSize: 1,
      handler: async () => {
        deliveries++;
        if (deliveries === 1) {
          running = true;
          await sleep(300); // six visibility timeouts
          running = false;
          throw new Error('fails after a long run');
        }
      },
      onError: () => undefined,
    });
    queue.send('slow');
    await vi.advanceTimersByTimeAsync(290);
    expect({ deliveries, running }).toEqual({ deliveries: 1, running: true });
    // The run ended at 300 ms: 40 ms into its 50 ms visibility timeout, then past it.
    await vi.advanceTimersByTimeAsync(50);
    expect({ deliveries, running }).toEqual({ deliveries: 1, running: false });
    await vi.advanceTimersByTimeAsync(20);
    expect(deliveries).toBe(2);
    expect(queue.stats()).toMatchObject({ visible: 0, inFlight: 0, received: 2, deleted: 1 });
  });

  it('keeps a visibility the handler set itself (a back-off) instead of the default', async () => {
    vi.useFakeTimers();
    const queue = makeQueue({ visibilityTimeoutSeconds: 0.05 });
    let deliveries = 0;
    queue.attachConsumer({
      batchSize: 1,
      handler: async (event) => {
        deliveries++;
        if (deliveries === 1) {
          queue.changeVisibility(event.Records[0]!.receiptHandle, 0.4);
          throw new Error('throttled');
        }
      },
      onError: () => undefined,
    });
    queue.send('backoff');
    // Well past the queue's 50 ms default, still inside the handler's 400 ms.
    await vi.advanceTimersByTimeAsync(390);
    expect(deliveries).toBe(1);
    await vi.advanceTimersByTimeAsync(20);
    expect(deliveries).toBe(2);
  });

  it('invokes the handler with Lambda-shaped events in batches of batchSize', async () => {
    const queue = makeQueue({ region: 'eu-west-1', visibilityTimeoutSeconds: 30 });
    for (let i = 0; i < 25; i++) queue.send(`m${i}`, { messageAttributes: { n: { dataType: 'Number', stringValue: String(i) } } });
    const batches: SQSRecord[][] = [];
    queue.attachConsumer({
      batchSize: 10,
      maxConcurrency: 1,
      handler: async (event) => {
        batches.push(event.Records);
      },
    });
    await queue.idle(5_000);

    expect(batches.map((batch) => batch.length)).toEqual([10, 10, 5]);
    expect(batches.flat().map((record) => record.body)).toEqual(Array.from({ length: 25 }, (_, i) => `m${i}`));
    const record = batches[0]?.[0];
    expect(record).toMatchObject({
      messageId: expect.stringMatching(UUID),
      receiptHandle: expect.any(String),
      body: 'm0',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: expect.stringMatching(/^\d+$/),
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d+$/),
      },
      messageAttributes: { n: { stringValue: '0', stringListValues: [], binaryListValues: [], dataType: 'Number' } },
      md5OfBody: md5('m0'),
      md5OfMessageAttributes: expect.stringMatching(/^[0-9a-f]{32}$/),
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: 'eu-west-1',
    });
    expect(queue.stats()).toMatchObject({ received: 25, deleted: 25 });
  });

  it('waits up to the batching window to fill a batch', async () => {
    vi.useFakeTimers();
    const queue = makeQueue({ visibilityTimeoutSeconds: 30 });
    const batches: string[][] = [];
    queue.attachConsumer({
      batchSize: 5,
      maxBatchingWindowSeconds: 0.3,
      handler: async (event) => {
        batches.push(event.Records.map((record) => record.body));
      },
    });
    queue.send('a');
    queue.send('b');
    await vi.advanceTimersByTimeAsync(250);
    expect(batches).toEqual([]);
    queue.send('c');
    queue.send('d');
    queue.send('e');
    await vi.advanceTimersByTimeAsync(0);
    // Full before the window ended: invoked at once.
    expect(batches).toEqual([['a', 'b', 'c', 'd', 'e']]);

    // A batch that never fills goes out when the window, counted from its first message, ends.
    queue.send('f');
    queue.send('g');
    await vi.advanceTimersByTimeAsync(290);
    expect(batches).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(20);
    expect(batches).toEqual([
      ['a', 'b', 'c', 'd', 'e'],
      ['f', 'g'],
    ]);
    expect(queue.stats()).toMatchObject({ visible: 0, inFlight: 0, deleted: 7 });
  });

  it('does not wait for more messages without a batching window', async () => {
    const queue = makeQueue({ visibilityTimeoutSeconds: 30 });
    const sizes: number[] = [];
    queue.attachConsumer({ batchSize: 5, handler: async (event) => void sizes.push(event.Records.length) });
    queue.send('a');
    queue.send('b');
    await sleep(30);
    queue.send('c');
    await queue.idle(5_000);
    expect(sizes).toEqual([2, 1]);
  });

  it('caps a batch at the 6 MB invocation payload', async () => {
    const queue = makeQueue({ visibilityTimeoutSeconds: 30 });
    const big = 'x'.repeat(900_000);
    for (let i = 0; i < 10; i++) queue.send(big);
    const sizes: number[] = [];
    queue.attachConsumer({
      batchSize: 100,
      maxBatchingWindowSeconds: 0.05,
      maxConcurrency: 1,
      handler: async (event) => void sizes.push(event.Records.length),
    });
    await queue.idle(5_000);
    expect(sizes).toEqual([6, 4]);
  });

  it.each([
    { maxConcurrency: undefined, expected: 2 },
    { maxConcurrency: 3, expected: 3 },
  ])('runs at most maxConcurrency=$maxConcurrency handlers at a time', async ({ maxConcurrency, expected }) => {
    const queue = makeQueue({ visibilityTimeoutSeconds: 30 });
    for (let i = 0; i < 30; i++) queue.send(`m${i}`);
    let active = 0;
    let peak = 0;
    let handled = 0;
    queue.attachConsumer({
      batchSize: 1,
      ...(maxConcurrency === undefined ? {} : { maxConcurrency }),
      handler: async (event) => {
        active++;
        peak = Math.max(peak, active);
        await sleep(10);
        handled += event.Records.length;
        active--;
      },
    });
    await queue.idle(5_000);
    expect(peak).toBe(expected);
    expect(handled).toBe(30);
  });

  it('deletes the successful records and redelivers only the reported failures', async () => {
    vi.useFakeTimers();
    const queue = makeQueue({ visibilityTimeoutSeconds: 0.1 });
    queue.send('a');
    queue.send('b');
    queue.send('c');
    const calls: SQSRecord[][] = [];
    queue.attachConsumer({
      batchSize: 10,
      handler: async (event): Promise<SQSBatchResponse | undefined> => {
        calls.push(event.Records);
        if (calls.length > 1) return undefined;
        const failed = event.Records.filter((record) => record.body === 'b');
        return { batchItemFailures: failed.map((record) => ({ itemIdentifier: record.messageId })) };
      },
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(queue.stats()).toMatchObject({ visible: 0, inFlight: 1, deleted: 2 });
    // Redelivered only after its visibility timeout, not straight away.
    await vi.advanceTimersByTimeAsync(90);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(20);

    expect(calls.map((records) => records.map((record) => record.body))).toEqual([['a', 'b', 'c'], ['b']]);
    expect(calls[1]?.[0]?.attributes.ApproximateReceiveCount).toBe('2');
    expect(queue.stats()).toEqual({ visible: 0, inFlight: 0, delayed: 0, movedToDlq: 0, received: 4, deleted: 3 });
  });

  it('redelivers the whole batch when the handler throws, and reports the error', async () => {
    vi.useFakeTimers();
    const queue = makeQueue({ visibilityTimeoutSeconds: 0.1 });
    queue.send('a');
    queue.send('b');
    const calls: SQSEvent[] = [];
    const errors: { error: unknown; event: SQSEvent }[] = [];
    queue.attachConsumer({
      batchSize: 10,
      handler: async (event) => {
        calls.push(event);
        if (calls.length === 1) throw new Error('boom');
      },
      onError: (error, event) => errors.push({ error, event }),
    });
    await vi.advanceTimersByTimeAsync(90);
    expect(calls).toHaveLength(1);
    expect(queue.stats()).toMatchObject({ inFlight: 2, deleted: 0 });
    await vi.advanceTimersByTimeAsync(20);

    expect(calls).toHaveLength(2);
    expect(errors).toHaveLength(1);
    expect((errors[0]?.error as Error).message).toBe('boom');
    expect(errors[0]?.event).toBe(calls[0]);
    expect(calls[1]?.Records.map((record) => [record.body, record.attributes.ApproximateReceiveCount])).toEqual([
      ['a', '2'],
      ['b', '2'],
    ]);
    expect(queue.stats()).toMatchObject({ received: 4, deleted: 2 });
  });

  it.each([
    { label: 'an empty itemIdentifier', identifier: () => '' },
    { label: 'an id not in the batch', identifier: () => 'ffffffff-ffff-4fff-bfff-ffffffffffff' },
  ])('treats $label as a failure of the whole batch', async ({ identifier }) => {
    const queue = makeQueue();
    queue.send('a');
    queue.send('b');
    const batches: string[][] = [];
    queue.attachConsumer({
      batchSize: 10,
      handler: async (event) => {
        batches.push(event.Records.map((record) => `${record.body}${record.attributes.ApproximateReceiveCount}`));
        return batches.length === 1 ? { batchItemFailures: [{ itemIdentifier: identifier() }] } : { batchItemFailures: [] };
      },
    });
    await queue.idle(5_000);
    expect(batches).toEqual([
      ['a1', 'b1'],
      ['a2', 'b2'],
    ]);
  });

  it('treats a response without a usable itemIdentifier key as a failure of the whole batch', async () => {
    const queue = makeQueue();
    queue.send('a');
    let calls = 0;
    queue.attachConsumer({
      batchSize: 10,
      handler: async () => {
        calls++;
        // A JavaScript handler can return anything; a wrong key name is a complete failure on AWS.
        return (calls === 1 ? { batchItemFailures: [{ id: 'x' }] } : undefined) as unknown as SQSBatchResponse;
      },
    });
    await queue.idle(5_000);
    expect(calls).toBe(2);
  });

  it.each([
    { label: 'undefined', response: undefined },
    { label: 'an empty object', response: {} },
    { label: 'an empty list', response: { batchItemFailures: [] } },
  ])('treats $label as success and deletes the batch', async ({ response }) => {
    const queue = makeQueue();
    queue.send('a');
    queue.send('b');
    let calls = 0;
    queue.attachConsumer({
      batchSize: 10,
      handler: async () => {
        calls++;
        return response as SQSBatchResponse | undefined;
      },
    });
    await queue.idle(5_000);
    expect(calls).toBe(1);
    expect(queue.stats()).toMatchObject({ received: 2, deleted: 2 });
  });

  it('moves a message to the dead-letter queue after maxReceiveCount receives', async () => {
    let clock = 5_000;
    const dlq = makeQueue({ name: 'touchloop-dlq', visibilityTimeoutSeconds: 30 });
    const queue = makeQueue({ maxReceiveCount: 3, deadLetterQueue: dlq, now: () => clock });
    const sent = queue.send('poison', { messageAttributes: { kind: { dataType: 'String', stringValue: 'test' } } });
    queue.send('fine');
    clock = 6_000;
    const seen: string[] = [];
    queue.attachConsumer({
      batchSize: 10,
      handler: async (event) => {
        seen.push(...event.Records.map((record) => `${record.body}:${record.attributes.ApproximateReceiveCount}`));
        return {
          batchItemFailures: event.Records.filter((record) => record.body === 'poison').map((record) => ({ itemIdentifier: record.messageId })),
        };
      },
    });
    await queue.idle(5_000);

    expect(seen).toEqual(['poison:1', 'fine:1', 'poison:2', 'poison:3']);
    expect(queue.stats()).toEqual({ visible: 0, inFlight: 0, delayed: 0, movedToDlq: 1, received: 4, deleted: 1 });
    expect(dlq.stats()).toMatchObject({ visible: 1 });
    const [dead] = dlq.receive(10);
    expect(dead).toMatchObject({
      messageId: sent.messageId,
      body: 'poison',
      md5OfBody: md5('poison'),
      md5OfMessageAttributes: sent.md5OfMessageAttributes,
      messageAttributes: { kind: { dataType: 'String', stringValue: 'test' } },
      attributes: { SentTimestamp: '5000', ApproximateReceiveCount: '1', DeadLetterQueueSourceArn: queue.arn },
    });
  });

  it('redrives on a plain receive too, exactly when the message would be received once more', async () => {
    const dlq = makeQueue();
    const queue = makeQueue({ maxReceiveCount: 2, deadLetterQueue: dlq });
    queue.send('m');
    expect(queue.receive()[0]?.attributes.ApproximateReceiveCount).toBe('1');
    await sleep(80);
    expect(queue.receive()[0]?.attributes.ApproximateReceiveCount).toBe('2');
    await sleep(80);
    expect(queue.stats()).toMatchObject({ visible: 1, movedToDlq: 0 });
    expect(queue.receive()).toEqual([]);
    expect(queue.stats()).toMatchObject({ visible: 0, movedToDlq: 1 });
    expect(dlq.receive().map((m) => m.body)).toEqual(['m']);
  });

  it('idle() resolves when drained and rejects with the stats when not', async () => {
    const empty = makeQueue();
    await expect(empty.idle(10)).resolves.toBeUndefined();

    const stuck = makeQueue({ visibilityTimeoutSeconds: 30 });
    stuck.send('nobody consumes me');
    stuck.send('delayed', { delaySeconds: 60 });
    await expect(stuck.idle(50)).rejects.toThrow(/not idle after 50 ms.*"visible":1.*"delayed":1/);

    const busy = makeQueue({ visibilityTimeoutSeconds: 30 });
    for (let i = 0; i < 20; i++) busy.send(`m${i}`);
    let handled = 0;
    busy.attachConsumer({
      batchSize: 3,
      handler: async (event) => {
        await sleep(5);
        handled += event.Records.length;
      },
    });
    await busy.idle(5_000);
    expect(handled).toBe(20);
    expect(busy.stats()).toMatchObject({ visible: 0, inFlight: 0, deleted: 20 });
  });

  it('stop() waits for running handlers, stops polling and clears every timer', async () => {
    // Track the queue's timers through the globals it calls.
    const live = new Set<unknown>();
    const realSetTimeout = globalThis.setTimeout;
    const realClearTimeout = globalThis.clearTimeout;
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const handle = realSetTimeout(() => {
        live.delete(handle);
        callback(...args);
      }, ms);
      live.add(handle);
      return handle;
    }) as unknown as typeof setTimeout);
    vi.spyOn(globalThis, 'clearTimeout').mockImplementation(((handle?: NodeJS.Timeout) => {
      live.delete(handle);
      realClearTimeout(handle);
    }) as unknown as typeof clearTimeout);

    const queue = makeQueue({ visibilityTimeoutSeconds: 30 });
    queue.send('delayed', { delaySeconds: 60 });
    queue.send('in flight');
    queue.receive();
    queue.send('handled');
    let release = (): void => undefined;
    const calls: string[] = [];
    queue.attachConsumer({
      batchSize: 1,
      maxConcurrency: 1,
      maxBatchingWindowSeconds: 0,
      handler: async (event) => {
        calls.push(event.Records[0]?.body ?? '');
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      },
    });
    await sleep(20);
    expect(calls).toEqual(['handled']);
    const pendingIdle = queue.idle(60_000).then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    expect(live.size).toBeGreaterThan(0);

    let stopped = false;
    const stopping = queue.stop().then(() => {
      stopped = true;
    });
    await sleep(20);
    expect(stopped).toBe(false);
    release();
    await stopping;

    expect(live.size).toBe(0);
    expect(await pendingIdle).toMatch(/stopped before becoming idle/);
    // The handler finished after stop() was called; its batch is still deleted.
    expect(queue.stats()).toMatchObject({ deleted: 1 });
    queue.send('after stop');
    await sleep(30);
    expect(calls).toEqual(['handled']);
    expect(live.size).toBe(0);
    await expect(queue.idle(1_000)).rejects.toThrow(/stopped/);
  });

  it('does not keep the Node process alive once stopped', async () => {
    const script = `
      const { LocalQueue } = await import('./infra/local/queue.ts');
      const queue = new LocalQueue({ name: 'child', url: 'u', arn: 'a', visibilityTimeoutSeconds: 60 });
      queue.send('delayed', { delaySeconds: 600 });
      queue.send('in flight');
      queue.receive();
      queue.send('waiting for a batch');
      queue.attachConsumer({ batchSize: 5, maxBatchingWindowSeconds: 300, handler: async () => undefined });
      const idle = queue.idle(600_000).then(() => 'resolved', (error) => 'rejected');
      await new Promise((resolve) => setTimeout(resolve, 20));
      await queue.stop();
      // What keeps a Node process alive: none of it may be the queue's.
      const holding = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout' || kind === 'Immediate');
      console.log(JSON.stringify({ idle: await idle, holding }));
    `;
    // The child exits on its own once nothing holds it; the kill timeout only stops a broken one from lingering.
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        { cwd: repoRoot, timeout: 50_000 },
        (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
      );
    });
    expect(JSON.parse(output.trim())).toEqual({ idle: 'rejected', holding: [] });
  }, 60_000);

  it('delivers 20,000 messages exactly once when the handler succeeds', async () => {
    const queue = makeQueue({ visibilityTimeoutSeconds: 30 });
    const padding = 'x'.repeat(1_000);
    const sent = new Map<string, string>();
    for (let i = 0; i < 20_000; i++) {
      const body = `${i}:${padding}`;
      sent.set(queue.send(body).messageId, body);
    }
    const deliveries = new Map<string, number>();
    let mismatched = 0;
    queue.attachConsumer({
      batchSize: 10,
      handler: async (event) => {
        await Promise.resolve();
        for (const record of event.Records) {
          deliveries.set(record.messageId, (deliveries.get(record.messageId) ?? 0) + 1);
          if (sent.get(record.messageId) !== record.body) mismatched++;
        }
      },
    });
    // How fast is a benchmark figure (npm run bench -- local-runtime); here only that it drains.
    await queue.idle(50_000);

    expect(deliveries.size).toBe(20_000);
    expect([...deliveries.values()].every((count) => count === 1)).toBe(true);
    expect(mismatched).toBe(0);
    expect(queue.stats()).toEqual({ visible: 0, inFlight: 0, delayed: 0, movedToDlq: 0, received: 20_000, deleted: 20_000 });
  }, 60_000);
});
