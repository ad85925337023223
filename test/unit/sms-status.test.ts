import { describe, expect, test } from 'vitest';
import { fromEumEvent, fromTwilioCallback, interpretSmsStatus } from '../../shared/responses/sms-events.ts';

const eum = (eventType: string) => ({
  eventType,
  messageId: 'm-1',
  eventTimestamp: Date.parse('2026-12-01T10:00:00Z'),
  destinationPhoneNumber: '+447400123456',
  context: { touchloop_contact: 'c-1', touchloop_campaign: 'k-1', touchloop_run: '2' },
});
const twilio = (MessageStatus: string, ErrorCode?: string) =>
  fromTwilioCallback({ MessageSid: 'SM1', MessageStatus, To: '+44 7400 123456', ...(ErrorCode ? { ErrorCode } : {}) }, { touchloop_contact: 'c-1', touchloop_campaign: 'k-1', touchloop_run: '2' });

describe('one SMS status interpreter, two providers', () => {
  test('intermediate states carry no news from either provider', () => {
    for (const type of ['TEXT_PENDING', 'TEXT_QUEUED', 'TEXT_SENT']) expect(interpretSmsStatus(fromEumEvent(eum(type) as never))).toBeUndefined();
    for (const status of ['queued', 'sending', 'sent', 'accepted']) expect(interpretSmsStatus(twilio(status)!)).toBeUndefined();
  });

  test('a delivery lands on the same send whichever provider reports it', () => {
    const a = interpretSmsStatus(fromEumEvent(eum('TEXT_DELIVERED') as never))!;
    const b = interpretSmsStatus(twilio('delivered')!)!;
    expect(a).toMatchObject({ type: 'delivered', sendId: 'k-1:2:c-1', campaignId: 'k-1', contactId: 'c-1' });
    expect(b).toMatchObject({ type: 'delivered', sendId: 'k-1:2:c-1', campaignId: 'k-1', contactId: 'c-1', address: '+447400123456' });
    expect(a.suppress).toBeUndefined();
    expect(b.suppress).toBeUndefined();
  });

  test('permanent failures suppress: unreachable numbers as bounced, a carrier opt-out (Twilio 21610) as opted out; a transient failure does not', () => {
    expect(interpretSmsStatus(fromEumEvent(eum('TEXT_UNREACHABLE') as never))).toMatchObject({ type: 'delivery_failed', suppress: 'bounced' });
    expect(interpretSmsStatus(twilio('undelivered', '30003')!)).toMatchObject({ type: 'delivery_failed', suppress: 'bounced' });
    expect(interpretSmsStatus(twilio('failed', '21610')!)).toMatchObject({ type: 'delivery_failed', suppress: 'opted_out' });
    expect(interpretSmsStatus(twilio('undelivered', '30001')!)!.suppress).toBeUndefined();
    expect(interpretSmsStatus(fromEumEvent(eum('TEXT_TTL_EXPIRED') as never))!.suppress).toBeUndefined();
  });

  test('Twilio callbacks give no time (the recorder takes the first arrival\'s); End User Messaging events do', () => {
    expect(twilio('delivered')!.occurredAt).toBeUndefined();
    expect(fromEumEvent(eum('TEXT_DELIVERED') as never).occurredAt).toBe('2026-12-01T10:00:00.000Z');
    expect(fromTwilioCallback({ MessageStatus: 'delivered' }, {})).toBeUndefined();
  });
});
