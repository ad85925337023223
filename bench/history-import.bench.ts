import { newContact } from '../shared/contacts/contact-store.ts';
import { median, print, prng } from './harness.ts';
import { PRICE, startMeteredRuntime } from './support/metered-runtime.ts';

const SENDS = Number(process.env.BENCH_HISTORY_SENDS ?? 10_000);
const RUNS = Number(process.env.BENCH_HISTORY_RUNS ?? 3);
const DAY = 86_400_000;

/**
 * `POST /v1/campaigns/import` of a 10,000-send history through the local runtime (DynamoDB Local
 * behind the metering proxy): 10 % holdout, variants A/B, half the sends by email address and half
 * by contact id, and interactions and conversions as a Pinpoint export carries them (delivered for
 * half the sent, opened for a quarter, clicked for 8 %, conversions for 2 % of everyone), dated
 * 45 days back so behaviour months are listed on the contacts as for any older history.
 * Measures sends/s of a first import (a new campaign each run) and of the same history imported
 * again, and write units per send and per row (what DynamoDB would bill on AWS).
 */
export async function run(): Promise<void> {
  const bench = await startMeteredRuntime();
  const { runtime, meter } = bench;
  try {
    const now = new Date().toISOString();
    const ids = Array.from({ length: SENDS }, (_, i) => `${String(i).padStart(8, '0')}-0000-4000-8000-${'0'.repeat(12)}`);
    await bench.seed(
      runtime.tableNames.contacts!,
      ids.map((id, i) => {
        const c = newContact(id, now);
        c.email = `hist${i}@example.com`;
        c.consent = { email: { status: 'confirmed', updatedAt: now, source: 'bench', wordingVersion: 'v1', confirmedAt: now } };
        return c as unknown as Record<string, unknown>;
      }),
    );
    await bench.seed(runtime.tableNames.contactLookups!, ids.map((contactId, i) => ({ key: `email#hist${i}@example.com`, contactId, createdAt: now })));

    const random = prng(13);
    const launched = Date.now() - 45 * DAY;
    const at = (hours: number) => new Date(launched + hours * 3_600_000).toISOString();
    const contact = (i: number) => (i % 2 ? { email: `hist${i}@example.com` } : { contactId: ids[i]! });
    const sends = ids.map((_, i) => ({ contact: contact(i), channel: 'email', sentAt: at(0), holdout: i % 10 === 9, variant: i % 2 ? 'B' : 'A' }));
    const interactions: Array<Record<string, unknown>> = [];
    const conversions: Array<Record<string, unknown>> = [];
    ids.forEach((_, i) => {
      const r = random();
      if (i % 10 !== 9) {
        if (r < 0.5) interactions.push({ contact: contact(i), type: 'delivered', occurredAt: at(0.1) });
        if (r < 0.25) interactions.push({ contact: contact(i), type: 'opened', occurredAt: at(2) });
        if (r < 0.08) interactions.push({ contact: contact(i), type: 'clicked', occurredAt: at(3), link: 'https://shop.example.com/spring' });
      }
      if (random() < 0.02) conversions.push({ contact: contact(i), name: 'purchase', value: 20 + Math.round(random() * 80), occurredAt: at(30), idempotencyKey: `order-${i}` });
    });
    const body = (n: number) => ({
      campaign: { externalId: `bench-history-${n}`, name: `Bench history ${n}`, launchedAt: at(0), goal: { event: 'purchase', attributionWindowDays: 7, model: 'last_touch' }, costPerMessage: { email: 0.0001 } },
      sends,
      interactions,
      conversions,
    });
    const rows = sends.length + interactions.length + conversions.length;

    const timed = async (n: number) => {
      meter.reset();
      const start = performance.now();
      const result = await bench.api<{ summary: { sends: number; holdout: number } }>('POST', '/v1/campaigns/import', body(n));
      const seconds = (performance.now() - start) / 1000;
      return { rate: SENDS / seconds, seconds, write: meter.units.write, read: meter.units.read, result };
    };
    const first: Array<Awaited<ReturnType<typeof timed>>> = [];
    const again: Array<Awaited<ReturnType<typeof timed>>> = [];
    await timed(0); // warm-up: function cold start, JIT
    for (let n = 1; n <= RUNS; n++) {
      first.push(await timed(n));
      again.push(await timed(n));
      if (first.at(-1)!.result.summary.sends + first.at(-1)!.result.summary.holdout !== SENDS) throw new Error(`first import counted ${JSON.stringify(first.at(-1)!.result.summary)}`);
      if (again.at(-1)!.result.summary.sends + again.at(-1)!.result.summary.holdout !== 0) throw new Error(`re-import counted ${JSON.stringify(again.at(-1)!.result.summary)}`);
    }
    const firstWrite = median(first.map((f) => f.write));
    print(`History import: ${SENDS.toLocaleString('en-US')} sends, ${interactions.length.toLocaleString('en-US')} interactions, ${conversions.length} conversions (${rows.toLocaleString('en-US')} rows) through POST /v1/campaigns/import, median of ${RUNS}`, [
      { name: 'first import', value: median(first.map((f) => f.rate)), unit: 'sends/s', target: '≥ 2,000' },
      { name: 'first import, wall time', value: median(first.map((f) => f.seconds)), unit: 's' },
      { name: 'import again (nothing new)', value: median(again.map((f) => f.rate)), unit: 'sends/s' },
      { name: 'write units per send, first import', value: firstWrite / SENDS, unit: 'WCU' },
      { name: 'write units per row, first import', value: firstWrite / rows, unit: 'WCU' },
      { name: 'read units per send, first import', value: median(first.map((f) => f.read)) / SENDS, unit: 'RCU' },
      { name: 'write units per send, import again', value: median(again.map((f) => f.write)) / SENDS, unit: 'WCU' },
      { name: 'DynamoDB cost of a first import, per million sends', value: ((firstWrite * PRICE.dynamoWrite + median(first.map((f) => f.read)) * PRICE.dynamoRead) / SENDS) * 1e6, unit: 'USD' },
    ]);
  } finally {
    await bench.stop();
  }
}
