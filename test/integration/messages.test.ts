import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { StreamEvent } from '../../events/stream.ts';
import { ProviderAmbiguousError, ProviderPermanentError, ProviderThrottledError, type MessageProvider, type OutgoingMessage } from '../../shared/campaigns/providers/provider.ts';
import { contactsFrom, type ContactsConfig } from '../../shared/contacts/wiring.ts';
import { MessageStore, messagePk, MESSAGE_SK } from '../../shared/messages/message-store.ts';
import { MessageInput, messageIdOf, sendMessage, type MessageDeps } from '../../shared/messages/transactional.ts';
import { TemplateStore } from '../../shared/templates/template-store.ts';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { startTestRuntime, type ApiResponse, type TestRuntime } from '../helpers/runtime.ts';
import { localOutbox, sesEvent } from '../helpers/ses.ts';

let t: TestRuntime;
let stateDir: string;
let receipt = '';
let smsReceipt = '';

const outbox = () => localOutbox(t.runtime);
const mailTo = (address: string) => outbox().mailTo(address);
const smsTo = (phone: string) => outbox().smsTo(phone);

interface MessageView {
  id: string;
  channel: string;
  status: string;
  delivery: string | null;
  reason?: string;
  recipient: { contactId?: string; address?: boolean };
  providerMessageId?: string;
  events: Record<string, string>;
}
interface MessageAnswer {
  message: MessageView;
  replayed?: boolean;
  error?: { code: string; reason?: string; messageId?: string; issues?: Array<{ path: string; message: string }> };
}
interface TimelineItem {
  type: string;
  campaignId?: string;
  sendId?: string;
  channel?: string;
  data?: Record<string, unknown>;
}

const send = (body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<ApiResponse<MessageAnswer>> => t.api<MessageAnswer>('POST', '/v1/messages', { body, headers });
const key = () => `order-${randomUUID()}`;

async function contact(body: Record<string, unknown>): Promise<string> {
  const response = await t.api<{ contact: { id: string } }>('POST', '/v1/contacts', { body });
  expect(response.status, response.text).toBeLessThan(300);
  return response.body.contact.id;
}
async function timeline(contactId: string): Promise<TimelineItem[]> {
  return (await t.api<{ items: TimelineItem[] }>('GET', `/v1/contacts/${contactId}/timeline?limit=100`)).body.items;
}
/**
 * The stream's events that match, once one has arrived (at most 10 s). Delivery to the event
 * stream is asynchronous (a DynamoDB stream read by Lambda); idle() drains the table stream, but
 * in one CI run on a loaded machine the entry reached the stream files only after idle() had
 * returned, so this waits for it instead of assuming one idle() is enough.
 */
async function streamedOnce(match: (event: StreamEvent) => boolean): Promise<StreamEvent[]> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const found = streamEvents().filter(match);
    if (found.length > 0) return found;
    await t.runtime.idle();
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return streamEvents().filter(match);
}

function streamEvents(): StreamEvent[] {
  const root = path.join(stateDir, 'stream');
  let files: string[] = [];
  try {
    files = readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  } catch {
    return [];
  }
  return files.flatMap((file) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => StreamEvent.strict().parse(JSON.parse(line))));
}

