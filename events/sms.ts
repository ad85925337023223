import * as z from 'zod';

/**
 * AWS End User Messaging SMS delivery events, sent by the service straight to the default bus
 * (source "aws.sms-voice", detail-type "Text Message Delivery Status Updated"). `context` carries
 * the ids the sender passed with SendTextMessage.
 */
export const SmsEventDetail = z.looseObject({
  eventType: z.string().regex(/^TEXT_[A-Z_]+$/),
  eventTimestamp: z.number(),
  messageId: z.string().min(1),
  destinationPhoneNumber: z.string().optional(),
  messageStatus: z.string().optional(),
  messageStatusDescription: z.string().optional(),
  isFinal: z.boolean().optional(),
  context: z.record(z.string(), z.string()).optional(),
  totalMessagePrice: z.number().optional(),
});
export type SmsEventDetail = z.infer<typeof SmsEventDetail>;

export const SMS_EVENTS_PATTERN = { source: ['aws.sms-voice'], 'detail-type': ['Text Message Delivery Status Updated'] };
