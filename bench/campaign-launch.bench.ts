import { randomUUID } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { queryAll } from '../shared/aws/dynamodb.ts';
import { sendPk } from '../shared/campaigns/send-store.ts';
import { forEachLimit } from '../shared/concurrency.ts';
import { newContact } from '../shared/contacts/contact-store.ts';
import { activityKeys } from '../shared/activity/activity.ts';
import { activityMonthExpiry, activityMonthOf } from '../shared/activity/activity-store.ts';
import { sesEvent } from '../test/helpers/ses.ts';
import { print, prng } from './harness.ts';
import { PRICE, startMeteredRuntime } from './support/metered-runtime.ts';

const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? 100_000);
const RESPONSE_SAMPLE = Math.min(1000, Math.floor((RECIPIENTS * 0.8) / 2));
/** A year of two campaign emails a week: what a long-time subscriber carries in behaviour counters. */
const HISTORY_WEEKS = 52;
/**
 * Lambda time on AWS modelled from the request count: about 6 ms per DynamoDB/SQS/SES call, with
 * the sender's 5 (audience worker's 16) calls in flight at 512 MB (1,769 MB): ≈ 0.0006 GB-s a call.
 */
const GB_SECONDS_PER_CALL = (0.006 / 5) * 0.5;

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
    let campaign: { status: string; runId?: string; counters: { targeted: number; sent: number; holdout: number; queued: number; failed: number } };
    // Polled once a second: when the whole audience is planned (send records written, sends enqueued) and when the last send is out.
    let plannedSeconds = Number.NaN;
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      campaign = ((await bench.api('GET', `/v1/campaigns/${created.campaign.id}`)) as { campaign: typeof campaign }).campaign;
      if (Number.isNaN(plannedSeconds) && campaign.counters.targeted >= RECIPIENTS) plannedSeconds = (performance.now() - launchStart) / 1000;
      if (campaign.status === 'completed') break;
    }
    const launchSeconds = (performance.now() - launchStart) / 1000;
    await runtime.idle(30 * 60_000);
    const handlerSeconds = (name: string) => ((runtime.functions.get(name)?.totalMs ?? 0) - (mark.get(name)?.ms ?? 0)) / 1000;
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

    const modeledGbSeconds = (dynamoRequests + sqsRequests + sent) * GB_SECONDS_PER_CALL;
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

    // Response path, measured through the runtime: two SES events per send (delivery and open) put
    // on the default bus as the configuration set's destination would, routed by the rule to the
    // provider-events queue and recorded by the response recorder (timeline entry, counter bump,
    // the batch's campaign counters). SES → default bus is an AWS service event (no charge); the
    // rule's SQS target is one request per event; the poller adds a receive and a delete per batch.
    const runId = campaign.runId!;
    const sentContacts: string[] = [];
    for await (const item of queryAll(bench.db, { TableName: runtime.tableNames.sends!, KeyConditionExpression: 'pk = :pk', FilterExpression: '#s = :sent', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':pk': sendPk(created.campaign.id, runId), ':sent': 'sent' } })) {
      sentContacts.push(String(item.contactId));
      if (sentContacts.length >= 2 * RESPONSE_SAMPLE) break;
    }
    const respond = async (contactIds: string[]) => {
      meter.reset();
      const responseMark = bench.lambdaMark();
      const entries = contactIds.flatMap((contactId, i) => {
        const mail = { messageId: `bench-${contactId}`, to: `bench${i}@example.com`, tags: { touchloop_campaign: created.campaign.id, touchloop_run: runId, touchloop_contact: contactId, touchloop_channel: 'email' } };
        const at = new Date().toISOString();
        return [sesEvent('Delivery', 'Email Delivered', mail, { delivery: { timestamp: at } }), sesEvent('Open', 'Email Opened', mail, { open: { timestamp: at } })];
      });
      for (let i = 0; i < entries.length; i += 10) runtime.bus.putEvents(entries.slice(i, i + 10));
      await runtime.idle(10 * 60_000);
      const events = entries.length;
      const lambda = bench.lambdaSince(responseMark);
      const perEvent = {
        write: meter.units.write / events,
        read: meter.units.read / events,
        sqs: (events + 2 * lambda.queueInvocations) / events,
        lambda: lambda.invocations / events,
        gbSeconds: (Object.values(meter.units.requests).reduce((a, b) => a + b, 0) * GB_SECONDS_PER_CALL) / events,
      };
      const costPerEvent = perEvent.write * PRICE.dynamoWrite + perEvent.read * PRICE.dynamoRead + perEvent.sqs * PRICE.sqsRequest + perEvent.lambda * PRICE.lambdaRequest + perEvent.gbSeconds * PRICE.lambdaGbSecondArm;
      return { perEvent, costPerEvent };
    };
    const fresh = await respond(sentContacts.slice(0, RESPONSE_SAMPLE));

    // The same on contacts with a year of history: counters live in one item per contact and
    // month, so a bump rewrites that month's item, not a year of counters (nor the contact).
    const random = prng(42);
    const history = (): Map<string, Record<string, number>> => {
      const byMonth = new Map<string, Record<string, number>>();
      const nowMs = Date.now();
      for (let week = 1; week <= HISTORY_WEEKS; week++) {
        for (const offsetHours of [30, 100]) {
          const occurredAt = new Date(nowMs - (week * 168 + offsetHours) * 3_600_000).toISOString();
          const campaignId = randomUUID();
          const types = ['sent', 'delivered', ...(random() < 0.25 ? ['opened'] : []), ...(random() < 0.05 ? ['clicked'] : [])];
          const month = activityMonthOf(occurredAt);
          const counters = byMonth.get(month) ?? {};
          for (const type of types) for (const key of activityKeys({ type, channel: 'email', campaignId, occurredAt })) counters[key] = (counters[key] ?? 0) + 1;
          byMonth.set(month, counters);
        }
      }
      return byMonth;
    };
    const mature = sentContacts.slice(RESPONSE_SAMPLE, 2 * RESPONSE_SAMPLE);
    const historyBytes = [...history().values()].reduce((sum, counters) => sum + Object.keys(counters).reduce((s, key) => s + key.length + 3, 0), 0);
    await forEachLimit(mature, 16, async (contactId) => {
      const months = history();
      await bench.seed(runtime.tableNames.activity!, [...months].map(([month, counters]) => ({ contactId, month, linked: true, expiresAt: activityMonthExpiry(month), ...counters })));
      await bench.db.send(new UpdateCommand({ TableName: runtime.tableNames.contacts!, Key: { id: contactId }, UpdateExpression: 'ADD activityMonths :m', ExpressionAttributeValues: { ':m': new Set(months.keys()) } }));
    });
    const withHistory = await respond(mature);

    const per1000 = (value: number) => (value / RECIPIENTS) * 1000;
    const launchPerMillion = (launchCost / sent) * 1e6;
    const responsePerMillion = 2 * fresh.costPerEvent * 1e6;
    const responseWithHistoryPerMillion = 2 * withHistory.costPerEvent * 1e6;
    // The send path's own counter bump (the `sent` entry) grows like a response's.
    const sendBumpExtraPerMillion = (withHistory.perEvent.write - fresh.perEvent.write) * PRICE.dynamoWrite * 1e6;
    // The one-message-per-recipient design with the same exactly-once writes: one SQS message sent,
    // received and deleted, one Lambda invocation and one custom bus event per recipient.
    const perRecipientDesign = launchPerMillion - ((sqsRequests * PRICE.sqsRequest + lambdaInvocations * PRICE.lambdaRequest + eventEntries * PRICE.eventBridgeEvent) / sent) * 1e6 + (3 * PRICE.sqsRequest + PRICE.lambdaRequest + PRICE.eventBridgeEvent) * 1e6;
    print(`Campaign launch to ${RECIPIENTS.toLocaleString('en-US')} contacts through the local runtime (${sent.toLocaleString('en-US')} sent, ${campaign.counters.holdout.toLocaleString('en-US')} holdout)`, [
      { name: 'DynamoDB write units per 1,000 recipients', value: per1000(launchUnits.write), unit: 'WRU' },
      { name: 'DynamoDB read units per 1,000 recipients', value: per1000(launchUnits.read), unit: 'RRU' },
      { name: 'SQS requests per 1,000 recipients (incl. poller receive/delete)', value: per1000(sqsRequests), unit: 'requests' },
      { name: 'EventBridge entries per 1,000 recipients', value: per1000(eventEntries), unit: 'entries' },
      { name: 'Scheduler invocations per 1,000 recipients', value: per1000(schedulerInvocations), unit: 'invocations' },
      { name: 'Lambda invocations per 1,000 recipients', value: per1000(lambdaInvocations), unit: 'invocations' },
      { name: 'Lambda GB-seconds per 1,000 recipients (local handler time)', value: per1000(gbSeconds), unit: 'GB-s' },
      { name: 'Lambda GB-seconds per 1,000 recipients (modelled from the calls)', value: per1000(modeledGbSeconds), unit: 'GB-s' },
      { name: 'DynamoDB requests per 1,000 recipients', value: per1000(dynamoRequests), unit: 'requests' },
      { name: 'launch throughput in the local runtime (launch → all sent)', value: RECIPIENTS / launchSeconds, unit: 'recipients/s' },
      { name: 'launch wall time', value: launchSeconds, unit: 's' },
      { name: '  of which until the audience was planned (records written, sends enqueued)', value: plannedSeconds, unit: 's' },
      { name: '  audience-worker handler time, summed over invocations', value: handlerSeconds('audience-worker'), unit: 's' },
      { name: '  email-sender handler time, summed over invocations', value: handlerSeconds('email-sender'), unit: 's' },
      { name: 'seeding (not part of the launch)', value: seedSeconds, unit: 's' },
    ]);
    print(`Response path (${RESPONSE_SAMPLE.toLocaleString('en-US')} deliveries + ${RESPONSE_SAMPLE.toLocaleString('en-US')} opens through the bus, rule, queue and recorder)`, [
      { name: 'DynamoDB write units per event', value: fresh.perEvent.write, unit: 'WRU' },
      { name: 'DynamoDB read units per event', value: fresh.perEvent.read, unit: 'RRU' },
      { name: 'SQS requests per event', value: fresh.perEvent.sqs, unit: 'requests' },
      { name: 'Lambda invocations per event', value: fresh.perEvent.lambda, unit: 'invocations' },
      { name: `write units per event, contacts with ${HISTORY_WEEKS} weeks of history`, value: withHistory.perEvent.write, unit: 'WRU' },
      { name: '  (their behaviour counters, approx.)', value: historyBytes / 1024, unit: 'KB' },
    ]);
    print('Infrastructure cost per 1,000,000 emails at us-east-1 prices (SES $0.10/1,000 excluded)', [
      { name: 'launch + send (Lambda time modelled)', value: launchPerMillion, unit: 'USD' },
      { name: 'launch + send (Lambda time as measured locally)', value: (launchCostLocalDurations / sent) * 1e6, unit: 'USD' },
      { name: '  of which DynamoDB writes', value: ((launchUnits.write * PRICE.dynamoWrite) / sent) * 1e6, unit: 'USD' },
      { name: 'response path (2 events per send)', value: responsePerMillion, unit: 'USD' },
      { name: 'total', value: launchPerMillion + responsePerMillion, unit: 'USD', target: '≤ 2.50; one-message-per-recipient design ≈ 3.10' },
      { name: 'one-message-per-recipient design, same writes: total', value: perRecipientDesign + responsePerMillion, unit: 'USD' },
      { name: `total for contacts with ${HISTORY_WEEKS} weeks of history`, value: launchPerMillion + sendBumpExtraPerMillion + responseWithHistoryPerMillion, unit: 'USD' },
    ]);
  } finally {
    await bench.stop();
  }
}
