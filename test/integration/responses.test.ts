import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

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

/** An SES sending event as a configuration set's EventBridge destination delivers it. */
function sesEvent(eventType: string, detailType: string, mail: { messageId: string; to: string; tags: Record<string, string> }, extra: Record<string, unknown> = {}) {
  return {
    EventBusName: 'default',
    Source: 'aws.ses',
    DetailType: detailType,
    Detail: JSON.stringify({
      eventType,
      mail: {
        timestamp: '2026-11-25T10:00:00.000Z',
        messageId: mail.messageId,
        destination: [mail.to],
        tags: Object.fromEntries(Object.entries(mail.tags).map(([k, v]) => [k, [v]])),
      },
      ...extra,
    }),
  };
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
