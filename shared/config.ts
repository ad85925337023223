import type { FunctionDeclarations } from '../infra/topology.ts';
import { bucketEnvVar, queueEnvVar, tableEnvVar } from '../events/wiring.ts';

/**
 * The one place Lambda code reads its environment. A handler calls `functionConfig` once, at
 * module scope, restating the wiring of its topology entry (infra/topology.ts); the compiler
 * checks the restatement against the entry's literal type, both ways: a table, queue or
 * capability the entry does not declare is an error, and so is one it declares but the spec
 * leaves out. Every value is read then, and a missing one fails the cold start with the
 * variable's name. Domain code and adapters take what they need from the returned object.
 *
 * Only the topology's types are imported: the entries themselves (descriptions, routes,
 * event patterns) stay out of the function bundles. Variable names come from the helpers both
 * engines use to set them (tableEnvVar → TABLE_<NAME>, queueEnvVar → QUEUE_URL_<NAME>).
 */

export type FunctionName = keyof FunctionDeclarations;
type Declared<N extends FunctionName> = FunctionDeclarations[N];

/** The tables a function's entry declares. */
export type TableOf<N extends FunctionName> = Declared<N> extends { tables: infer T } ? Extract<keyof T, string> : never;
/** The queues a function sends to or consumes (a consumer may push a message's redelivery back). */
export type QueueOf<N extends FunctionName> = Extract<
  (Declared<N> extends { sendsTo: readonly (infer Q)[] } ? Q : never) | (Declared<N> extends { queue: { queue: infer Q } } ? Q : never),
  string
>;

/** The buckets a function's entry declares. */
export type BucketOf<N extends FunctionName> = Declared<N> extends { buckets: infer B } ? Extract<keyof B, string> : never;

type Capability = 'publishesEvents' | 'usesSecret' | 'sendsEmail' | 'linksToPublicApi' | 'managesSchedules' | 'verifiesCaptcha' | 'sendsSms' | 'receivesTwilioWebhooks' | 'writesEventStream';
type Declares<N extends FunctionName, C extends Capability> = Declared<N> extends { [K in C]: true | object } ? true : false;
type If<N extends FunctionName, C extends Capability, T> = Declares<N, C> extends true ? T : unknown;

/** What a handler restates of its topology entry: exactly its tables, queues and capabilities. */
export type WiringSpec<N extends FunctionName> = {
  tables: { [K in TableOf<N>]: true };
  queues: { [K in QueueOf<N>]: true };
} & ([BucketOf<N>] extends [never] ? unknown : { buckets: { [K in BucketOf<N>]: true } }) & { [C in Capability as Declares<N, C> extends true ? C : never]: true };

export interface EmailConfig {
  /** EMAIL_FROM: the From address of every email. */
  from: string;
  /** SES_CONFIGURATION_SET: carries SES events back to the response recorder. */
  configurationSet: string | undefined;
  /** SENDER_POSTAL_ADDRESS: the postal address marketing email must show. */
  senderAddress: string;
}

export type SmsConfig =
  | { provider: 'aws'; originationIdentity: string | undefined; configurationSet: string | undefined }
  | { provider: 'twilio'; secretArn: string; statusCallbackUrl: string | undefined; apiBaseUrl: string | undefined };

export interface SchedulingConfig {
  group: string;
  roleArn: string;
  /** The launches queue: schedules deliver a LaunchMessage to it. */
  targetArn: string;
}

/** A function's configuration, typed from its topology entry. */
export type FunctionConfig<N extends FunctionName, S = Record<never, never>> = {
  name: N;
  tables: { readonly [K in TableOf<N>]: string };
  queues: { readonly [K in QueueOf<N>]: string };
  buckets: { readonly [K in BucketOf<N>]: string };
  settings: S;
} & If<N, 'publishesEvents', { eventBus: string }> &
  If<N, 'usesSecret', { secretArn: string }> &
  If<N, 'sendsEmail', { email: EmailConfig }> &
  If<N, 'linksToPublicApi', { publicBaseUrl: string }> &
  If<N, 'managesSchedules', { scheduling: SchedulingConfig }> &
  If<N, 'verifiesCaptcha', { captcha: { secretArn: string | undefined; verifyUrl: string | undefined } }> &
  If<N, 'sendsSms', { sms: SmsConfig }> &
  If<N, 'receivesTwilioWebhooks', { twilioSecretArn: string | undefined }> &
  If<N, 'writesEventStream', { eventStream: string }>;

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`Missing required environment variable ${name}`);
  return value;
}

