/**
 * `npm run bench`: runs every benchmark (or those whose file name contains an argument) and
 * prints its figures. Figures are medians of several runs in one process; compare ratios
 * measured in the same run, not absolute numbers across machines.
 *
 * Each benchmark file runs in a child process of its own: a local runtime loads the handlers
 * once per process (ES modules are cached), so a second benchmark's runtime in the same process
 * would call the first one's stopped services.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = import.meta.dirname;
const only = process.env.TOUCHLOOP_BENCH_FILE;

if (only) {
  const module = (await import(pathToFileURL(path.join(dir, only)).href)) as { run: () => Promise<void> };
  await module.run();
} else {
  const filters = process.argv.slice(2);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => filters.length === 0 || filters.some((filter) => f.includes(filter)))
    .sort();
  console.log(`Touchloop benchmarks on Node ${process.versions.node}, ${new Date().toISOString()}`);
  let failed = 0;
  for (const file of files) {
    // The same Node with tsx's hooks (execArgv), this script, one file.
    const child = spawnSync(process.execPath, [...process.execArgv, import.meta.filename], { stdio: 'inherit', env: { ...process.env, TOUCHLOOP_BENCH_FILE: file } });
    if (child.status !== 0) {
      failed++;
      console.error(`${file} failed (${child.signal ?? `exit ${child.status}`})`);
    }
  }
  if (failed > 0) process.exitCode = 1;
}
