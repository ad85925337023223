import { compileEventPattern } from '../infra/local/event-pattern.ts';
import { LocalQueue } from '../infra/local/queue.ts';
import { medianOf, print } from './harness.ts';

/** Throughput of the local runtime's own machinery: rule matching on the bus and queue delivery. */
export async function run(): Promise<void> {
  const matcher = compileEventPattern({
    source: ['touchloop.contacts'],
    'detail-type': [{ prefix: 'contact.' }],
    detail: { origin: [{ 'anything-but': 'import' }], score: [{ numeric: ['>=', 10] }] },
  });
  const events = Array.from({ length: 100_000 }, (_, i) => ({
    source: i % 3 ? 'touchloop.contacts' : 'touchloop.other',
    'detail-type': 'contact.updated',
    detail: { origin: i % 5 ? 'api' : 'import', score: i % 20 },
  }));
  const matchesPerSecond = await medianOf(5, () => {
    const start = performance.now();
    let matched = 0;
    for (let r = 0; r < 5; r++) for (const e of events) if (matcher(e)) matched++;
    if (matched === 0) throw new Error('nothing matched');
    return (events.length * 5) / ((performance.now() - start) / 1000);
  });

  const queueMessagesPerSecond = await medianOf(3, async () => {
    const queue = new LocalQueue({ name: 'bench', url: 'http://local/bench', arn: 'arn:aws:sqs:us-east-1:0:bench', visibilityTimeoutSeconds: 30 });
    let delivered = 0;
    queue.attachConsumer({ batchSize: 10, maxConcurrency: 5, handler: async (event) => void (delivered += event.Records.length) });
    const body = 'x'.repeat(1024);
    const start = performance.now();
    for (let i = 0; i < 50_000; i++) queue.send(body);
    await queue.idle(60_000);
    await queue.stop();
    if (delivered !== 50_000) throw new Error(`delivered ${delivered}`);
    return 50_000 / ((performance.now() - start) / 1000);
  });

  // The run test/unit/queue.test.ts checks for exactly-once delivery (it used to assert under 10 s):
  // 20,000 messages of 1 KB sent at once, then drained at the consumer's defaults (batch 10, 2 at a time).
  const drainMs = await medianOf(5, async () => {
    const queue = new LocalQueue({ name: 'bench-drain', url: 'http://local/bench-drain', arn: 'arn:aws:sqs:us-east-1:0:bench-drain', visibilityTimeoutSeconds: 30 });
    const body = 'x'.repeat(1_000);
    const start = performance.now();
    for (let i = 0; i < 20_000; i++) queue.send(`${i}:${body}`);
    let delivered = 0;
    queue.attachConsumer({ batchSize: 10, handler: async (event) => void (delivered += event.Records.length) });
    await queue.idle(120_000);
    const ms = performance.now() - start;
    await queue.stop();
    if (delivered !== 20_000) throw new Error(`delivered ${delivered}`);
    return ms;
  });

  print('Local runtime machinery (median of runs, one process)', [
    { name: 'event-pattern matches per second (one rule, 100k events)', value: matchesPerSecond, unit: 'events/s' },
    { name: 'local queue: 1 KB messages sent and consumed (batch 10)', value: queueMessagesPerSecond, unit: 'messages/s' },
    { name: 'local queue: 20,000 × 1 KB sent, then drained (batch 10)', value: drainMs, unit: 'ms', target: '< 10,000 ms' },
  ]);
}
