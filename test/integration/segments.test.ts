import { BatchWriteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import { newContact } from '../../shared/contacts/contact-store.ts';
import type { Contact } from '../../shared/contacts/model.ts';
import { Timeline } from '../../shared/contacts/timeline.ts';
import { scoresOf } from '../../shared/scoring/model.ts';
import { countSince, hourOf, indexActivity } from '../../shared/activity/activity.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => {
  await t?.stop();
});

const HOUR = 3_600_000;

/** A deterministic dataset written straight into DynamoDB Local, so expected answers can be computed by hand. */
function seedContacts(now: number): Contact[] {
  const contacts: Contact[] = [];
  for (let i = 0; i < 300; i++) {
    const c = newContact(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, new Date(now - (i % 60) * 24 * HOUR).toISOString());
    c.email = `seed${i}@example.com`;
    if (i % 3 === 0) c.phone = `+1415555${String(1000 + i).padStart(4, '0')}`;
    c.attributes = { plan: i % 4 === 0 ? 'pro' : 'free', age: 20 + (i % 50) };
    c.tags = i % 5 === 0 ? ['vip'] : [];
    c.consent = {
      ...(i % 2 === 0 ? { email: { status: 'confirmed' as const, updatedAt: c.createdAt, source: 'seed' } } : { email: { status: 'pending' as const, updatedAt: c.createdAt, source: 'seed' } }),
      ...(c.phone && i % 6 === 0 ? { sms: { status: 'confirmed' as const, updatedAt: c.createdAt, source: 'seed' } } : {}),
    };
    c.suppressed = i % 10 === 0 ? { email: ['bounced'] } : {};
    const p = 0.01 + (i % 7) * 0.02;
    c.scores = scoresOf({ lead: i % 30, propensity: { email: { alpha: p * 100, beta: (1 - p) * 100, mean: p }, sms: { alpha: 5, beta: 95, mean: 0.05 } } });
    // Clicked an email i % 4 hours… days ago (0 = none).
    c.activity = i % 4 === 0 ? {} : { [`clicked|email|${hourOf(now - (i % 4) * 12 * 24 * HOUR)}`]: 1, [`sent|email|${hourOf(now - 40 * 24 * HOUR)}`]: 1 };
    contacts.push(c);
  }
  return contacts;
}

