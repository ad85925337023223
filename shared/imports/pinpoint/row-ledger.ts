import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { batchGetAll, documentClient } from '../../aws/dynamodb.ts';
import type { ImportRowOutcome, ImportRowStatus } from '../chunk.ts';

/** What the ledger knows of one unit of work (a group of lines that is written together). */
export interface LedgerEntry {
  /** The status the first attempt expected, recorded before it wrote anything. */
  plan?: ImportRowStatus;
  /** The outcomes of the unit's lines, recorded once its writes were done. */
  outcomes?: ImportRowOutcome[];
}

const TTL_SECONDS = 30 * 24 * 3600;

/**
 * Makes a chunk's outcomes replay-exact. Before writing a unit (a Pinpoint user's endpoints, a
 * template line) a processor records what it expects to happen (`plan`, first writer wins);
 * after, the outcomes. A replay then returns recorded outcomes without writing, and a unit cut
 * short by a crash is written again (the writes themselves change nothing the second time) and
 * reported with the status its first attempt planned, not as "unchanged" because the first
 * attempt's writes are now found. Items live in the idempotency table, keyed by job and unit (no
 * personal data), and expire after 30 days.
 */
export class ImportRowLedger {
  constructor(
    private readonly table: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  static key(jobId: string, unit: string): string {
    return `import-row#${jobId}#${unit}`;
  }

  async getMany(keys: string[]): Promise<Map<string, LedgerEntry>> {
    const found = new Map<string, LedgerEntry>();
    if (keys.length === 0) return found;
    for (const item of await batchGetAll(this.db, this.table, [...new Set(keys)].map((key) => ({ key })), { consistent: true })) {
      found.set(String(item.key), { plan: item.plan as ImportRowStatus | undefined, outcomes: item.outcomes as ImportRowOutcome[] | undefined });
    }
    return found;
  }

  /** Records the plan unless one exists; returns the plan that stands (an earlier attempt's wins). */
  async plan(key: string, status: ImportRowStatus, now = Date.now()): Promise<ImportRowStatus> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { key, plan: status, expiresAt: Math.floor(now / 1000) + TTL_SECONDS },
          ConditionExpression: 'attribute_not_exists(#k)',
          ExpressionAttributeNames: { '#k': 'key' },
        }),
      );
      return status;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const existing = await this.db.send(new GetCommand({ TableName: this.table, Key: { key }, ConsistentRead: true }));
    return (existing.Item?.plan as ImportRowStatus | undefined) ?? status;
  }

  /** Records the unit's outcomes (the same outcomes on a repeat: the write is then a no-op in effect). */
  async settle(key: string, outcomes: ImportRowOutcome[], now = Date.now()): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { key },
        UpdateExpression: 'SET outcomes = if_not_exists(outcomes, :o), expiresAt = if_not_exists(expiresAt, :e)',
        ExpressionAttributeValues: { ':o': outcomes, ':e': Math.floor(now / 1000) + TTL_SECONDS },
      }),
    );
  }
}
