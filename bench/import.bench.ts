/**
 * Bulk imports through the local runtime (DynamoDB Local behind the capacity meter), one
 * section per import kind; `npm run bench -- import` runs them. Each section returns its figures
 * and the file prints them; a new kind adds a section to SECTIONS.
 *
 * Contacts: the contacts chunk processor (what an import job's worker and `POST /v1/contacts/import`
 * run; in process, against the runtime's tables through the meter and its event bus, so that a
 * loaded machine's slowness meets no 29 s API limit) over 10,000 rows (CSV and NDJSON), new contacts with email
 * consent evidence, then the same file again (existing contacts, unchanged) and a changed file
 * (existing contacts, updated); single `POST /v1/contacts` upserts one at a time in the same run
 * for the ratio; write units per row from the meter, for the contact tables alone (what the
 * import writes) and for every table once the pipeline settled (timeline entries recorded from
 * the import's events included).
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { DynamoDBClient, TransactWriteItemsCommand, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { OutgoingEvent } from '../events/contract.ts';
import { ConsentLog } from '../shared/contacts/consents.ts';
import { ContactService } from '../shared/contacts/contact-service.ts';
import { ContactStore } from '../shared/contacts/contact-store.ts';
import { contactsChunkProcessor } from '../shared/contacts/import.ts';
import { SuppressionStore } from '../shared/contacts/suppressions.ts';
import { Timeline } from '../shared/contacts/timeline.ts';
import type { ImportChunk } from '../shared/imports/chunk.ts';
import { forEachLimit } from '../shared/concurrency.ts';
import { median, print, type Figure } from './harness.ts';
import { startMeteredRuntime, type MeteredRuntime } from './support/metered-runtime.ts';

const ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 10_000);
const RUNS = Number(process.env.BENCH_IMPORT_RUNS ?? 3);
const SINGLE_UPSERTS = Number(process.env.BENCH_SINGLE_UPSERTS ?? 300);

type Section = (bench: MeteredRuntime) => Promise<{ title: string; figures: Figure[] }>;

/** Write units the meter saw on the named tables since its last reset. */
function unitsOn(bench: MeteredRuntime, tables: string[]): number {
  const names = new Set(tables.map((t) => bench.runtime.tableNames[t]!));
  return Object.entries(bench.meter.units.writeUnitsByTable).reduce((sum, [table, units]) => sum + (names.has(table) ? units : 0), 0);
}

const CONTACT_TABLES = ['contacts', 'contactLookups', 'consents', 'suppressions'];

function contactsFile(format: 'csv' | 'ndjson', prefix: string, offset: number, name: string): string {
  if (format === 'csv') {
    return ['email,phone,first_name,plan,tags,consent_email,consent_email_version,consent_email_at', ...Array.from({ length: ROWS }, (_, i) => `${prefix}${i}@example.com,+4474${String(offset + i).padStart(8, '0')},${name}${i},${i % 3 ? 'free' : 'pro'},bench,yes,2026-11,2026-11-02`)].join('\n');
  }
  return Array.from({ length: ROWS }, (_, i) =>
    JSON.stringify({ email: `${prefix}${i}@example.com`, phone: `+4474${String(offset + i).padStart(8, '0')}`, attributes: { first_name: `${name}${i}`, plan: i % 3 ? 'free' : 'pro' }, tags: ['bench'], consent: { email: { status: 'confirmed', wordingVersion: '2026-11', capturedAt: '2026-11-02' } } }),
  ).join('\n');
}

interface Measured {
  rowsPerSecond: number;
  /** Write units per row on the contact tables, right after the import answered. */
  ownUnits: number;
  /** Write units per row on every table once the pipeline settled (the events' consumers included). */
  settledUnits: number;
}

/** The contacts chunk processor wired to the runtime's tables (through the meter) and its event bus. */
function processorFor(bench: MeteredRuntime) {
  const { runtime } = bench;
  const raw = new DynamoDBClient({ endpoint: runtime.urls.dynamodb, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const db = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false } });
  const tables = runtime.tableNames;
  const key = randomBytes(32);
  const hash = async (purpose: string, value: string) => createHmac('sha256', key).update(`${purpose}\u0000${value}`).digest('base64url');
  const bus = runtime.bus.listRules().find((rule) => JSON.stringify(rule.pattern).includes('contact.updated'))!.bus;
  const publish = async (events: OutgoingEvent[]) => {
    runtime.bus.putEvents(events.map((e) => ({ EventBusName: bus, Source: e.source, DetailType: e.detailType, Detail: JSON.stringify(e.detail) })));
  };
  const store = new ContactStore({ contacts: tables.contacts!, contactLookups: tables.contactLookups!, consents: tables.consents! }, db);
  const suppressions = new SuppressionStore(tables.suppressions!, db, hash);
  const service = new ContactService({ contacts: store, suppressions, consents: new ConsentLog(tables.consents!, db), timeline: new Timeline(tables.interactions!, tables.contacts!, tables.activity!, db), publish, hash });
  return contactsChunkProcessor({ store, suppressions, service, publish });
}

