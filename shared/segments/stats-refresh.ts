import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../errors.ts';
import { logger } from '../logger.ts';
import { streamAudience } from './audience.ts';
import { AudienceSummary } from './preview.ts';
import { SegmentService } from './segment-service.ts';
import type { SegmentStore } from './segment-store.ts';

/**
 * Recomputes every saved segment's statistics with one scan of the contacts table (each
 * contact evaluated against all compiled rules), after the nightly run has updated the scores.
 */
export async function refreshSegmentStats(store: SegmentStore, options: { contactsTable: string; activityTable: string; scanSegments: number; db?: DynamoDBDocumentClient; now?: Date }): Promise<number> {
  const now = options.now ?? new Date();
  const segments = await store.list();
  if (!segments.length) return 0;
  const service = new SegmentService(store, { contactsTable: options.contactsTable, activityTable: options.activityTable, scanSegments: options.scanSegments, db: options.db });
  const compiled = (
    await Promise.all(
      segments.map(async (segment) => {
        try {
          return [{ segment, rule: await service.compile(segment, now, segment.id), summary: new AudienceSummary(now, 0) }];
        } catch (error) {
          // A segment that refers to a deleted segment cannot be evaluated: its statistics wait, the others' (and the run) go on.
          if (!(error instanceof ValidationError)) throw error;
          logger.warn('segment statistics not refreshed', { segmentId: segment.id, issues: error.issues });
          return [];
        }
      }),
    )
  ).flat();
  for await (const page of streamAudience({ table: options.contactsTable, activityTable: options.activityTable, test: () => true, totalSegments: options.scanSegments, db: options.db, now })) {
    for (const member of page.members) {
      for (const c of compiled) if (c.rule.test(member.contact)) c.summary.add(member.contact, member.item);
    }
  }
  for (const c of compiled) await store.saveStats(c.summary.stats(c.segment.id, c.segment.version));
  return compiled.length;
}
