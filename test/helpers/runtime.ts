import { randomBytes } from 'node:crypto';
import { LocalRuntime, type LocalRuntimeOptions } from '../../infra/local/runtime.ts';

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface TestRuntime {
  runtime: LocalRuntime;
  logs: string[];
  /** Calls the local API; `token: null` sends no Authorization header, undefined sends the dev token. */
  api<T = Record<string, unknown>>(
    method: string,
    path: string,
    options?: { body?: unknown; token?: string | null; headers?: Record<string, string>; rawBody?: string },
  ): Promise<ApiResponse<T>>;
  stop(): Promise<void>;
}

/**
 * A full local runtime for one test file: its own DynamoDB Local (started and stopped with the
 * runtime, unless `dynamodbEndpoint` names one; see ./dynamodb.ts for why files do not share
 * one), tables under a fresh prefix, random ports, and fast queue timing (timeScale 0.002: a
 * 180 s visibility timeout lasts 0.36 s).
 */
export async function startTestRuntime(options: LocalRuntimeOptions = {}): Promise<TestRuntime> {
  const logs: string[] = [];
  const runtime = await LocalRuntime.start({
    tablePrefix: `t${randomBytes(4).toString('hex')}-`,
    apiPort: 0,
    timeScale: 0.002,
    log: (line) => logs.push(line),
    ...options,
  });
  return {
    runtime,
    logs,
    async api(method, path, { body, token, headers = {}, rawBody } = {}) {
      const auth: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token ?? runtime.devToken}` };
      const response = await fetch(`${runtime.urls.api}${path}`, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...auth, ...headers },
        body: rawBody ?? (body !== undefined ? JSON.stringify(body) : undefined),
        redirect: 'manual',
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, headers: response.headers, body: parsed as never, text };
    },
    stop: () => runtime.stop(),
  };
}