beforeAll(async () => {
  stateDir = mkdtempSync(path.join(tmpdir(), 'touchloop-messages-'));
  t = await startTestRuntime({ stateDir });
  const email = await t.api<{ template: { id: string } }>('POST', '/v1/templates', {
    body: {
      channel: 'email',
      name: 'Order receipt',
      subject: 'Your order {{data.orderNumber}}',
      html: '<html><body><p>Hi {{default contact.firstName "there"}}, thanks for order {{data.orderNumber}} ({{data.total}} {{data.currency}}).</p><a href="https://shop.example.com/orders">Your orders</a></body></html>',
      text: 'Hi {{default contact.firstName "there"}}, thanks for order {{data.orderNumber}} ({{data.total}} {{data.currency}}).',
    },
  });
  receipt = email.body.template.id;
  const sms = await t.api<{ template: { id: string } }>('POST', '/v1/templates', { body: { channel: 'sms', name: 'Code', body: 'Your code is {{data.code}}' } });
  smsReceipt = sms.body.template.id;
});
afterAll(async () => {
  await t?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('POST /v1/messages: sends', () => {
  test('an email to a contact without marketing consent arrives rendered with its data, is on the timeline (no campaign) and in the event stream', async () => {
    // Prepare: a contact who never consented to marketing.
    const contactId = await contact({ email: 'buyer@example.com', attributes: { firstName: 'Ada' } });

    // Act
    const response = await send({ idempotencyKey: key(), to: { contactId }, channel: 'email', template: receipt, data: { orderNumber: 'A-1001', total: 42.5, currency: 'EUR' } });

    // Assess
    expect(response.status, response.text).toBe(201);
    expect(response.body.message).toMatchObject({ channel: 'email', status: 'sent', delivery: null, recipient: { contactId } });
    expect(response.body.message.id).toMatch(/^msg_[A-Za-z0-9_-]{32}$/);
    const mails = await mailTo('buyer@example.com');
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe('Your order A-1001');
    expect(mails[0]!.body.text).toBe('Hi Ada, thanks for order A-1001 (42.5 EUR).');
    // Transactional: no unsubscribe footer, postal address or tracked links.
    expect(mails[0]!.body.html).not.toContain('/u/');
    expect(mails[0]!.body.html).not.toContain('/t/c/');
    expect(mails[0]!.body.html).toContain('href="https://shop.example.com/orders"');

    await t.runtime.idle();
    const sent = (await timeline(contactId)).filter((i) => i.type === 'sent');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ channel: 'email', sendId: `transactional:${response.body.message.id}:${contactId}`, data: { transactional: true, messageId: response.body.message.id } });
    expect(sent[0]!.campaignId).toBeUndefined();
    const streamed = await streamedOnce((e) => e.contactId === contactId && e.type === 'sent');
    expect(streamed).toHaveLength(1);
    expect(streamed[0]!.data).toMatchObject({ transactional: true, messageId: response.body.message.id });
    expect(streamed[0]!.campaignId).toBeUndefined();

    const status = await t.api<{ message: MessageView }>('GET', `/v1/messages/${response.body.message.id}`);
    expect(status.status).toBe(200);
    expect(status.body.message).toMatchObject({ id: response.body.message.id, status: 'sent', delivery: null });
  });

  test('a message at the documented maximum of data (50 fields, just under 8 KB as JSON) is sent and rendered', async () => {
    const data: Record<string, string | number> = { orderNumber: 'MAX-1', total: 1, currency: 'EUR' };
    for (let i = 0; Object.keys(data).length < 50; i++) data[`field${String(i).padStart(2, '0')}`] = 'x'.repeat(150);
    const bytes = Buffer.byteLength(JSON.stringify(data));
    expect(bytes).toBeGreaterThan(7_500);
    expect(bytes).toBeLessThanOrEqual(8_192);
    const response = await send({ to: { email: 'max@example.com' }, channel: 'email', template: receipt, data }, { 'Idempotency-Key': key() });
    expect(response.status, response.text).toBe(201);
    const mails = await mailTo('max@example.com');
    expect(mails.map((m) => m.subject)).toEqual(['Your order MAX-1']);
  });

  test('an email to a bare address (no contact) arrives, and no contact is created for it', async () => {
    const response = await send({ to: { email: 'Guest@Example.com' }, channel: 'email', template: receipt, data: { orderNumber: 'G-7', total: 3, currency: 'GBP' } }, { 'Idempotency-Key': key() });
    expect(response.status, response.text).toBe(201);
    expect(response.body.message.recipient).toEqual({ address: true });
    const mails = await mailTo('guest@example.com');
    expect(mails.map((m) => [m.subject, m.body.text])).toEqual([['Your order G-7', 'Hi there, thanks for order G-7 (3 GBP).']]);
    const lookup = await t.api<{ items: unknown[] }>('GET', '/v1/contacts?email=guest%40example.com');
    expect(lookup.status === 404 || (lookup.body.items ?? []).length === 0).toBe(true);
  });

  test('an SMS to a contact by phone goes through the SMS provider as transactional, without the marketing STOP line', async () => {
    const contactId = await contact({ phone: '+447400123001' });
    const response = await send({ idempotencyKey: key(), to: { phone: '+447400123001' }, channel: 'sms', template: smsReceipt, data: { code: '918273' } });
    expect(response.status, response.text).toBe(201);
    expect(response.body.message.recipient).toEqual({ contactId });
    const messages = smsTo('+447400123001');
    expect(messages.map((m) => [m.body, m.messageType])).toEqual([['Your code is 918273', 'TRANSACTIONAL']]);
    expect(messages[0]!.context).toMatchObject({ touchloop_message: response.body.message.id, touchloop_contact: contactId });
    expect(messages[0]!.context.touchloop_campaign).toBeUndefined();
  });
});