async function timedImport(bench: MeteredRuntime, body: string, format: 'csv' | 'ndjson', expect: 'created' | 'unchanged' | 'updated'): Promise<Measured> {
  const importChunk = processorFor(bench);
  const [header, ...rest] = format === 'csv' ? body.split('\n') : [undefined, ...body.split('\n')];
  const chunk: ImportChunk = { jobId: randomUUID(), kind: 'contacts', format, index: 0, ...(header !== undefined ? { header } : {}), text: rest.join('\n'), firstLine: format === 'csv' ? 2 : 1 };
  await bench.runtime.idle(10 * 60_000);
  bench.meter.reset();
  const start = performance.now();
  const outcomes = await importChunk(chunk);
  const seconds = (performance.now() - start) / 1000;
  const got = outcomes.filter((o) => o.status === expect).length;
  if (got !== ROWS) throw new Error(`expected ${ROWS} ${expect}, got ${got}: ${JSON.stringify(outcomes.find((o) => o.status !== expect))}`);
  const ownUnits = unitsOn(bench, CONTACT_TABLES) / ROWS;
  await bench.runtime.idle(10 * 60_000);
  const measured = { rowsPerSecond: ROWS / seconds, ownUnits, settledUnits: bench.meter.units.write / ROWS };
  console.error(`  … ${format} ${expect}: ${measured.rowsPerSecond.toFixed(0)} rows/s, ${ownUnits.toFixed(2)} WCU/row (contact tables), ${measured.settledUnits.toFixed(2)} WCU/row settled`);
  return measured;
}

/**
 * What DynamoDB Local itself allows for the writes a new contact needs: the contact, its email
 * and phone lookups and its consent record, four conditional puts per row in transactions of 100
 * items, two in flight (the import's setting), through the same meter, with nothing else done:
 * no reads, no parsing, no events. The import's rate is quoted as a share of this.
 */
