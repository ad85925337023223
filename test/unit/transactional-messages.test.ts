import { describe, expect, test } from 'vitest';
import { SesEventDetail } from '../../events/ses.ts';
import { activityKeys, hourOf } from '../../shared/activity/activity.ts';
import { ValidationError } from '../../shared/errors.ts';
import { fingerprintOf, idempotencyKeyOf, MessageInput } from '../../shared/messages/transactional.ts';
import { interpretSesEvent } from '../../shared/responses/ses-events.ts';
import { fromEumEvent, fromTwilioCallback, interpretSmsStatus } from '../../shared/responses/sms-events.ts';

const CONTACT = '0c5e1f0e-8d7a-4c1b-9a55-3f2b1c0d9e8f';
const MESSAGE = 'msg_AbCdEfGhIjKlMnOpQrStUvWxYz012345';
const TEMPLATE = '7d1f5c3a-9b2e-4f60-8a1d-2c3b4d5e6f70';
const hash = async (purpose: string, value: string) => `${purpose}|${value}`;

describe('delivery events of a transactional message answer the message, never a campaign', () => {
  test('SES: the message tag gives the send id and the flag; a campaign tag beside it is ignored', () => {
    const detail = SesEventDetail.parse({
      eventType: 'Delivery',
      mail: { messageId: 'ses-1', timestamp: '2026-12-01T10:00:00Z', destination: ['A@example.com'], tags: { touchloop_message: [MESSAGE], touchloop_contact: [CONTACT], touchloop_campaign: ['forged'], touchloop_run: ['1'] } },
      delivery: { timestamp: '2026-12-01T10:00:02Z' },
    });
    const response = interpretSesEvent(detail);
    expect(response).toMatchObject({ type: 'delivered', contactId: CONTACT, messageId: MESSAGE, sendId: `transactional:${MESSAGE}:${CONTACT}`, data: { transactional: true, messageId: MESSAGE } });
    expect(response.campaignId).toBeUndefined();
    expect(response.runId).toBeUndefined();
  });

  test('SES: a bare address (no contact tag) still names its message', () => {
    const response = interpretSesEvent(SesEventDetail.parse({ eventType: 'Bounce', mail: { messageId: 'ses-2', timestamp: '2026-12-01T10:00:00Z', destination: ['b@example.com'], tags: { touchloop_message: [MESSAGE] } }, bounce: { bounceType: 'Permanent', bounceSubType: 'General', timestamp: '2026-12-01T10:00:03Z' } }));
    expect(response).toMatchObject({ type: 'bounced', effect: 'suppress-bounced', address: 'b@example.com', messageId: MESSAGE, sendId: `transactional:${MESSAGE}:address` });
    expect(response.contactId).toBeUndefined();
  });

  test('SMS: End User Messaging context and Twilio callback query carry the message id; a malformed one is refused before anything is written', () => {
    const eum = interpretSmsStatus(fromEumEvent({ eventType: 'TEXT_DELIVERED', messageId: 'm-1', eventTimestamp: Date.parse('2026-12-01T10:00:00Z'), destinationPhoneNumber: '+447400123456', context: { touchloop_message: MESSAGE, touchloop_contact: CONTACT } }))!;
    expect(eum).toMatchObject({ type: 'delivered', messageId: MESSAGE, sendId: `transactional:${MESSAGE}:${CONTACT}`, data: { transactional: true, messageId: MESSAGE } });
    expect(eum.campaignId).toBeUndefined();
    const twilio = interpretSmsStatus(fromTwilioCallback({ MessageSid: 'SM0123456789abcdef0123456789abcdef', MessageStatus: 'delivered', To: '+447400123456' }, { touchloop_message: MESSAGE })!)!;
    expect(twilio).toMatchObject({ messageId: MESSAGE, sendId: `transactional:${MESSAGE}:address` });
    expect(() => fromTwilioCallback({ MessageSid: 'SM0123456789abcdef0123456789abcdef', MessageStatus: 'delivered' }, { touchloop_message: 'msg_../../x' })).toThrow(ValidationError);
  });

  test("a transactional `sent` counts apart from marketing sends (frequency caps read sent|<channel>); its other events count as usual", () => {
    const at = '2026-12-01T10:00:00Z';
    const hour = hourOf(Date.parse(at));
    expect(activityKeys({ type: 'sent', channel: 'email', occurredAt: at, data: { transactional: true } })).toEqual([`transactional_sent|email|${hour}`]);
    expect(activityKeys({ type: 'sent', channel: 'email', occurredAt: at, campaignId: 'c-1' })).toEqual([`sent|email|${hour}`, `sent|c:c-1|${hour}`]);
    expect(activityKeys({ type: 'delivered', channel: 'email', occurredAt: at, data: { transactional: true } })).toEqual([`delivered|email|${hour}`]);
  });
});

