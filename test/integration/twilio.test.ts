import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { twilioSignature } from '../../shared/responses/twilio.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:twilio';
const AUTH_TOKEN = 'twilio-auth-token-123';
let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime({ environment: { TWILIO_SECRET_ARN: SECRET_ARN } });
  t.runtime.secrets.set(SECRET_ARN, JSON.stringify({ accountSid: 'AC123', authToken: AUTH_TOKEN, from: '+15555550100' }));
});
afterAll(async () => {
  await t?.stop();
});

async function post(path: string, params: Record<string, string>, sign = true) {
  const url = `${t.runtime.urls.api}${path}`;
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(sign ? { 'x-twilio-signature': twilioSignature(AUTH_TOKEN, url, params) } : {}) },
    body: new URLSearchParams(params),
  });
}

describe('Twilio webhooks', () => {
  test('an inbound STOP with a valid signature opts the number out; a missing or wrong signature → 403 and nothing happens', async () => {
    const phone = '+447400555888';
    const id = (await t.api<{ contact: { id: string } }>('POST', '/v1/contacts', { body: { phone, consent: { sms: { status: 'confirmed', wordingVersion: 's1' } } } })).body.contact.id;
    const params = { MessageSid: 'SM1', From: phone, To: '+15555550100', Body: 'Stop' };
    expect((await post('/webhooks/twilio/sms', params, false)).status).toBe(403);
    const forged = await fetch(`${t.runtime.urls.api}/webhooks/twilio/sms`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'AAAA' }, body: new URLSearchParams(params) });
    expect(forged.status).toBe(403);
    await t.runtime.idle();
    expect((await t.api<{ contact: { consent: { sms: { status: string } } } }>('GET', `/v1/contacts/${id}`)).body.contact.consent.sms.status).toBe('confirmed');

    const ok = await post('/webhooks/twilio/sms', params);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('<Response/>');
    await t.runtime.idle();
    const view = (await t.api<{ contact: { consent: { sms: { status: string } } }; suppressed: { sms: { reasons: string[] } | null } }>('GET', `/v1/contacts/${id}`)).body;
    expect(view.contact.consent.sms.status).toBe('withdrawn');
    expect(view.suppressed.sms?.reasons).toEqual(['opted_out']);
  });

  test('status callbacks record delivery on the send (ids in the callback URL); error 21610 suppresses', async () => {
    const phone = '+447400555889';
    const id = (await t.api<{ contact: { id: string } }>('POST', '/v1/contacts', { body: { phone, consent: { sms: { status: 'confirmed', wordingVersion: 's1' } } } })).body.contact.id;
    const path = `/webhooks/twilio/status?touchloop_campaign=camp-t&touchloop_run=1&touchloop_contact=${id}`;
    expect((await post(path, { MessageSid: 'SM2', MessageStatus: 'delivered', To: phone })).status).toBe(200);
    expect((await post(path, { MessageSid: 'SM2', MessageStatus: 'delivered', To: phone })).status).toBe(200);
    const timeline = await t.api<{ items: Array<{ type: string; sendId?: string }> }>('GET', `/v1/contacts/${id}/timeline?limit=50`);
    expect(timeline.body.items.filter((i) => i.type === 'delivered')).toEqual([expect.objectContaining({ sendId: `camp-t:1:${id}` })]);
    expect((await post(path, { MessageSid: 'SM3', MessageStatus: 'undelivered', ErrorCode: '21610', To: phone })).status).toBe(200);
    expect((await t.api<{ suppressed: { sms: { reasons: string[] } | null } }>('GET', `/v1/contacts/${id}`)).body.suppressed.sms?.reasons).toEqual(['opted_out']);
  });

  test('a signed status callback whose To is no phone number, MessageSid no message SID or touchloop_contact no contact id → 400, nothing recorded (found by the route fuzz)', async () => {
    // Prepare
    const id = (await t.api<{ contact: { id: string } }>('POST', '/v1/contacts', { body: { phone: '+447400555890' } })).body.contact.id;
    const timeline = async () => (await t.api<{ items: Array<{ type: string }> }>('GET', `/v1/contacts/${id}/timeline?limit=50`)).body.items.filter((i) => i.type === 'delivery_failed');
    // Act
    const badTo = await post(`/webhooks/twilio/status?touchloop_campaign=camp-t&touchloop_run=1&touchloop_contact=${id}`, { MessageSid: 'SM4', MessageStatus: 'failed', ErrorCode: '21610', To: 'not a number' });
    const badContact = await post(`/webhooks/twilio/status?touchloop_contact=${'A'.repeat(3000)}`, { MessageSid: 'SM5', MessageStatus: 'failed', To: '+447400555890' });
    const badSid = await post(`/webhooks/twilio/status?touchloop_contact=${id}`, { MessageSid: 'x'.repeat(10_000), MessageStatus: 'failed', To: '+447400555890' });
    const badInboundSid = await post('/webhooks/twilio/sms', { MessageSid: 'SM 1', From: '+447400555890', To: '+15555550100', Body: 'STOP' });
    // Assess
    expect([badTo.status, badContact.status, badSid.status, badInboundSid.status]).toEqual([400, 400, 400, 400]);
    expect(await timeline()).toEqual([]);
  });
});