describe('exactly once per idempotency key', () => {
  test('a replay answers the same message and sends nothing more; the header and the body field are one key', async () => {
    const k = key();
    const body = { to: { email: 'replay@example.com' }, channel: 'email', template: receipt, data: { orderNumber: 'R-1', total: 1, currency: 'EUR' } };
    const first = await send({ ...body, idempotencyKey: k });
    const second = await send(body, { 'Idempotency-Key': k });
    const third = await send({ ...body, idempotencyKey: k }, { 'Idempotency-Key': k });
    expect(first.status).toBe(201);
    expect(first.body.replayed).toBe(false);
    for (const replay of [second, third]) {
      expect(replay.status, replay.text).toBe(200);
      expect(replay.body.replayed).toBe(true);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body.message).toEqual(first.body.message);
    }
    expect(await mailTo('replay@example.com')).toHaveLength(1);
  });

  test('50 identical requests at once make exactly one provider send; every answer names the same message', async () => {
    const k = key();
    const body = { idempotencyKey: k, to: { email: 'flood@example.com' }, channel: 'email', template: receipt, data: { orderNumber: 'F-1', total: 9, currency: 'EUR' } };
    const answers = await Promise.all(Array.from({ length: 50 }, () => send(body)));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    for (const a of answers) {
      expect([200, 201, 409], a.text).toContain(a.status);
      if (a.status === 409) {
        expect(a.body.error?.code).toBe('in_progress');
        expect(a.headers.get('retry-after')).toBe('1');
      }
    }
    const ids = new Set(answers.map((a) => a.body.message?.id ?? a.body.error?.messageId));
    expect(ids.size).toBe(1);
    expect(await mailTo('flood@example.com')).toHaveLength(1);
    // Afterwards the key answers the one message.
    const later = await send(body);
    expect(later.status).toBe(200);
    expect(later.body.message.id).toBe([...ids][0]);
    expect(await mailTo('flood@example.com')).toHaveLength(1);
  });

  test('the same key with another body is a conflict (409) and sends nothing', async () => {
    const k = key();
    const first = await send({ idempotencyKey: k, to: { email: 'conflict@example.com' }, channel: 'email', template: receipt, data: { orderNumber: 'C-1' } });
    expect(first.status).toBe(201);
    const other = await send({ idempotencyKey: k, to: { email: 'conflict@example.com' }, channel: 'email', template: receipt, data: { orderNumber: 'C-2' } });
    expect(other.status).toBe(409);
    expect(other.body.error?.code).toBe('idempotency_key_reused');
    const elsewhere = await send({ idempotencyKey: k, to: { email: 'someone-else@example.com' }, channel: 'email', template: receipt, data: { orderNumber: 'C-1' } });
    expect(elsewhere.status).toBe(409);
    expect(await mailTo('conflict@example.com')).toHaveLength(1);
    expect(await mailTo('someone-else@example.com')).toHaveLength(0);
  });
});