describe('the request', () => {
  const body = (extra: Record<string, unknown> = {}) => MessageInput.parse({ to: { email: 'Ann@Example.com' }, channel: 'email', template: TEMPLATE, data: { b: 1, a: 'x' }, ...extra });

  test('the key comes from the header or the body, the same if both; none or two different ones are 400s at the field', () => {
    expect(idempotencyKeyOf('k-1', body())).toBe('k-1');
    expect(idempotencyKeyOf(undefined, body({ idempotencyKey: ' k-2 ' }))).toBe('k-2');
    expect(idempotencyKeyOf('k-3', body({ idempotencyKey: 'k-3' }))).toBe('k-3');
    for (const [header, extra, path] of [
      [undefined, {}, 'idempotencyKey'],
      ['a', { idempotencyKey: 'b' }, 'idempotencyKey'],
      ['', {}, 'Idempotency-Key'],
      ['x'.repeat(201), {}, 'Idempotency-Key'],
    ] as const) {
      try {
        idempotencyKeyOf(header, body(extra));
        expect.unreachable();
      } catch (error) {
        expect((error as ValidationError).issues.map((i) => i.path)).toEqual([path]);
      }
    }
  });

  test('the fingerprint ignores the key, key order and address case, and sees every other difference', async () => {
    const a = await fingerprintOf(body({ idempotencyKey: 'one' }), hash);
    const b = await fingerprintOf(MessageInput.parse({ data: { a: 'x', b: 1 }, template: TEMPLATE, channel: 'email', to: { email: 'ann@example.com' }, idempotencyKey: 'two' }), hash);
    expect(a).toBe(b);
    expect(await fingerprintOf(body({ data: { a: 'x', b: 2 } }), hash)).not.toBe(a);
    expect(await fingerprintOf(body({ metadata: { orderId: '1' } }), hash)).not.toBe(a);
  });

  test('data: flat scalars only, at most 50 fields and 8 KB; phone numbers in E.164; one recipient matching the channel', () => {
    const issues = (input: Record<string, unknown>) => {
      const result = MessageInput.safeParse({ to: { email: 'a@example.com' }, channel: 'email', template: TEMPLATE, ...input });
      return result.success ? [] : result.error.issues.map((i) => i.path.join('.'));
    };
    expect(issues({ data: { ok: 'x', n: 1.5, yes: false, none: null } })).toEqual([]);
    expect(issues({ data: { deep: { a: 1 } } })).toEqual(['data.deep']);
    expect(issues({ data: { list: ['a'] } })).toEqual(['data.list']);
    expect(issues({ data: { long: 'x'.repeat(1001) } })).toEqual(['data.long']);
    expect(issues({ data: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`f${i}`, 1])) })).toEqual(['data']);
    expect(issues({ to: { phone: '07400 123456' }, channel: 'sms' })).toEqual(['to.phone']);
    expect(issues({ to: { phone: '+447400123456' }, channel: 'sms' })).toEqual([]);
    expect(issues({ to: { phone: '+447400123456' } })).toEqual(['to.phone']);
    expect(issues({ to: {} })).toEqual(['to']);
  });
});
