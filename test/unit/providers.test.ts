import { ConflictException, InternalServerException, PinpointSMSVoiceV2Client, SendTextMessageCommand, ThrottlingException } from '@aws-sdk/client-pinpoint-sms-voice-v2';
import { MessageRejected, SendEmailCommand, SESv2Client, TooManyRequestsException } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, test } from 'vitest';
import { EndUserMessagingSmsProvider } from '../../shared/campaigns/providers/eum-sms.ts';
import { ProviderAmbiguousError, ProviderPermanentError, ProviderThrottledError, type OutgoingMessage } from '../../shared/campaigns/providers/provider.ts';
import { SesEmailProvider } from '../../shared/campaigns/providers/ses-email.ts';
import { TwilioSmsProvider, type TwilioConfig } from '../../shared/campaigns/providers/twilio-sms.ts';

const clientConfig = { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } };
const ses = new SESv2Client(clientConfig);
const sesMock = mockClient(ses);
const sms = new PinpointSMSVoiceV2Client(clientConfig);
const smsMock = mockClient(sms);
beforeEach(() => {
  sesMock.reset();
  smsMock.reset();
});

/** An SDK-shaped error: what the clients throw for a service error code. */
const awsError = (name: string, message = `${name} happened`, extra: Record<string, unknown> = {}): Error => Object.assign(new Error(message), { name, ...extra });

const tags = { touchloop_campaign: 'c-1', touchloop_run: 'r202601010900', touchloop_contact: 'ab cd/ü+1', touchloop_channel: 'email' };

