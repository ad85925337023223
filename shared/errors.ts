/**
 * The project's error hierarchy. HTTP-facing errors carry a status, a stable code and whether
 * their message may be shown to the caller; anything else becomes a generic 500.
 */

export interface ValidationIssue {
  path: string;
  message: string;
}

export class AppError extends Error {
  override name = 'AppError';
  readonly status: number;
  readonly code: string;
  /** Safe to show to the client. */
  readonly expose: boolean;
  readonly context: Record<string, unknown>;
  constructor(status: number, code: string, message: string, context: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.expose = status < 500;
    this.context = context;
  }
}

export class ValidationError extends AppError {
  override name = 'ValidationError';
  readonly issues: ValidationIssue[];
  constructor(issues: ValidationIssue[], message = 'The request is not valid') {
    super(400, 'validation_failed', message, { issues });
    this.issues = issues;
  }
}

export class BadRequestError extends AppError {
  override name = 'BadRequestError';
  constructor(message: string, code = 'bad_request') {
    super(400, code, message);
  }
}

export class UnauthorizedError extends AppError {
  override name = 'UnauthorizedError';
  constructor(message = 'A valid bearer token is required') {
    super(401, 'unauthorized', message);
  }
}

export class ForbiddenError extends AppError {
  override name = 'ForbiddenError';
  constructor(message = 'Forbidden') {
    super(403, 'forbidden', message);
  }
}

export class NotFoundError extends AppError {
  override name = 'NotFoundError';
  /** Set when the missing thing was named by a request field (`contactId` in a body): the issue at that field. */
  readonly issues: ValidationIssue[] | undefined;
  constructor(what: string, id?: string, path?: string) {
    const message = id === undefined ? `${what} not found` : `${what} ${id} not found`;
    super(404, 'not_found', message);
    this.issues = path === undefined ? undefined : [{ path, message: id === undefined ? `${what} does not exist` : `${what} ${id} does not exist` }];
  }
}

export class ConflictError extends AppError {
  override name = 'ConflictError';
  constructor(message: string, code = 'conflict') {
    super(409, code, message);
  }
}

export class PayloadTooLargeError extends AppError {
  override name = 'PayloadTooLargeError';
  constructor(limitBytes: number) {
    super(413, 'payload_too_large', `The request body is larger than ${limitBytes} bytes`);
  }
}

export class TooManyRequestsError extends AppError {
  override name = 'TooManyRequestsError';
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super(429, 'rate_limited', 'Too many requests; try again later');
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

interface ZodLikeIssue {
  path: ReadonlyArray<PropertyKey>;
  message: string;
  code?: string;
  keys?: ReadonlyArray<string>;
}

function joinPath(parts: ReadonlyArray<PropertyKey>): string {
  return parts.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
}

/**
 * Converts zod issues into the API's `{ path, message }` list: `contact.emails[2]`, with an
 * optional prefix (`query`, `params`). Unknown keys are reported one per key, at the key.
 */
export function issuesFromZod(issues: ReadonlyArray<ZodLikeIssue>, prefix?: string): ValidationIssue[] {
  const withPrefix = (path: string) => (!prefix ? path : !path ? prefix : path.startsWith('[') ? prefix + path : `${prefix}.${path}`);
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys' && issue.keys?.length) {
      return issue.keys.map((key) => ({ path: withPrefix(joinPath([...issue.path, key])), message: 'is not a known field' }));
    }
    return [{ path: withPrefix(joinPath(issue.path)), message: issue.message }];
  });
}
