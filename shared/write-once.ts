import { TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { batchGetAll, batchWriteAll } from './aws/dynamodb.ts';
import { forEachLimit } from './concurrency.ts';

type Item = Record<string, unknown>;

/**
 * What became of one item a part of an import offered: `fresh` — written now and ours; `own` — the
 * same origin wrote it before (a replay after a crash, or the same part twice at once); `taken` —
 * it exists from another origin (an earlier or overlapping part, an older import), or an earlier
 * item of this same call has its key; the stored item is kept as it was.
 */
export type ClaimStatus = 'fresh' | 'own' | 'taken';
export interface Claim<T extends Item> {
  status: ClaimStatus;
  /** The item as stored (ours, or the one that was there). */
  stored: T;
}

/** The attribute that names which import part (job chunk, or request) wrote an item. */
export const ORIGIN_ATTRIBUTE = 'origin';

/** Items read and written per round: small, so the gap between reading a key and writing it stays short. */
const GROUP = 100;
/** Rounds in flight at once. */
const PARALLEL = 8;

const backOff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(1000, 20 * 2 ** attempt)));

/**
 * Writes each item once, stamped with its origin, and says whose each one is. A strongly
 * consistent BatchGet first leaves out the keys that exist (a re-import writes nothing; a replay
 * finds its own items by their origin); the absent ones are then written in one of two ways:
 *
 * - `exclusive` (the default): conditional puts, 100 to a TransactWriteItems request (2 write
 *   units an item); a put refused because the key appeared meanwhile is read back (ours if a
 *   concurrent run of the same part wrote it). Two parts racing on a key: exactly one owns it.
 * - `batch`: BatchWriteItem (about 1 write unit an item), then read back, keeping as ours the items
 *   still stamped with our origin. For items whose key only one part ever writes (a send's
 *   timeline entry, whose send record was claimed exclusively); two parts racing on one key can,
 *   in the gap between the first read and the write, both count it.
 */
export async function claimAll<T extends Item>(db: DynamoDBDocumentClient, table: string, keyNames: readonly string[], items: T[], origin: string, mode: 'exclusive' | 'batch' = 'exclusive'): Promise<Array<Claim<T>>> {
  const keyOf = (item: Item) => JSON.stringify(keyNames.map((name) => item[name]));
  const keyObject = (item: Item) => Object.fromEntries(keyNames.map((name) => [name, item[name]]));
  const claims: Array<Claim<T>> = new Array<Claim<T>>(items.length);
  // Within one call the first item of a key is the claimant; later ones with that key are taken by it.
  const first = new Map<string, number>();
  const candidates: number[] = [];
  items.forEach((item, index) => {
    const key = keyOf(item);
    if (first.has(key)) return;
    first.set(key, index);
    candidates.push(index);
  });
  const groups: number[][] = [];
  for (let i = 0; i < candidates.length; i += GROUP) groups.push(candidates.slice(i, i + GROUP));
  const readBack = async (indexes: number[], status: 'fresh' | 'own', written: Map<number, T>) => {
    if (!indexes.length) return;
    const after = new Map((await batchGetAll(db, table, indexes.map((i) => keyObject(items[i]!)), { consistent: true })).map((item) => [keyOf(item), item as T]));
    for (const index of indexes) {
      const stored = after.get(keyOf(items[index]!)) ?? written.get(index)!;
      claims[index] = { status: stored[ORIGIN_ATTRIBUTE] === origin ? status : 'taken', stored };
    }
  };
  await forEachLimit(groups, PARALLEL, async (group) => {
    const existing = new Map((await batchGetAll(db, table, group.map((i) => keyObject(items[i]!)), { consistent: true })).map((item) => [keyOf(item), item as T]));
    const toWrite: number[] = [];
    for (const index of group) {
      const found = existing.get(keyOf(items[index]!));
      if (!found) toWrite.push(index);
      else claims[index] = { status: found[ORIGIN_ATTRIBUTE] === origin ? 'own' : 'taken', stored: found };
    }
    if (!toWrite.length) return;
    const stamped = new Map(toWrite.map((index) => [index, { ...items[index]!, [ORIGIN_ATTRIBUTE]: origin } as T]));
    if (mode === 'batch') {
      await batchWriteAll(db, table, [...stamped.values()].map((Item) => ({ PutRequest: { Item } })));
      await readBack(toWrite, 'fresh', stamped);
      return;
    }
    let pending = toWrite;
    const appeared: number[] = [];
    for (let attempt = 0; pending.length; attempt++) {
      if (attempt > 0) await backOff(attempt);
      try {
        await db.send(
          new TransactWriteCommand({
            TransactItems: pending.map((index) => ({ Put: { TableName: table, Item: stamped.get(index)!, ConditionExpression: `attribute_not_exists(#k)`, ExpressionAttributeNames: { '#k': keyNames[0]! } } })),
          }),
        );
        for (const index of pending) claims[index] = { status: 'fresh', stored: stamped.get(index)! };
        pending = [];
      } catch (error) {
        if (!(error instanceof TransactionCanceledException) || attempt >= 12) throw error;
        // Keys that appeared since the read are someone's (perhaps a concurrent run of this part); the rest go again.
        const reasons = error.CancellationReasons ?? [];
        const refused = new Set(pending.filter((_, i) => reasons[i]?.Code === 'ConditionalCheckFailed'));
        appeared.push(...refused);
        pending = pending.filter((index) => !refused.has(index));
      }
    }
    await readBack(appeared, 'own', stamped);
  });
  items.forEach((item, index) => {
    const claimant = first.get(keyOf(item))!;
    if (claimant !== index) claims[index] = { status: 'taken', stored: claims[claimant]!.stored };
  });
  return claims;
}
