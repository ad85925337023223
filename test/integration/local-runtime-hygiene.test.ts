/**
 * Local runtime hygiene: one log line per HTTP request, every local service listening on 127.0.0.1
 * only, and hostile paths answered with a 4xx (failures' log lines: local-runtime-logging.test.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { requestLogLine } from '../../infra/local/http-gateway.ts';
import { canReadSocketTable, listeningAddresses } from '../helpers/listening.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

const REQUEST_LINE = /^(GET|POST|PUT|PATCH|DELETE|OPTIONS|HEAD) (\S+) (\d{3}) (\d+)ms (\S+)$/;
const requestLines = (logs: string[]) => logs.filter((l) => REQUEST_LINE.test(l));

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => {
  await t?.stop();
});

describe('one log line per HTTP request', () => {
  test('the format: method, path, status, milliseconds, function', () => {
    expect(requestLogLine('POST', '/v1/contacts', 201, 12.4, 'contacts-api')).toBe('POST /v1/contacts 201 12ms contacts-api');
    // An overlong path is cut, so one request stays one readable line.
    const long = requestLogLine('GET', `/t/c/${'x'.repeat(5000)}`, 400, 1, 'tracking');
    expect(long.length).toBeLessThan(260);
    expect(long).toMatch(/^GET \/t\/c\/x+… 400 1ms tracking$/);
  });

  test('each request, answered by a function, by the runtime or by nobody, is logged exactly once', async () => {
    // Prepare
    t.logs.length = 0;
    const contactId = '00000000-0000-4000-8000-000000000000';
    // Act
    const answers = [
      await t.api('GET', '/health', { token: null }),
      await t.api('POST', '/v1/contacts', { body: { email: 'log-line@example.com' } }),
      await t.api('GET', `/v1/contacts/${contactId}`, { token: null }),
      await t.api('GET', `/v1/contacts/${contactId}`),
      await t.api('GET', '/no/such/route', { token: null }),
      await t.api('GET', '/v1/contacts/%E0%A4%A'),
    ];
    // Assess: the line is written when the response closes, which can trail the client by a tick.
    await expect.poll(() => requestLines(t.logs).length).toBe(answers.length);
    const parsed = requestLines(t.logs).map((line) => {
      const [, method, path, status, , target] = REQUEST_LINE.exec(line)!;
      return { method, path, status: Number(status), target };
    });
    expect(parsed).toEqual([
      { method: 'GET', path: '/health', status: 200, target: 'runtime' },
      { method: 'POST', path: '/v1/contacts', status: 201, target: 'contacts-api' },
      { method: 'GET', path: `/v1/contacts/${contactId}`, status: 401, target: 'contacts-api' },
      { method: 'GET', path: `/v1/contacts/${contactId}`, status: 404, target: 'contacts-api' },
      { method: 'GET', path: '/no/such/route', status: 404, target: '-' },
      { method: 'GET', path: '/v1/contacts/%E0%A4%A', status: 400, target: 'contacts-api' },
    ]);
    expect(answers.map((a) => a.status)).toEqual(parsed.map((p) => p.status));
  });
});

describe.skipIf(!canReadSocketTable())('every local endpoint listens on 127.0.0.1 only', () => {
  test('API, DynamoDB Local, SES, SMS sink and AWS endpoint, as the OS socket table shows them', () => {
    const components = Object.entries({ api: t.runtime.urls.api, dynamodb: t.runtime.urls.dynamodb, ses: t.runtime.urls.ses, sms: t.runtime.urls.sms, aws: t.runtime.urls.aws });
    for (const [name, url] of components) {
      const addresses = listeningAddresses(Number(new URL(url).port));
      // Listening at all (so the check is not vacuous), and on nothing but loopback.
      expect(addresses.length, name).toBeGreaterThan(0);
      expect(new Set(addresses), `${name} (${url})`).toEqual(new Set(['127.0.0.1']));
    }
  });

  test('the socket table reader sees a server bound to every interface as such', async () => {
    // The check above would pass vacuously if wildcard binds were misread as loopback.
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    try {
      const { port } = server.address() as { port: number };
      expect(listeningAddresses(port)).toEqual(['0.0.0.0']);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('hostile paths and bodies get a 4xx', () => {
  test('a malformed percent-escape in a path parameter → 401 without a token on a protected route, 400 with one; 400 on a public route', async () => {
    for (const path of ['/v1/contacts/%E0%A4%A', '/v1/forms/%zz', '/v1/segments/%', '/v1/campaigns/%C0%80/launch']) {
      const method = path.endsWith('/launch') ? 'POST' : 'GET';
      expect((await t.api(method, path, { token: null })).status, `${path} without a token`).toBe(401);
      const authed = await t.api<{ error: { code: string; issues: Array<{ path: string }> } }>(method, path);
      expect(authed.status, path).toBe(400);
      expect(authed.body.error.code).toBe('validation_failed');
      expect(authed.body.error.issues[0]!.path).toBe('params.id');
    }
    for (const [method, path, param] of [
      ['POST', '/f/%E0%A4%A', 'formId'],
      ['GET', '/f/%FF/embed', 'formId'],
      ['GET', '/t/c/%E0%A4%A', 'token'],
      ['GET', '/t/o/%', 'token'],
      ['GET', '/u/%D8%00', 'token'],
      ['POST', '/e/%zz', 'siteKey'],
      ['GET', '/f/confirm/%ED%A0%80', 'token'],
    ] as const) {
      const response = await t.api<{ error: { issues: Array<{ path: string }> } }>(method, path, { token: null });
      expect(response.status, path).toBe(400);
      expect(response.body.error.issues).toEqual([{ path: `params.${param}`, message: 'is not valid percent-encoded UTF-8' }]);
    }
  });

  test('a path starting with // is a path (404), not a server error', async () => {
    for (const path of ['//', '///', '//%', '//[', '//a:99999/x']) {
      const response = await fetch(`${t.runtime.urls.api}${path}`);
      expect(response.status, path).toBe(404);
    }
  });

  test('POST /_local/sms/inbound with a bad body → 400 naming the problem; a good one → 202', async () => {
    const post = (body: string) => fetch(`${t.runtime.urls.api}/_local/sms/inbound`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const cases: Array<[string, string]> = [
      ['{"from":', ''],
      ['[]', ''],
      ['{"body":"STOP"}', 'from'],
      ['{"from":"not a number","body":"STOP"}', 'from'],
      ['{"from":"+447400123456"}', 'body'],
      ['{"from":"+447400123456","body":42}', 'body'],
      ['{"from":"+447400123456","body":"STOP","extra":1}', 'extra'],
    ];
    for (const [body, path] of cases) {
      const response = await post(body);
      const json = (await response.json()) as { error: { code: string; message: string; issues: Array<{ path: string }> } };
      expect(response.status, body).toBe(400);
      expect(json.error.message).toContain('"from": "+447400123456"');
      expect(json.error.issues.map((i) => i.path), body).toContain(path);
    }
    expect((await post('{"from":"+447400123456","body":"HELP"}')).status).toBe(202);
    await t.runtime.idle();
  });

  test('POST /_local/schedules/{name}/run with a malformed escape → 400', async () => {
    const response = await t.api<{ error: { issues: Array<{ path: string }> } }>('POST', '/_local/schedules/%E0%A4%A/run', { token: null });
    expect(response.status).toBe(400);
    expect(response.body.error.issues[0]!.path).toBe('params.name');
  });
});