async function transactionCeiling(bench: MeteredRuntime, run: number): Promise<number> {
  const { runtime } = bench;
  const client = new DynamoDBClient({ endpoint: runtime.urls.dynamodb, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const tables = runtime.tableNames;
  const rowsPerTransaction = 25;
  const transactions = Array.from({ length: ROWS / rowsPerTransaction }, (_, t) => t);
  const notExists = (key: string) => ({ ConditionExpression: 'attribute_not_exists(#k)', ExpressionAttributeNames: { '#k': key } });
  await bench.runtime.idle(10 * 60_000);
  const start = performance.now();
  await forEachLimit(transactions, 2, async (t) => {
    const items = Array.from({ length: rowsPerTransaction }, (_, r): TransactWriteItem[] => {
      const i = t * rowsPerTransaction + r;
      const id = `ceiling${run}-${i}`;
      return [
        { Put: { TableName: tables.contacts!, Item: { id: { S: id }, email: { S: `${id}@example.com` }, phone: { S: `+4476${String(i).padStart(8, '0')}` }, attributes: { M: { first_name: { S: `Name${i}` }, plan: { S: 'free' } } }, tags: { L: [{ S: 'bench' }] }, version: { N: '1' } }, ...notExists('id') } },
        { Put: { TableName: tables.contactLookups!, Item: { key: { S: `email#${id}@example.com` }, contactId: { S: id } }, ...notExists('key') } },
        { Put: { TableName: tables.contactLookups!, Item: { key: { S: `phone#${id}` }, contactId: { S: id } }, ...notExists('key') } },
        { Put: { TableName: tables.consents!, Item: { contactId: { S: id }, sk: { S: `2026-11-02#email#${id}` }, status: { S: 'confirmed' }, wordingVersion: { S: '2026-11' } }, ...notExists('sk') } },
      ];
    }).flat();
    await client.send(new TransactWriteItemsCommand({ TransactItems: items }));
  });
  const rate = ROWS / ((performance.now() - start) / 1000);
  client.destroy();
  console.error(`  … DynamoDB Local ceiling: ${rate.toFixed(0)} rows/s`);
  return rate;
}

const contacts: Section = async (bench) => {
  // Single upserts, one at a time: what a row cost when the import upserted row by row.
  const single = async (run: number) => {
    await bench.runtime.idle(10 * 60_000);
    bench.meter.reset();
    const start = performance.now();
    for (let i = 0; i < SINGLE_UPSERTS; i++) {
      await bench.api('POST', '/v1/contacts', {
        email: `single${run}-${i}@example.com`,
        phone: `+4475${String(run * SINGLE_UPSERTS + i).padStart(8, '0')}`,
        attributes: { first_name: `Single${i}`, plan: 'free' },
        tags: ['bench'],
        consent: { email: { status: 'confirmed', wordingVersion: '2026-11', capturedAt: '2026-11-02T00:00:00.000Z' } },
      });
    }
    const seconds = (performance.now() - start) / 1000;
    const measured = { perSecond: SINGLE_UPSERTS / seconds, ownUnits: unitsOn(bench, CONTACT_TABLES) / SINGLE_UPSERTS };
    console.error(`  … single upserts: ${measured.perSecond.toFixed(1)}/s, ${measured.ownUnits.toFixed(2)} WCU each (contact tables)`);
    return measured;
  };
  await single(0); // warm-up
  const singles = [];
  for (let run = 1; run <= RUNS; run++) singles.push(await single(run));
  const singlePerSecond = median(singles.map((s) => s.perSecond));

  const figures: Figure[] = [{ name: `single POST /v1/contacts, one at a time (${SINGLE_UPSERTS})`, value: singlePerSecond, unit: 'upserts/s' }];
  const formats = ['csv', 'ndjson'] as const;
  for (const [index, format] of formats.entries()) {
    const results: Record<'created' | 'unchanged' | 'updated', Measured[]> = { created: [], unchanged: [], updated: [] };
    // A warm-up import, then RUNS of: new file, the same file again, the file with changed names.
    for (let run = 0; run <= RUNS; run++) {
      const prefix = `${format}${run}-`;
      const offset = (index * (RUNS + 1) + run) * ROWS;
      const created = await timedImport(bench, contactsFile(format, prefix, offset, 'Name'), format, 'created');
      const unchanged = await timedImport(bench, contactsFile(format, prefix, offset, 'Name'), format, 'unchanged');
      const updated = await timedImport(bench, contactsFile(format, prefix, offset, 'Renamed'), format, 'updated');
      if (run === 0) continue;
      results.created.push(created);
      results.unchanged.push(unchanged);
      results.updated.push(updated);
    }
    for (const kind of ['created', 'unchanged', 'updated'] as const) {
      const label = { created: 'new contacts', unchanged: 're-import, unchanged', updated: 're-import, every row changed' }[kind];
      const rate = median(results[kind].map((m) => m.rowsPerSecond));
      figures.push(
        { name: `${format.toUpperCase()} ${ROWS.toLocaleString('en-US')} rows, ${label}`, value: rate, unit: 'rows/s', target: '≥ 2,000' },
        { name: `  ratio to single upserts`, value: rate / singlePerSecond, unit: '×' },
        { name: `  write units per row, contact tables`, value: median(results[kind].map((m) => m.ownUnits)), unit: 'WCU' },
        { name: `  write units per row, all tables once settled`, value: median(results[kind].map((m) => m.settledUnits)), unit: 'WCU' },
      );
    }
  }
  figures.push({ name: 'single upsert, write units on the contact tables', value: median(singles.map((s) => s.ownUnits)), unit: 'WCU' });
  const ceilings = [];
  for (let run = 1; run <= RUNS; run++) ceilings.push(await transactionCeiling(bench, run));
  const ceiling = median(ceilings);
  const csvNew = figures.find((f) => f.name.startsWith('CSV') && f.name.endsWith('new contacts'))!.value;
  figures.push(
    { name: 'DynamoDB Local ceiling: the 4 conditional puts of a new contact alone, 100-item transactions', value: ceiling, unit: 'rows/s' },
    { name: '  CSV new contacts as a share of that ceiling', value: (100 * csvNew) / ceiling, unit: '%' },
  );
  return { title: `Contact import through the local runtime, ${ROWS.toLocaleString('en-US')} rows (median of ${RUNS} runs after a warm-up)`, figures };
};

/** One entry per import kind; each prints its own table. */
const SECTIONS: Section[] = [contacts];

export async function run(): Promise<void> {
  const bench = await startMeteredRuntime();
  try {
    for (const section of SECTIONS) {
      const { title, figures } = await section(bench);
      print(title, figures);
    }
  } finally {
    await bench.stop();
  }
}