async function writeContacts(contacts: Contact[]): Promise<void> {
  for (let i = 0; i < contacts.length; i += 25) {
    await documentClient.send(
      new BatchWriteCommand({ RequestItems: { [t.runtime.tableNames.contacts!]: contacts.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }),
    );
  }
}

interface Preview {
  count: number;
  reachable: { email: number; sms: number };
  sample: Array<{ id: string }>;
  forecast: Record<'email' | 'sms', { expectedResponses: number; low: number; high: number }>;
}

describe('segments', () => {
  const now = Date.now();
  let seeded: Contact[];
  beforeAll(async () => {
    seeded = seedContacts(now);
    await writeContacts(seeded);
  });

  test('preview counts, reachability and forecast match a direct computation over the seeded data', async () => {
    const rule = {
      and: [
        { field: 'attributes.plan', op: 'eq', value: 'free' },
        { behaviour: { type: 'clicked', channel: 'email', within: { amount: 30, unit: 'days' }, count: { op: 'gte', value: 1 } } },
        { score: 'propensity.email', op: 'gte', value: 0.05 },
      ],
    };
    const response = await t.api<Preview>('POST', '/v1/segments/preview', { body: { rule } });
    expect(response.status, response.text).toBe(200);

    // Independent computation of the same rule.
    const from = hourOf(now - 30 * 24 * HOUR);
    const members = seeded.filter(
      (c) => c.attributes.plan === 'free' && countSince(indexActivity(c.activity).get('clicked|email'), from) >= 1 && c.scores.propensity.email.mean >= 0.05,
    );
    const reachableEmail = members.filter((c) => c.email && c.consent.email?.status === 'confirmed' && !c.suppressed?.email?.length);
    const reachableSms = members.filter((c) => c.phone && c.consent.sms?.status === 'confirmed' && !c.suppressed?.sms?.length);
    const expected = reachableEmail.reduce((s, c) => s + c.scores.propensity.email.mean, 0);
    const sd = Math.sqrt(reachableEmail.reduce((s, c) => s + c.scores.propensity.email.mean * (1 - c.scores.propensity.email.mean), 0));

    expect(members.length).toBeGreaterThan(10);
    expect(response.body.count).toBe(members.length);
    expect(response.body.reachable).toEqual({ email: reachableEmail.length, sms: reachableSms.length });
    expect(response.body.sample).toHaveLength(Math.min(20, members.length));
    expect(response.body.forecast.email.expectedResponses).toBeCloseTo(expected, 1);
    expect(response.body.forecast.email.low).toBeCloseTo(Math.max(0, expected - 1.96 * sd), 1);
    expect(response.body.forecast.email.high).toBeCloseTo(expected + 1.96 * sd, 1);
  });

  test('create, version, preview a saved segment (stores its statistics), reference another segment, reject cycles', async () => {
    const vip = await t.api<{ segment: { id: string; version: number } }>('POST', '/v1/segments', { body: { name: 'VIPs', rule: { field: 'tags', op: 'contains', value: 'vip' } } });
    expect(vip.status, vip.text).toBe(201);
    const vipId = vip.body.segment.id;
    const proVip = await t.api<{ segment: { id: string } }>('POST', '/v1/segments', {
      body: { name: 'Pro VIPs', rule: { and: [{ segment: vipId }, { field: 'attributes.plan', op: 'eq', value: 'pro' }] } },
    });
    expect(proVip.status, proVip.text).toBe(201);

    const preview = await t.api<Preview & { version: number }>('POST', `/v1/segments/${proVip.body.segment.id}/preview`);
    expect(preview.body.count).toBe(seeded.filter((c) => c.tags.includes('vip') && c.attributes.plan === 'pro').length);
    const read = await t.api<{ stats: { size: number; computedAt: string; reachable: { email: number } } }>('GET', `/v1/segments/${proVip.body.segment.id}`);
    expect(read.body.stats).toMatchObject({ size: preview.body.count, reachable: preview.body.reachable });
    expect(read.body.stats.computedAt).toMatch(/^\d{4}-/);

    // PUT makes version 2; version 1 stays readable.
    const v2 = await t.api<{ segment: { version: number } }>('PUT', `/v1/segments/${vipId}`, { body: { name: 'VIPs', rule: { field: 'attributes.age', op: 'gte', value: 60 } } });
    expect(v2.body.segment.version).toBe(2);
    const v1 = await t.api<{ segment: { version: number; rule: unknown } }>('GET', `/v1/segments/${vipId}?version=1`);
    expect(v1.body.segment).toMatchObject({ version: 1, rule: { field: 'tags', op: 'contains', value: 'vip' } });
    const latest = await t.api<{ segment: { version: number }; versions: Array<{ version: number }> }>('GET', `/v1/segments/${vipId}`);
    expect(latest.body.versions.map((v) => v.version).sort()).toEqual([1, 2]);

    // VIPs → Pro VIPs would close a cycle (Pro VIPs already references VIPs).
    const cycle = await t.api<{ error: { issues: Array<{ path: string; message: string }> } }>('PUT', `/v1/segments/${vipId}`, {
      body: { name: 'VIPs', rule: { segment: proVip.body.segment.id } },
    });
    expect(cycle.status).toBe(400);
    expect(cycle.body.error.issues[0]!.message).toContain('cycle');
    const unknown = await t.api('POST', '/v1/segments', { body: { name: 'x', rule: { segment: '00000000-0000-4000-8000-00000000ffff' } } });
    expect(unknown.status).toBe(400);
  });

  test('invalid rules → 400 with paths', async () => {
    const response = await t.api<{ error: { issues: Array<{ path: string }> } }>('POST', '/v1/segments', {
      body: { name: 'bad', rule: { and: [{ field: 'attributes.plan', op: 'resembles', value: 'x' }, { score: 'engagement', op: 'gte' }] }, timezone: 'Nowhere/Land' },
    });
    expect(response.status).toBe(400);
    const paths = response.body.error.issues.map((i) => i.path);
    expect(paths.some((p) => p.startsWith('rule.and[0]'))).toBe(true);
    expect(paths.some((p) => p.startsWith('rule.and[1]'))).toBe(true);
    expect(paths).toContain('timezone');
  });

  test('rule numbers DynamoDB cannot store → 400 at their paths, not a 500 from the write (found by the route fuzz)', async () => {
    const cases: Array<[unknown, string]> = [
      [{ score: 'lead', op: 'gte', value: 1e300 }, 'rule.value'],
      [{ score: 'engagement', op: 'gt', value: 1e-300 }, 'rule.value'],
      [{ score: 'lead', op: 'between', values: [0, 1e300] }, 'rule.values[1]'],
      [{ field: 'attributes.seats', op: 'eq', value: 2 ** 60 }, 'rule.value'],
      [{ and: [{ field: 'attributes.seats', op: 'between', values: [1e-300, 2] }] }, 'rule.and[0].values[0]'],
    ];
    for (const [rule, path] of cases) {
      const response = await t.api<{ error: { issues: Array<{ path: string }> } }>('POST', '/v1/segments', { body: { name: 'numbers', rule } });
      expect(response.status, `${JSON.stringify(rule)}: ${response.text}`).toBe(400);
      expect(response.body.error.issues.map((i) => i.path)).toEqual([path]);
    }
  });

  test('a segment used by a scheduled campaign cannot be deleted; otherwise it can', async () => {
    const seg = await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name: 'Deletable', rule: { field: 'country', op: 'eq', value: 'GB' } } });
    const id = seg.body.segment.id;
    await documentClient.send(new PutCommand({ TableName: t.runtime.tableNames.campaigns, Item: { id: 'c-1', name: 'Spring sale', segmentId: id, status: 'scheduled' } }));
    const refused = await t.api('DELETE', `/v1/segments/${id}`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: { code: 'segment_in_use' } });
    await documentClient.send(new PutCommand({ TableName: t.runtime.tableNames.campaigns, Item: { id: 'c-1', name: 'Spring sale', segmentId: id, status: 'completed' } }));
    expect((await t.api('DELETE', `/v1/segments/${id}`)).status).toBe(204);
    expect((await t.api('GET', `/v1/segments/${id}`)).status).toBe(404);
  });

  test('a segment whose referenced segment was deleted (before deletion checked references) does not stop the attribution run: it completes and the other statistics are refreshed (found by the route fuzz)', async () => {
    // Prepare: B refers to A, A is deleted (no campaign uses it); C is an ordinary segment.
    const create = async (name: string, rule: unknown) => (await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name, rule } })).body.segment.id;
    const a = await create('Referenced', { field: 'country', op: 'eq', value: 'GB' });
    const b = await create('Referring', { segment: a });
    const c = await create('Ordinary', { field: 'attributes.plan', op: 'eq', value: 'pro' });
    // The API refuses to delete a segment another one refers to…
    const refused = await t.api('DELETE', `/v1/segments/${a}`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: { code: 'segment_in_use', message: expect.stringContaining('Referring') } });
    // …but a deletion from before that check leaves exactly this state: a tombstone version written directly.
    const current = (await documentClient.send(new QueryCommand({ TableName: t.runtime.tableNames.segments!, KeyConditionExpression: 'id = :id', ExpressionAttributeValues: { ':id': a } }))).Items![0]!;
    await documentClient.send(new PutCommand({ TableName: t.runtime.tableNames.segments!, Item: { ...current, version: Number(current.version) + 1, deleted: true, createdAt: new Date().toISOString() } }));
    expect((await t.api('GET', `/v1/segments/${a}`)).status).toBe(404);
    // Act
    const from = new Date(Date.now() - 86_400_000).toISOString();
    const run = await t.api<{ run: { runId: string } }>('POST', '/v1/attribution/runs', { body: { from, to: new Date().toISOString() } });
    await t.runtime.idle();
    // Assess
    expect((await t.api<{ run: { status: string } }>('GET', `/v1/attribution/runs/${run.body.run.runId}`)).body.run.status).toBe('completed');
    const stats = async (id: string) => (await t.api<{ stats: { size: number } | null }>('GET', `/v1/segments/${id}`)).body.stats;
    expect(await stats(c)).toMatchObject({ size: seeded.filter((s) => s.attributes.plan === 'pro').length });
    expect(await stats(b)).toBeNull();
    expect(t.runtime.deadLetterQueues.get('attributionScan')!.stats().visible).toBe(0);
  });
});

