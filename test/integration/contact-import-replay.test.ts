/**
 * The contacts chunk processor is replay-exact: a worker that crashes part-way through a chunk
 * (its DynamoDB client fails after N write calls, with other batches still in flight) and a full
 * replay of the chunk report each row's status as one clean run would, and leave every contact,
 * lookup item and consent record written exactly once; further replays write nothing at all.
 * Also hostile: API upserts of the file's addresses racing the import never make a second contact.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { ScanCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { OutgoingEvent } from '../../events/contract.ts';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import { ConsentLog } from '../../shared/contacts/consents.ts';
import { ContactService } from '../../shared/contacts/contact-service.ts';
import { ContactStore } from '../../shared/contacts/contact-store.ts';
import { contactsChunkProcessor } from '../../shared/contacts/import.ts';
import { SuppressionStore } from '../../shared/contacts/suppressions.ts';
import { Timeline } from '../../shared/contacts/timeline.ts';
import type { ImportChunk, ImportRowOutcome } from '../../shared/imports/chunk.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
}, 120_000);
afterAll(async () => t?.stop());

const key = randomBytes(32);
const hash = async (purpose: string, value: string) => createHmac('sha256', key).update(`${purpose}\u0000${value}`).digest('base64url');

/** A document client that fails every TransactWriteItems call after the first `limit`, as a worker dying mid-chunk; it keeps the calls in flight so the test can wait for them. */
function crashingClient(limit: number) {
  let writes = 0;
  const inFlight = new Set<Promise<unknown>>();
  const client = {
    send(command: unknown) {
      if (command instanceof TransactWriteCommand) {
        writes++;
        if (writes > limit) return Promise.reject(new Error(`worker crashed before write call ${writes}`));
      }
      const sent = documentClient.send(command as never);
      inFlight.add(sent);
      void sent.finally(() => inFlight.delete(sent)).catch(() => undefined);
      return sent;
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, writes: () => writes, settled: () => Promise.allSettled([...inFlight]) };
}

function depsWith(db: DynamoDBDocumentClient, published: OutgoingEvent[]) {
  const tables = t.runtime.tableNames;
  const store = new ContactStore({ contacts: tables.contacts!, contactLookups: tables.contactLookups!, consents: tables.consents! }, db);
  const suppressions = new SuppressionStore(tables.suppressions!, db, hash);
  const publish = async (events: OutgoingEvent[]) => {
    published.push(...events);
  };
  const service = new ContactService({ contacts: store, suppressions, consents: new ConsentLog(tables.consents!, db), timeline: new Timeline(tables.interactions!, tables.contacts!, tables.activity!, db), publish, hash });
  return { store, suppressions, service, publish };
}

async function scan(table: string): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documentClient.send(new ScanCommand({ TableName: t.runtime.tableNames[table]!, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

const HEADER = 'email,phone,first_name,consent_email,consent_email_version';
const FIRST_LINE = 5001; // the chunk sits deep in the file: outcomes name the file's lines

/**
 * A chunk of 400 rows over one prefix's addresses, and the status each row must get: new
 * contacts with consent, existing ones updated and unchanged, one address three times (created,
 * unchanged, updated), one twice with a phone added, an identity conflict, an erased address
 * without and one with consent evidence, and an invalid row.
 */
async function fixture(prefix: string) {
  const digits = String(100 + Math.floor(Math.random() * 900)); // a UK mobile range of this fixture's own
  const seeded = depsWith(documentClient, []);
  const existing = Array.from({ length: 40 }, (_, i) => `${prefix}.old${i}@example.com`);
  const seed = await contactsChunkProcessor(seeded)({
    jobId: `seed-${prefix}`,
    kind: 'contacts',
    format: 'csv',
    index: 0,
    header: HEADER,
    firstLine: 2,
    text: [...existing.map((email, i) => `${email},,Old${i},yes,v1`), `${prefix}.a@example.com,+447400${digits}001,A,,`, `${prefix}.b@example.com,+447400${digits}002,B,,`].join('\n'),
  });
  expect(seed.every((o) => o.status === 'created')).toBe(true);
  await seeded.suppressions.add('email', `${prefix}.gone@example.com`, 'erased', { at: new Date().toISOString(), source: 'erasure' });
  await seeded.suppressions.add('email', `${prefix}.back@example.com`, 'erased', { at: new Date().toISOString(), source: 'erasure' });

  const lines: Array<[string, ImportRowOutcome['status']]> = [];
  for (let i = 0; i < 330; i++) lines.push([`${prefix}.new${i}@example.com,,New${i},yes,v1`, 'created']);
  existing.forEach((email, i) => lines.push([`${email},,${i % 2 ? `Renamed${i}` : `Old${i}`},yes,v1`, i % 2 ? 'updated' : 'unchanged']));
  lines.push([`${prefix}.dup@example.com,,First,yes,v1`, 'created']);
  lines.push([`${prefix}.dup@example.com,,First,yes,v1`, 'unchanged']);
  lines.push([`${prefix}.dup@example.com,,Third,yes,v1`, 'updated']);
  lines.push([`${prefix}.twice@example.com,,Tw,,`, 'created']);
  lines.push([`${prefix}.twice@example.com,+447400${digits}999,Tw,,`, 'updated']);
  lines.push([`${prefix}.a@example.com,+447400${digits}002,Clash,,`, 'failed']);
  lines.push([`${prefix}.gone@example.com,,Gone,,`, 'failed']);
  lines.push([`${prefix}.back@example.com,,Back,yes,v2`, 'created']);
  lines.push(['not-an-email,,Bad,,', 'failed']);
  const fill = 400 - lines.length;
  while (lines.length < 400) lines.push([`${prefix}.fill${lines.length}@example.com,,Fill,,`, 'created']);
  const chunk: ImportChunk = { jobId: randomUUID(), kind: 'contacts', format: 'csv', index: 3, header: HEADER, firstLine: FIRST_LINE, text: lines.map(([line]) => line).join('\n') };
  const expected = lines.map(([, status], i) => ({ line: FIRST_LINE + i, status }));
  return { chunk, expected, existing, digits, fill, seededContacts: existing.length + 2 };
}

const ofPrefix = (prefix: string, items: Array<Record<string, unknown>>, field: string) => items.filter((item) => String(item[field] ?? '').includes(`${prefix}.`));

describe('contacts chunk processor under crashes', () => {
  test.each([1, 3, 7])('a worker dying after %i write calls, then full replays: each row once', async (limit) => {
    const prefix = `r${limit}x${randomBytes(2).toString('hex')}`;
    const { chunk, expected, digits, fill, seededContacts } = await fixture(prefix);
    const published: OutgoingEvent[] = [];

    // A first run that dies part-way: some batches written, the rest not.
    const crashing = crashingClient(limit);
    await expect(contactsChunkProcessor(depsWith(crashing.client, published))(chunk)).rejects.toThrow(/worker crashed/);
    await crashing.settled();
    const contactsAfterCrash = ofPrefix(prefix, await scan('contacts'), 'email').length;
    expect(contactsAfterCrash).toBeGreaterThan(seededContacts); // the crash came after real writes
    expect(contactsAfterCrash).toBeLessThan(seededContacts + 336); // …and before the last of them

    // The replay reports what one clean run would have.
    const replay = await contactsChunkProcessor(depsWith(documentClient, published))(chunk);
    expect(replay.map(({ line, status }) => ({ line, status }))).toEqual(expected);
    const failed = replay.filter((o) => o.status === 'failed');
    expect(failed.map((o) => [o.line - FIRST_LINE, o.issues?.[0]?.path])).toEqual([
      [375, 'phone'],
      [376, 'email'],
      [378, 'email'],
    ]);

    // Every contact, lookup item and consent record exactly once.
    const contacts = ofPrefix(prefix, await scan('contacts'), 'email');
    const emails = contacts.map((c) => String(c.email));
    expect(new Set(emails).size).toBe(emails.length);
    expect(contacts).toHaveLength(seededContacts + 330 + 1 + 1 + 1 + fill); // new, dup, twice, back, fill
    const ids = new Set(contacts.map((c) => String(c.id)));
    const lookups = (await scan('contactLookups')).filter((l) => ids.has(String(l.contactId)));
    const addressKeys = contacts.flatMap((c) => [`email#${String(c.email)}`, ...(c.phone ? [`phone#${String(c.phone)}`] : [])]);
    expect(lookups.map((l) => String(l.key)).sort()).toEqual(addressKeys.sort());
    const consents = (await scan('consents')).filter((r) => ids.has(String(r.contactId)));
    // 40 seeded + 330 new + dup + back; the unchanged and updated existing rows bring no new evidence.
    expect(consents).toHaveLength(40 + 330 + 1 + 1);
    expect(new Set(consents.map((r) => String(r.id))).size).toBe(consents.length);
    const dup = contacts.find((c) => c.email === `${prefix}.dup@example.com`)!;
    expect((dup.attributes as Record<string, unknown>).first_name).toBe('Third');
    const twice = contacts.find((c) => c.email === `${prefix}.twice@example.com`)!;
    expect(twice.phone).toBe(`+447400${digits}999`);
    // The erased address came back with evidence and its erasure suppression is lifted; the other stays refused.
    expect(await depsWith(documentClient, []).suppressions.get('email', `${prefix}.back@example.com`)).toBeUndefined();
    expect((await depsWith(documentClient, []).suppressions.get('email', `${prefix}.gone@example.com`))?.reasons.erased).toBeDefined();

    // Events: whatever the crash lost was published by the replay, and each change carries an id consumers dedupe on.
    const changeIds = published.flatMap((e) => (e.detailType === 'contact.updated' ? [(e.detail as { changeId?: string }).changeId] : []));
    expect(changeIds.every((id) => id?.startsWith(`${chunk.jobId}#`))).toBe(true);
    const changedLines = expected.filter((e) => e.status === 'created' || e.status === 'updated').map((e) => `${chunk.jobId}#${e.line}`);
    expect(new Set(changeIds)).toEqual(new Set(changedLines));
    const consentIds = new Set(published.flatMap((e) => (e.detailType === 'consent.changed' ? [(e.detail as { consentRecordId: string }).consentRecordId] : [])));
    const seededIds = new Set(contacts.filter((c) => String(c.email).includes('.old')).map((c) => String(c.id)));
    expect(consentIds).toEqual(new Set(consents.filter((r) => !seededIds.has(String(r.contactId))).map((r) => String(r.id))));

    // Replaying again (and again) writes nothing and answers the same.
    const before = { contacts: await scan('contacts'), lookups: await scan('contactLookups'), consents: await scan('consents'), suppressions: await scan('suppressions') };
    const counting = crashingClient(Number.POSITIVE_INFINITY);
    for (let i = 0; i < 2; i++) expect(await contactsChunkProcessor(depsWith(counting.client, []))(chunk)).toEqual(replay);
    expect(counting.writes()).toBe(0);
    expect({ contacts: await scan('contacts'), lookups: await scan('contactLookups'), consents: await scan('consents'), suppressions: await scan('suppressions') }).toEqual(before);
  }, 120_000);
});

describe('hostile: the API writing the same addresses while they are imported', () => {
  test('300 rows imported while 60 single upserts of the same addresses race them: one contact per address, every row answered', async () => {
    const prefix = `race${randomBytes(2).toString('hex')}`;
    const csv = ['email,first_name', ...Array.from({ length: 300 }, (_, i) => `${prefix}.${i}@example.com,Imported${i}`)].join('\n');
    const [imported, ...upserts] = await Promise.all([
      t.api<{ summary: { created: number; updated: number; unchanged: number; failed: number }; rows: Array<{ status: string }> }>('POST', '/v1/contacts/import', { rawBody: csv, headers: { 'content-type': 'text/csv' } }),
      ...Array.from({ length: 60 }, (_, i) => t.api('POST', '/v1/contacts', { body: { email: `${prefix}.${i * 5}@example.com`, attributes: { viaApi: true } } })),
    ]);
    // A machine slow enough to run the route short of time hands the rest over to an import job (202): the same invariants hold once it completes.
    expect([200, 202], imported.text).toContain(imported.status);
    let summary = imported.body.summary;
    if (imported.status === 202) {
      const id = (imported.body as unknown as { job: { id: string } }).job.id;
      await t.runtime.idle(120_000);
      summary = (await t.api<{ job: { status: string; summary: typeof summary } }>('GET', `/v1/imports/${id}`)).body.job.summary;
    }
    expect(summary.failed).toBe(0);
    expect(summary.created + summary.updated + summary.unchanged).toBe(300);
    expect(upserts.every((u) => u.status === 200 || u.status === 201)).toBe(true);
    const contacts = ofPrefix(prefix, await scan('contacts'), 'email');
    expect(contacts).toHaveLength(300);
    expect(new Set(contacts.map((c) => c.email)).size).toBe(300);
    // Both writers' values are on the raced contacts: neither write was lost.
    const raced = contacts.filter((c) => Number(/\.(\d+)@/.exec(String(c.email))![1]) % 5 === 0);
    expect(raced).toHaveLength(60);
    for (const c of raced) expect(c.attributes).toMatchObject({ viaApi: true, first_name: expect.stringMatching(/^Imported/) });
    const ids = new Set(contacts.map((c) => String(c.id)));
    const lookups = (await scan('contactLookups')).filter((l) => ids.has(String(l.contactId)));
    expect(lookups.map((l) => l.key).sort()).toEqual(contacts.map((c) => `email#${String(c.email)}`).sort());
  }, 300_000);
});
