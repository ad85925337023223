import * as z from 'zod';
import { parseScheduleExpression } from '../schedule-expression.ts';
import { isValidTimeZone } from '../contacts/timezone.ts';
import { isStorableNumber, NUMBER_RANGE } from '../numbers.ts';
import type { Forecast } from '../segments/preview.ts';
import { isLearnableGoal } from '../learning/names.ts';
import type { TargetingApplied } from './goal-model-source.ts';

export const Channel = z.enum(['email', 'sms']);
export type Channel = z.infer<typeof Channel>;

const TimeZone = z.string().refine(isValidTimeZone, 'must be an IANA time zone such as Europe/Berlin');
/** A number the campaign stores: within its bounds and within what DynamoDB and the SDK hold (1e300 or 1e-300 → 400, not a failed write). */
const Amount = (schema: z.ZodNumber) => schema.refine(isStorableNumber, NUMBER_RANGE);
const Clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time like 21:00');
const LocalDateTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/, 'must be a local date and time like 2026-12-01T09:00')
  .refine((s) => !Number.isNaN(Date.parse(`${s.length === 16 ? `${s}:00` : s}Z`)), 'is not a real date and time');

export const Schedule = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('immediate') }),
  z.strictObject({
    type: z.literal('at'),
    /** Wall-clock time: in `timezone`, or — with localTime — in each contact's own time zone. */
    at: LocalDateTime,
    timezone: TimeZone.default('UTC'),
    localTime: z.boolean().default(false),
  }),
  z.strictObject({
    type: z.literal('recurring'),
    /** EventBridge Scheduler cron: cron(minutes hours day-of-month month day-of-week year). */
    cron: z.string().superRefine((value, ctx) => {
      try {
        const parsed = parseScheduleExpression(value);
        if (parsed.kind !== 'cron') ctx.addIssue({ code: 'custom', message: 'must be a cron(...) expression' });
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
    timezone: TimeZone.default('UTC'),
  }),
]);
export type Schedule = z.output<typeof Schedule>;

const QuietHours = z.strictObject({ start: Clock, end: Clock });
const PerChannel = <T extends z.ZodType>(value: T) => z.strictObject({ email: value.optional(), sms: value.optional() });

/** Counted across all campaigns, per channel. Journeys use the same shape. */
export const FrequencyCapLimit = z.strictObject({ perDay: z.int().min(1).max(100).optional(), perWeek: z.int().min(1).max(500).optional() });
/** Per channel; SMS defaults to 21:00–08:00 in the contact's time zone; null turns quiet hours off. Journeys use the same shape. */
export const QuietHoursLimit = PerChannel(QuietHours.nullable()).default({});
/** Messages per second per channel, shared among the sender's invocations; unset: the deployment's default rate. Journeys use the same shape. */
export const SendRateLimit = PerChannel(Amount(z.number().positive().max(10_000))).default({});

/** What a campaign is measured by: the conversion event, its attribution window and model. */
export const CampaignGoal = z
  .strictObject({
    event: z.string().trim().min(1).max(100).default('purchase'),
    attributionWindowDays: z.int().min(1).max(90).default(7),
    model: z.enum(['last_touch', 'first_touch', 'linear', 'time_decay']).default('last_touch'),
    halfLifeDays: Amount(z.number().positive().max(90)).optional(),
  })
  .prefault({});

/**
 * Uplift targeting (docs/learning-design.md §5): send only to the top `upliftTopPercent` % of the
 * audience by the uplift model's predicted effect on `goal` (default: the campaign's or journey's
 * goal event); the holdout is drawn from the same top share. Campaigns and journeys use this shape.
 */
export const Targeting = z.strictObject({
  upliftTopPercent: Amount(z.number().min(1).max(100)),
  goal: z
    .string()
    .trim()
    .refine(isLearnableGoal, 'must be a goal event a model is learnt for: 1–100 letters, digits or _ . : -, and not email or sms')
    .optional(),
});
export type Targeting = z.output<typeof Targeting>;

export const CampaignInput = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    segmentId: z.uuid('must be a segment id'),
    /** Channels in order of preference, or "best" (highest expected value per contact). */
    channels: z.union([z.array(Channel).min(1).max(2), z.literal('best')]),
    variants: z
      .array(
        z.strictObject({
          name: z.string().trim().min(1).max(100),
          weight: Amount(z.number().positive().max(1000)),
          templates: z.strictObject({ email: z.uuid('must be a template id').optional(), sms: z.uuid('must be a template id').optional() }),
        }),
      )
      .min(1)
      .max(10),
    holdoutPercent: Amount(z.number().min(0).max(50)).default(10),
    schedule: Schedule,
    limits: z
      .strictObject({
        frequencyCap: FrequencyCapLimit.optional(),
        quietHours: QuietHoursLimit,
        sendRatePerSecond: SendRateLimit,
        maxRecipients: z.int().min(1).optional(),
        /** Total message cost at which sending stops (same currency as costPerMessage). */
        budget: Amount(z.number().positive()).optional(),
      })
      .prefault({}),
    goal: CampaignGoal,
    costPerMessage: PerChannel(Amount(z.number().min(0).max(10))).prefault({}),
    /** Whether the messages are marketing (unsubscribe footer, STOP line, quiet hours) — default true. */
    marketing: z.boolean().default(true),
    /** Send only to the contacts the uplift model predicts the message moves most (see Targeting). */
    targeting: Targeting.optional(),
  })
  .superRefine((campaign, ctx) => {
    const channels = campaign.channels === 'best' ? (['email', 'sms'] as const) : campaign.channels;
    if (campaign.channels !== 'best' && new Set(campaign.channels).size !== campaign.channels.length) {
      ctx.addIssue({ code: 'custom', path: ['channels'], message: 'lists a channel twice' });
    }
    const names = new Set<string>();
    campaign.variants.forEach((variant, i) => {
      if (names.has(variant.name)) ctx.addIssue({ code: 'custom', path: ['variants', i, 'name'], message: 'is used by another variant' });
      names.add(variant.name);
      if (!channels.some((c) => variant.templates[c])) {
        ctx.addIssue({ code: 'custom', path: ['variants', i, 'templates'], message: `needs a template for ${campaign.channels === 'best' ? 'email or sms' : channels.join(' or ')}` });
      }
      if (campaign.channels !== 'best') {
        for (const c of ['email', 'sms'] as const) {
          if (variant.templates[c] && !channels.includes(c)) ctx.addIssue({ code: 'custom', path: ['variants', i, 'templates', c], message: `the campaign does not send by ${c}` });
        }
      }
    });
  });
