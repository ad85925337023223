import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from './aws/dynamodb.ts';
import { TooManyRequestsError } from './errors.ts';

export interface RateLimit {
  /** Counter name, e.g. `form#<id>#ip#<hash>`. */
  key: string;
  limit: number;
  windowSeconds: number;
}

/**
 * Fixed-window counters in DynamoDB (atomic ADD, expiring by TTL), so a limit holds across
 * every Lambda instance. Each hit is one write; the first limit exceeded raises a 429 whose
 * Retry-After is the end of the window.
 */
export class RateLimiter {
  constructor(
    private readonly table: string,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  async hit(limits: RateLimit[], now = Date.now()): Promise<void> {
    const counts = await Promise.all(
      limits.map(async (limit) => {
        const window = Math.floor(now / 1000 / limit.windowSeconds);
        const windowEnd = (window + 1) * limit.windowSeconds;
        const result = await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { key: `${limit.key}#${window}` },
            UpdateExpression: 'ADD hits :one SET expiresAt = if_not_exists(expiresAt, :exp)',
            // Kept a little past the window so TTL deletion lag never resets a live window early.
            ExpressionAttributeValues: { ':one': 1, ':exp': windowEnd + 60 },
            ReturnValues: 'UPDATED_NEW',
          }),
        );
        return { limit, hits: Number(result.Attributes?.hits ?? 0), retryAfter: Math.max(1, Math.ceil(windowEnd - now / 1000)) };
      }),
    );
    const exceeded = counts.find((c) => c.hits > c.limit.limit);
    if (exceeded) throw new TooManyRequestsError(exceeded.retryAfter);
  }
}
