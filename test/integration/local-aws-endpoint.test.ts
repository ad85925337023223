import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateScheduleCommand, DeleteScheduleCommand, GetScheduleCommand, ResourceNotFoundException, SchedulerClient } from '@aws-sdk/client-scheduler';
import { QueueDoesNotExist, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

// The real SDK clients, configured only through the standard AWS_ENDPOINT_URL_<SERVICE> variables the runtime sets.
let t: TestRuntime;
let sqs: SQSClient;
let eventBridge: EventBridgeClient;
let scheduler: SchedulerClient;
beforeAll(async () => {
  t = await startTestRuntime();
  sqs = new SQSClient({});
  eventBridge = new EventBridgeClient({});
  scheduler = new SchedulerClient({});
});
afterAll(async () => {
  await t?.stop();
});

describe('SQS (AWS JSON 1.0) against the local queues', () => {
  test('SendMessage and SendMessageBatch enqueue; ReceiveMessage returns them with MD5s the SDK verifies', async () => {
    const dlq = t.runtime.deadLetterQueues.get('interactions')!;
    await sqs.send(new SendMessageCommand({ QueueUrl: dlq.url, MessageBody: 'one', MessageAttributes: { kind: { DataType: 'String', StringValue: 'test' } } }));
    const batch = await sqs.send(
      new SendMessageBatchCommand({ QueueUrl: dlq.url, Entries: [{ Id: 'a', MessageBody: 'two' }, { Id: 'b', MessageBody: 'three' }] }),
    );
    expect(batch.Successful?.map((s) => s.Id)).toEqual(['a', 'b']);
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq.url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }));
    expect(received.Messages?.map((m) => m.Body).sort()).toEqual(['one', 'three', 'two']);
    expect(received.Messages?.find((m) => m.Body === 'one')?.MessageAttributes?.kind?.StringValue).toBe('test');
  });

  test('an unknown queue URL is QueueDoesNotExist', async () => {
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: `${t.runtime.urls.aws}/000000000000/nope`, MessageBody: 'x' }))).rejects.toBeInstanceOf(QueueDoesNotExist);
  });
});

describe('EventBridge PutEvents against the local bus', () => {
  test('valid entries get ids, a malformed one is reported per entry', async () => {
    const result = await eventBridge.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: process.env.EVENT_BUS_NAME, Source: 'test.source', DetailType: 'nothing.listens', Detail: '{"a":1}' },
          { EventBusName: process.env.EVENT_BUS_NAME, Source: 'test.source', DetailType: 'bad', Detail: 'not json' },
          { EventBusName: 'no-such-bus', Source: 'test.source', DetailType: 'x', Detail: '{}' },
        ],
      }),
    );
    expect(result.FailedEntryCount).toBe(2);
    expect(result.Entries?.[0]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.Entries?.[1]?.ErrorCode).toBe('MalformedDetail');
    expect(result.Entries?.[2]?.ErrorCode).toBe('ResourceNotFoundException');
  });
});

describe('EventBridge Scheduler (REST-JSON) against the local scheduler', () => {
  test('a one-time schedule targeting a queue fires, then deletes itself', async () => {
    const dlq = t.runtime.deadLetterQueues.get('event-targets')!;
    // Whole seconds (at() has no milliseconds), at least one second ahead.
    const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 1000);
    await scheduler.send(
      new CreateScheduleCommand({
        Name: 'fire-once',
        ScheduleExpression: `at(${at.toISOString().slice(0, 19)})`,
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        Target: { Arn: dlq.arn, RoleArn: 'arn:aws:iam::000000000000:role/scheduler', Input: '{"hello":"world"}' },
      }),
    );
    const got = await scheduler.send(new GetScheduleCommand({ Name: 'fire-once' }));
    expect(got.ScheduleExpressionTimezone).toBe('UTC');
    await expect.poll(() => dlq.stats().visible, { timeout: 5000 }).toBe(1);
    expect(dlq.receive(1)[0]!.body).toBe('{"hello":"world"}');
    await expect(scheduler.send(new GetScheduleCommand({ Name: 'fire-once' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  test('an invalid expression is a ValidationException; deleting a missing schedule is ResourceNotFound', async () => {
    await expect(
      scheduler.send(
        new CreateScheduleCommand({
          Name: 'bad',
          ScheduleExpression: 'cron(0 2 * * *)',
          FlexibleTimeWindow: { Mode: 'OFF' },
          Target: { Arn: 'arn:aws:lambda:us-east-1:000000000000:function:x', RoleArn: 'arn:aws:iam::000000000000:role/r' },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(scheduler.send(new DeleteScheduleCommand({ Name: 'never-made' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });
});

describe('SES v2 against aws-ses-v2-local', () => {
  test('an email sent with the SDK appears in the local inbox', async () => {
    const ses = new SESv2Client({});
    await ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'news@touchloop.test',
        Destination: { ToAddresses: ['reader@example.com'] },
        Content: { Simple: { Subject: { Data: 'Hello' }, Body: { Text: { Data: 'Hi there' } } } },
      }),
    );
    const store = (await (await fetch(`${t.runtime.urls.ses}/store`)).json()) as { emails: Array<{ subject: string; destination: { to: string[] } }> };
    expect(store.emails.some((e) => e.subject === 'Hello' && e.destination.to.includes('reader@example.com'))).toBe(true);
  });
});

describe('local-only routes', () => {
  test('POST /_local/schedules/{name}/run 404s for an unknown schedule', async () => {
    const response = await t.api('POST', '/_local/schedules/nope/run', { token: null });
    expect(response.status).toBe(404);
  });

  test('the JWKS that verifies the dev token is published', async () => {
    const response = await t.api<{ keys: Array<{ kty: string; alg: string }> }>('GET', '/_local/jwks.json', { token: null });
    expect(response.body.keys[0]).toMatchObject({ kty: 'EC', alg: 'ES256' });
  });
});
