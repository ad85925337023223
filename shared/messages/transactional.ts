/**
 * Transactional messages (POST /v1/messages): one templated email or SMS to a contact or a bare
 * address, now, exactly once per idempotency key.
 *
 * Sent inline, in the API's own invocation, not through the channel queues: one provider call
 * takes well under a second, the caller wants the answer (sent, refused, rejected) with the
 * message id, and a queue would add a second path and a wait for the one thing a receipt or a
 * password reset cannot wait for. The API's limits are kept by what the record does:
 * - API Gateway's 29 s: the function's timeout is 15 s and one provider call is made per request;
 * - provider throttling or a transient failure: the claim is given back and the caller gets a 503
 *   with Retry-After; the same key and body then claims it again and sends;
 * - an ambiguous answer (the provider may have taken it) or a crash after the claim: the message
 *   becomes failed / outcome_unknown, never sent again by a retry (at most once; the provider's
 *   delivery events still say what happened).
 */
import { setTimeout as delay } from 'node:timers/promises';
import * as z from 'zod';
import { keyedHash } from '../aws/secrets.ts';
import { buildMessage, type MessageData } from '../campaigns/messages.ts';
import { Channel } from '../campaigns/model.ts';
import { ProviderAmbiguousError, ProviderPermanentError, ProviderThrottledError, type MessageProvider } from '../campaigns/providers/provider.ts';
import { TRANSACTIONAL } from '../campaigns/send-store.ts';
import { InvalidEmailError, normalizeEmail } from '../contacts/email.ts';
import type { ContactService } from '../contacts/contact-service.ts';
import type { ContactStore } from '../contacts/contact-store.ts';
import type { Contact } from '../contacts/model.ts';
import type { SuppressionReason, SuppressionStore } from '../contacts/suppressions.ts';
import type { Timeline } from '../contacts/timeline.ts';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { IdempotencyKey } from '../idempotency.ts';
import { logger } from '../logger.ts';
import { isStorableNumber, NUMBER_RANGE } from '../numbers.ts';
import type { TemplateStore } from '../templates/template-store.ts';
import { MESSAGE_SK, messagePk, messageSendId, type MessageRecord, type MessageStore } from './message-store.ts';

/** Limits of `data`: names like attribute names, flat scalar values, the whole at most 8 KB as JSON. */
export const MESSAGE_DATA_LIMITS = { fields: 50, stringLength: 1000, bytes: 8 * 1024 } as const;

const DataName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'must start with a letter and hold only letters, digits and _ (at most 64)');
const DataValue = z.union(
  [z.string().max(MESSAGE_DATA_LIMITS.stringLength), z.number().refine(isStorableNumber, NUMBER_RANGE), z.boolean(), z.null()],
  { error: `must be a string (at most ${MESSAGE_DATA_LIMITS.stringLength} characters), number, boolean or null: no objects or lists` },
);
const MessageDataInput = z.record(DataName, DataValue).superRefine((data, ctx) => {
  if (Object.keys(data).length > MESSAGE_DATA_LIMITS.fields) ctx.addIssue({ code: 'custom', message: `at most ${MESSAGE_DATA_LIMITS.fields} fields` });
  if (Buffer.byteLength(JSON.stringify(data), 'utf8') > MESSAGE_DATA_LIMITS.bytes) ctx.addIssue({ code: 'custom', message: `at most ${MESSAGE_DATA_LIMITS.bytes} bytes as JSON` });
});

/**
 * A number already in E.164 form (as contacts store them), checked by its shape only: the
 * provider refuses a number that does not exist. Keeps the phone-number library (~200 KB) out
 * of this request-path bundle.
 */
const E164 = z
  .string()
  .trim()
  .regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number such as +447700900123');

const EmailAddress = z.string().transform((value, ctx) => {
  try {
    return normalizeEmail(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof InvalidEmailError ? error.message : 'is not a valid email address' });
    return z.NEVER;
  }
});

const Label = z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'must start with a letter and hold only letters, digits, _ . and - (at most 64)');

export const MessageInput = z
  .strictObject({
    /** Or the Idempotency-Key header (the same value if both are given). */
    idempotencyKey: IdempotencyKey.optional(),
    /** Exactly one: a contact by id, or an address (the contact holding it, else the bare address). */
    to: z.strictObject({ contactId: z.uuid('must be a contact id').optional(), email: EmailAddress.optional(), phone: E164.optional() }),
    channel: Channel,
    template: z.uuid('must be a template id'),
    /** The template's version (templates are immutable today: version 1); refused when it is not the stored one. */
    templateVersion: z.int().min(1).optional(),
    data: MessageDataInput.default({}),
    metadata: z
      .record(Label, z.string().max(256))
      .refine((m) => Object.keys(m).length <= 20, 'at most 20 entries')
      .optional(),
    tags: z.array(Label).max(10).optional(),
  })
  .superRefine((input, ctx) => {
    const given = (['contactId', 'email', 'phone'] as const).filter((k) => input.to[k] !== undefined);
    if (given.length !== 1) ctx.addIssue({ code: 'custom', path: ['to'], message: 'needs exactly one of contactId, email or phone' });
    if (input.to.email !== undefined && input.channel !== 'email') ctx.addIssue({ code: 'custom', path: ['to', 'email'], message: 'an email address needs channel email' });
    if (input.to.phone !== undefined && input.channel !== 'sms') ctx.addIssue({ code: 'custom', path: ['to', 'phone'], message: 'a phone number needs channel sms' });
  });
