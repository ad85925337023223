/**
 * Failures are logged under the function that failed, although the local runtime runs every
 * function in one process. (A runtime of its own: two runtimes in one file share process.env.)
 */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { defineTopology } from '../../infra/topology-types.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

const REQUEST_LINE = /^(GET|POST|PUT|PATCH|DELETE|OPTIONS|HEAD) (\S+) (\d{3}) (\d+)ms (\S+)$/;
const requestLines = (logs: string[]) => logs.filter((l) => REQUEST_LINE.test(l));

describe('failures are logged under the function that failed', () => {
  // Three functions from one module: whichever loads first must not lend its name to the others' lines.
  const topology = defineTopology({
    tables: {},
    queues: {},
    functions: {
      'quiet-api': { description: 'answers', entry: 'test/fixtures/logging-handlers.ts', handler: 'quiet', timeoutSeconds: 5, http: [{ method: 'GET', path: '/quiet', public: true }] },
      'failing-api': { description: 'fails inside httpApi', entry: 'test/fixtures/logging-handlers.ts', handler: 'failing', timeoutSeconds: 5, http: [{ method: 'GET', path: '/boom', public: true }] },
      'crashing-api': { description: 'throws', entry: 'test/fixtures/logging-handlers.ts', handler: 'crashing', timeoutSeconds: 5, http: [{ method: 'GET', path: '/crash', public: true }] },
    },
    rules: {},
  });
  let fixture: TestRuntime;
  beforeAll(async () => {
    fixture = await startTestRuntime({ topology });
  });
  afterAll(async () => {
    await fixture?.stop();
  });

  test("a handler's unhandled error is a JSON log line with that function's name and request id", async () => {
    // Prepare: Powertools writes to the console in the local runtime (POWERTOOLS_DEV).
    const printed: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((line: unknown) => void printed.push(String(line)));
    try {
      // Act
      expect((await fixture.api('GET', '/quiet', { token: null })).status).toBe(200);
      const failed = await fixture.api<{ error: { requestId: string } }>('GET', '/boom', { token: null });
      // Assess
      expect(failed.status).toBe(500);
      const lines = printed.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.message === 'unhandled error');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 'ERROR', service: 'failing-api', function_name: 'failing-api', function_request_id: failed.body.error.requestId });
    } finally {
      spy.mockRestore();
    }
  });

  test("a function that throws is logged by the gateway under the function's name (through the log option), and its request line says 500", async () => {
    // Prepare
    fixture.logs.length = 0;
    // Act
    const response = await fixture.api('GET', '/crash', { token: null });
    // Assess
    expect(response.status).toBe(500);
    await expect.poll(() => requestLines(fixture.logs)).toEqual([expect.stringMatching(/^GET \/crash 500 \d+ms crashing-api$/)]);
    const failures = fixture.logs.filter((l) => !REQUEST_LINE.test(l));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^\[crashing-api\] GET \/crash failed: Error: crash from the crashing handler/);
  });
});

