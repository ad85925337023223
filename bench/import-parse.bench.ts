import { MAX_IMPORT_ROWS, parseImport } from '../shared/contacts/import-parse.ts';
import { medianOf, print } from './harness.ts';

/**
 * Parsing a contact import of the largest accepted size (`POST /v1/contacts/import`), in process:
 * the figure test/unit/import-parse.test.ts used to assert ("quickly", under 2 s).
 */
export async function run(): Promise<void> {
  const csv =
    'email,firstName,lastName,city,tags,consent_email,consent_email_version,phone,country,timezone\n' +
    Array.from({ length: MAX_IMPORT_ROWS }, (_, i) => `user${i}@example.com,Ada,"Love, lace",London,vip;news,yes,2024-01,+447700${String(i).padStart(6, '0')},GB,Europe/London\n`).join('');
  const ndjson = Array.from({ length: MAX_IMPORT_ROWS }, (_, i) =>
    JSON.stringify({ email: `user${i}@example.com`, phone: `+447700${String(i).padStart(6, '0')}`, tags: ['vip'], attributes: { firstName: 'Ada', n: i } }),
  ).join('\n');

  const timed = (body: string, format: 'csv' | 'ndjson') => () => {
    const start = performance.now();
    const rows = parseImport(body, format);
    const ms = performance.now() - start;
    if (rows.length !== MAX_IMPORT_ROWS || rows.some((r) => r.problems.length)) throw new Error(`${format}: ${rows.length} rows, some with problems`);
    return ms;
  };
  const csvMs = await medianOf(7, timed(csv, 'csv'));
  const ndjsonMs = await medianOf(7, timed(ndjson, 'ndjson'));

  print(`Contact import parsing, ${MAX_IMPORT_ROWS.toLocaleString('en-US')} rows (median of 7 runs, one process)`, [
    { name: 'CSV, 10 columns (quoted fields, tags, consent, phone)', value: csvMs, unit: 'ms', target: '< 2,000 ms' },
    { name: 'CSV rows per second', value: MAX_IMPORT_ROWS / (csvMs / 1000), unit: 'rows/s' },
    { name: 'NDJSON, 4 fields', value: ndjsonMs, unit: 'ms' },
  ]);
}