export type MessageInput = z.output<typeof MessageInput>;

/**
 * The idempotency key of a request: the Idempotency-Key header or the body's idempotencyKey (the
 * same one if both are given). Validated like the project's other client keys.
 */
export function idempotencyKeyOf(header: string | undefined, body: MessageInput): string {
  const fromHeader = header === undefined ? undefined : IdempotencyKey.safeParse(header);
  if (fromHeader && !fromHeader.success) throw new ValidationError([{ path: 'Idempotency-Key', message: fromHeader.error.issues[0]?.message ?? 'is not a valid key' }]);
  const key = fromHeader?.data ?? body.idempotencyKey;
  if (key === undefined) throw new ValidationError([{ path: 'idempotencyKey', message: 'is required (or the Idempotency-Key header)' }]);
  if (fromHeader && body.idempotencyKey !== undefined && body.idempotencyKey !== fromHeader.data) {
    throw new ValidationError([{ path: 'idempotencyKey', message: 'differs from the Idempotency-Key header' }]);
  }
  return key;
}

/** Reasons no transactional message may go to an address, most serious first: the person's erasure, a complaint, a hard bounce, an SMS opt-out (STOP). */
export const BLOCKING_REASONS: readonly SuppressionReason[] = ['erased', 'complained', 'bounced', 'opted_out'];

export interface MessageDeps {
  messages: MessageStore;
  templates: TemplateStore;
  contacts: ContactStore;
  contactService: ContactService;
  suppressions: SuppressionStore;
  timeline: Timeline;
  /** The channel's provider (made once, on first use). */
  provider: (channel: Channel) => Promise<MessageProvider>;
  publicBaseUrl: string;
  senderAddress: string;
  /** How long a claim stays ours: longer than the function's timeout, so a live request is never judged abandoned. */
  leaseSeconds?: number;
  /** How long a repeat waits for the request holding its key to finish before answering 409. */
  inFlightWaitMs?: number;
  hash?: (purpose: string, value: string) => Promise<string>;
}

export type MessageOutcome =
  | { kind: 'sent' | 'refused' | 'failed'; message: MessageRecord; replayed: boolean }
  /** Nothing was sent: try again after `retryAfterSeconds` with the same key and body. */
  | { kind: 'retry'; status: 409 | 503; code: 'in_progress' | 'provider_throttled' | 'provider_unavailable'; messageId: string; retryAfterSeconds: number };

/** The message id of a key: a keyed hash (the key itself is stored nowhere), the same for every request carrying it. */
export async function messageIdOf(key: string, hash: MessageDeps['hash'] = keyedHash): Promise<string> {
  return `msg_${(await hash('transactional-message', key)).slice(0, 32)}`;
}

/** JSON with keys sorted at every level: the same request always gives the same text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** What makes two requests the same request: the parsed body (normalised addresses, defaults) without the key, as a keyed hash (it holds addresses). */
export async function fingerprintOf(input: MessageInput, hash: MessageDeps['hash'] = keyedHash): Promise<string> {
  const { idempotencyKey: _key, ...request } = input;
  return hash('transactional-request', canonical(request));
}

/**
 * Sends one transactional message, exactly once per idempotency key:
 * - the key's record is read first: a settled one is answered again (a replay), another body is a
 *   409 conflict, one in flight is waited for briefly;
 * - reads and checks (template, recipient, suppression) and rendering come before anything is
 *   written: a bad request (400/404/422) writes nothing; a refused recipient writes only the
 *   refusal, so a replay answers it again;
 * - the claim (a conditional write) admits one request per key to the provider; the outcome is
 *   written after the call, then the `sent` entry on the contact's timeline.
 */
