import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '../infra/paths.ts';
import { median, medianOf, print } from './harness.ts';

/**
 * `npm start` from launch to a healthy `/health` (DynamoDB Local's JVM included), and from Ctrl-C
 * to every process gone: the figures test/integration/npm-start.test.ts used to assert (under 30 s)
 * and the README's "about ten seconds".
 */
async function startAndStop(): Promise<{ upMs: number; downMs: number }> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'touchloop-bench-start-'));
  const started = performance.now();
  const child = spawn('npm', ['start', '--', '--port', '0'], { cwd: repoRoot, env: { ...process.env, TOUCHLOOP_STATE_DIR: stateDir }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    let apiUrl: string | undefined;
    while (!apiUrl) {
      if (child.exitCode !== null) throw new Error(`npm start exited before coming up:\n${output}`);
      apiUrl = /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (!apiUrl) await new Promise((r) => setTimeout(r, 20));
    }
    const health = (await (await fetch(`${apiUrl}/health`)).json()) as { status: string };
    if (health.status !== 'ok') throw new Error(`health: ${JSON.stringify(health)}`);
    const upMs = performance.now() - started;
    const stopping = performance.now();
    process.kill(-child.pid!, 'SIGINT');
    await exited;
    return { upMs, downMs: performance.now() - stopping };
  } finally {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const downs: number[] = [];
  const upMs = await medianOf(3, async () => {
    const { upMs, downMs } = await startAndStop();
    downs.push(downMs);
    return upMs;
  });
  const downMs = median(downs.slice(1)); // without the warm-up
  print('npm start (median of 3 runs after a warm-up; a fresh state directory each)', [
    { name: 'launch to a healthy /health', value: upMs, unit: 'ms', target: '≈ 10 s, < 30 s' },
    { name: 'Ctrl-C to npm exited', value: downMs, unit: 'ms' },
  ]);
}
