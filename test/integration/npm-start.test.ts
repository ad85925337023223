import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { repoRoot } from '../../infra/paths.ts';

let child: ChildProcess | undefined;
const stateDir = mkdtempSync(path.join(tmpdir(), 'touchloop-start-'));
afterAll(() => {
  if (child?.pid && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(stateDir, { recursive: true, force: true });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Child processes of a pid, from /proc (Linux). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const walk = (parent: number) => {
    const file = `/proc/${parent}/task/${parent}/children`;
    if (!existsSync(file)) return;
    for (const child of readFileSync(file, 'utf8').split(/\s+/).filter(Boolean).map(Number)) {
      out.push(child);
      walk(child);
    }
  };
  walk(pid);
  return out;
}

// How long it takes to come up is a benchmark figure (npm run bench -- local-start), not asserted here.
test('npm start brings every component up (the console too), answers /health, writes the dev token, and Ctrl-C leaves no process behind', async () => {
  child = spawn('npm', ['start', '--', '--port', '0'], {
    cwd: repoRoot,
    env: { ...process.env, TOUCHLOOP_STATE_DIR: stateDir },
    detached: true, // its own process group, like a terminal's foreground job
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  // Until the banner names the API, or npm exits without it.
  const apiUrl = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearInterval(timer);
        resolve(match[1]!);
      } else if (child!.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`npm start exited with ${child!.exitCode} before coming up:\n${output}`));
      }
    }, 100);
  });
  const health = (await (await fetch(`${apiUrl}/health`)).json()) as { status: string; components: Record<string, { status: string; url: string; inboxUrl?: string }> };
  expect(health.status).toBe('ok');
  for (const name of ['api', 'dynamodb', 'ses', 'sms']) {
    expect(health.components[name], name).toMatchObject({ status: 'up', url: expect.stringMatching(/^http:\/\//) });
  }
  expect(health.components.ses!.inboxUrl).toMatch(/^http:\/\//);
  const token = readFileSync(path.join(stateDir, 'dev-token'), 'utf8').trim();
  expect(output).toContain(token);
  const authed = await fetch(`${apiUrl}/v1/contacts/00000000-0000-4000-8000-000000000000`, { headers: { authorization: `Bearer ${token}` } });
  expect(authed.status).toBe(404);
  // The console is up at the printed URL, on its own port, and reaches the API through it.
  const consoleUrl = /Console\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
  expect(consoleUrl, 'the banner prints the console URL').toBeDefined();
  expect(consoleUrl).not.toBe(apiUrl);
  expect(await (await fetch(`${consoleUrl}/`)).text()).toContain('<div id="app">');
  expect((await fetch(`${consoleUrl}/v1/contacts/00000000-0000-4000-8000-000000000000`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);

  const processes = [child.pid!, ...descendants(child.pid!)];
  expect(processes.length).toBeGreaterThanOrEqual(3); // npm, node, java at least
  // Ctrl-C in a terminal signals the whole foreground process group.
  process.kill(-child.pid!, 'SIGINT');
  // 'close', not 'exit': it comes once the output pipes are drained too, so the last lines are in `output`.
  await new Promise<void>((resolve) => child!.once('close', () => resolve()));
  // npm can exit a moment before its children are reaped: wait for them rather than for a fixed time.
  while (processes.some(isAlive)) await new Promise((r) => setTimeout(r, 100));
  expect(processes.filter(isAlive)).toEqual([]);
  expect(output).toContain('stopped.');
}, 120_000);