export async function sendMessage(input: MessageInput, key: string, deps: MessageDeps, now: () => Date = () => new Date()): Promise<MessageOutcome> {
  const messageId = await messageIdOf(key, deps.hash);
  const fingerprint = await fingerprintOf(input, deps.hash);
  const existing = await deps.messages.get(messageId);
  if (existing) {
    const answer = await answerExisting(existing, fingerprint, deps, now);
    if (answer) return answer;
  }

  // Reads and checks: nothing is written until the claim (or the refusal).
  const template = await deps.templates.get(input.template);
  if (!template || (input.templateVersion !== undefined && template.version !== input.templateVersion)) {
    throw new NotFoundError('template', input.templateVersion === undefined ? input.template : `${input.template} version ${input.templateVersion}`);
  }
  if (template.channel !== input.channel) throw new ValidationError([{ path: 'channel', message: `does not match the template's channel (${template.channel})` }]);
  const { contact, address } = await recipientOf(input, deps);

  const at = now().toISOString();
  const record: MessageRecord = {
    pk: messagePk(messageId),
    sk: MESSAGE_SK,
    kind: 'transactional',
    messageId,
    sendId: messageSendId(messageId, contact?.id),
    campaignId: TRANSACTIONAL,
    runId: messageId,
    contactId: contact?.id ?? 'address',
    recipient: contact ? 'contact' : 'address',
    channel: input.channel,
    status: 'queued',
    createdAt: at,
    attempts: 0,
    fingerprint,
    templateId: template.id,
    templateVersion: template.version,
    outcomes: {},
    ...(input.metadata ? { metadata: input.metadata } : {}),
    ...(input.tags ? { tags: input.tags } : {}),
  };

  const suppression = await deps.suppressions.get(input.channel, address);
  const blocking = BLOCKING_REASONS.find((reason) => suppression?.reasons[reason]);
  if (blocking) {
    const refused: MessageRecord = { ...record, status: 'skipped', reason: blocking };
    if (await deps.messages.refuse(refused)) return { kind: 'refused', message: refused, replayed: false };
    return (await answerRace(messageId, fingerprint, deps, now)) ?? inProgress(messageId);
  }

  let message;
  try {
    message = await buildMessage({
      template,
      contact,
      to: address,
      channel: input.channel,
      campaign: { id: TRANSACTIONAL, name: template.name, marketing: false },
      sendId: record.sendId,
      runId: messageId,
      publicBaseUrl: deps.publicBaseUrl,
      senderAddress: deps.senderAddress,
      tracking: false,
      data: input.data as MessageData,
      messageId,
    });
  } catch (error) {
    throw new AppError(422, 'render_failed', `The template could not be rendered: ${String((error as Error).message).slice(0, 300)}`);
  }
  const provider = await deps.provider(input.channel);

  const claim = await deps.messages.claim(record, deps.leaseSeconds ?? 60, now());
  if ('existing' in claim) return (claim.existing && (await answerExisting(claim.existing, fingerprint, deps, now))) ?? inProgress(messageId);

  let providerMessageId: string;
  try {
    ({ providerMessageId } = await provider.send(message));
  } catch (error) {
    if (error instanceof ProviderPermanentError) {
      const failed = await deps.messages.move(messageId, 'sending', 'failed', { reason: error.reason, error: error.message.slice(0, 500) });
      if (error.reason === 'opted_out' && input.channel === 'sms') await deps.contactService.suppress('sms', address, 'opted_out', { at: now().toISOString(), source: provider.name });
      return settled(failed, messageId, deps);
    }
    if (error instanceof ProviderAmbiguousError) {
      // The provider may have taken it: never sent again.
      const failed = await deps.messages.move(messageId, 'sending', 'failed', { reason: 'outcome_unknown', error: error.message.slice(0, 500) });
      return settled(failed, messageId, deps);
    }
    // Throttled or transient: the claim is given back, so the caller's retry with this key sends it.
    await deps.messages.move(messageId, 'sending', 'queued');
    if (error instanceof ProviderThrottledError) return { kind: 'retry', status: 503, code: 'provider_throttled', messageId, retryAfterSeconds: 2 };
    logger.warn('transactional message not sent; the provider failed', { messageId, error: error as Error });
    return { kind: 'retry', status: 503, code: 'provider_unavailable', messageId, retryAfterSeconds: 5 };
  }

  const sentAt = now().toISOString();
  const sent = (await deps.messages.move(messageId, 'sending', 'sent', { sentAt, providerMessageId })) ?? { ...claim.claimed, status: 'sent' as const, sentAt, providerMessageId };
  await recordSent(sent, deps);
  return { kind: 'sent', message: sent, replayed: false };
}

/** The contact (when there is one) and the address the message goes to. */
async function recipientOf(input: MessageInput, deps: MessageDeps): Promise<{ contact: Contact | undefined; address: string }> {
  const { contactId, email, phone } = input.to;
  let contact: Contact | undefined;
  if (contactId !== undefined) {
    // An erased contact is gone (its history moved to a pseudonym): its id is not found.
    contact = await deps.contacts.get(contactId, true);
    if (!contact) throw new NotFoundError('contact', contactId);
  } else if (email !== undefined) contact = await deps.contacts.findByEmail(email);
  else if (phone !== undefined) contact = await deps.contacts.findByPhone(phone);
  const address = contact ? (input.channel === 'email' ? contact.email : contact.phone) : (email ?? phone);
  if (!address) throw new AppError(422, 'no_address', `The contact has no ${input.channel === 'email' ? 'email address' : 'phone number'}`);
  return { contact, address };
}

