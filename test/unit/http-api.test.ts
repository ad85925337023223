import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { describe, expect, test } from 'vitest';
import * as z from 'zod';
import { ConflictError, TooManyRequestsError } from '../../shared/errors.ts';
import { httpApi, json, route } from '../../shared/http/api.ts';

const context = { awsRequestId: 'req-123', functionName: 'test' } as Context;

function event(routeKey: string, overrides: Partial<APIGatewayProxyEventV2> = {}): APIGatewayProxyEventV2 {
  const [method, path] = routeKey.split(' ') as [string, string];
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: {
      accountId: '1',
      apiId: 'a',
      domainName: 'x',
      domainPrefix: 'x',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'vitest' },
      requestId: 'r',
      routeKey,
      stage: '$default',
      time: '',
      timeEpoch: 0,
    },
    isBase64Encoded: false,
    ...overrides,
  };
}

const handler = httpApi({
  'POST /things': route({
    body: z.strictObject({ name: z.string().min(1), tags: z.array(z.string().max(3)).default([]) }),
    maxBodyBytes: 100,
    handle: async ({ body, sourceIp }) => json(201, { name: body.name, tags: body.tags, sourceIp }),
  }),
  'POST /form': route({
    body: z.object({ email: z.string(), choice: z.array(z.string()) }),
    bodyFormat: 'json-or-form',
    handle: async ({ body }) => json(200, body),
  }),
  'GET /boom': route({
    handle: async () => {
      throw new Error('secret database detail');
    },
  }),
  'GET /huge': route({
    handle: async () => {
      // What the SDK throws when DynamoDB refuses an item over 400 KB.
      throw Object.assign(new Error('Item size has exceeded the maximum allowed size'), { name: 'ValidationException' });
    },
  }),
  'GET /conflict': route({ handle: async () => Promise.reject(new ConflictError('already launched', 'invalid_transition')) }),
  'GET /slow-down': route({ handle: async () => Promise.reject(new TooManyRequestsError(30)) }),
  'GET /things/{id}': route({
    params: z.object({ id: z.string().regex(/^t_/, 'must start with t_') }),
    query: z.object({ limit: z.coerce.number().int().max(10).default(5) }),
    handle: async ({ params, query }) => json(200, { id: params.id, limit: query.limit }),
  }),
});

const call = async (e: APIGatewayProxyEventV2) => {
  const result = (await handler(e, context)) as APIGatewayProxyStructuredResultV2;
  return { status: result.statusCode, headers: result.headers ?? {}, body: result.body ? JSON.parse(result.body) : undefined };
};

describe('httpApi', () => {
  test('parses, validates and answers', async () => {
    const result = await call(event('POST /things', { body: JSON.stringify({ name: 'n' }) }));
    expect(result).toMatchObject({ status: 201, body: { name: 'n', tags: [], sourceIp: '203.0.113.9' } });
  });

  test('validation errors carry every field path, including array indexes and unknown keys', async () => {
    const result = await call(event('POST /things', { body: JSON.stringify({ name: '', tags: ['ok', 'long'], extra: 1 }) }));
    expect(result.status).toBe(400);
    expect(result.body.error.code).toBe('validation_failed');
    expect(result.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['extra', 'name', 'tags[1]']);
  });

  test('path and query problems are prefixed with where they are', async () => {
    const result = await call(event('GET /things/{id}', { pathParameters: { id: 'x' }, queryStringParameters: { limit: '50' } }));
    expect(result.status).toBe(400);
    expect(result.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['params.id', 'query.limit']);
  });

  test('a body over the limit → 413, invalid JSON → 400, a wrong content type → 415', async () => {
    expect((await call(event('POST /things', { body: JSON.stringify({ name: 'x'.repeat(200) }) }))).status).toBe(413);
    expect((await call(event('POST /things', { body: '{"name":' }))).body.error.code).toBe('invalid_json');
    expect((await call(event('POST /things', { body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }))).status).toBe(415);
  });

  test('form posts are read as fields; repeated fields become arrays; base64 bodies are decoded', async () => {
    const body = Buffer.from('email=a%40b.c&choice=x&choice=y').toString('base64');
    const result = await call(event('POST /form', { body, isBase64Encoded: true, headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    expect(result).toMatchObject({ status: 200, body: { email: 'a@b.c', choice: ['x', 'y'] } });
  });

  test('unknown errors → 500 with the request id and nothing of the error', async () => {
    const result = await call(event('GET /boom'));
    expect(result.status).toBe(500);
    expect(result.body).toEqual({ error: { code: 'internal_error', message: 'Internal server error', requestId: 'req-123' } });
    expect(JSON.stringify(result.body)).not.toContain('secret');
  });

  test('domain errors map to their status: 409 with a code, 429 with Retry-After', async () => {
    expect(await call(event('GET /conflict'))).toMatchObject({ status: 409, body: { error: { code: 'invalid_transition', message: 'already launched' } } });
    const limited = await call(event('GET /slow-down'));
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('30');
  });

  test('an item too large for DynamoDB → 413, not 500: nothing was written and the caller sent too much', async () => {
    expect(await call(event('GET /huge'))).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
  });

  test('a route key the function does not serve → 404', async () => {
    expect((await call(event('GET /elsewhere'))).status).toBe(404);
  });
});