describe('never to a bounced, complained, opted-out or erased recipient', () => {
  const order = { channel: 'email', template: receipt, data: { orderNumber: 'X-1' } };

  test('hard-bounced and complained addresses are refused (422 with the reason), nothing is sent, and a replay answers the same refusal', async () => {
    const bouncedId = await contact({ email: 'hard@example.com', consent: { email: { status: 'confirmed', wordingVersion: 'v1' } } });
    t.runtime.bus.putEvents([
      sesEvent('Bounce', 'Email Bounced', { messageId: 'bounce-1', to: 'hard@example.com', tags: { touchloop_contact: bouncedId } }, { bounce: { bounceType: 'Permanent', bounceSubType: 'General', timestamp: new Date().toISOString() } }),
    ]);
    const complained = await t.api('POST', '/v1/suppressions', { body: { email: 'angry@example.com', channel: 'email', reason: 'complained' } });
    expect(complained.status).toBe(201);
    await t.runtime.idle();

    for (const [to, reason] of [
      [{ contactId: bouncedId }, 'bounced'],
      [{ email: 'angry@example.com' }, 'complained'],
    ] as const) {
      const k = key();
      const refused = await send({ ...order, template: receipt, idempotencyKey: k, to });
      expect(refused.status, refused.text).toBe(422);
      expect(refused.body.error).toMatchObject({ code: 'recipient_suppressed', reason });
      expect(refused.body.message).toMatchObject({ status: 'refused', reason });
      const again = await send({ ...order, template: receipt, idempotencyKey: k, to });
      expect(again.status).toBe(422);
      expect(again.body.message.id).toBe(refused.body.message.id);
    }
    expect(await mailTo('hard@example.com')).toHaveLength(0);
    expect(await mailTo('angry@example.com')).toHaveLength(0);
    expect((await timeline(bouncedId)).filter((i) => i.type === 'sent')).toHaveLength(0);
  });

  test('an erased contact is gone (404 by id) and its address is refused (422 erased); nothing is sent; its earlier message moves to the pseudonym', async () => {
    const contactId = await contact({ email: 'gone@example.com' });
    const earlier = await send({ ...order, template: receipt, idempotencyKey: key(), to: { contactId }, metadata: { orderId: 'X-1' } });
    expect(earlier.status).toBe(201);
    await t.runtime.idle();
    expect((await t.api('DELETE', `/v1/contacts/${contactId}`)).status).toBeLessThan(300);
    const moved = await t.api<{ message: MessageView & { metadata?: unknown } }>('GET', `/v1/messages/${earlier.body.message.id}`);
    expect(moved.body.message.recipient.contactId).toMatch(/^erased#/);
    expect(moved.body.message.providerMessageId).toBeUndefined();
    expect(moved.body.message.metadata).toBeUndefined();
    expect(moved.body.message.status).toBe('sent');
    const byId = await send({ ...order, template: receipt, idempotencyKey: key(), to: { contactId } });
    expect(byId.status).toBe(404);
    const byAddress = await send({ ...order, template: receipt, idempotencyKey: key(), to: { email: 'gone@example.com' } });
    expect(byAddress.status).toBe(422);
    expect(byAddress.body.error).toMatchObject({ code: 'recipient_suppressed', reason: 'erased' });
    expect(await mailTo('gone@example.com')).toHaveLength(1);
  });

  test('a number that texted STOP gets no transactional SMS either', async () => {
    await contact({ phone: '+447400123002' });
    const stop = await fetch(`${t.runtime.urls.api}/_local/sms/inbound`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ from: '+447400123002', body: 'STOP' }) });
    expect(stop.status).toBe(202);
    await t.runtime.idle();
    t.runtime.smsSink.clear();
    const refused = await send({ idempotencyKey: key(), to: { phone: '+447400123002' }, channel: 'sms', template: smsReceipt, data: { code: '1' } });
    expect(refused.status, refused.text).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'recipient_suppressed', reason: 'opted_out' });
    expect(smsTo('+447400123002')).toHaveLength(0);
  });
});

