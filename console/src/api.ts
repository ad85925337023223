import type { ValidationIssue } from './contracts.ts';
import { issuesAt } from './issues.ts';
import { currentConfig, expired, token } from './session.ts';

/** An API answer other than 2xx: the status, the API's error code and its field issues. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: ValidationIssue[] = [],
  ) {
    super(message);
  }
  /** Issues at `path` or below it (`schedule` also matches `schedule.at`). */
  issuesAt(path: string): ValidationIssue[] {
    return issuesAt(this.issues, path);
  }
}

interface ErrorBody {
  message?: string;
  error?: { code?: string; message?: string; issues?: ValidationIssue[] };
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
  /** Return the body as text (report pages) instead of JSON. */
  text?: boolean;
  headers?: Record<string, string>;
}

/**
 * Calls the marketer API with the session's bearer token. A 401 marks the session expired and,
 * once the marketer has signed in again, repeats the request once with the new token, so what
 * they were saving is saved.
 */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const bearer = await token();
    if (!bearer) throw new ApiError(401, 'signed_out', 'You are signed out.');
    const url = new URL(currentConfig().apiUrl + path, location.origin);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const res = await fetch(url, {
      method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
      headers: {
        authorization: `Bearer ${bearer}`,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
    if (res.status === 401 && attempt === 0) {
      expired(bearer);
      continue;
    }
    if (!res.ok) throw await toError(res);
    if (options.text) return (await res.text()) as T;
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }
}

async function toError(res: Response): Promise<ApiError> {
  let body: ErrorBody = {};
  try {
    body = (await res.json()) as ErrorBody;
  } catch {
    // not JSON: the status says enough
  }
  const message = body.error?.message ?? body.message ?? `HTTP ${res.status}`;
  return new ApiError(res.status, body.error?.code ?? String(res.status), message, body.error?.issues ?? []);
}

/** A fresh idempotency key for a create request the marketer might submit twice. */
export const idempotencyKey = (): string => crypto.randomUUID();
