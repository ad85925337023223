import { gzipSync } from 'node:zlib';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { LocalAwsEndpoint } from '../infra/local/aws-endpoint.ts';
import { LocalEventBus } from '../infra/local/event-bus.ts';
import { LocalFirehose } from '../infra/local/firehose.ts';
import { LocalScheduler } from '../infra/local/scheduler.ts';
import { topology } from '../infra/topology.ts';
import { FirehoseStreamSink } from '../shared/aws/firehose.ts';
import { publishTableChanges, type TableChange } from '../shared/stream/event-stream.ts';
import { print, prng } from './harness.ts';

/**
 * What the event stream costs per million events, by design and measured on the real code path:
 * timeline entries of a realistic mix go through publishTableChanges and the Firehose SDK client
 * into the local Firehose endpoint, in batches of the topology's batch size (what Lambda hands
 * the publisher under sustained load). Requests, records and bytes are counted by the endpoint.
 *
 * Prices (us-east-1, list prices as of 2026-12; check https://aws.amazon.com/firehose/pricing/,
 * https://aws.amazon.com/lambda/pricing/, https://aws.amazon.com/s3/pricing/):
 *   Firehose Direct PUT ingestion: $0.029 per GB (first 500 TB/month), each record rounded up to 5 KB;
 *   Lambda: $0.20 per million requests; arm64 $0.0000133334 per GB-second;
 *   S3 PUT: $0.005 per 1,000 requests; DynamoDB Streams reads by a Lambda trigger: free.
 */
const FIREHOSE_PER_GB = 0.029;
const LAMBDA_PER_REQUEST = 0.2 / 1e6;
const LAMBDA_ARM_PER_GB_SECOND = 0.0000133334;
const S3_PUT = 0.005 / 1000;
const GB = 1024 ** 3;

const EVENTS = 100_000;
const MIX: Array<[string, number]> = [['sent', 0.4], ['delivered', 0.36], ['opened', 0.12], ['clicked', 0.06], ['converted', 0.02], ['unsubscribed', 0.01], ['consent_confirmed', 0.03]];

function timelineEntries(count: number): Record<string, unknown>[] {
  const random = prng(13);
  const base = Date.parse('2026-12-01T00:00:00.000Z');
  return Array.from({ length: count }, (_, i) => {
    let pick = random();
    const type = MIX.find(([, share]) => (pick -= share) < 0)?.[0] ?? 'sent';
    const contactId = `c${Math.floor(random() * 1e9).toString(36)}-${i.toString(36)}`;
    const campaignId = 'cmp_8f2a1c9e4b';
    const runId = 'r_2026-12-01T09:00:00Z';
    const sendId = `${campaignId}:${runId}:${contactId}`;
    const occurredAt = new Date(base + i * 50).toISOString();
    const data: Record<string, unknown> =
      type === 'sent'
        ? { variant: random() < 0.5 ? 'A' : 'B', runId, providerMessageId: `0100018c${Math.floor(random() * 1e15).toString(16)}-000000` }
        : type === 'delivered'
          ? { providerMessageId: `0100018c${Math.floor(random() * 1e15).toString(16)}-000000` }
          : type === 'clicked'
            ? { link: 'https://shop.example.com/winter-sale?utm_source=touchloop', linkIndex: 0, userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)' }
            : type === 'converted'
              ? { name: 'purchase', value: Math.round(random() * 20000) / 100, currency: 'EUR', source: 'api' }
              : { source: 'link' };
    return {
      contactId,
      sk: `${occurredAt}#${type}:${sendId}`,
      id: `${type}:${sendId}`,
      type,
      occurredAt,
      recordedAt: occurredAt,
      ...(type === 'consent_confirmed' ? { channel: 'email' } : { campaignId, sendId, channel: 'email' }),
      data,
    };
  });
}

