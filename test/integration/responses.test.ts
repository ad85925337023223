import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';
import { sesEvent } from '../helpers/ses.ts';

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => {
  await t?.stop();
});

interface ContactView {
  contact: { id: string; scores: { lead: number } };
  suppressed: { email: { reasons: string[] } | null };
  reachable: { email: boolean };
}

async function contactWithEmail(email: string): Promise<string> {
  const response = await t.api<ContactView>('POST', '/v1/contacts', { body: { email, consent: { email: { status: 'confirmed', wordingVersion: 'r1' } } } });
  return response.body.contact.id;
}

describe('SES events → timeline and effects', () => {
  test('delivery, opens and clicks are recorded once each (repeats ignored); clicks earn lead points; campaign counters move', async () => {
    const contactId = await contactWithEmail('reader@example.com');
    const tags = { touchloop_campaign: 'camp-r', touchloop_run: '1', touchloop_contact: contactId };
    const mail = { messageId: 'ses-msg-1', to: 'reader@example.com', tags };
    const delivery = sesEvent('Delivery', 'Email Delivered', mail, { delivery: { timestamp: '2026-11-25T10:00:05.000Z' } });
    const open = sesEvent('Open', 'Email Opened', mail, { open: { timestamp: '2026-11-25T11:00:00.000Z' } });
    const click = sesEvent('Click', 'Email Clicked', mail, { click: { timestamp: '2026-11-25T11:01:00.000Z', link: 'https://shop.example.com/sale' } });
    // SES events are best-effort and may repeat: the same delivery and open twice.
    t.runtime.bus.putEvents([delivery, open, click, delivery, open]);
    await t.runtime.idle();

    const timeline = await t.api<{ items: Array<{ type: string; sendId?: string; data?: { link?: string } }> }>('GET', `/v1/contacts/${contactId}/timeline?limit=50`);
    const responses = timeline.body.items.filter((i) => ['delivered', 'opened', 'clicked'].includes(i.type));
    expect(responses.map((i) => i.type).sort()).toEqual(['clicked', 'delivered', 'opened']);
    expect(responses.every((i) => i.sendId === `camp-r:1:${contactId}`)).toBe(true);
    expect(responses.find((i) => i.type === 'clicked')!.data!.link).toBe('https://shop.example.com/sale');
    const view = await t.api<ContactView>('GET', `/v1/contacts/${contactId}`);
    expect(view.body.contact.scores.lead).toBe(3);
  });

  test('a hard bounce and a complaint suppress the address at once; soft bounces only after three', async () => {
    const bounced = await contactWithEmail('bounced@example.com');
    const complainer = await contactWithEmail('complainer@example.com');
    const flaky = await contactWithEmail('flaky@example.com');
    t.runtime.bus.putEvents([
      sesEvent('Bounce', 'Email Bounced', { messageId: 'm-b', to: 'bounced@example.com', tags: { touchloop_contact: bounced } }, { bounce: { bounceType: 'Permanent', bounceSubType: 'General', timestamp: '2026-11-25T10:00:01.000Z' } }),
      sesEvent('Complaint', 'Email Complaint Received', { messageId: 'm-c', to: 'complainer@example.com', tags: { touchloop_contact: complainer } }, { complaint: { timestamp: '2026-11-25T10:05:00.000Z', complaintFeedbackType: 'abuse' } }),
    ]);
    await t.runtime.idle();
    for (const [id, reason] of [
      [bounced, 'bounced'],
      [complainer, 'complained'],
    ] as const) {
      const view = await t.api<ContactView>('GET', `/v1/contacts/${id}`);
      expect(view.body.suppressed.email?.reasons).toEqual([reason]);
      expect(view.body.reachable.email).toBe(false);
    }

    const soft = (n: number) =>
      sesEvent('Bounce', 'Email Bounced', { messageId: `m-soft-${n}`, to: 'flaky@example.com', tags: { touchloop_contact: flaky } }, { bounce: { bounceType: 'Transient', bounceSubType: 'MailboxFull', timestamp: new Date(Date.now() - n * 60_000).toISOString() } });
    t.runtime.bus.putEvents([soft(1), soft(2)]);
    await t.runtime.idle();
    expect((await t.api<ContactView>('GET', `/v1/contacts/${flaky}`)).body.suppressed.email).toBeNull();
    t.runtime.bus.putEvents([soft(3)]);
    await t.runtime.idle();
    expect((await t.api<ContactView>('GET', `/v1/contacts/${flaky}`)).body.suppressed.email?.reasons).toEqual(['bounced']);
  });

  test('a malformed SES event is retried and then parked in the DLQ; nothing is recorded', async () => {
    t.runtime.bus.putEvents([{ EventBusName: 'default', Source: 'aws.ses', DetailType: 'Email Delivered', Detail: JSON.stringify({ eventType: 'Nonsense', mail: {} }) }]);
    await t.runtime.idle();
    const dlq = t.runtime.deadLetterQueues.get('providerEvents')!;
    expect(dlq.stats().visible).toBe(1);
  });
});

