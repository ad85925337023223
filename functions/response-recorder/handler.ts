import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { SesEventDetail } from '../../events/ses.ts';
import { SmsEventDetail } from '../../events/sms.ts';
import { CampaignStore } from '../../shared/campaigns/campaign-store.ts';
import { intEnv, requireEnv } from '../../shared/config.ts';
import { LeadScorer } from '../../shared/contacts/lead-scoring.ts';
import { contactsFromEnv } from '../../shared/contacts/wiring.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import { logger } from '../../shared/logger.ts';
import { EventBridgeEnvelope } from '../../events/envelope.ts';
import { recordSesEvent, recordSmsStatus, ResponseTally } from '../../shared/responses/recorder.ts';
import { fromEumEvent } from '../../shared/responses/sms-events.ts';

const contacts = contactsFromEnv();
const campaigns = new CampaignStore(requireEnv('TABLE_CAMPAIGNS'));
const scorer = new LeadScorer(requireEnv('TABLE_CONTACTS'), new IdempotencyMarkers(requireEnv('TABLE_IDEMPOTENCY')));
const softBounce = { limit: intEnv('SOFT_BOUNCE_LIMIT', 3, 1, 100), windowDays: intEnv('SOFT_BOUNCE_WINDOW_DAYS', 30, 1, 365) };
const deps = { timeline: contacts.timeline, contacts: contacts.store, service: contacts.service, scorer, campaigns, softBounce };
const processor = new BatchProcessor(EventType.SQS);

/** SES sending events and End User Messaging SMS delivery events onto timelines, with their effects. */
export const handler = middy<SQSEvent, SQSBatchResponse>().handler(async (event: SQSEvent, context: Context) => {
  logger.addContext(context);
  const tally = new ResponseTally();
  const recordHandler = async (record: SQSRecord) => {
    try {
      const envelope = EventBridgeEnvelope.parse(JSON.parse(record.body));
      if (envelope.source === 'aws.ses') await recordSesEvent(SesEventDetail.parse(envelope.detail), deps, tally);
      else if (envelope.source === 'aws.sms-voice') await recordSmsStatus(fromEumEvent(SmsEventDetail.parse(envelope.detail)), deps, tally);
      else throw new Error(`unexpected source ${envelope.source}`);
    } catch (error) {
      logger.error('record failed', { messageId: record.messageId, error: error as Error });
      throw error;
    }
  };
  const response = await processPartialResponse(event, recordHandler, processor, { context, throwOnFullBatchFailure: false });
  await tally.flush(campaigns);
  return response;
});
