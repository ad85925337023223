/**
 * `npm run bench`: runs every benchmark (or those whose file name contains an argument) and
 * prints its figures. Figures are medians of several runs in one process; compare ratios
 * measured in the same run, not absolute numbers across machines.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const filters = process.argv.slice(2);
const dir = import.meta.dirname;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((filter) => f.includes(filter)))
  .sort();

console.log(`Touchloop benchmarks on Node ${process.versions.node}, ${new Date().toISOString()}`);
for (const file of files) {
  const module = (await import(pathToFileURL(path.join(dir, file)).href)) as { run: () => Promise<void> };
  await module.run();
}