describe('click and open tracking', () => {
  test('links in campaign email redirect through signed tokens (302), the pixel records an open, a tampered token never redirects', async () => {
    const contactId = await contactWithEmail('clicker@example.com');
    await t.api('PATCH', `/v1/contacts/${contactId}`, { body: { tags: ['track'] } });
    const template = (
      await t.api<{ template: { id: string } }>('POST', '/v1/templates', {
        body: { channel: 'email', name: 'Track', subject: 'Sale', html: '<html><body><p><a href="https://shop.example.com/sale?x=1&amp;y=2">Shop</a> <a href="mailto:help@example.com">Help</a></p></body></html>', text: 'Shop: https://shop.example.com/sale' },
      })
    ).body.template.id;
    const segment = (await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name: 'track', rule: { field: 'tags', op: 'contains', value: 'track' } } })).body.segment.id;
    const store = async () => ((await (await fetch(`${t.runtime.urls.ses}/store`)).json()) as { emails: Array<{ destination: { to: string[] }; body: { html?: string } }> }).emails;
    const before = (await store()).length;
    const campaign = await t.api<{ campaign: { id: string } }>('POST', '/v1/campaigns', {
      body: { name: 'Track', segmentId: segment, channels: ['email'], variants: [{ name: 'A', weight: 1, templates: { email: template } }], holdoutPercent: 0, schedule: { type: 'immediate' }, limits: { sendRatePerSecond: { email: 100 } } },
    });
    await t.api('POST', `/v1/campaigns/${campaign.body.campaign.id}/launch`);
    await t.runtime.idle();
    const mail = (await store()).slice(before).find((e) => e.destination.to[0] === 'clicker@example.com')!;
    const html = mail.body.html!;
    expect(html).toContain('href="mailto:help@example.com"');
    expect(html).not.toContain('href="https://shop.example.com');
    const click = /href="(http:\/\/127\.0\.0\.1:\d+\/t\/c\/[^"]+)"/.exec(html)![1]!;
    const pixel = /src="(http:\/\/127\.0\.0\.1:\d+\/t\/o\/[^"]+)"/.exec(html)![1]!;

    const redirected = await fetch(click, { redirect: 'manual' });
    expect(redirected.status).toBe(302);
    expect(redirected.headers.get('location')).toBe('https://shop.example.com/sale?x=1&y=2');
    const tampered = await fetch(click.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), { redirect: 'manual' });
    expect(tampered.status).toBe(400);
    expect(tampered.headers.get('location')).toBeNull();
    const image = await fetch(pixel);
    expect(image.headers.get('content-type')).toBe('image/gif');
    expect(Buffer.from(await image.arrayBuffer()).subarray(0, 6).toString()).toBe('GIF89a');

    const timeline = await t.api<{ items: Array<{ type: string; campaignId?: string; data?: { link?: string } }> }>('GET', `/v1/contacts/${contactId}/timeline?limit=50`);
    const own = timeline.body.items.filter((i) => i.campaignId === campaign.body.campaign.id);
    expect(own.map((i) => i.type).sort()).toEqual(['clicked', 'opened', 'sent']);
    expect(own.find((i) => i.type === 'clicked')!.data!.link).toBe('https://shop.example.com/sale?x=1&y=2');
  });
});