const email: OutgoingMessage = {
  to: 'ada@example.com',
  subject: 'Hi Ada',
  html: '<p>Hi Ada</p>',
  text: 'Hi Ada',
  headers: { 'List-Unsubscribe': '<https://touchloop.test/u/tok>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
  tags,
};

const text: OutgoingMessage = { to: '+14155550101', body: 'Hi Ada, 20% off today\nReply STOP to opt out', tags: { ...tags, touchloop_channel: 'sms' } };

describe('SesEmailProvider', () => {
  const provider = () => new SesEmailProvider({ from: 'Touchloop <news@touchloop.test>', configurationSet: 'touchloop-events' }, ses);

  test('sends one SendEmail with the configuration set, sanitised tags and the headers; returns the message id', async () => {
    // Prepare
    sesMock.on(SendEmailCommand).resolves({ MessageId: 'ses-0001' });

    // Act
    const result = await provider().send(email);

    // Assess
    expect(result).toEqual({ providerMessageId: 'ses-0001' });
    const calls = sesMock.commandCalls(SendEmailCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({
      FromEmailAddress: 'Touchloop <news@touchloop.test>',
      Destination: { ToAddresses: ['ada@example.com'] },
      ConfigurationSetName: 'touchloop-events',
      EmailTags: [
        { Name: 'touchloop_campaign', Value: 'c-1' },
        { Name: 'touchloop_run', Value: 'r202601010900' },
        // SES tag values allow letters, digits, _ - . @ only.
        { Name: 'touchloop_contact', Value: 'ab_cd___1' },
        { Name: 'touchloop_channel', Value: 'email' },
      ],
      Content: {
        Simple: {
          Subject: { Data: 'Hi Ada', Charset: 'UTF-8' },
          Body: { Html: { Data: '<p>Hi Ada</p>', Charset: 'UTF-8' }, Text: { Data: 'Hi Ada', Charset: 'UTF-8' } },
          Headers: [
            { Name: 'List-Unsubscribe', Value: '<https://touchloop.test/u/tok>' },
            { Name: 'List-Unsubscribe-Post', Value: 'List-Unsubscribe=One-Click' },
          ],
        },
      },
    });
  });

  test('tag values are cut to 256 characters; no configuration set and no headers when none are given', async () => {
    // Prepare
    sesMock.on(SendEmailCommand).resolves({ MessageId: 'ses-0002' });
    const plain = new SesEmailProvider({ from: 'news@touchloop.test' }, ses);

    // Act
    await plain.send({ to: 'ada@example.com', subject: 'Hi', html: '<p>Hi</p>', text: 'Hi', tags: { long: 'x'.repeat(300) } });

    // Assess
    const input = sesMock.commandCalls(SendEmailCommand)[0]!.args[0].input;
    expect(input.ConfigurationSetName).toBeUndefined();
    expect(input.EmailTags).toEqual([{ Name: 'long', Value: 'x'.repeat(256) }]);
    expect(input.Content?.Simple?.Headers).toEqual([]);
  });

  test.each([
    ['Throttling', awsError('Throttling', 'Rate exceeded')],
    ['ThrottlingException', awsError('ThrottlingException', 'Rate exceeded')],
    ['TooManyRequestsException (SDK class)', new TooManyRequestsException({ message: 'Rate exceeded', $metadata: {} })],
    ['LimitExceededException', awsError('LimitExceededException', 'Rate exceeded')],
    ['SendingPausedException', awsError('SendingPausedException', 'Rate exceeded')],
  ])('%s → ProviderThrottledError (retry later)', async (_name, error) => {
    // Prepare
    sesMock.on(SendEmailCommand).rejects(error);

    // Act
    const thrown = await provider().send(email).catch((e: unknown) => e);

    // Assess
    expect(thrown).toBeInstanceOf(ProviderThrottledError);
    expect((thrown as Error).message).toBe('Rate exceeded');
  });

  test.each([
    ['MessageRejected (SDK class)', new MessageRejected({ message: 'Email address is not verified', $metadata: {} }), 'rejected'],
    ['MailFromDomainNotVerifiedException', awsError('MailFromDomainNotVerifiedException', 'Email address is not verified'), 'sender_not_verified'],
    ['AccountSuspendedException', awsError('AccountSuspendedException', 'Email address is not verified'), 'account_suspended'],
    ['BadRequestException', awsError('BadRequestException', 'Email address is not verified'), 'rejected'],
  ])('%s → ProviderPermanentError with reason %s (never retried)', async (_name, error, reason) => {
    // Prepare
    sesMock.on(SendEmailCommand).rejects(error);

    // Act
    const thrown = await provider().send(email).catch((e: unknown) => e);

    // Assess
    expect(thrown).toBeInstanceOf(ProviderPermanentError);
    expect(thrown).toMatchObject({ reason, message: 'Email address is not verified' });
  });

  test('any other error is rethrown unchanged (transient: the queue retries)', async () => {
    // Prepare
    const error = awsError('InternalFailure', 'We encountered an internal error');
    sesMock.on(SendEmailCommand).rejects(error);

    // Act
    const thrown = await provider().send(email).catch((e: unknown) => e);

    // Assess
    expect(thrown).toBe(error);
  });

  test('an answer without a message id is ambiguous (never retried), not a success', async () => {
    // Prepare
    sesMock.on(SendEmailCommand).resolves({});

    // Act
    const thrown = await provider().send(email).catch((e: unknown) => e);

    // Assess
    expect(thrown).toBeInstanceOf(ProviderAmbiguousError);
    expect((thrown as Error).message).toMatch(/without a message id/);
  });
});

describe('EndUserMessagingSmsProvider', () => {
  const provider = () => new EndUserMessagingSmsProvider({ originationIdentity: '+15555550100', configurationSet: 'touchloop-sms' }, sms);

  test('sends one promotional SendTextMessage with the origination identity, configuration set and context; returns the message id', async () => {
    // Prepare
    smsMock.on(SendTextMessageCommand).resolves({ MessageId: 'sms-0001' });

    // Act
    const result = await provider().send(text);

    // Assess
    expect(result).toEqual({ providerMessageId: 'sms-0001' });
    const calls = smsMock.commandCalls(SendTextMessageCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({
      DestinationPhoneNumber: '+14155550101',
      MessageBody: 'Hi Ada, 20% off today\nReply STOP to opt out',
      MessageType: 'PROMOTIONAL',
      OriginationIdentity: '+15555550100',
      ConfigurationSetName: 'touchloop-sms',
      Context: text.tags,
    });
  });

  test.each([
    ['ThrottlingException (SDK class)', new ThrottlingException({ message: 'Rate exceeded', $metadata: {} })],
    ['ServiceQuotaExceededException', awsError('ServiceQuotaExceededException', 'Rate exceeded')],
  ])('%s → ProviderThrottledError', async (_name, error) => {
    // Prepare
    smsMock.on(SendTextMessageCommand).rejects(error);

    // Act
    const thrown = await provider().send(text).catch((e: unknown) => e);

    // Assess
    expect(thrown).toBeInstanceOf(ProviderThrottledError);
    expect((thrown as Error).message).toBe('Rate exceeded');
  });

  test.each([
    ['ValidationException, Reason DESTINATION_PHONE_NUMBER_OPTED_OUT', awsError('ValidationException', 'Validation failed', { Reason: 'DESTINATION_PHONE_NUMBER_OPTED_OUT' }), 'opted_out'],
    [
      'ConflictException saying the number opted out (SDK class)',
      new ConflictException({ message: 'The destination phone number is opted out', $metadata: {}, Reason: 'DESTINATION_PHONE_NUMBER_OPTED_OUT' }),
      'opted_out',
    ],
    ['ValidationException, invalid destination number', awsError('ValidationException', 'The destination phone number is not valid', { Reason: 'INVALID_PARAMETER', Fields: [{ Name: 'DestinationPhoneNumber', Message: 'not valid' }] }), 'invalid_destination'],
    ['ValidationException, blocked destination country', awsError('ValidationException', 'Validation failed', { Reason: 'DESTINATION_COUNTRY_BLOCKED' }), 'invalid_destination'],
    ['ValidationException about something else', awsError('ValidationException', 'Message body is too long', { Reason: 'MAXIMUM_SIZE_EXCEEDED' }), 'rejected'],
  ])('%s → ProviderPermanentError %s', async (_name, error, reason) => {
    // Prepare
    smsMock.on(SendTextMessageCommand).rejects(error);

    // Act
    const thrown = await provider().send(text).catch((e: unknown) => e);

    // Assess
    expect(thrown).toBeInstanceOf(ProviderPermanentError);
    expect((thrown as ProviderPermanentError).reason).toBe(reason);
  });

  test('any other error is rethrown unchanged (transient)', async () => {
    // Prepare
    const error = new InternalServerException({ message: 'Internal error', $metadata: {} });
    smsMock.on(SendTextMessageCommand).rejects(error);

    // Act
    const thrown = await provider().send(text).catch((e: unknown) => e);

    // Assess
    expect(thrown).toBe(error);
  });

  test('an answer without a message id is an error, not a success', async () => {
    // Prepare
    smsMock.on(SendTextMessageCommand).resolves({});

    // Act
    const thrown = await provider().send(text).catch((e: unknown) => e);

    // Assess
    expect(thrown).toBeInstanceOf(ProviderAmbiguousError);
    expect((thrown as Error).message).toMatch(/without a message id/);
  });
});

describe('TwilioSmsProvider', () => {
  interface Captured {
    url: string;
    init: RequestInit;
  }

  /** A fetch that answers every request with one status and body, and keeps the requests. */
  function fakeFetch(status: number, body: unknown): { fetch: typeof fetch; requests: Captured[] } {
    const requests: Captured[] = [];
    const impl = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      requests.push({ url: String(input), init: init ?? {} });
      return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    };
    return { fetch: impl, requests };
  }

  const config: TwilioConfig = { accountSid: 'AC0123456789', authToken: 's3cret', from: '+15555550100', statusCallbackUrl: 'https://hooks.touchloop.test/twilio/status?source=twilio' };
  const formOf = (request: Captured): URLSearchParams => new URLSearchParams(String(request.init.body));

  test('posts a form with basic auth to the account’s Messages resource and returns the sid', async () => {
    // Prepare
    const fake = fakeFetch(201, { sid: 'SM0001', status: 'queued' });

    // Act
    const result = await new TwilioSmsProvider(config, fake.fetch).send(text);

    // Assess
    expect(result).toEqual({ providerMessageId: 'SM0001' });
    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests as [Captured];
    expect(request.url).toBe('https://api.twilio.com/2010-04-01/Accounts/AC0123456789/Messages.json');
    expect(request.init.method).toBe('POST');
    const headers = new Headers(request.init.headers);
    expect(headers.get('authorization')).toBe(`Basic ${Buffer.from('AC0123456789:s3cret').toString('base64')}`);
    expect(headers.get('content-type')).toBe('application/x-www-form-urlencoded');
    const form = formOf(request);
    expect(form.get('To')).toBe('+14155550101');
    expect(form.get('Body')).toBe('Hi Ada, 20% off today\nReply STOP to opt out');
    expect(form.get('From')).toBe('+15555550100');
    expect(form.has('MessagingServiceSid')).toBe(false);
  });

  test('the status callback keeps its own query and carries the send’s tags', async () => {
    // Prepare
    const fake = fakeFetch(201, { sid: 'SM0002' });

    // Act
    await new TwilioSmsProvider(config, fake.fetch).send(text);

    // Assess
    const callback = new URL(formOf(fake.requests[0]!).get('StatusCallback')!);
    expect(`${callback.origin}${callback.pathname}`).toBe('https://hooks.touchloop.test/twilio/status');
    expect(Object.fromEntries(callback.searchParams)).toEqual({ source: 'twilio', ...text.tags });
  });

  test('a Messaging Service SID (MG…) is sent as MessagingServiceSid, not From; no callback when none is configured; the API base URL can be changed', async () => {
    // Prepare
    const fake = fakeFetch(201, { sid: 'SM0003' });
    const provider = new TwilioSmsProvider({ accountSid: 'AC0123456789', authToken: 's3cret', from: 'MG9999', apiBaseUrl: 'http://127.0.0.1:4010' }, fake.fetch);

    // Act
    await provider.send(text);

    // Assess
    const form = formOf(fake.requests[0]!);
    expect(form.get('MessagingServiceSid')).toBe('MG9999');
    expect(form.has('From')).toBe(false);
    expect(form.has('StatusCallback')).toBe(false);
    expect(fake.requests[0]!.url).toBe('http://127.0.0.1:4010/2010-04-01/Accounts/AC0123456789/Messages.json');
  });

  test('429 → ProviderThrottledError', async () => {
    // Prepare
    const fake = fakeFetch(429, { code: 20429, message: 'Too Many Requests' });

    // Act
    const thrown = await new TwilioSmsProvider(config, fake.fetch).send(text).catch((e: unknown) => e);

    // Assess
    expect(thrown).toBeInstanceOf(ProviderThrottledError);
    expect((thrown as Error).message).toBe('Too Many Requests');
  });

  test.each([
    [21211, "The 'To' number +1415 is not a valid phone number.", 'invalid_destination'],
    [21610, 'Attempt to send to unsubscribed recipient', 'opted_out'],
    [21614, "'To' number is not a valid mobile number", 'invalid_destination'],
    [21408, 'Permission to send an SMS has not been enabled for the region', 'rejected'],
    [21999, 'Some other client error', 'rejected'],
  ])('400 with code %i → ProviderPermanentError', async (code, message, reason) => {
    // Prepare
    const fake = fakeFetch(400, { code, message, status: 400 });

    // Act
    const thrown = await new TwilioSmsProvider(config, fake.fetch).send(text).catch((e: unknown) => e);

    // Assess
    expect(thrown).toBeInstanceOf(ProviderPermanentError);
    expect(thrown).toMatchObject({ reason, message });
  });

  test.each([
    [500, { code: 20500, message: 'Internal Server Error' }],
    [503, '<html>Service Unavailable</html>'],
    [408, { message: 'Request Timeout' }],
  ])('%i → a plain Error (transient: the queue retries)', async (status, body) => {
    // Prepare
    const fake = fakeFetch(status, body);

    // Act
    const thrown = await new TwilioSmsProvider(config, fake.fetch).send(text).catch((e: unknown) => e);

    // Assess
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).not.toBeInstanceOf(ProviderPermanentError);
    expect(thrown).not.toBeInstanceOf(ProviderThrottledError);
    expect((thrown as Error).message).toContain(`Twilio answered ${status}`);
  });
});
