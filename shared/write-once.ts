import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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
const PARALLEL = 6;

/**
 * Writes each item once with BatchWriteItem (25 a request, about 1 write unit an item, far fewer
 * round trips than conditional puts), stamped with its origin, and says whose each one is:
 * a strongly consistent BatchGet first leaves out keys that exist (a re-import writes nothing),
 * and a second read after the write keeps as ours only the items still stamped with our origin
 * (a concurrent part that wrote the same key after us owns it). The two reads cost read units,
 * never write units. Two parts racing on one key can, in the narrow window between the first
 * read and the write of a round, both count it; replays and parts in sequence never do.
 */
export async function claimAll<T extends Item>(db: DynamoDBDocumentClient, table: string, keyNames: readonly string[], items: T[], origin: string): Promise<Array<Claim<T>>> {
  const keyOf = (item: Item) => JSON.stringify(keyNames.map((name) => item[name]));
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
  const keyObject = (item: Item) => Object.fromEntries(keyNames.map((name) => [name, item[name]]));
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
    await batchWriteAll(db, table, [...stamped.values()].map((Item) => ({ PutRequest: { Item } })));
    const after = new Map((await batchGetAll(db, table, toWrite.map((i) => keyObject(items[i]!)), { consistent: true })).map((item) => [keyOf(item), item as T]));
    for (const index of toWrite) {
      const stored = after.get(keyOf(items[index]!)) ?? stamped.get(index)!;
      claims[index] = { status: stored[ORIGIN_ATTRIBUTE] === origin ? 'fresh' : 'taken', stored };
    }
  });
  items.forEach((item, index) => {
    const claimant = first.get(keyOf(item))!;
    if (claimant !== index) claims[index] = { status: 'taken', stored: claims[claimant]!.stored };
  });
  return claims;
}
