import { newContact } from '../shared/contacts/contact-store.ts';
import { Timeline } from '../shared/contacts/timeline.ts';
import { print } from './harness.ts';
import { PRICE, startMeteredRuntime } from './support/metered-runtime.ts';

const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? 100_000);

/**
 * Launches a campaign to 100,000 contacts through the local runtime and counts what the same
 * requests would cost on AWS: DynamoDB capacity units (metered by a proxy asking DynamoDB Local
 * for ReturnConsumedCapacity), SQS requests, EventBridge entries, Scheduler invocations and
 * Lambda invocations and GB-seconds (local handler time × configured memory). The response
 * path (two SES events per send, recorded on the timeline) is measured the same way.
 */
export async function run(): Promise<void> {
  const bench = await startMeteredRuntime();
  const { runtime, meter } = bench;
  try {
    // Seed contacts directly (not metered): confirmed email consent, realistic attributes.
    const now = new Date().toISOString();
    const seedStart = performance.now();
    const contacts: Array<Record<string, unknown>> = [];
    for (let i = 0; i < RECIPIENTS; i += 25) {
      contacts.push(
        ...Array.from({ length: Math.min(25, RECIPIENTS - i) }, (_, j) => {
          const c = newContact(`${String(i + j).padStart(8, '0')}-0000-4000-8000-000000000000`, now);
          c.email = `bench${i + j}@example.com`;
          c.tags = ['bench'];
          c.attributes = { firstName: `Name${i + j}`, plan: (i + j) % 4 ? 'free' : 'pro' };
          c.consent = { email: { status: 'confirmed', updatedAt: now, source: 'bench', wordingVersion: 'v1', confirmedAt: now } };
          return c as unknown as Record<string, unknown>;
        }),
      );
    }
    await bench.seed(runtime.tableNames.contacts!, contacts);
    const seedSeconds = (performance.now() - seedStart) / 1000;

    const template = (await bench.api('POST', '/v1/templates', { channel: 'email', name: 'Bench', subject: 'Hi {{default contact.firstName "there"}}', html: '<p>Hi {{contact.firstName}}, our spring sale is on.</p>', text: 'Hi {{contact.firstName}}, our spring sale is on.' })) as { template: { id: string } };
    const segment = (await bench.api('POST', '/v1/segments', { name: 'Bench', rule: { field: 'tags', op: 'contains', value: 'bench' } })) as { segment: { id: string } };
    const created = (await bench.api('POST', '/v1/campaigns', {
      name: 'Bench launch',
      segmentId: segment.segment.id,
      channels: ['email'],
      variants: [{ name: 'A', weight: 1, templates: { email: template.template.id } }],
      holdoutPercent: 10,
      schedule: { type: 'immediate' },
      limits: { sendRatePerSecond: { email: 10_000 } },
    })) as { campaign: { id: string } };

    // Measure from the launch on.
    meter.reset();
    for (const key of Object.keys(runtime.awsEndpoint.requests)) delete runtime.awsEndpoint.requests[key];
    const mark = bench.lambdaMark();
    const entriesBefore = runtime.bus.counters.entries;
    const launchStart = performance.now();
    await bench.api('POST', `/v1/campaigns/${created.campaign.id}/launch`);
    let campaign: { status: string; counters: { sent: number; holdout: number; queued: number; failed: number } };
    for (;;) {
      await runtime.idle(30 * 60_000);
      campaign = ((await bench.api('GET', `/v1/campaigns/${created.campaign.id}`)) as { campaign: typeof campaign }).campaign;
      if (campaign.status === 'completed') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const launchSeconds = (performance.now() - launchStart) / 1000;
    const sent = campaign.counters.sent;

    const { invocations: lambdaInvocations, queueInvocations: consumerInvocations, gbSeconds } = bench.lambdaSince(mark);
    // Local handler time is dominated by DynamoDB Local's latency on a shared machine; also model
    // the duration on AWS from the request count at a typical 6 ms per DynamoDB/SQS/SES call.
    const dynamoRequests = Object.values(meter.units.requests).reduce((a, b) => a + b, 0);
    const requests = runtime.awsEndpoint.requests;
    // Lambda's SQS poller: one ReceiveMessage and one DeleteMessageBatch per batch it delivers.
    const sqsRequests = (requests['SQS.SendMessageBatch'] ?? 0) + (requests['SQS.SendMessage'] ?? 0) + 2 * consumerInvocations;
    const eventEntries = runtime.bus.counters.entries - entriesBefore;
    const schedulerInvocations = requests['Scheduler.CreateSchedule'] ? 1 : 0;

    const modeledGbSeconds = ((dynamoRequests + sqsRequests + sent) * 0.006 * 1) /* GB (1024 MB) */;
    const fixedCost =
      meter.units.write * PRICE.dynamoWrite +
      meter.units.read * PRICE.dynamoRead +
      sqsRequests * PRICE.sqsRequest +
      lambdaInvocations * PRICE.lambdaRequest +
      eventEntries * PRICE.eventBridgeEvent +
      schedulerInvocations * PRICE.schedulerInvocation;
    const launchCost = fixedCost + modeledGbSeconds * PRICE.lambdaGbSecondArm;
    const launchCostLocalDurations = fixedCost + gbSeconds * PRICE.lambdaGbSecondArm;
    const launchUnits = { ...meter.units };

    // Response path: two SES events per send (e.g. delivery and open) become timeline entries
    // (the provider event id makes each happen once, so the two-write path is used).
    // SES → default bus is an AWS service event (no charge); the rule's SQS target is one request
    // per event; the consumer takes batches of 25 (one invocation, one receive, one delete each).
    meter.reset();
    const timeline = new Timeline(runtime.tableNames.interactions!, runtime.tableNames.contacts!);
    const sample = 1000;
    const responseStart = performance.now();
    for (let i = 0; i < sample; i++) {
      const contactId = `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`;
      const at = new Date().toISOString();
      await timeline.recordFast({ contactId, id: `bench-delivery-${i}`, type: 'delivered', channel: 'email', campaignId: created.campaign.id, sendId: `${created.campaign.id}:1:${contactId}`, occurredAt: at });
      await timeline.recordFast({ contactId, id: `bench-open-${i}`, type: 'opened', channel: 'email', campaignId: created.campaign.id, sendId: `${created.campaign.id}:1:${contactId}`, occurredAt: at });
    }
    const responseMsPerEvent = (performance.now() - responseStart) / (2 * sample);
    const perEvent = {
      write: meter.units.write / (2 * sample),
      read: meter.units.read / (2 * sample),
      sqs: 1 + 2 / 25,
      lambda: 1 / 25,
      gbSeconds: ((responseMsPerEvent / 1000) * 512) / 1024,
    };
    const responseCostPerSend =
      2 *
      (perEvent.write * PRICE.dynamoWrite + perEvent.read * PRICE.dynamoRead + perEvent.sqs * PRICE.sqsRequest + perEvent.lambda * PRICE.lambdaRequest + perEvent.gbSeconds * PRICE.lambdaGbSecondArm);

    const per1000 = (value: number) => (value / RECIPIENTS) * 1000;
    const launchPerMillion = (launchCost / sent) * 1e6;
    const responsePerMillion = responseCostPerSend * 1e6;
    print(`Campaign launch to ${RECIPIENTS.toLocaleString('en-US')} contacts through the local runtime (${sent.toLocaleString('en-US')} sent, ${campaign.counters.holdout.toLocaleString('en-US')} holdout)`, [
      { name: 'DynamoDB write units per 1,000 recipients', value: per1000(launchUnits.write), unit: 'WRU' },
      { name: 'DynamoDB read units per 1,000 recipients', value: per1000(launchUnits.read), unit: 'RRU' },
      { name: 'SQS requests per 1,000 recipients (incl. poller receive/delete)', value: per1000(sqsRequests), unit: 'requests' },
      { name: 'EventBridge entries per 1,000 recipients', value: per1000(eventEntries), unit: 'entries' },
      { name: 'Scheduler invocations per 1,000 recipients', value: per1000(schedulerInvocations), unit: 'invocations' },
      { name: 'Lambda invocations per 1,000 recipients', value: per1000(lambdaInvocations), unit: 'invocations' },
      { name: 'Lambda GB-seconds per 1,000 recipients (local handler time)', value: per1000(gbSeconds), unit: 'GB-s' },
      { name: 'Lambda GB-seconds per 1,000 recipients (modelled: 6 ms per AWS call)', value: per1000(modeledGbSeconds), unit: 'GB-s' },
      { name: 'DynamoDB requests per 1,000 recipients', value: per1000(dynamoRequests), unit: 'requests' },
      { name: 'launch throughput in the local runtime (launch → all sent)', value: RECIPIENTS / launchSeconds, unit: 'recipients/s' },
      { name: 'launch wall time', value: launchSeconds, unit: 's' },
      { name: 'seeding (not part of the launch)', value: seedSeconds, unit: 's' },
    ]);
    print('Response path (two SES events per send, each recorded on the timeline with its counters)', [
      { name: 'DynamoDB write units per event', value: perEvent.write, unit: 'WRU' },
      { name: 'DynamoDB read units per event', value: perEvent.read, unit: 'RRU' },
    ]);
    print('Infrastructure cost per 1,000,000 emails at us-east-1 prices (SES $0.10/1,000 excluded)', [
      { name: 'launch + send (Lambda time modelled)', value: launchPerMillion, unit: 'USD' },
      { name: 'launch + send (Lambda time as measured locally)', value: (launchCostLocalDurations / sent) * 1e6, unit: 'USD' },
      { name: '  of which DynamoDB writes', value: ((launchUnits.write * PRICE.dynamoWrite) / sent) * 1e6, unit: 'USD' },
      { name: 'response path (2 events per send)', value: responsePerMillion, unit: 'USD' },
      { name: 'total', value: launchPerMillion + responsePerMillion, unit: 'USD', target: '≤ 2.50; one-message-per-recipient design ≈ 3.10' },
    ]);
  } finally {
    await bench.stop();
  }
}