describe('delivery events and campaigns', () => {
  test('a hard bounce of a transactional email is recorded on the timeline and the message, and suppresses the address', async () => {
    const contactId = await contact({ email: 'bouncy@example.com' });
    const sent = await send({ idempotencyKey: key(), to: { contactId }, channel: 'email', template: receipt, data: { orderNumber: 'B-1' } });
    expect(sent.status).toBe(201);
    const mail = { messageId: sent.body.message.providerMessageId!, to: 'bouncy@example.com', tags: { touchloop_message: sent.body.message.id, touchloop_contact: contactId, touchloop_channel: 'email' } };

    t.runtime.bus.putEvents([sesEvent('Bounce', 'Email Bounced', mail, { bounce: { bounceType: 'Permanent', bounceSubType: 'General', timestamp: new Date().toISOString() } })]);
    await t.runtime.idle();

    const bounced = (await timeline(contactId)).filter((i) => i.type === 'bounced');
    expect(bounced).toHaveLength(1);
    expect(bounced[0]).toMatchObject({ sendId: `transactional:${sent.body.message.id}:${contactId}`, data: { transactional: true } });
    expect(bounced[0]!.campaignId).toBeUndefined();
    expect(t.runtime.deadLetterQueues.get('providerEvents')!.stats().visible).toBe(0);
    const status = await t.api<{ message: MessageView }>('GET', `/v1/messages/${sent.body.message.id}`);
    expect(status.body.message).toMatchObject({ status: 'sent', delivery: 'bounced' });
    expect(Object.keys(status.body.message.events)).toEqual(['bounced']);
    const view = await t.api<{ suppressed: { email: { reasons: string[] } | null } }>('GET', `/v1/contacts/${contactId}`);
    expect(view.body.suppressed.email?.reasons).toEqual(['bounced']);
    const next = await send({ idempotencyKey: key(), to: { contactId }, channel: 'email', template: receipt, data: { orderNumber: 'B-2' } });
    expect(next.status).toBe(422);
    expect(await mailTo('bouncy@example.com')).toHaveLength(1);
  });

  test("a bare address's delivery is kept on the message; an event naming an unknown message changes nothing and does not fail", async () => {
    const sent = await send({ idempotencyKey: key(), to: { email: 'walkin@example.com' }, channel: 'email', template: receipt, data: { orderNumber: 'W-1' } });
    const at = new Date().toISOString();
    t.runtime.bus.putEvents([
      sesEvent('Delivery', 'Email Delivered', { messageId: sent.body.message.providerMessageId!, to: 'walkin@example.com', tags: { touchloop_message: sent.body.message.id, touchloop_channel: 'email' } }, { delivery: { timestamp: at } }),
      sesEvent('Delivery', 'Email Delivered', { messageId: 'nobody', to: 'nobody@example.com', tags: { touchloop_message: 'msg_00000000000000000000000000000000' } }, { delivery: { timestamp: at } }),
    ]);
    await t.runtime.idle();
    const status = await t.api<{ message: MessageView }>('GET', `/v1/messages/${sent.body.message.id}`);
    expect(status.body.message).toMatchObject({ status: 'sent', delivery: 'delivered', events: { delivered: at } });
    expect((await t.api('GET', '/v1/messages/msg_00000000000000000000000000000000')).status).toBe(404);
    expect(t.runtime.deadLetterQueues.get('providerEvents')!.stats().visible).toBe(0);
  });

  test("a campaign's counters, live responses and report do not move for a transactional message to its recipient, which takes no attribution credit", async () => {
    // Prepare: a campaign sent to one contact.
    const contactId = await contact({ email: 'member@example.com', tags: ['tx-campaign'], consent: { email: { status: 'confirmed', wordingVersion: 'v1' } } });
    const segmentId = (await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name: 'Tx', rule: { field: 'tags', op: 'contains', value: 'tx-campaign' } } })).body.segment.id;
    const campaignId = (
      await t.api<{ campaign: { id: string } }>('POST', '/v1/campaigns', {
        body: { name: 'Newsletter', segmentId, channels: ['email'], variants: [{ name: 'A', weight: 1, templates: { email: receipt } }], holdoutPercent: 0, schedule: { type: 'immediate' }, limits: { sendRatePerSecond: { email: 1000 } } },
      })
    ).body.campaign.id;
    await t.api('POST', `/v1/campaigns/${campaignId}/launch`);
    await t.runtime.idle(60_000);
    const before = (await t.api<{ campaign: Record<string, unknown> }>('GET', `/v1/campaigns/${campaignId}`)).body.campaign;
    expect((before.counters as { sent: number }).sent).toBe(1);

    // Act: a transactional message to the same contact, delivered and opened.
    const sent = await send({ idempotencyKey: key(), to: { contactId }, channel: 'email', template: receipt, data: { orderNumber: 'M-1' } });
    expect(sent.status).toBe(201);
    const mail = { messageId: sent.body.message.providerMessageId!, to: 'member@example.com', tags: { touchloop_message: sent.body.message.id, touchloop_contact: contactId } };
    t.runtime.bus.putEvents([
      sesEvent('Delivery', 'Email Delivered', mail, { delivery: { timestamp: new Date().toISOString() } }),
      sesEvent('Open', 'Email Opened', mail, { open: { timestamp: new Date().toISOString() } }),
    ]);
    await t.runtime.idle();

    // Assess: the campaign is as it was; the timeline has both sends, only one of them the campaign's.
    const after = (await t.api<{ campaign: Record<string, unknown> }>('GET', `/v1/campaigns/${campaignId}`)).body.campaign;
    expect(after.counters).toEqual(before.counters);
    expect(after.responses ?? null).toEqual(before.responses ?? null);
    const items = await timeline(contactId);
    expect(items.filter((i) => i.type === 'sent').map((i) => i.campaignId ?? 'none').sort()).toEqual([campaignId, 'none'].sort());
    expect(items.filter((i) => i.type === 'opened' || i.type === 'delivered').every((i) => i.campaignId === undefined)).toBe(true);

    // And in the report: a purchase after both sends is the campaign's (last touch), the transactional message is no touch and no campaign.
    expect((await t.api('POST', '/v1/events', { body: { contactId, name: 'purchase', value: 30, currency: 'EUR', occurredAt: new Date().toISOString(), idempotencyKey: key() } })).status).toBeLessThan(300);
    await t.runtime.idle();
    const from = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000).toISOString();
    const to = new Date(Date.parse(from) + 2 * 86_400_000).toISOString();
    const started = await t.api<{ run: { runId: string } }>('POST', '/v1/attribution/runs', { body: { from, to } });
    expect(started.status, started.text).toBe(202);
    await t.runtime.idle(60_000);
    expect((await t.api<{ run: { status: string } }>('GET', `/v1/attribution/runs/${started.body.run.runId}`)).body.run.status).toBe('completed');
    const report = (await t.api<{ report: { funnel: Record<string, number>; revenue: number } }>('GET', `/v1/campaigns/${campaignId}/report`)).body.report;
    expect(report.funnel).toMatchObject({ sent: 1, opened: 0, converted: 1 });
    expect(report.revenue).toBe(30);
    for (const table of ['attribution', 'reports'] as const) {
      const any = await documentClient.send(new QueryCommand({ TableName: t.runtime.tableNames[table]!, KeyConditionExpression: 'campaignId = :c', ExpressionAttributeValues: { ':c': 'transactional' } }));
      expect(any.Items ?? [], table).toEqual([]);
    }
  });
});

