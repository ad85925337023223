import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient, type TransactItem } from '../aws/dynamodb.ts';

/**
 * A journey's step counters: items "stats#<0..7>" in the journeys table (partition the journey
 * id), spread by contact so a popular step is not one hot item; summed when read. Apart from the
 * journey store so that erasure (in the contacts API) counts its exits without carrying the store.
 */
export const STAT_SHARDS = 8;
export const statSk = (shard: number): string => `stats#${shard}`;

/** Counter attribute names on a stats item (flat, so ADD needs no parent map). */
export const statName = {
  entries: 'entries',
  holdout: 'holdout',
  entered: (step: string) => `entered#${step}`,
  left: (step: string) => `left#${step}`,
  exit: (step: string, reason: string) => `exit#${step}#${reason}`,
  /** Contacts kept out at entry by uplift targeting (below_uplift, no_score, model_not_active). */
  refused: (reason: string) => `refused#${reason}`,
};

/** An ADD of counters on one shard, as a transaction item (it moves with the step it counts). */
export function statsUpdate(table: string, journeyId: string, shard: number, counts: Record<string, number>): TransactItem {
  const entries = Object.entries(counts).filter(([, n]) => n !== 0);
  return {
    Update: {
      TableName: table,
      Key: { id: journeyId, sk: statSk(shard) },
      UpdateExpression: `ADD ${entries.map((_, i) => `#c${i} :c${i}`).join(', ')}`,
      ExpressionAttributeNames: Object.fromEntries(entries.map(([k], i) => [`#c${i}`, k])),
      ExpressionAttributeValues: Object.fromEntries(entries.map(([, v], i) => [`:c${i}`, v])),
    },
  };
}

/** The same ADD on its own (erasure's exits, outside any step's transaction). */
export async function addStats(table: string, journeyId: string, shard: number, counts: Record<string, number>, db: DynamoDBDocumentClient = documentClient): Promise<void> {
  const { Update } = statsUpdate(table, journeyId, shard, counts) as { Update: ConstructorParameters<typeof UpdateCommand>[0] };
  await db.send(new UpdateCommand(Update));
}
