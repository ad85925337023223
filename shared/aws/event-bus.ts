import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { OutgoingEvent } from '../../events/contract.ts';

const client = new EventBridgeClient({});

export class EventPublishError extends Error {
  override name = 'EventPublishError';
  constructor(
    message: string,
    readonly failures: Array<{ detailType: string; errorCode?: string; errorMessage?: string }>,
  ) {
    super(message);
  }
}

/**
 * Puts domain events on the Touchloop bus (its name from the function's configuration), ten per PutEvents call (the API's limit). Entries
 * EventBridge reports as failed are retried once, then raised, so a caller inside a queue
 * consumer fails its record and the queue redelivers.
 */
export async function publishEvents(events: OutgoingEvent[], eventBusName: string, eventBridge = client): Promise<void> {
  for (let i = 0; i < events.length; i += 10) {
    let entries: PutEventsRequestEntry[] = events.slice(i, i + 10).map((e) => ({
      EventBusName: eventBusName,
      Source: e.source,
      DetailType: e.detailType,
      Detail: JSON.stringify(e.detail),
    }));
    for (let attempt = 1; entries.length > 0; attempt++) {
      const result = await eventBridge.send(new PutEventsCommand({ Entries: entries }));
      if (!result.FailedEntryCount) break;
      const failed = (result.Entries ?? [])
        .map((entry, index) => ({ entry, request: entries[index]! }))
        .filter(({ entry }) => entry.ErrorCode);
      if (attempt >= 2) {
        throw new EventPublishError(
          `${failed.length} event(s) were not accepted by EventBridge`,
          failed.map(({ entry, request }) => ({ detailType: request.DetailType ?? '', errorCode: entry.ErrorCode, errorMessage: entry.ErrorMessage })),
        );
      }
      entries = failed.map(({ request }) => request);
    }
  }
}
