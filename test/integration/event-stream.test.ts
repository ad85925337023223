import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { StreamEvent } from '../../events/stream.ts';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import { streamEventId } from '../../shared/stream/event-stream.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';
import { sesEvent } from '../helpers/ses.ts';

let t: TestRuntime;
let stateDir: string;
beforeAll(async () => {
  stateDir = mkdtempSync(path.join(tmpdir(), 'touchloop-stream-'));
  t = await startTestRuntime({ stateDir });
});
afterAll(async () => {
  await t?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

/** Every line of every NDJSON file under <stateDir>/stream, with the partition path it sits in. */
function streamLines(): Array<{ file: string; line: string }> {
  const root = path.join(stateDir, 'stream');
  const files = readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  return files.flatMap((file) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => ({ file: path.relative(root, file), line })));
}
const streamEvents = () => streamLines().map(({ line }) => StreamEvent.strict().parse(JSON.parse(line)));

async function timelineItems(contactId: string): Promise<Array<{ sk: string; type: string }>> {
  const result = await documentClient.send(new QueryCommand({ TableName: t.runtime.tableNames.interactions, KeyConditionExpression: 'contactId = :c', ExpressionAttributeValues: { ':c': contactId }, ConsistentRead: true }));
  return (result.Items ?? []) as Array<{ sk: string; type: string }>;
}

const inbox = async () => ((await (await fetch(`${t.runtime.urls.ses}/store`)).json()) as { emails: Array<{ destination: { to: string[] }; body: { html: string; text?: string } }> }).emails;
const confirmed = { email: { status: 'confirmed', wordingVersion: 'v1' } };

describe('the event stream', () => {
  let contactId = '';

  test('a send, its delivery, open, click, unsubscribe, a conversion and consent changes each appear once, in the documented schema, partitioned by day; repeated source events do not repeat', async () => {
    // Prepare: one contact (contact created, consent confirmed), a template, a segment, a campaign.
    const created = await t.api<{ contact: { id: string } }>('POST', '/v1/contacts', { body: { email: 'streamer@example.com', tags: ['stream'], consent: confirmed } });
    contactId = created.body.contact.id;
    const template = (await t.api<{ template: { id: string } }>('POST', '/v1/templates', { body: { channel: 'email', name: 'S', subject: 'Hi', html: '<html><body><a href="https://shop.example.com/x">x</a></body></html>', text: 'x https://shop.example.com/x' } })).body.template.id;
    const segmentId = (await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name: 'Stream', rule: { field: 'tags', op: 'contains', value: 'stream' } } })).body.segment.id;
    const campaign = (
      await t.api<{ campaign: { id: string } }>('POST', '/v1/campaigns', {
        body: { name: 'Stream', segmentId, channels: ['email'], variants: [{ name: 'A', weight: 1, templates: { email: template } }], holdoutPercent: 0, schedule: { type: 'immediate' }, limits: { sendRatePerSecond: { email: 1000 } } },
      })
    ).body.campaign.id;
    const before = (await inbox()).length;

    // Act: send; then every kind of response, each source event twice.
    await t.api('POST', `/v1/campaigns/${campaign}/launch`);
    await t.runtime.idle(60_000);
    const mail = (await inbox()).slice(before).find((e) => e.destination.to[0] === 'streamer@example.com')!;
    const pixel = /src="([^"]+\/t\/o\/[^"]+)"/.exec(mail.body.html)![1]!;
    const click = /href="([^"]+\/t\/c\/[^"]+)"/.exec(mail.body.html)![1]!;
    const unsubscribe = /Unsubscribe: (\S+)/.exec(mail.body.text ?? '')![1]!;
    const sent = (await timelineItems(contactId)).find((i) => i.type === 'sent') as unknown as { sendId: string; data: { runId: string; providerMessageId: string } };
    const delivered = sesEvent('Delivery', 'Email Delivered', { messageId: sent.data.providerMessageId, to: 'streamer@example.com', tags: { touchloop_campaign: campaign, touchloop_run: sent.data.runId, touchloop_contact: contactId } }, { delivery: { timestamp: new Date().toISOString() } });
    t.runtime.bus.putEvents([delivered, delivered]);
    for (let i = 0; i < 2; i++) {
      await fetch(pixel);
      await fetch(click, { redirect: 'manual' });
      expect((await t.api('POST', '/v1/events', { body: { contactId, name: 'purchase', value: 25.5, currency: 'EUR', occurredAt: new Date().toISOString(), idempotencyKey: 'order-1' } })).status).toBeLessThan(300);
    }
    await t.runtime.idle();
    for (let i = 0; i < 2; i++) {
      const oneClick = await fetch(unsubscribe, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(oneClick.status).toBe(200);
    }
    await t.runtime.idle();

    // Assess: the contact's timeline, entry by entry, is the contact's part of the stream, once each.
    const items = await timelineItems(contactId);
    const types = items.map((i) => i.type).sort();
    for (const type of ['sent', 'delivered', 'opened', 'clicked', 'converted', 'unsubscribed', 'consent_confirmed', 'consent_withdrawn']) expect(types, type).toContain(type);
    const events = streamEvents().filter((e) => e.contactId === contactId);
    expect(events.map((e) => e.id).sort()).toEqual(items.map((i) => streamEventId(contactId, i.sk)).sort());
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    // Once each, although every source event came twice.
    for (const type of ['delivered', 'opened', 'clicked', 'converted', 'unsubscribed']) expect(events.filter((e) => e.type === type), type).toHaveLength(1);

    const sentEvent = events.find((e) => e.type === 'sent')!;
    expect(sentEvent).toMatchObject({ schema: 'touchloop.event/1', campaignId: campaign, channel: 'email', variant: 'A', runId: sent.data.runId, sendId: sent.sendId });
    expect(events.find((e) => e.type === 'converted')).toMatchObject({ name: 'purchase', value: 25.5, currency: 'EUR' });
    expect(events.find((e) => e.type === 'clicked')!.data).toMatchObject({ link: 'https://shop.example.com/x' });
    expect(events.find((e) => e.type === 'consent_withdrawn')).toMatchObject({ channel: 'email' });
    // No address and no user agent leave Touchloop.
    const raw = streamLines().map((l) => l.line).join('\n');
    expect(raw).not.toContain('streamer@example.com');
    expect(raw).not.toMatch(/userAgent/);
    // Files sit in the day partition of their arrival.
    const today = new Date().toISOString();
    for (const { file } of streamLines()) expect(file).toMatch(new RegExp(`^year=${today.slice(0, 4)}/month=${today.slice(5, 7)}/day=\\d{2}/touchloop-local-events-\\d{4}-\\d{2}-\\d{2}-\\d{2}\\.ndjson$`));
    // Many events per Firehose record: fewer records than events.
    expect(t.runtime.firehose.stats.records).toBeLessThan(streamEvents().length);
  }, 120_000);

  test('an erasure publishes nothing: the moved, pseudonymised history is not new events, and the removals are not events', async () => {
    expect(contactId).not.toBe('');
    await t.runtime.idle();
    const before = streamLines().length;
    expect((await t.api('DELETE', `/v1/contacts/${contactId}`)).status).toBe(204);
    await t.runtime.idle();
    const added = streamEvents().slice(before);
    expect(added.filter((e) => e.contactId.startsWith('erased#'))).toEqual([]);
    expect(added).toEqual([]);
  });

  test('records Firehose refuses are retried from where they failed: each event still lands once, nothing in the DLQ', async () => {
    const dlq = t.runtime.deadLetterQueues.get('stream-publisher-stream')!;
    const before = streamEvents().length;
    // Three refusals exhaust one invocation's own retries; the mapping retries the batch from its first record.
    t.runtime.firehose.failNext(5);
    const made = await Promise.all(['a', 'b', 'c'].map((n) => t.api<{ contact: { id: string } }>('POST', '/v1/contacts', { body: { email: `retry-${n}@example.com`, consent: confirmed } })));
    await t.runtime.idle();
    const ids = made.map((m) => m.body.contact.id);
    const added = streamEvents().slice(before);
    const expected = (await Promise.all(ids.map(async (id) => (await timelineItems(id)).map((i) => streamEventId(id, i.sk))))).flat();
    expect(expected.length).toBeGreaterThanOrEqual(3);
    expect(added.map((e) => e.id).sort()).toEqual(expected.sort());
    expect(dlq.stats().visible).toBe(0);
  }, 60_000);

  test('a batch Firehose keeps refusing goes, as its position, to the stream DLQ once its retries run out; the stream moves on', async () => {
    const dlq = t.runtime.deadLetterQueues.get('stream-publisher-stream')!;
    t.runtime.firehose.failNext(1_000_000);
    const lost = (await t.api<{ contact: { id: string } }>('POST', '/v1/contacts', { body: { email: 'lost@example.com', consent: confirmed } })).body.contact.id;
    await t.runtime.idle(60_000);
    t.runtime.firehose.failNext(0);
    expect(dlq.stats().visible).toBe(1);
    const [parked] = dlq.receive(1);
    const info = JSON.parse(parked!.body) as { requestContext: { condition: string }; DDBStreamBatchInfo: { startSequenceNumber: string; batchSize: number; streamArn: string } };
    expect(info.requestContext.condition).toBe('RetryAttemptsExhausted');
    expect(info.DDBStreamBatchInfo.batchSize).toBeGreaterThan(0);
    expect(streamEvents().some((e) => e.contactId === lost)).toBe(false);
    // The next change is published as usual.
    const next = (await t.api<{ contact: { id: string } }>('POST', '/v1/contacts', { body: { email: 'after@example.com', consent: confirmed } })).body.contact.id;
    await t.runtime.idle();
    expect(streamEvents().filter((e) => e.contactId === next).length).toBe((await timelineItems(next)).length);
  }, 90_000);
});