/** A request with a key that already has a record: answered from it, or undefined when the key's last attempt was given back (throttling) and may be tried again. */
async function answerExisting(record: MessageRecord, fingerprint: string, deps: MessageDeps, now: () => Date): Promise<MessageOutcome | undefined> {
  if (record.fingerprint !== fingerprint) throw new ConflictError('This idempotency key was used with another request body; use a new key for a new message', 'idempotency_key_reused');
  let current: MessageRecord | undefined = record;
  const waitUntil = Date.now() + (deps.inFlightWaitMs ?? 3000);
  while (current?.status === 'sending') {
    if (current.leaseUntil && Date.parse(current.leaseUntil) <= now().getTime()) {
      // The request that claimed it stopped after (perhaps) calling the provider: never sent twice.
      const failed = await deps.messages.move(current.messageId, 'sending', 'failed', { reason: 'outcome_unknown', error: 'a previous attempt stopped after claiming the message' });
      return settled(failed, record.messageId, deps, true);
    }
    if (Date.now() >= waitUntil) return inProgress(record.messageId);
    await delay(100);
    current = await deps.messages.get(record.messageId);
  }
  if (!current || current.status === 'queued') return undefined;
  return settled(current, record.messageId, deps, true);
}

/** Lost the race for a new key: the winner's record answers (or the caller retries). */
async function answerRace(messageId: string, fingerprint: string, deps: MessageDeps, now: () => Date): Promise<MessageOutcome | undefined> {
  const record = await deps.messages.get(messageId);
  return record ? answerExisting(record, fingerprint, deps, now) : undefined;
}

const inProgress = (messageId: string): MessageOutcome => ({ kind: 'retry', status: 409, code: 'in_progress', messageId, retryAfterSeconds: 1 });

/** A settled record as the answer; a sent one makes sure its timeline entry exists (a crash may have come between). */
async function settled(record: MessageRecord | undefined, messageId: string, deps: MessageDeps, replayed = false): Promise<MessageOutcome> {
  const current = record ?? (await deps.messages.get(messageId));
  if (!current || current.status === 'sending' || current.status === 'queued') return inProgress(messageId);
  if (current.status === 'sent') {
    await recordSent(current, deps);
    return { kind: 'sent', message: current, replayed };
  }
  return { kind: current.status === 'skipped' ? 'refused' : 'failed', message: current, replayed };
}

/**
 * The message on the contact's timeline, once (keyed by its send id): type `sent` with
 * `transactional: true` and no campaign, so attribution, lift, campaign counters and frequency
 * caps leave it out while the timeline and the event stream show it.
 */
async function recordSent(record: MessageRecord, deps: MessageDeps): Promise<void> {
  if (record.recipient !== 'contact' || !record.sentAt || !record.channel) return;
  await deps.timeline.recordFast({
    contactId: record.contactId,
    id: record.sendId,
    type: 'sent',
    occurredAt: record.sentAt,
    channel: record.channel,
    sendId: record.sendId,
    data: { transactional: true, messageId: record.messageId, templateId: record.templateId, providerMessageId: record.providerMessageId },
  });
}

/** Delivery events in order of what they say last about a message: the status GET /v1/messages/{id} shows. */
const DELIVERY_ORDER = ['complained', 'bounced', 'delivery_failed', 'rejected', 'delivered', 'carrier_accepted', 'bounced_soft', 'delivery_delayed'] as const;

/** A message as the API shows it. */
export function messageView(record: MessageRecord) {
  const delivery = DELIVERY_ORDER.find((type) => record.outcomes?.[type]);
  return {
    id: record.messageId,
    channel: record.channel,
    recipient: record.recipient === 'contact' ? { contactId: record.contactId } : { address: true },
    template: { id: record.templateId, version: record.templateVersion },
    /** What Touchloop did: sending, queued (to be retried), sent, failed or skipped (refused). */
    status: record.status === 'skipped' ? 'refused' : record.status,
    /** The latest news from the provider's delivery events, if any. */
    delivery: delivery ?? null,
    ...(record.reason ? { reason: record.reason } : {}),
    createdAt: record.createdAt,
    ...(record.sentAt ? { sentAt: record.sentAt } : {}),
    ...(record.providerMessageId ? { providerMessageId: record.providerMessageId } : {}),
    events: record.outcomes ?? {},
    ...(record.metadata ? { metadata: record.metadata } : {}),
    ...(record.tags ? { tags: record.tags } : {}),
  };
}
