import { importedCampaignId } from '../shared/imports/history-import.ts';
import { sendIdOf, sendPk } from '../shared/campaigns/send-store.ts';
import { newContact } from '../shared/contacts/contact-store.ts';
import { interactionSortKey, type Interaction } from '../shared/contacts/timeline.ts';
import { print } from './harness.ts';
import { PRICE, startMeteredRuntime } from './support/metered-runtime.ts';

const INTERACTIONS = Number(process.env.BENCH_INTERACTIONS ?? 100_000);
const CONTACTS_PER_CAMPAIGN = Math.max(100, Math.round(INTERACTIONS / 10));
const CAMPAIGNS = 2;

const contactIdOf = (n: number) => `${String(n).padStart(8, '0')}-0000-4000-8000-00000000beef`;

/**
 * A full nightly attribution run over 100,000 interactions in the local runtime: two campaigns
 * launched yesterday morning to 10% holdouts, their sends, deliveries, opens, clicks and
 * conversions (the treatment converting more than the holdout) seeded straight into DynamoDB
 * Local; then `POST /v1/attribution/runs` for yesterday, timed until the run completes, with
 * every DynamoDB request metered (scan segments, contact reads, score updates, credits,
 * reports, the segment statistics refresh).
 */
export async function run(): Promise<void> {
  const bench = await startMeteredRuntime();
  const { runtime, meter } = bench;
  try {
    const tables = runtime.tableNames;

    const today = new Date();
    today.setUTCHours(0, 0, 0, 0);
    const day = new Date(today.getTime() - 86_400_000);
    const at = (hours: number) => new Date(day.getTime() + hours * 3_600_000).toISOString();
    const seedStart = performance.now();

    // Contacts (unmetered seeding).
    const contacts = Array.from({ length: CAMPAIGNS * CONTACTS_PER_CAMPAIGN }, (_, n) => {
      const c = newContact(contactIdOf(n), at(-24 * 30));
      c.email = `night${n}@example.com`;
      c.consent = { email: { status: 'confirmed', updatedAt: at(-24 * 30), source: 'bench', wordingVersion: 'v1', confirmedAt: at(-24 * 30) } };
      return c as unknown as Record<string, unknown>;
    });
    await bench.seed(tables.contacts!, contacts);

    // Each campaign through the history import (a real campaign record), then its sends and responses in bulk.
    const interactions: Interaction[] = [];
    const sends: Array<Record<string, unknown>> = [];
    const add = (contactId: string, campaignId: string, type: string, hours: number, extra: Partial<Interaction> = {}) => {
      const occurredAt = at(hours);
      const id = `bench:${campaignId}:${contactId}:${type}:${interactions.length}`;
      interactions.push({ contactId, sk: interactionSortKey(occurredAt, id), id, type, occurredAt, recordedAt: occurredAt, campaignId, sendId: sendIdOf(campaignId, '1', contactId), channel: 'email', ...extra });
    };
    const campaignIds: string[] = [];
    for (let k = 0; k < CAMPAIGNS; k++) {
      const first = contactIdOf(k * CONTACTS_PER_CAMPAIGN);
      const imported = await bench.api<{ campaignId: string }>('POST', '/v1/campaigns/import', {
        campaign: { externalId: `bench-night-${k}`, name: `Nightly bench ${k + 1}`, launchedAt: at(7), goal: { event: 'purchase', attributionWindowDays: 7, model: k ? 'linear' : 'last_touch' }, costPerMessage: { email: 0.0001 } },
        sends: [{ contact: { contactId: first }, channel: 'email', sentAt: at(8), holdout: false, variant: 'A' }],
      });
      const campaignId = imported.campaignId;
      if (campaignId !== importedCampaignId(`bench-night-${k}`)) throw new Error('unexpected campaign id');
      campaignIds.push(campaignId);
      for (let i = 0; i < CONTACTS_PER_CAMPAIGN; i++) {
        const contactId = contactIdOf(k * CONTACTS_PER_CAMPAIGN + i);
        const holdout = i % 10 === 0;
        const variant = i % 2 ? 'A' : 'B';
        sends.push({ pk: sendPk(campaignId, '1'), sk: contactId, sendId: sendIdOf(campaignId, '1', contactId), campaignId, runId: '1', contactId, channel: 'email', variant, status: holdout ? 'holdout' : 'sent', createdAt: at(8), attempts: 0, ...(holdout ? {} : { sentAt: at(8), cost: 0.0001 }) });
        if (holdout) {
          if (i % 40 === 0) add(contactId, campaignId, 'converted', 20, { campaignId: undefined, sendId: undefined, channel: undefined, typeDay: `converted#${at(20).slice(0, 10)}`, data: { name: 'purchase', value: 40 } });
          continue;
        }
        add(contactId, campaignId, 'sent', 8, { data: { variant } });
        add(contactId, campaignId, 'delivered', 8.01);
        if (i % 2 === 0) add(contactId, campaignId, 'opened', 9 + (i % 5));
        if (i % 6 === 0) add(contactId, campaignId, 'clicked', 10 + (i % 5));
        if (i % 15 === 0) add(contactId, campaignId, 'converted', 16 + (i % 6), { campaignId: undefined, sendId: undefined, channel: undefined, typeDay: `converted#${at(16).slice(0, 10)}`, data: { name: 'purchase', value: 20 + (i % 80) } });
      }
    }
    // Repeated opens (image reloads on other devices) fill up to the target count.
    for (let i = 0; interactions.length < INTERACTIONS; i++) {
      const k = i % CAMPAIGNS;
      const n = ((i * 7) % CONTACTS_PER_CAMPAIGN) | 1;
      add(contactIdOf(k * CONTACTS_PER_CAMPAIGN + n), campaignIds[k]!, 'opened', 12 + (i % 11));
    }
    await bench.seed(tables.sends!, sends);
    await bench.seed(tables.interactions!, interactions as unknown as Array<Record<string, unknown>>);
    const seedSeconds = (performance.now() - seedStart) / 1000;

    // The run, metered from here.
    await runtime.idle();
    meter.reset();
    for (const key of Object.keys(runtime.awsEndpoint.requests)) delete runtime.awsEndpoint.requests[key];
    const mark = bench.lambdaMark();
    const started = performance.now();
    const { run: created } = await bench.api<{ run: { runId: string } }>('POST', '/v1/attribution/runs', { from: day.toISOString(), to: today.toISOString() });
    let record: { status: string; contacts?: number; conversions?: number; interactions?: number; readUnits?: number };
    for (;;) {
      await runtime.idle(30 * 60_000);
      record = (await bench.api<{ run: typeof record }>('GET', `/v1/attribution/runs/${created.runId}`)).run;
      if (record.status === 'completed') break;
      if (performance.now() - started > 20 * 60_000) throw new Error(`the run did not complete: ${JSON.stringify(record)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const seconds = (performance.now() - started) / 1000;

    const { invocations, gbSeconds } = bench.lambdaSince(mark);
    const requests = runtime.awsEndpoint.requests;
    const sqsRequests = (requests['SQS.SendMessageBatch'] ?? 0) + (requests['SQS.SendMessage'] ?? 0) + 2 * invocations;
    const dynamoRequests = Object.values(meter.units.requests).reduce((a, b) => a + b, 0);
    const cost = meter.units.write * PRICE.dynamoWrite + meter.units.read * PRICE.dynamoRead + sqsRequests * PRICE.sqsRequest + invocations * PRICE.lambdaRequest + gbSeconds * PRICE.lambdaGbSecondArm;
    const report = await bench.api<{ report: unknown }>('GET', `/v1/campaigns/${campaignIds[0]}/report`);
    if (!report.report) throw new Error('no report after the run');

    const per1000 = (v: number) => (v / record.interactions!) * 1000;
    print(
      `Nightly attribution run over ${record.interactions!.toLocaleString('en-US')} interactions in the local runtime (${record.contacts!.toLocaleString('en-US')} contacts, ${record.conversions!.toLocaleString('en-US')} conversions, ${CAMPAIGNS} campaigns)`,
      [
        { name: 'run wall time (POST /v1/attribution/runs → completed)', value: seconds, unit: 's' },
        { name: 'throughput', value: record.interactions! / seconds, unit: 'interactions/s' },
        { name: 'DynamoDB read units (metered)', value: meter.units.read, unit: 'RRU' },
        { name: 'DynamoDB write units (metered)', value: meter.units.write, unit: 'WRU' },
        { name: 'DynamoDB read units per 1,000 interactions', value: per1000(meter.units.read), unit: 'RRU' },
        { name: 'DynamoDB write units per 1,000 interactions', value: per1000(meter.units.write), unit: 'WRU' },
        { name: 'DynamoDB requests', value: dynamoRequests, unit: 'requests' },
        { name: 'read units the run reported for its own scans', value: record.readUnits ?? 0, unit: 'RRU' },
        { name: 'Lambda invocations', value: invocations, unit: 'invocations' },
        { name: 'Lambda GB-seconds (local handler time)', value: gbSeconds, unit: 'GB-s' },
        { name: 'cost of the run at us-east-1 prices', value: cost, unit: 'USD' },
        { name: 'seeding (not part of the run)', value: seedSeconds, unit: 's' },
      ],
    );
    console.log(`  DynamoDB requests by operation: ${JSON.stringify(meter.units.requests)}`);
  } finally {
    await bench.stop();
  }
}
