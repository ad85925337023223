import { TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { ConsentChanged, LeadCaptured } from '../../events/contacts.ts';
import type { DetailOf } from '../../events/contract.ts';
import { documentClient } from '../aws/dynamodb.ts';
import type { IdempotencyMarkers } from '../idempotency.ts';

/**
 * Lead points per kind of behaviour, declared as data: the lead score is the sum of points a
 * contact has earned. Later stages add their events here (clicks, conversions).
 */
export const LEAD_POINTS = {
  form_submitted: 10,
  email_confirmed: 15,
  sms_consented: 5,
  clicked: 3,
  converted: 25,
} as const satisfies Record<string, number>;

export type LeadRule = keyof typeof LEAD_POINTS;

export type AwardOutcome = 'awarded' | 'already-awarded' | 'no-contact';

/**
 * Adds points to a contact's `scores.lead` once per source event: the idempotency marker and
 * the increment are one transaction, so a redelivered event never counts twice and a crash
 * between the two cannot lose the points. The version bump makes concurrent whole-item
 * writers (upserts) re-read instead of overwriting the new score.
 */
export class LeadScorer {
  constructor(
    private readonly contactsTable: string,
    private readonly markers: IdempotencyMarkers,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  async award(contactId: string, eventId: string, rule: LeadRule): Promise<AwardOutcome> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            await this.markers.markerPut(`lead#${rule}#${eventId}`, 30 * 24 * 3600),
            {
              Update: {
                TableName: this.contactsTable,
                Key: { id: contactId },
                UpdateExpression: 'SET version = version + :one ADD scores.#lead :points',
                ExpressionAttributeNames: { '#lead': 'lead' },
                ConditionExpression: 'attribute_exists(id)',
                ExpressionAttributeValues: { ':one': 1, ':points': LEAD_POINTS[rule] },
              },
            },
          ],
        }),
      );
      return 'awarded';
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const [marker, contact] = error.CancellationReasons ?? [];
        if (marker?.Code === 'ConditionalCheckFailed') return 'already-awarded';
        if (contact?.Code === 'ConditionalCheckFailed') return 'no-contact';
      }
      throw error;
    }
  }
}

/** One award per contact, form and UTC day: a flood of posts of someone's address (or a double click) is one submission's worth. */
export async function scoreLeadCaptured(lead: DetailOf<typeof LeadCaptured>, scorer: Pick<LeadScorer, 'award'>): Promise<void> {
  await scorer.award(lead.contactId, `${lead.contactId}#${lead.formId}#${lead.occurredAt.slice(0, 10)}`, 'form_submitted');
}

/**
 * A confirmed consent earns its points once per consent record (the same record published again
 * by a replayed import is one award): an email address confirmed by its owner (from pending), an SMS consent.
 */
export async function scoreConsentChange(change: DetailOf<typeof ConsentChanged>, eventId: string, scorer: Pick<LeadScorer, 'award'>): Promise<void> {
  if (change.to !== 'confirmed') return;
  const key = change.consentRecordId || eventId;
  if (change.channel === 'email' && change.from === 'pending') await scorer.award(change.contactId, key, 'email_confirmed');
  if (change.channel === 'sms') await scorer.award(change.contactId, key, 'sms_consented');
}
