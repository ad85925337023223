import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient, queryAll } from '../aws/dynamodb.ts';
import type { ErasureHook } from '../contacts/contact-service.ts';
import type { JourneyEntry } from './state-store.ts';
import { addStats, statName } from './stats.ts';

/**
 * Erasure: the person's journey entries move to their pseudonym (status, steps, goal outcome
 * and times kept for the journeys' counts and lift; responses, triggers and the last send
 * dropped), ended with `erased` — and counted so — if they were in progress; their ledgers go.
 * Kept apart from the state store so the contacts API carries only this.
 */
export function pseudonymiseJourneys(tables: { journeyStates: string; journeys: string }, db: DynamoDBDocumentClient = documentClient): ErasureHook {
  return async (contactId, pseudonym) => {
    const now = new Date().toISOString();
    for await (const item of queryAll(db, { TableName: tables.journeyStates, KeyConditionExpression: 'contactId = :c', ExpressionAttributeValues: { ':c': contactId }, ConsistentRead: true })) {
      const sk = String(item.sk);
      if (!/#e\d{6}$/.test(sk)) {
        await db.send(new DeleteCommand({ TableName: tables.journeyStates, Key: { contactId, sk } }));
        continue;
      }
      const entry = item as unknown as JourneyEntry;
      const inProgress = ['active', 'waiting', 'paused'].includes(entry.status);
      const { responses: _r, trigger: _t, dueShard: _d, waitingFor: _w, lastSend: _l, parkedFrom: _p, goalEvents, ...kept } = entry;
      const moved = {
        ...kept,
        contactId: pseudonym,
        trigger: 'erased',
        ...(goalEvents ? { goalEvents: new Set([...goalEvents].map((_, i) => `erased-${i}`)) } : {}),
        ...(inProgress ? { status: 'exited', exitReason: 'erased', exitedAt: now } : {}),
      };
      await db.send(new PutCommand({ TableName: tables.journeyStates, Item: moved }));
      await db.send(new DeleteCommand({ TableName: tables.journeyStates, Key: { contactId, sk } }));
      if (inProgress) await addStats(tables.journeys, entry.journeyId, entry.shard, { [statName.left(entry.stepId)]: 1, [statName.exit(entry.stepId, 'erased')]: 1 }, db);
    }
  };
}
