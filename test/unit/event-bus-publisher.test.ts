import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, test } from 'vitest';
import { publishEvents, EventPublishError } from '../../shared/aws/event-bus.ts';

const eventBridge = new EventBridgeClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const mock = mockClient(eventBridge);
beforeEach(() => mock.reset());

const events = (n: number) => Array.from({ length: n }, (_, i) => ({ source: 'touchloop.test', detailType: 'thing.happened', detail: { i } }));

describe('publishEvents', () => {
  test('sends at most ten entries per PutEvents call, to the given bus', async () => {
    mock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    await publishEvents(events(23), 'my-bus', eventBridge);
    const calls = mock.commandCalls(PutEventsCommand);
    expect(calls.map((c) => c.args[0].input.Entries?.length)).toEqual([10, 10, 3]);
    expect(calls[0]!.args[0].input.Entries?.[0]).toMatchObject({ EventBusName: 'my-bus', Source: 'touchloop.test', DetailType: 'thing.happened', Detail: '{"i":0}' });
  });

  test('entries EventBridge rejects are retried once, only those', async () => {
    mock
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { ErrorCode: 'InternalFailure' }, { EventId: 'c' }] })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'b' }] });
    await publishEvents(events(3), 'bus', eventBridge);
    const retried = mock.commandCalls(PutEventsCommand)[1]!.args[0].input.Entries!;
    expect(retried.map((e) => e.Detail)).toEqual(['{"i":1}']);
  });

  test('entries still failing after the retry raise, so a queue consumer fails its record', async () => {
    mock.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }] });
    const error = await publishEvents(events(1), 'bus', eventBridge).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventPublishError);
    expect((error as EventPublishError).failures).toEqual([{ detailType: 'thing.happened', errorCode: 'ThrottlingException', errorMessage: 'slow down' }]);
  });

  test('an API error propagates', async () => {
    mock.on(PutEventsCommand).rejects(new Error('network down'));
    await expect(publishEvents(events(1), 'bus', eventBridge)).rejects.toThrow('network down');
  });
});
