import { describe, expect, test } from 'vitest';
import { ValidationError } from '../../shared/errors.ts';
import { fromEumEvent, fromTwilioCallback, interpretSmsStatus } from '../../shared/responses/sms-events.ts';

const CONTACT = '0c5e1f0e-8d7a-4c1b-9a55-3f2b1c0d9e8f';

const eum = (eventType: string) => ({
  eventType,
  messageId: 'm-1',
  eventTimestamp: Date.parse('2026-12-01T10:00:00Z'),
  destinationPhoneNumber: '+447400123456',
  context: { touchloop_contact: CONTACT, touchloop_campaign: 'k-1', touchloop_run: '2' },
});
const twilio = (MessageStatus: string, ErrorCode?: string) =>
  fromTwilioCallback({ MessageSid: 'SM1', MessageStatus, To: '+44 7400 123456', ...(ErrorCode ? { ErrorCode } : {}) }, { touchloop_contact: CONTACT, touchloop_campaign: 'k-1', touchloop_run: '2' });

describe('one SMS status interpreter, two providers', () => {
  test('intermediate states carry no news from either provider', () => {
    for (const type of ['TEXT_PENDING', 'TEXT_QUEUED', 'TEXT_SENT']) expect(interpretSmsStatus(fromEumEvent(eum(type) as never))).toBeUndefined();
    for (const status of ['queued', 'sending', 'sent', 'accepted']) expect(interpretSmsStatus(twilio(status)!)).toBeUndefined();
  });

  test('a delivery lands on the same send whichever provider reports it', () => {
    const a = interpretSmsStatus(fromEumEvent(eum('TEXT_DELIVERED') as never))!;
    const b = interpretSmsStatus(twilio('delivered')!)!;
    expect(a).toMatchObject({ type: 'delivered', sendId: `k-1:2:${CONTACT}`, campaignId: 'k-1', contactId: CONTACT });
    expect(b).toMatchObject({ type: 'delivered', sendId: `k-1:2:${CONTACT}`, campaignId: 'k-1', contactId: CONTACT, address: '+447400123456' });
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

  test('a signed Twilio callback carrying what nothing may store is refused before anything is written', () => {
    const refused = (params: Record<string, string>, query: Record<string, string> = {}) => {
      try {
        fromTwilioCallback(params, query);
        return [];
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError);
        return (error as ValidationError).issues.map((i) => i.path);
      }
    };
    expect(refused({ MessageSid: 'SM/../x', MessageStatus: 'delivered' })).toEqual(['MessageSid']);
    expect(refused({ MessageSid: 'SM1', MessageStatus: 'delivered' }, { touchloop_contact: 'x'.repeat(2000) })).toEqual(['touchloop_contact']);
    expect(refused({ MessageSid: 'SM1', MessageStatus: 'failed', ErrorCode: '30003', To: 'not a number' })).toEqual(['To']);
    expect(refused({ MessageSid: 'SM1', MessageStatus: 'failed', ErrorCode: '30001', To: 'not a number' })).toEqual([]); // transient: nothing to suppress
  });
});