describe('behaviour counters', () => {
  test('stay right when interactions arrive out of order or twice', async () => {
    const contact = newContact('11111111-0000-4000-8000-000000000001', new Date().toISOString());
    contact.email = 'counters@example.com';
    await documentClient.send(new PutCommand({ TableName: t.runtime.tableNames.contacts, Item: contact }));
    const timeline = new Timeline(t.runtime.tableNames.interactions!, t.runtime.tableNames.contacts!, t.runtime.tableNames.activity!);
    const base = Date.parse('2026-11-20T10:15:00Z');
    const events = [
      { id: 'e3', occurredAt: new Date(base + 2 * HOUR).toISOString() },
      { id: 'e1', occurredAt: new Date(base).toISOString() },
      { id: 'e2', occurredAt: new Date(base + 30 * 60_000).toISOString() },
      { id: 'e1', occurredAt: new Date(base).toISOString() }, // duplicate
    ];
    const outcomes = [];
    for (const e of events) outcomes.push(await timeline.record({ contactId: contact.id, id: e.id, type: 'clicked', channel: 'email', campaignId: 'camp-1', occurredAt: e.occurredAt }));
    expect(outcomes).toEqual(['recorded', 'recorded', 'recorded', 'duplicate']);
    // Concurrent duplicates of one event still count once.
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => timeline.record({ contactId: contact.id, id: 'e4', type: 'opened', channel: 'email', occurredAt: new Date(base).toISOString() })));
    expect(concurrent.filter((o) => o === 'recorded')).toHaveLength(1);

    const stored = (await documentClient.send(new GetCommand({ TableName: t.runtime.tableNames.contacts, Key: { id: contact.id } }))).Item as Contact;
    // The counters live in the month item, listed on the contact; none were written onto the contact item.
    expect([...(stored.activityMonths ?? [])]).toEqual(['2026-11']);
    expect(stored.activity).toEqual({});
    const [withCounters] = await timeline.activity.attach([stored], { nowMs: base + 3 * HOUR });
    const index = indexActivity(withCounters!.activity, base + 3 * HOUR);
    expect(countSince(index.get('clicked|email'), hourOf(base))).toBe(3);
    expect(countSince(index.get('clicked|email'), hourOf(base) + 1)).toBe(1);
    expect(countSince(index.get('clicked|*'), 0)).toBe(3);
    expect(countSince(index.get('clicked|c:camp-1'), 0)).toBe(3);
    expect(countSince(index.get('opened|email'), 0)).toBe(1);
    // No counters for a contact that does not exist (erased while the event was in flight).
    expect(await timeline.record({ contactId: 'missing', id: 'x', type: 'clicked', occurredAt: new Date(base).toISOString() })).toBe('no-contact');
  });

  test('high-volume events bump a small month item, never the contact: rules see the counts at once, the nightly run lists the month, erasure removes them', async () => {
    const created = await t.api<{ contact: { id: string; version: number } }>('POST', '/v1/contacts', { body: { email: 'month-items@example.com', attributes: { note1: 'x'.repeat(1500), note2: 'y'.repeat(1500) } } });
    expect(created.status, created.text).toBe(201);
    const id = created.body.contact.id;
    await t.runtime.idle(); // the contact's own timeline entries (recorded from its events) land first
    const read = async () => (await documentClient.send(new GetCommand({ TableName: t.runtime.tableNames.contacts, Key: { id }, ConsistentRead: true }))).Item as Contact;
    const monthItems = async () => (await documentClient.send(new QueryCommand({ TableName: t.runtime.tableNames.activity, KeyConditionExpression: 'contactId = :c', ExpressionAttributeValues: { ':c': id }, ConsistentRead: true }))).Items ?? [];
    const before = await read();
    const timeline = new Timeline(t.runtime.tableNames.interactions!, t.runtime.tableNames.contacts!, t.runtime.tableNames.activity!);
    const now = Date.now();
    const thisMonth = new Date(now).toISOString().slice(0, 7);
    const at = (minutes: number) => new Date(now - minutes * 60_000).toISOString();
    const outcomes = [];
    for (let i = 0; i < 6; i++) outcomes.push(await timeline.recordFast({ contactId: id, id: `click-${i}`, type: 'clicked', channel: 'email', campaignId: 'camp-m', occurredAt: at(i) }));
    expect(outcomes).toEqual(Array(6).fill('recorded'));
    expect(await timeline.recordFast({ contactId: id, id: 'click-0', type: 'clicked', channel: 'email', campaignId: 'camp-m', occurredAt: at(0) })).toBe('duplicate');

    // The contact item (3 KB of attributes) was not written: the counters went to this month's item.
    const after = await read();
    expect(after.version).toBe(before.version);
    expect(after.activity ?? {}).toEqual(before.activity ?? {});
    const current = (await monthItems()).find((m) => m.month === thisMonth)!;
    expect(Object.entries(current).filter(([k]) => k.startsWith('clicked|email|')).reduce((sum, [, n]) => sum + (n as number), 0)).toBe(6);

    // Segment rules read them straight away, through the API's audience scan (the two recent months are always read).
    const rule = { and: [{ field: 'email', op: 'eq', value: 'month-items@example.com' }, { behaviour: { type: 'clicked', campaignId: 'camp-m', within: { amount: 1, unit: 'days' }, count: { op: 'gte', value: 6 } } }] };
    expect((await t.api<{ count: number }>('POST', '/v1/segments/preview', { body: { rule } })).body.count).toBe(1);
    // The API shows them as the model (counts per channel and type), never as storage keys.
    const view = await t.api<{ contact: Record<string, unknown> & { behaviour: { last30Days: Record<string, Record<string, number>> } } }>('GET', `/v1/contacts/${id}`);
    expect(view.body.contact.activity).toBeUndefined();
    expect(view.body.contact.behaviour.last30Days.email!.clicked).toBe(6);

    // An event older than the previous month (a late event, an import) lists its month on the contact at once (a contact write each; listing is idempotent).
    const old = new Date(now - 70 * 86_400_000).toISOString();
    expect(await timeline.recordFast({ contactId: id, id: 'old-open-1', type: 'opened', channel: 'email', occurredAt: old })).toBe('recorded');
    expect(await timeline.recordFast({ contactId: id, id: 'old-open-2', type: 'opened', channel: 'email', occurredAt: old })).toBe('recorded');
    const later = await read();
    expect(later.version).toBe(before.version + 2);
    expect([...(later.activityMonths ?? [])]).toContain(old.slice(0, 7));
    const oldRule = { and: [{ field: 'email', op: 'eq', value: 'month-items@example.com' }, { behaviour: { type: 'opened', channel: 'email', within: { amount: 100, unit: 'days' }, count: { op: 'eq', value: 2 } } }] };
    expect((await t.api<{ count: number }>('POST', '/v1/segments/preview', { body: { rule: oldRule } })).body.count).toBe(1);

    // The nightly run lists the months of the interactions it passes, in the score update it writes anyway.
    const day = new Date(Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), new Date(now).getUTCDate())).toISOString();
    const run = await t.api<{ run: { runId: string } }>('POST', '/v1/attribution/runs', { body: { from: day, to: new Date(Date.parse(day) + 86_400_000).toISOString() } });
    expect(run.status).toBe(202);
    await t.runtime.idle(60_000);
    expect([...((await read()).activityMonths ?? [])]).toContain(thisMonth);

    // A contact that does not exist: its event is recorded like any other unless it needs listing.
    expect(await timeline.recordFast({ contactId: 'missing-contact', id: 'x', type: 'clicked', occurredAt: old })).toBe('no-contact');
    expect((await documentClient.send(new GetCommand({ TableName: t.runtime.tableNames.contacts, Key: { id: 'missing-contact' } }))).Item).toBeUndefined();

    // Erasure deletes the month items with the contact.
    expect((await t.api('DELETE', `/v1/contacts/${id}`)).status).toBe(204);
    expect(await monthItems()).toEqual([]);
  });
});
