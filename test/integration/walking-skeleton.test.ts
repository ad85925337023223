import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => {
  await t?.stop();
});

interface ContactBody {
  contact: { id: string; email: string; attributes: Record<string, unknown>; version: number };
  created: boolean;
}

describe('walking skeleton: API → DynamoDB → event → rule → queue → consumer → DynamoDB', () => {
  test('an authenticated upsert stores the contact and the consumer records it on the timeline', async () => {
    const created = await t.api<ContactBody>('POST', '/v1/contacts', { body: { email: '  Grace@Example.COM ', attributes: { firstName: 'Grace' } } });
    expect(created.status).toBe(201);
    expect(created.body.created).toBe(true);
    expect(created.body.contact.email).toBe('grace@example.com');
    const id = created.body.contact.id;

    const stored = await documentClient.send(new GetCommand({ TableName: t.runtime.tableNames.contacts, Key: { id } }));
    expect(stored.Item).toMatchObject({ id, email: 'grace@example.com', attributes: { firstName: 'Grace' } });

    await t.runtime.idle();
    const timeline = await documentClient.send(
      new QueryCommand({ TableName: t.runtime.tableNames.interactions, KeyConditionExpression: 'contactId = :c', ExpressionAttributeValues: { ':c': id } }),
    );
    expect(timeline.Items).toHaveLength(1);
    expect(timeline.Items![0]).toMatchObject({ type: 'contact_created', data: { origin: 'api' } });

    // The same person again with a change: one contact, a second timeline entry, newest first through the API.
    const updated = await t.api<ContactBody>('POST', '/v1/contacts', { body: { email: 'grace@example.com', attributes: { lastName: 'Hopper' } } });
    expect(updated.status).toBe(200);
    expect(updated.body.contact.id).toBe(id);
    expect(updated.body.contact.attributes).toEqual({ firstName: 'Grace', lastName: 'Hopper' });
    await t.runtime.idle();
    const page = await t.api<{ items: Array<{ type: string }> }>('GET', `/v1/contacts/${id}/timeline`);
    expect(page.status).toBe(200);
    expect(page.body.items.map((i) => i.type)).toEqual(['contact_updated', 'contact_created']);
  });

  test('an unchanged upsert publishes nothing', async () => {
    await t.api('POST', '/v1/contacts', { body: { email: 'same@example.com' } });
    await t.runtime.idle();
    const entriesBefore = t.runtime.bus.counters.entries;
    const again = await t.api<ContactBody>('POST', '/v1/contacts', { body: { email: 'SAME@example.com' } });
    expect(again.status).toBe(200);
    expect(t.runtime.bus.counters.entries).toBe(entriesBefore);
  });

  test('timeline pages with a cursor', async () => {
    const { body } = await t.api<ContactBody>('POST', '/v1/contacts', { body: { email: 'pages@example.com' } });
    for (let i = 0; i < 3; i++) await t.api('POST', '/v1/contacts', { body: { email: 'pages@example.com', attributes: { n: i } } });
    await t.runtime.idle();
    const first = await t.api<{ items: unknown[]; nextCursor?: string }>('GET', `/v1/contacts/${body.contact.id}/timeline?limit=3`);
    expect(first.body.items).toHaveLength(3);
    expect(first.body.nextCursor).toBeTruthy();
    const second = await t.api<{ items: unknown[]; nextCursor?: string }>('GET', `/v1/contacts/${body.contact.id}/timeline?limit=3&cursor=${first.body.nextCursor}`);
    expect(second.body.items).toHaveLength(1);
    const bad = await t.api('GET', `/v1/contacts/${body.contact.id}/timeline?cursor=%%%`);
    expect(bad.status).toBe(400);
  });
});

describe('authentication', () => {
  test('no token → 401', async () => {
    const response = await t.api('POST', '/v1/contacts', { body: { email: 'x@example.com' }, token: null });
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ message: 'Unauthorized' });
  });

  test('a token with a bad signature, wrong audience or past expiry → 401', async () => {
    const tampered = `${t.runtime.devToken.slice(0, -4)}AAAA`;
    expect((await t.api('GET', '/v1/contacts/00000000-0000-4000-8000-000000000000', { token: tampered })).status).toBe(401);
    const expired = await t.runtime.auth.mintToken({ sub: 'old' }, '-1m');
    expect((await t.api('GET', '/v1/contacts/00000000-0000-4000-8000-000000000000', { token: expired })).status).toBe(401);
    const wrongAudience = await t.runtime.auth.mintToken({ sub: 'x', aud: 'someone-else' });
    expect((await t.api('GET', '/v1/contacts/00000000-0000-4000-8000-000000000000', { token: wrongAudience })).status).toBe(401);
    expect((await t.api('GET', '/v1/contacts/00000000-0000-4000-8000-000000000000', { token: 'not-a-jwt' })).status).toBe(401);
  });

  test('a valid token passes and its claims reach the handler', async () => {
    const fresh = await t.runtime.auth.mintToken({ sub: 'another-marketer' });
    const response = await t.api('GET', '/v1/contacts/00000000-0000-4000-8000-000000000000', { token: fresh });
    expect(response.status).toBe(404);
  });
});

describe('error convention', () => {
  test('validation failures → 400 with field paths, nothing written', async () => {
    const before = t.runtime.bus.counters.entries;
    const response = await t.api('POST', '/v1/contacts', { body: { email: 'nope', attributes: { '1bad': 1 }, extra: true } });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'validation_failed' } });
    const issues = (response.body as { error: { issues: Array<{ path: string }> } }).error.issues.map((i) => i.path).sort();
    expect(issues).toEqual(['attributes.1bad', 'email', 'extra']);
    expect(t.runtime.bus.counters.entries).toBe(before);
  });

  test('malformed JSON → 400 invalid_json', async () => {
    const response = await t.api('POST', '/v1/contacts', { rawBody: '{"email":', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'invalid_json' } });
  });

  test('unknown contact → 404; unknown route → 404', async () => {
    const missing = await t.api('GET', '/v1/contacts/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'not_found' } });
    expect((await t.api('GET', '/v1/nothing-here')).status).toBe(404);
  });
});

describe('queue failure handling', () => {
  test('an event the consumer cannot process is retried, then parked in the DLQ; good events still flow', async () => {
    // A contact.updated event whose detail breaks the contract, put straight on the bus.
    t.runtime.bus.putEvents([
      { EventBusName: 'touchloop-local-bus', Source: 'touchloop.contacts', DetailType: 'contact.updated', Detail: JSON.stringify({ contactId: '' }) },
    ]);
    const good = await t.api<ContactBody>('POST', '/v1/contacts', { body: { email: 'flows@example.com' } });
    await t.runtime.idle();
    const dlq = t.runtime.deadLetterQueues.get('interactions')!;
    const parked = dlq.receive(10);
    expect(parked).toHaveLength(1);
    expect(JSON.parse(parked[0]!.body)).toMatchObject({ 'detail-type': 'contact.updated', detail: { contactId: '' } });
    const page = await t.api<{ items: unknown[] }>('GET', `/v1/contacts/${good.body.contact.id}/timeline`);
    expect(page.body.items).toHaveLength(1);
  });
});
