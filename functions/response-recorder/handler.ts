import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { SesEventDetail } from '../../events/ses.ts';
import { SmsEventDetail } from '../../events/sms.ts';
import { CampaignStore } from '../../shared/campaigns/campaign-store.ts';
import { functionConfig, intSetting } from '../../shared/config.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { LeadScorer } from '../../shared/contacts/lead-scoring.ts';
import { CONTACT_TABLES, contactsFrom } from '../../shared/contacts/wiring.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import { logger } from '../../shared/logger.ts';
import { EventBridgeEnvelope } from '../../events/envelope.ts';
import { recordSesEvent, recordSmsStatus, ResponseTally } from '../../shared/responses/recorder.ts';
import { fromEumEvent } from '../../shared/responses/sms-events.ts';

const config = functionConfig('response-recorder', {
  tables: { ...CONTACT_TABLES, campaigns: true, idempotency: true },
  queues: { providerEvents: true },
  publishesEvents: true,
  usesSecret: true,
  settings: { softBounce: { limit: intSetting('SOFT_BOUNCE_LIMIT', 3, 1, 100), windowDays: intSetting('SOFT_BOUNCE_WINDOW_DAYS', 30, 1, 365) } },
});
useProjectSecret(config.secretArn);
const contacts = contactsFrom(config);
const campaigns = new CampaignStore(config.tables.campaigns);
const scorer = new LeadScorer(config.tables.contacts, new IdempotencyMarkers(config.tables.idempotency));
const { softBounce } = config.settings;
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