describe('bad requests', () => {
  test('bad bodies answer 400 with every field path, and write nothing', async () => {
    const k = key();
    const response = await send({
      idempotencyKey: k,
      to: { email: 'not-an-address', phone: '+1' },
      channel: 'fax',
      template: 'nope',
      data: { nested: { a: 1 }, '1bad': 'x', list: [1, 2] },
      surprise: true,
    });
    expect(response.status).toBe(400);
    const paths = (response.body.error?.issues ?? []).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['to.email', 'to.phone', 'channel', 'template', 'data.nested', 'data.list', 'surprise']));
    expect(paths.some((p) => p.startsWith('data'))).toBe(true);

    const tooMuch = await send({ idempotencyKey: k, to: { email: 'a@example.com' }, channel: 'email', template: receipt, data: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`f${i}`, 'x'])) });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body.error?.issues?.map((i) => i.path)).toEqual(['data']);
    const tooBig = await send({ idempotencyKey: k, to: { email: 'a@example.com' }, channel: 'email', template: receipt, data: { a: 'x'.repeat(1000), b: 'x'.repeat(1000), c: 'x'.repeat(1000), d: 'x'.repeat(1000), e: 'x'.repeat(1000), f: 'x'.repeat(1000), g: 'x'.repeat(1000), h: 'x'.repeat(1000), i: 'x'.repeat(1000) } });
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.error?.issues?.[0]?.message).toContain('8192 bytes');

    const noKey = await send({ to: { email: 'a@example.com' }, channel: 'email', template: receipt });
    expect(noKey.status).toBe(400);
    expect(noKey.body.error?.issues).toEqual([{ path: 'idempotencyKey', message: 'is required (or the Idempotency-Key header)' }]);
    const twoKeys = await send({ idempotencyKey: 'a', to: { email: 'a@example.com' }, channel: 'email', template: receipt }, { 'Idempotency-Key': 'b' });
    expect(twoKeys.status).toBe(400);
    const twoRecipients = await send({ idempotencyKey: k, to: { email: 'a@example.com', contactId: randomUUID() }, channel: 'email', template: receipt });
    expect(twoRecipients.body.error?.issues?.map((i) => i.path)).toEqual(['to']);
    const wrongChannel = await send({ idempotencyKey: k, to: { email: 'a@example.com' }, channel: 'email', template: smsReceipt });
    expect(wrongChannel.status).toBe(400);
    expect(wrongChannel.body.error?.issues?.map((i) => i.path)).toEqual(['channel']);

    // Nothing was written for the key: the same key with a good body now sends.
    const good = await send({ idempotencyKey: k, to: { email: 'a@example.com' }, channel: 'email', template: receipt, data: { orderNumber: 'OK' } });
    expect(good.status, good.text).toBe(201);
  });

  test('an unknown template or contact is 404 and writes nothing; the route needs the bearer token', async () => {
    const k = key();
    const unknownTemplate = await send({ idempotencyKey: k, to: { email: 'b@example.com' }, channel: 'email', template: randomUUID() });
    expect(unknownTemplate.status).toBe(404);
    const wrongVersion = await send({ idempotencyKey: k, to: { email: 'b@example.com' }, channel: 'email', template: receipt, templateVersion: 2 });
    expect(wrongVersion.status).toBe(404);
    const unknownContact = await send({ idempotencyKey: k, to: { contactId: randomUUID() }, channel: 'email', template: receipt });
    expect(unknownContact.status).toBe(404);
    expect(await mailTo('b@example.com')).toHaveLength(0);
    const good = await send({ idempotencyKey: k, to: { email: 'b@example.com' }, channel: 'email', template: receipt, templateVersion: 1 });
    expect(good.status).toBe(201);

    const anonymous = await t.api('POST', '/v1/messages', { body: { idempotencyKey: key(), to: { email: 'b@example.com' }, channel: 'email', template: receipt }, token: null });
    expect(anonymous.status).toBe(401);
    expect((await t.api('GET', '/v1/messages/not-an-id')).status).toBe(400);
  });
});

