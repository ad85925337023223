import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../paths.ts';

/** Where `vite build` puts the console (gitignored). */
export const consoleDist = path.join(repoRoot, 'console', 'dist');
const STAMP = path.join(consoleDist, '.stamp');
/** What the console's bundle is built from: its own sources and the shared schemas it imports. */
const SOURCES = ['console', 'shared', 'events'].map((d) => path.join(repoRoot, d));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** True when console/dist is missing or older than a file it is built from. */
export function consoleIsStale(): boolean {
  if (!existsSync(STAMP) || !existsSync(path.join(consoleDist, 'index.html'))) return true;
  const built = statSync(STAMP).mtimeMs;
  return SOURCES.some((dir) => existsSync(dir) && newestMtime(dir) > built);
}

/**
 * Builds the console with Vite's API when its sources changed (or `force`), and returns the dist
 * directory. `npm start`, the test setup and `cdk synth` all call this, so nobody runs a separate
 * build step. The stamp is written last: an interrupted build is built again next time.
 */
export async function buildConsole(options: { force?: boolean; log?: (line: string) => void } = {}): Promise<string> {
  if (!options.force && !consoleIsStale()) return consoleDist;
  const started = Date.now();
  const { build } = await import('vite');
  await build({ configFile: path.join(repoRoot, 'console', 'vite.config.ts'), logLevel: 'warn' });
  writeFileSync(STAMP, new Date().toISOString());
  options.log?.(`console built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return consoleDist;
}
