import * as z from 'zod';

/**
 * Amazon SES sending events as EventBridge delivers them from a configuration set's event
 * destination to the default bus (source "aws.ses"; detail = the SES event record). Only the
 * fields Touchloop reads are required; everything else passes through.
 */
const Tags = z.record(z.string(), z.array(z.string())).optional();

export const SesEventDetail = z.looseObject({
  eventType: z.enum(['Send', 'Delivery', 'Bounce', 'Complaint', 'Reject', 'Open', 'Click', 'Rendering Failure', 'DeliveryDelay', 'Subscription']),
  mail: z.looseObject({
    messageId: z.string().min(1),
    timestamp: z.string(),
    destination: z.array(z.string()).default([]),
    tags: Tags,
  }),
  bounce: z.looseObject({ bounceType: z.string(), bounceSubType: z.string().optional(), timestamp: z.string() }).optional(),
  complaint: z.looseObject({ timestamp: z.string(), complaintFeedbackType: z.string().optional() }).optional(),
  delivery: z.looseObject({ timestamp: z.string() }).optional(),
  open: z.looseObject({ timestamp: z.string(), userAgent: z.string().optional() }).optional(),
  click: z.looseObject({ timestamp: z.string(), link: z.string() }).optional(),
  reject: z.looseObject({ reason: z.string() }).optional(),
  deliveryDelay: z.looseObject({ timestamp: z.string(), delayType: z.string().optional() }).optional(),
  failure: z.looseObject({ errorMessage: z.string().optional() }).optional(),
});
export type SesEventDetail = z.infer<typeof SesEventDetail>;

/** The rule pattern: every SES event on the default bus (the configuration set only carries Touchloop's email). */
export const SES_EVENTS_PATTERN = { source: ['aws.ses'] };