/** A provider that answers each call as scripted (then accepts), and counts the calls. */
class ScriptedProvider implements MessageProvider {
  readonly name = 'scripted';
  readonly channel = 'email' as const;
  readonly calls: OutgoingMessage[] = [];
  constructor(private readonly script: Error[] = []) {}
  async send(message: OutgoingMessage): Promise<{ providerMessageId: string }> {
    this.calls.push(message);
    const failure = this.script[this.calls.length - 1];
    if (failure) throw failure;
    return { providerMessageId: `scripted-${this.calls.length}` };
  }
}

describe('what the provider answers (the use case on the runtime tables, with a scripted provider)', () => {
  const depsWith = (provider: MessageProvider): MessageDeps => {
    const tables = t.runtime.tableNames;
    const contacts = contactsFrom({ tables: tables as ContactsConfig['tables'], eventBus: process.env.EVENT_BUS_NAME! });
    return {
      messages: new MessageStore(tables.sends!),
      templates: new TemplateStore(tables.templates!),
      contacts: contacts.store,
      contactService: contacts.service,
      suppressions: contacts.suppressions,
      timeline: contacts.timeline,
      provider: async () => provider,
      publicBaseUrl: 'https://touchloop.test',
      senderAddress: 'Touchloop Test, 1 Test Street',
      inFlightWaitMs: 200,
    };
  };
  const input = (email: string) => MessageInput.parse({ to: { email }, channel: 'email', template: receipt, data: { orderNumber: 'P-1' } });

  test('throttled: nothing recorded as sent, 503 with Retry-After; the retry with the same key sends once', async () => {
    const provider = new ScriptedProvider([new ProviderThrottledError('slow down')]);
    const k = key();
    const first = await sendMessage(input('throttled@example.com'), k, depsWith(provider));
    expect(first).toMatchObject({ kind: 'retry', status: 503, code: 'provider_throttled', retryAfterSeconds: 2 });
    const second = await sendMessage(input('throttled@example.com'), k, depsWith(provider));
    expect(second).toMatchObject({ kind: 'sent', replayed: false, message: { status: 'sent', providerMessageId: 'scripted-2', attempts: 2 } });
    const third = await sendMessage(input('throttled@example.com'), k, depsWith(provider));
    expect(third).toMatchObject({ kind: 'sent', replayed: true });
    expect(provider.calls).toHaveLength(2);
  });

  test('throttled, then the address bounces: the retry with the key is refused (and answered so again), never sent', async () => {
    const provider = new ScriptedProvider([new ProviderThrottledError('slow down')]);
    const deps = depsWith(provider);
    const k = key();
    expect(await sendMessage(input('later-bounced@example.com'), k, deps)).toMatchObject({ kind: 'retry', code: 'provider_throttled' });
    await deps.contactService.suppress('email', 'later-bounced@example.com', 'bounced', { at: new Date().toISOString(), source: 'test' });
    expect(await sendMessage(input('later-bounced@example.com'), k, deps)).toMatchObject({ kind: 'refused', replayed: false, message: { status: 'skipped', reason: 'bounced' } });
    expect(await sendMessage(input('later-bounced@example.com'), k, deps)).toMatchObject({ kind: 'refused', replayed: true });
    expect(provider.calls).toHaveLength(1);
  });

  test('a transient error gives the claim back (503 provider_unavailable); a permanent rejection is recorded (failed, its reason) and answered again', async () => {
    const transient = new ScriptedProvider([new Error('socket hang up')]);
    const k1 = key();
    expect(await sendMessage(input('flaky@example.com'), k1, depsWith(transient))).toMatchObject({ kind: 'retry', status: 503, code: 'provider_unavailable' });
    expect((await new MessageStore(t.runtime.tableNames.sends!).get(await messageIdOf(k1)))?.status).toBe('queued');

    const rejecting = new ScriptedProvider([new ProviderPermanentError('MessageRejected', 'rejected')]);
    const k2 = key();
    expect(await sendMessage(input('rejected@example.com'), k2, depsWith(rejecting))).toMatchObject({ kind: 'failed', replayed: false, message: { status: 'failed', reason: 'rejected' } });
    expect(await sendMessage(input('rejected@example.com'), k2, depsWith(rejecting))).toMatchObject({ kind: 'failed', replayed: true });
    expect(rejecting.calls).toHaveLength(1);
  });

  test('an ambiguous answer is outcome_unknown and never sent again under the key', async () => {
    const provider = new ScriptedProvider([new ProviderAmbiguousError('no message id')]);
    const k = key();
    const first = await sendMessage(input('ambiguous@example.com'), k, depsWith(provider));
    expect(first).toMatchObject({ kind: 'failed', message: { status: 'failed', reason: 'outcome_unknown' } });
    const again = await sendMessage(input('ambiguous@example.com'), k, depsWith(provider));
    expect(again).toMatchObject({ kind: 'failed', replayed: true, message: { reason: 'outcome_unknown' } });
    expect(provider.calls).toHaveLength(1);
  });

  test('a request that stopped after its claim: in progress while the lease runs, then outcome_unknown, never a second send', async () => {
    // Prepare: a claim left behind (as a crash after the provider call leaves it).
    const provider = new ScriptedProvider();
    const k = key();
    const deps = depsWith(provider);
    const messageId = await messageIdOf(k);
    let called = 0;
    const hanging: MessageProvider = { name: 'hanging', channel: 'email', send: () => (called++, new Promise(() => undefined)) };
    void sendMessage(input('crash@example.com'), k, { ...deps, provider: async () => hanging });
    for (let i = 0; i < 100 && called === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(called).toBe(1);
    expect((await deps.messages.get(messageId))?.status).toBe('sending');

    // Act / Assess: while the lease runs, a retry waits and answers 409; after it, outcome_unknown.
    expect(await sendMessage(input('crash@example.com'), k, deps)).toMatchObject({ kind: 'retry', status: 409, code: 'in_progress' });
    await documentClient.send(new UpdateCommand({ TableName: t.runtime.tableNames.sends!, Key: { pk: messagePk(messageId), sk: MESSAGE_SK }, UpdateExpression: 'SET leaseUntil = :past', ExpressionAttributeValues: { ':past': '2000-01-01T00:00:00.000Z' } }));
    expect(await sendMessage(input('crash@example.com'), k, deps)).toMatchObject({ kind: 'failed', message: { status: 'failed', reason: 'outcome_unknown' } });
    expect(provider.calls).toHaveLength(0);
    expect(called).toBe(1);
  });
});