describe('conversions', () => {
  test('POST /v1/events records a conversion once per idempotency key, found by email or id; unknown contact → 404; bad input → 400', async () => {
    const contactId = await contactWithEmail('buyer@example.com');
    const body = { email: 'Buyer@Example.com', name: 'purchase', value: 49.9, currency: 'EUR', occurredAt: '2026-11-25T12:00:00Z', idempotencyKey: 'order-1001' };
    const first = await t.api<{ contactId: string; recorded: boolean }>('POST', '/v1/events', { body });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ contactId, recorded: true });
    const again = await t.api<{ duplicate: boolean }>('POST', '/v1/events', { body: { ...body, email: undefined, contactId } });
    expect(again.status).toBe(200);
    expect(again.body.duplicate).toBe(true);
    // A retry that reports a different time for the same key is still the same conversion.
    const later = await t.api<{ duplicate: boolean }>('POST', '/v1/events', { body: { ...body, occurredAt: '2026-11-25T12:05:00Z' } });
    expect(later.body.duplicate).toBe(true);
    const timeline = await t.api<{ items: Array<{ type: string; data?: Record<string, unknown> }> }>('GET', `/v1/contacts/${contactId}/timeline?limit=50`);
    expect(timeline.body.items.filter((i) => i.type === 'converted')).toEqual([expect.objectContaining({ data: expect.objectContaining({ name: 'purchase', value: 49.9, currency: 'EUR' }) })]);
    await t.runtime.idle();
    expect((await t.api<ContactView>('GET', `/v1/contacts/${contactId}`)).body.contact.scores.lead).toBe(25);
    // The day's conversions are found through the sparse index the attribution run reads.
    const { QueryCommand } = await import('@aws-sdk/lib-dynamodb');
    const { documentClient } = await import('../../shared/aws/dynamodb.ts');
    const day = await documentClient.send(
      new QueryCommand({ TableName: t.runtime.tableNames.interactions, IndexName: 'byTypeDay', KeyConditionExpression: 'typeDay = :d', ExpressionAttributeValues: { ':d': 'converted#2026-11-25' } }),
    );
    expect(day.Items?.map((i) => i.contactId)).toEqual([contactId]);

    expect((await t.api('POST', '/v1/events', { body: { ...body, email: 'nobody@example.com', idempotencyKey: 'x' } })).status).toBe(404);
    const bad = await t.api<{ error: { issues: Array<{ path: string }> } }>('POST', '/v1/events', { body: { name: 'purchase', value: -1, currency: 'euro', occurredAt: 'yesterday' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues.map((i) => i.path).sort()).toEqual(expect.arrayContaining(['currency', 'idempotencyKey', 'occurredAt', 'value']));
    expect((await t.api('POST', '/v1/events', { body, token: null })).status).toBe(401);
  });

  test('POST /v1/events refuses a conversion dated in the future (400 at occurredAt, nothing recorded, the key still free); a client clock a little fast is accepted', async () => {
    const contactId = await contactWithEmail('early@example.com');
    await t.runtime.idle();
    const leadBefore = (await t.api<ContactView>('GET', `/v1/contacts/${contactId}`)).body.contact.scores.lead;
    const body = { contactId, name: 'purchase', value: 20, idempotencyKey: 'order-from-tomorrow' };
    const tomorrow = await t.api<{ error: { code: string; issues: Array<{ path: string; message: string }> } }>('POST', '/v1/events', { body: { ...body, occurredAt: new Date(Date.now() + 86_400_000).toISOString() } });
    expect(tomorrow.status, tomorrow.text).toBe(400);
    expect(tomorrow.body.error.code).toBe('validation_failed');
    expect(tomorrow.body.error.issues).toEqual([{ path: 'occurredAt', message: expect.stringMatching(/future/) }]);
    await t.runtime.idle();
    const converted = async () => (await t.api<{ items: Array<{ type: string; occurredAt: string }> }>('GET', `/v1/contacts/${contactId}/timeline?limit=50`)).body.items.filter((i) => i.type === 'converted');
    expect(await converted()).toEqual([]);
    expect((await t.api<ContactView>('GET', `/v1/contacts/${contactId}`)).body.contact.scores.lead).toBe(leadBefore);

    // The refused report left no idempotency marker: the same key with a plausible time is a first report.
    const slightlyAhead = new Date(Date.now() + 30_000).toISOString();
    const accepted = await t.api<{ recorded: boolean }>('POST', '/v1/events', { body: { ...body, occurredAt: slightlyAhead } });
    expect(accepted.status, accepted.text).toBe(201);
    expect(accepted.body.recorded).toBe(true);
    expect((await converted()).map((i) => i.occurredAt)).toEqual([slightlyAhead]);
  });
});

