import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient, queryAll } from '../aws/dynamodb.ts';
import { ConflictError } from '../errors.ts';

/** Campaign statuses during which the segment they target must not disappear. */
const ACTIVE_STATUSES = ['scheduled', 'running', 'paused'];

/**
 * Which campaigns use a segment (campaigns table, index `bySegment`: segmentId + status).
 * Deleting a segment that a scheduled, running or paused campaign targets is refused.
 */
export function segmentUsage(table: string, db: DynamoDBDocumentClient = documentClient) {
  return {
    async activeCampaigns(segmentId: string): Promise<Array<{ id: string; name: string; status: string }>> {
      const found: Array<{ id: string; name: string; status: string }> = [];
      for (const status of ACTIVE_STATUSES) {
        for await (const item of queryAll(db, {
          TableName: table,
          IndexName: 'bySegment',
          KeyConditionExpression: 'segmentId = :s AND #st = :status',
          ExpressionAttributeNames: { '#st': 'status' },
          ExpressionAttributeValues: { ':s': segmentId, ':status': status },
        })) {
          found.push({ id: String(item.id), name: String(item.name), status: String(item.status) });
        }
      }
      return found;
    },
    async assertDeletable(segmentId: string): Promise<void> {
      const active = await this.activeCampaigns(segmentId);
      if (active.length) {
        throw new ConflictError(`segment ${segmentId} is used by ${active.map((c) => `${c.name} (${c.status})`).join(', ')}; cancel or finish those campaigns first`, 'segment_in_use');
      }
    },
  };
}