export type CampaignInput = z.output<typeof CampaignInput>;

/**
 * The launch forecast of the goal from the goal's propensity model, over the contacts the launch
 * queued or deferred (the treated): expected converters Σp ± 1.96·√Σp(1 − p) (Bernoulli noise
 * only: the model's own error is not in the interval) and expected revenue Σp·E[value].
 */
export interface GoalForecast {
  /** `propensity.<goal>@v<n>`. */
  model: string;
  event: string;
  expectedConverters: number;
  low: number;
  high: number;
  expectedRevenue: number;
  /** Treated contacts the model scored (those it could not are left out of the sums). */
  scored: number;
}

export type CampaignStatus = 'draft' | 'scheduled' | 'running' | 'paused' | 'completed' | 'cancelled';

export interface CampaignCounters {
  targeted: number;
  queued: number;
  sent: number;
  holdout: number;
  deferred: number;
  failed: number;
  cancelled: number;
  suppressed: Record<string, number>;
}

export interface Campaign extends CampaignInput {
  id: string;
  status: CampaignStatus;
  createdAt: string;
  updatedAt: string;
  version: number;
  createdBy?: string;
  /** Set at launch. */
  segmentVersion?: number;
  launchedAt?: string;
  completedAt?: string;
  /** The launch forecast, final once the whole audience is planned (the nightly run compares it with the outcome). */
  forecast?: Omit<Forecast, 'goal'> & { computedAt: string; audience: number; goal?: GoalForecast };
  /** Set at launch: `propensity.<goal>@v<n>` when the goal's propensity model made the goal forecast and chose 'best' channels, else `beta`. */
  forecastModel?: string;
  /** Set at launch: the model versions the run scores with (the audience workers load exactly these). */
  modelVersions?: { propensity: number | null; btyd: number | null };
  /** Set at launch with `targeting`: the uplift model version and the threshold the run applied. */
  targetingApplied?: TargetingApplied;
  /** The EventBridge Scheduler schedule that fires its launches. */
  scheduleName?: string;
  /** Current run (one per launch; recurring campaigns run once per cron firing). */
  runId?: string;
  /** Every run there has been (a string set in DynamoDB). */
  runIds?: Set<string> | string[];
  /** Audience scan progress of the current run: scan segments finished / total. */
  fanout?: { total: number; done: number };
  counters: CampaignCounters;
  /** Cost of the messages sent (costPerMessage × sent). */
  spent: number;
  /** Cost of the messages planned at launch (queued or deferred), for the budget limit. */
  committed?: number;
  /** Live response counters by interaction type (delivered, opened, clicked, unsubscribed, converted, revenue…); absent until the first response (CampaignStore.addResponses). */
  responses?: Record<string, number>;
  /**
   * Set on the campaign a journey owns for one of its send steps (shared/journeys/step-campaigns.ts):
   * its sends, caps, tracking and report are a campaign's, but only the journey starts, pauses and
   * stops it, and the campaigns API does not list it.
   */
  journey?: { id: string; version: number; stepId: string };
}

/** Every run a campaign has had: those listed in runIds and the current one. */
export const runsOf = (campaign: Pick<Campaign, 'runId' | 'runIds'>): string[] => [...new Set([...(campaign.runIds ?? []), ...(campaign.runId ? [campaign.runId] : [])])];

export const emptyCounters = (): CampaignCounters => ({ targeted: 0, queued: 0, sent: 0, holdout: 0, deferred: 0, failed: 0, cancelled: 0, suppressed: {} });

/** Default quiet hours for SMS when a campaign does not say: 21:00–08:00 local time. */
export const DEFAULT_SMS_QUIET_HOURS = { start: '21:00', end: '08:00' } as const;

export function quietHoursFor(campaign: Pick<Campaign, 'limits' | 'marketing'>, channel: Channel): { start: string; end: string } | undefined {
  const configured = campaign.limits.quietHours[channel];
  if (configured === null) return undefined; // explicitly none
  if (configured) return configured;
  return channel === 'sms' && campaign.marketing ? DEFAULT_SMS_QUIET_HOURS : undefined;
}

export const channelsOf = (campaign: Pick<Campaign, 'channels'>): Channel[] => (campaign.channels === 'best' ? ['email', 'sms'] : campaign.channels);
