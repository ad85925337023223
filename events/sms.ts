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

/**
 * The smsInbound queue's messages. End User Messaging SMS publishes a two-way message to the
 * stack's SNS topic, which delivers the notification envelope with the message inside; Twilio's
 * inbound webhook (and nothing else) enqueues the normalised shape directly.
 */
export const SnsNotification = z.object({ Type: z.literal('Notification'), MessageId: z.string(), Message: z.string(), Timestamp: z.string() });
export const EumInboundSms = z.object({
  originationNumber: z.string(),
  destinationNumber: z.string(),
  messageBody: z.string(),
  inboundMessageId: z.string(),
});
export type EumInboundSms = z.infer<typeof EumInboundSms>;
export const NormalisedInboundSms = z.object({ provider: z.string(), messageId: z.string(), from: z.string(), to: z.string(), body: z.string(), receivedAt: z.string() });
export type NormalisedInboundSms = z.infer<typeof NormalisedInboundSms>;
export const InboundSmsMessage = z.union([SnsNotification, NormalisedInboundSms]);
export type InboundSmsMessage = z.infer<typeof InboundSmsMessage>;