export async function run(): Promise<void> {
  const firehose = new LocalFirehose(['bench-events'], undefined);
  const scheduler = new LocalScheduler({ invoke: async () => undefined, onError: () => undefined });
  const endpoint = new LocalAwsEndpoint({ bus: new LocalEventBus(['default']), queues: () => [], scheduler, secrets: new Map(), firehose });
  await endpoint.start();
  const client = new FirehoseClient({ endpoint: endpoint.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const batchSize = topology.functions['stream-publisher'].stream!.batchSize;
    const sink = new FirehoseStreamSink('bench-events', client);
    const entries = timelineEntries(EVENTS);
    let invocations = 0;
    let published = 0;
    const ndjson: Buffer[] = [];
    const started = performance.now();
    for (let i = 0; i < entries.length; i += batchSize) {
      const changes: TableChange[] = entries.slice(i, i + batchSize).map((image, j) => ({ sequenceNumber: String(i + j).padStart(21, '0'), eventName: 'INSERT', newImage: image }));
      invocations++;
      const outcome = await publishTableChanges(changes, sink);
      if (outcome.retryFrom) throw new Error(`batch at ${i} stopped at ${outcome.retryFrom}`);
      published += outcome.published;
    }
    const ms = performance.now() - started;
    if (published !== EVENTS || firehose.stats.records === 0) throw new Error(`published ${published} of ${EVENTS}`);
    // The objects Firehose writes: gzip of the NDJSON (measured on a sample), 64 MiB buffers.
    for (const e of entries.slice(0, 10_000)) ndjson.push(Buffer.from(`${JSON.stringify(e)}\n`));
    const perMillion = 1e6 / EVENTS;
    const calls = endpoint.requests['Firehose.PutRecordBatch'] ?? 0;
    const bytesPerEvent = firehose.stats.bytes / EVENTS;
    const gzipRatio = gzipSync(Buffer.concat(ndjson)).length / Buffer.concat(ndjson).length;
    const s3Puts = Math.ceil((firehose.stats.bytes * perMillion * gzipRatio) / (64 * 1024 ** 2));
    const firehoseCost = (firehose.stats.billedBytes * perMillion * FIREHOSE_PER_GB) / GB;
    const lambdaRequests = invocations * perMillion * LAMBDA_PER_REQUEST;
    // Duration as measured here (one process, local endpoint) at the function's 512 MB: an estimate of the order, not a bill.
    const lambdaDuration = (ms / 1000 / invocations) * 0.5 * LAMBDA_ARM_PER_GB_SECOND * invocations * perMillion;
    const perUnbatched = (1e6 * 5 * 1024 * FIREHOSE_PER_GB) / GB + 1e6 * LAMBDA_PER_REQUEST;
    print(`Event stream: ${EVENTS.toLocaleString('en-US')} timeline entries in batches of ${batchSize}, figures per million events`, [
      { name: 'bytes per event (NDJSON line)', value: bytesPerEvent, unit: 'B' },
      { name: 'Lambda invocations', value: invocations * perMillion, unit: 'invocations' },
      { name: 'Firehose PutRecordBatch calls', value: calls * perMillion, unit: 'calls' },
      { name: 'Firehose records (each billed ≥ 5 KB)', value: firehose.stats.records * perMillion, unit: 'records' },
      { name: 'Firehose billed ingestion', value: (firehose.stats.billedBytes * perMillion) / GB, unit: 'GB' },
      { name: 'S3 objects (gzip, 64 MiB buffers)', value: s3Puts, unit: 'PUTs' },
      { name: 'cost: Firehose ingestion', value: firehoseCost * 100, unit: 'US cents' },
      { name: 'cost: Lambda requests', value: lambdaRequests * 100, unit: 'US cents' },
      { name: 'cost: S3 PUTs', value: s3Puts * S3_PUT * 100, unit: 'US cents' },
      { name: 'cost: requests and ingestion together', value: (firehoseCost + lambdaRequests + s3Puts * S3_PUT) * 100, unit: 'US cents', target: '≤ 10 cents' },
      { name: 'cost: Lambda duration (estimate from this run)', value: lambdaDuration * 100, unit: 'US cents' },
      { name: 'for comparison: one event per record and invocation', value: perUnbatched * 100, unit: 'US cents' },
      { name: 'publishing throughput here (one process)', value: EVENTS / (ms / 1000), unit: 'events/s' },
    ]);
  } finally {
    client.destroy();
    scheduler.stop();
    await endpoint.stop();
  }
}