function optional(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** A deployment setting in text, or the fallback when unset. */
export function textSetting(name: string, fallback: string): string {
  return optional(name) ?? fallback;
}

/** A comma-separated list setting (names trimmed, empty ones dropped), or [] when unset. */
export function listSetting(name: string): string[] {
  return (optional(name) ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}

/** A number setting within [min, max] (fractions allowed); fails fast naming the variable when it is not one. */
export function numberSetting(name: string, fallback: number, min: number, max: number): number {
  const raw = optional(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`Environment variable ${name} must be a number from ${min} to ${max}, not "${raw}"`);
  return value;
}

/** A whole-number deployment setting within [min, max]; fails fast naming the variable when it is not one. */
export function intSetting(name: string, fallback: number, min: number, max: number): number {
  const raw = optional(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`Environment variable ${name} must be a whole number from ${min} to ${max}, not "${raw}"`);
  return value;
}

/** SENDER_POSTAL_ADDRESS: the postal address marketing messages show (and template previews). */
export const senderAddressSetting = (): string => textSetting('SENDER_POSTAL_ADDRESS', 'Touchloop, 1 Example Street, Example City');

function smsConfig(): SmsConfig {
  const provider = textSetting('SMS_PROVIDER', 'aws');
  if (provider === 'twilio') {
    const publicBaseUrl = optional('PUBLIC_BASE_URL');
    return {
      provider,
      secretArn: required('TWILIO_SECRET_ARN'),
      // Twilio posts delivery receipts to our signed webhook unless the deployment names another URL.
      statusCallbackUrl: optional('TWILIO_STATUS_CALLBACK_URL') ?? (publicBaseUrl ? `${publicBaseUrl}/webhooks/twilio/status` : undefined),
      apiBaseUrl: optional('TWILIO_API_URL'),
    };
  }
  if (provider !== 'aws') throw new Error(`SMS_PROVIDER must be aws or twilio, not ${provider}`);
  return { provider, originationIdentity: optional('SMS_ORIGINATION_IDENTITY'), configurationSet: optional('SMS_CONFIGURATION_SET') };
}

/**
 * Reads a function's configuration once (call it at module scope). `spec` restates the
 * function's topology entry (checked by the compiler); `settings` are its deployment settings,
 * read with textSetting/intSetting.
 */
export function functionConfig<N extends FunctionName, S = Record<never, never>>(name: N, spec: NoInfer<WiringSpec<N>> & { settings?: S }): FunctionConfig<N, S> {
  const has = (capability: Capability): boolean => (spec as Partial<Record<Capability, true>>)[capability] === true;
  const config: Record<string, unknown> = {
    name,
    tables: Object.fromEntries(Object.keys(spec.tables).map((table) => [table, required(tableEnvVar(table))])),
    queues: Object.fromEntries(Object.keys(spec.queues).map((queue) => [queue, required(queueEnvVar(queue))])),
    buckets: Object.fromEntries(Object.keys((spec as { buckets?: object }).buckets ?? {}).map((bucket) => [bucket, required(bucketEnvVar(bucket))])),
    settings: spec.settings ?? {},
  };
  if (has('publishesEvents')) config.eventBus = required('EVENT_BUS_NAME');
  if (has('usesSecret')) config.secretArn = required('TOUCHLOOP_SECRET_ARN');
  if (has('sendsEmail')) {
    config.email = {
      from: required('EMAIL_FROM'),
      configurationSet: optional('SES_CONFIGURATION_SET'),
      senderAddress: senderAddressSetting(),
    } satisfies EmailConfig;
  }
  if (has('linksToPublicApi')) config.publicBaseUrl = required('PUBLIC_BASE_URL');
  if (has('managesSchedules')) config.scheduling = { group: required('SCHEDULE_GROUP'), roleArn: required('SCHEDULER_ROLE_ARN'), targetArn: required('LAUNCH_QUEUE_ARN') } satisfies SchedulingConfig;
  if (has('verifiesCaptcha')) config.captcha = { secretArn: optional('CAPTCHA_SECRET_ARN'), verifyUrl: optional('CAPTCHA_VERIFY_URL') };
  if (has('sendsSms')) config.sms = smsConfig();
  if (has('receivesTwilioWebhooks')) config.twilioSecretArn = optional('TWILIO_SECRET_ARN');
  if (has('writesEventStream')) config.eventStream = required('EVENT_STREAM_NAME');
  return config as FunctionConfig<N, S>;
}
