import { buildConsole } from '../../infra/console/build.ts';

/**
 * vitest globalSetup: builds the console once before any test file runs (skipped when
 * console/dist is newer than its sources), so the files that serve it never build side by side.
 */
export default async function setup(): Promise<void> {
  await buildConsole({ log: (line) => console.log(`[console] ${line}`) });
}