describe('SMS keywords', () => {
  test('STOP opts out with one confirmation; a repeated STOP gets none; HELP answers; START restores consent', async () => {
    const phone = '+447400555001';
    const created = await t.api<ContactView>('POST', '/v1/contacts', { body: { phone, consent: { sms: { status: 'confirmed', wordingVersion: 's1' } } } });
    const id = created.body.contact.id;
    const inbound = (body: string) => t.api('POST', '/_local/sms/inbound', { token: null, body: { from: phone, body } });
    const repliesTo = () => t.runtime.smsSink.messages.filter((m) => m.to === phone).map((m) => m.body);
    const view = async () => (await t.api<ContactView & { contact: { consent: { sms?: { status: string } } }; suppressed: { sms: { reasons: string[] } | null }; reachable: { sms: boolean } }>('GET', `/v1/contacts/${id}`)).body;

    expect((await inbound('  stop ')).status).toBe(202);
    await t.runtime.idle();
    let state = await view();
    expect(state.contact.consent.sms?.status).toBe('withdrawn');
    expect(state.suppressed.sms?.reasons).toEqual(['opted_out']);
    expect(state.reachable.sms).toBe(false);
    expect(repliesTo()).toEqual([expect.stringContaining('unsubscribed')]);

    await inbound('STOP');
    await t.runtime.idle();
    expect(repliesTo()).toHaveLength(1);

    await inbound('help');
    await t.runtime.idle();
    expect(repliesTo()[1]).toContain('Reply STOP');

    await inbound('START');
    await t.runtime.idle();
    state = await view();
    expect(state.contact.consent.sms?.status).toBe('confirmed');
    expect(state.suppressed.sms).toBeNull();
    expect(state.reachable.sms).toBe(true);
    expect(repliesTo()).toHaveLength(3);

    const timeline = await t.api<{ items: Array<{ type: string }> }>('GET', `/v1/contacts/${id}/timeline?limit=50`);
    expect(timeline.body.items.map((i) => i.type)).toEqual(expect.arrayContaining(['unsubscribed', 'resubscribed', 'sms_received']));
  });
});

describe('SMS delivery events', () => {
  test('End User Messaging SMS status events are recorded once; intermediate ones ignored; an unreachable number is suppressed', async () => {
    const phone = '+447400555777';
    const id = (await t.api<ContactView>('POST', '/v1/contacts', { body: { phone, consent: { sms: { status: 'confirmed', wordingVersion: 's1' } } } })).body.contact.id;
    const event = (eventType: string, messageId: string) => ({
      EventBusName: 'default',
      Source: 'aws.sms-voice',
      DetailType: 'Text Message Delivery Status Updated',
      Detail: JSON.stringify({ eventType, eventTimestamp: Date.parse('2026-11-25T10:00:00Z'), messageId, destinationPhoneNumber: phone, context: { touchloop_campaign: 'camp-s', touchloop_run: '1', touchloop_contact: id } }),
    });
    t.runtime.bus.putEvents([event('TEXT_QUEUED', 'sms-1'), event('TEXT_DELIVERED', 'sms-1'), event('TEXT_DELIVERED', 'sms-1')]);
    await t.runtime.idle();
    let timeline = await t.api<{ items: Array<{ type: string; sendId?: string }> }>('GET', `/v1/contacts/${id}/timeline?limit=50`);
    expect(timeline.body.items.filter((i) => i.type === 'delivered')).toEqual([expect.objectContaining({ sendId: `camp-s:1:${id}` })]);
    expect((await t.api<ContactView & { suppressed: { sms: unknown } }>('GET', `/v1/contacts/${id}`)).body.suppressed.sms).toBeNull();

    t.runtime.bus.putEvents([event('TEXT_UNREACHABLE', 'sms-2')]);
    await t.runtime.idle();
    timeline = await t.api('GET', `/v1/contacts/${id}/timeline?limit=50`);
    expect(timeline.body.items.map((i) => i.type)).toContain('delivery_failed');
    expect((await t.api<{ suppressed: { sms: { reasons: string[] } | null } }>('GET', `/v1/contacts/${id}`)).body.suppressed.sms?.reasons).toEqual(['bounced']);
  });
});
