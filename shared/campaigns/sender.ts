import type { SendBatch } from '../../events/campaigns.ts';
import type { ContactService } from '../contacts/contact-service.ts';
import type { ContactStore } from '../contacts/contact-store.ts';
import type { Timeline } from '../contacts/timeline.ts';
import { projectSecret } from '../aws/secrets.ts';
import { logger } from '../logger.ts';
import { toEvalContact } from '../segments/contact-view.ts';
import type { TemplateStore } from '../templates/template-store.ts';
import type { CampaignStore, CounterDeltas } from './campaign-store.ts';
import { checkEligibility, frequencyCapSince, TokenBucket } from './decisions.ts';
import { buildMessage } from './messages.ts';
import { forEachLimit } from '../concurrency.ts';
import type { Contact } from '../contacts/model.ts';
import type { Campaign, Channel } from './model.ts';
import { ProviderAmbiguousError, ProviderPermanentError, ProviderThrottledError, type MessageProvider, type OutgoingMessage } from './providers/provider.ts';
import type { SendRecord, SendStore } from './send-store.ts';

export interface SenderDeps {
  campaigns: CampaignStore;
  sends: SendStore;
  contacts: ContactStore;
  contactService: ContactService;
  timeline: Timeline;
  templates: TemplateStore;
  provider: MessageProvider;
  bucket: TokenBucket;
  publicBaseUrl: string;
  senderAddress: string;
  /** How long a claimed send stays ours before another worker may judge it abandoned. */
  leaseSeconds?: number;
  /** Recipients of one message sent together: read, claimed, sent side by side and recorded as a chunk (default and at most 25). */
  parallelism?: number;
}

/** One channel's sender: the send dependencies but the token buckets (one per campaign) and the provider (made once, on first use). */
export interface ChannelSenderDeps extends Omit<SenderDeps, 'bucket' | 'provider'> {
  provider: () => Promise<MessageProvider>;
  /** The queue's maximum concurrency: the campaign's rate is shared among this many invocations. */
  concurrency: number;
  /** Messages per second when a campaign sets no rate of its own. */
  defaultRate: number;
}

/** How the message being handled was delivered, and how to have it delivered again later. */
export interface Delivery {
  receiveCount: number;
  remainingMs: () => number;
  redeliverIn: (seconds: number) => Promise<void>;
}

/**
 * The consumer of one channel's sends queue. Pacing: a token bucket per invocation at the
 * campaign's rate divided by the queue's maximum concurrency (so all invocations together stay
 * at the rate). Out of time, the rest of a message goes again at once; throttled or in flight
 * elsewhere, it comes back with exponential back-off (visibility timeout).
 */
export function channelSender(channel: Channel, deps: ChannelSenderDeps): (batch: SendBatch, delivery: Delivery) => Promise<void> {
  const { provider, concurrency, defaultRate, ...sendDeps } = deps;
  let providerInstance: Promise<MessageProvider> | undefined;
  const buckets = new Map<string, TokenBucket>();
  return async (batch, delivery) => {
    providerInstance ??= provider();
    const campaign = await deps.campaigns.get(batch.campaignId, false);
    const rate = (campaign?.limits.sendRatePerSecond[channel] ?? defaultRate) / concurrency;
    let bucket = buckets.get(batch.campaignId);
    if (!bucket) buckets.set(batch.campaignId, (bucket = new TokenBucket(rate)));
    try {
      // Chunks of about a second's tokens: a slow campaign still claims one send at a time.
      const parallelism = Math.max(1, Math.min(sendDeps.parallelism ?? 25, Math.floor(rate)));
      await sendBatch(batch, { ...sendDeps, provider: await providerInstance, bucket, parallelism }, undefined, delivery.remainingMs);
    } catch (error) {
      if (error instanceof SendDeadlineError) {
        // Nothing claimed: the rest of the message goes again at once.
        await delivery.redeliverIn(0).catch(() => undefined);
      } else if (error instanceof ProviderThrottledError || error instanceof SendInFlightError) {
        const backoff = Math.min(900, 5 * 2 ** Math.min(delivery.receiveCount, 8));
        logger.warn('send batch will be retried', { reason: (error as Error).name, backoffSeconds: backoff, campaignId: batch.campaignId });
        await delivery.redeliverIn(backoff).catch(() => undefined);
      }
      throw error;
    }
  };
}

/** Another worker holds this send right now: retry the message later. */
export class SendInFlightError extends Error {
  override name = 'SendInFlightError';
}

export interface BatchOutcome {
  sent: number;
  skipped: number;
  failed: number;
  alreadyDone: number;
}

/**
 * Sends one queue message's recipients, each exactly once in effect:
 * - the send record moves queued → sending (conditional, with a lease) before the provider call
 *   and sending → sent (conditional) after it; a redelivered message finds `sent` and does nothing;
 * - consent, suppression and the frequency cap are checked again now: an unsubscribe between
 *   launch and send wins;
 * - throttling releases the claim and throws (the queue redelivers with back-off); permanent
 *   rejections are recorded and never retried; a paused or cancelled campaign stops here.
 * Reads, checks, rendering and pacing happen before the claim, so their failures leave the send
 * queued. The remaining window: a crash after the provider accepted and before `sent` was written
 * leaves the record `sending`; when its lease expires it is marked failed with `outcome_unknown`
 * rather than sent again (at most once beats twice for marketing), and the provider's delivery
 * events (tagged with the send's ids) still record what happened. Recipients go in chunks of up
 * to 25 (one read of their records and contacts, one claim, the provider calls side by side, one
 * `sent` write): the window is one chunk's provider calls plus one batch write long.
 */
/** The invocation is about to time out: the rest of the message is retried right away (nothing was claimed). */
export class SendDeadlineError extends Error {
  override name = 'SendDeadlineError';
}

export async function sendBatch(batch: SendBatch, deps: SenderDeps, now = () => new Date(), remainingMs: () => number = () => Number.POSITIVE_INFINITY): Promise<BatchOutcome> {
  const outcome: BatchOutcome = { sent: 0, skipped: 0, failed: 0, alreadyDone: 0 };
  const deltas: CounterDeltas & { suppressed: Record<string, number> } = { suppressed: {} };
  const bump = (key: 'queued' | 'sent' | 'failed' | 'cancelled' | 'deferred', by: number) => (deltas[key] = (deltas[key] ?? 0) + by);
  const campaign = await deps.campaigns.get(batch.campaignId);
  try {
    if (!campaign) {
      logger.warn('send batch for an unknown campaign dropped', { campaignId: batch.campaignId });
      return outcome;
    }
    const tally = (result: OneResult) => {
      if (result.kind === 'sent') {
        outcome.sent++;
        bump('queued', -1);
        bump('sent', 1);
        deltas.spent = (deltas.spent ?? 0) + (campaign.costPerMessage[batch.channel] ?? 0);
      } else if (result.kind === 'skipped') {
        outcome.skipped++;
        bump('queued', -1);
        deltas.suppressed[result.reason] = (deltas.suppressed[result.reason] ?? 0) + 1;
      } else if (result.kind === 'failed') {
        outcome.failed++;
        bump('queued', -1);
        bump('failed', 1);
      } else if (result.kind === 'done') outcome.alreadyDone++;
    };
    // A recipient listed twice in one message is one send.
    const recipients = [...new Map(batch.recipients.map((r) => [r.contactId, r])).values()];
    if (campaign.status === 'cancelled' || campaign.status === 'paused') {
      const to = campaign.status === 'cancelled' ? 'cancelled' : 'paused';
      await forEachLimit(recipients, 8, async (recipient) => {
        if (await deps.sends.move({ campaignId: batch.campaignId, runId: batch.runId, contactId: recipient.contactId }, 'queued', to)) {
          bump('queued', -1);
          if (to === 'cancelled') bump('cancelled', 1);
          else bump('deferred', 1); // paused sends wait like deferred ones until the campaign resumes
        }
      });
      return outcome;
    }
    // Recipients go in chunks: one read of their send records and contacts, one claim, the
    // provider calls side by side (each paced by the token bucket), one `sent` write and one
    // timeline write per chunk. A failure stops taking new chunks, lets the chunk finish, then
    // fails the message.
    const chunkSize = Math.max(1, Math.min(MAX_CHUNK, deps.parallelism ?? MAX_CHUNK));
    for (let i = 0; i < recipients.length; i += chunkSize) {
      if (remainingMs() < 15_000) throw new SendDeadlineError('the invocation is close to its timeout');
      const { results, error } = await sendChunk(campaign, batch, recipients.slice(i, i + chunkSize), deps, now);
      results.forEach(tally);
      if (error !== undefined) throw error;
    }
    return outcome;
  } finally {
    // Counters move once per message, even when a recipient throws (throttling) half-way.
    if (campaign) {
      await deps.campaigns.addCounters(campaign.id, deltas);
      if (campaign.runId) await deps.campaigns.completeIfDone(campaign.id, campaign.runId, campaign.schedule.type === 'recurring');
    }
  }
}

/** Recipients of one message sent together (DynamoDB takes 25 statements and 100 keys a request). */
const MAX_CHUNK = 25;

type OneResult = { kind: 'sent' } | { kind: 'skipped'; reason: string } | { kind: 'failed'; reason: string } | { kind: 'done' } | { kind: 'unsettled' };

/** What one recipient of a chunk became before the provider call: settled already, or ready to send. */
interface Ready {
  record: SendRecord;
  contact: Contact;
  message: OutgoingMessage & { segments?: number };
}

/**
 * One chunk of a message's recipients. Reads, checks, rendering and pacing come before the
 * claim, so their failures leave the sends queued; after the claim, each provider call's outcome
 * is written (sent in one batch write, refusals one by one). Returns each recipient's result and
 * the first error, if any, for the message to fail with.
 */
async function sendChunk(campaign: Campaign, batch: SendBatch, recipients: SendBatch['recipients'], deps: SenderDeps, now: () => Date): Promise<{ results: OneResult[]; error?: unknown }> {
  const results: OneResult[] = recipients.map(() => ({ kind: 'unsettled' }));
  let firstError: unknown;
  const guard = async (i: number, work: () => Promise<OneResult>) => {
    try {
      results[i] = await work();
    } catch (error) {
      firstError ??= error;
    }
  };
  const keyOf = (contactId: string) => ({ campaignId: batch.campaignId, runId: batch.runId, contactId });
  const records = await deps.sends.getMany(batch.campaignId, batch.runId, recipients.map((r) => r.contactId)).catch((error: unknown) => {
    firstError = error;
    return undefined;
  });
  if (!records) return { results, error: firstError };

  const queued: number[] = [];
  const settling: Array<Promise<void>> = [];
  recipients.forEach((recipient, i) => {
    const current = records.get(recipient.contactId);
    if (!current) {
      logger.warn('send record missing; recipient skipped', keyOf(recipient.contactId));
      results[i] = { kind: 'done' };
    } else if (current.status !== 'queued') settling.push(guard(i, () => settleUnclaimed(current, keyOf(recipient.contactId), deps, now)));
    else queued.push(i);
  });
  await Promise.all(settling);
  if (queued.length === 0) return { results, error: firstError };

  // Everything that can fail without consequence happens before the claim: reads, checks, rendering, pacing.
  let contacts: Map<string, Contact>;
  try {
    contacts = await deps.contacts.getMany(queued.map((i) => recipients[i]!.contactId));
    // With the behaviour counters a frequency cap reads, consistently: sends a moment ago count.
    const nowMs = now().getTime();
    const capSince = frequencyCapSince(campaign.limits.frequencyCap, nowMs);
    if (capSince !== null && contacts.size) {
      const withActivity = await deps.timeline.activity.attach([...contacts.values()], { nowMs, consistent: true, sinceMs: capSince });
      contacts = new Map(withActivity.map((c) => [c.id, c]));
    }
    // The signing secret is read first: a passing Secrets Manager error is a retry, not a bad template.
    await projectSecret();
  } catch (error) {
    return { results, error: firstError ?? error };
  }

  const ready = new Map<number, Ready>();
  const refusals: Array<Promise<void>> = [];
  const refuse = (i: number, to: 'skipped' | 'failed', reason: string, fields: Record<string, unknown> = {}) =>
    refusals.push(guard(i, async () => ((await deps.sends.move(keyOf(recipients[i]!.contactId), 'queued', to, { reason, ...fields })) ? { kind: to, reason } : { kind: 'done' })));
  for (const i of queued) {
    const recipient = recipients[i]!;
    const record = records.get(recipient.contactId)!;
    const contact = contacts.get(recipient.contactId);
    if (!contact) {
      refuse(i, 'skipped', 'contact_erased');
      continue;
    }
    const at = now();
    // Checked again at send time: consent, suppression, frequency cap.
    const eligibility = checkEligibility(toEvalContact(contact, at.getTime()), batch.channel, at, campaign.limits.frequencyCap);
    if (!eligibility.eligible) {
      refuse(i, 'skipped', eligibility.reason);
      continue;
    }
    const variant = campaign.variants.find((v) => v.name === recipient.variant) ?? campaign.variants[0]!;
    const templateId = variant.templates[batch.channel];
    let template;
    try {
      template = templateId ? await deps.templates.get(templateId) : undefined;
    } catch (error) {
      firstError ??= error;
      continue;
    }
    if (!template) {
      refuse(i, 'failed', 'template_missing');
      continue;
    }
    try {
      const message = await buildMessage({ template, contact, channel: batch.channel, campaign, sendId: record.sendId, runId: batch.runId, publicBaseUrl: deps.publicBaseUrl, senderAddress: deps.senderAddress });
      ready.set(i, { record, contact, message });
    } catch (error) {
      refuse(i, 'failed', 'render_failed', { error: String((error as Error).message).slice(0, 500) });
    }
  }
  await Promise.all(refusals);
  if (ready.size === 0) return { results, error: firstError };

  // Paced: a token per provider call, taken before the claim.
  for (let k = 0; k < ready.size; k++) await deps.bucket.take();

  const order = [...ready.keys()];
  let claims;
  try {
    claims = await deps.sends.claimMany(
      order.map((i) => ready.get(i)!.record),
      deps.leaseSeconds ?? 120,
      now(),
    );
  } catch (error) {
    return { results, error: firstError ?? error };
  }
  const unclaimed: number[] = [];
  const claimed: Array<{ i: number; record: SendRecord; ready: Ready }> = [];
  claims.forEach((claim, k) => {
    const i = order[k]!;
    if ('claimed' in claim) claimed.push({ i, record: claim.claimed, ready: ready.get(i)! });
    else if (claim.refused.done === false && claim.refused.code === 'ConditionalCheckFailed') unclaimed.push(i);
    else firstError ??= new Error(`send not claimed: ${claim.refused.done ? '' : `${claim.refused.code} ${claim.refused.message}`}`);
  });
  if (unclaimed.length) {
    // Claimed by someone else in between: settle from what the record is now.
    try {
      const current = await deps.sends.getMany(batch.campaignId, batch.runId, unclaimed.map((i) => recipients[i]!.contactId));
      await Promise.all(unclaimed.map((i) => guard(i, async () => {
        const record = current.get(recipients[i]!.contactId);
        return record ? settleUnclaimed(record, keyOf(recipients[i]!.contactId), deps, now) : { kind: 'done' };
      })));
    } catch (error) {
      firstError ??= error;
    }
  }

  // The provider calls, side by side; each outcome is written whatever the others did.
  const cost = campaign.costPerMessage[batch.channel] ?? 0;
  const delivered: Array<{ i: number; sent: SendRecord; segments?: number }> = [];
  await Promise.all(
    claimed.map(({ i, record, ready: { contact, message } }) =>
      guard(i, async () => {
        const key = keyOf(record.contactId);
        let providerMessageId: string;
        try {
          ({ providerMessageId } = await deps.provider.send(message));
        } catch (error) {
          if (error instanceof ProviderPermanentError) {
            await deps.sends.move(key, 'sending', 'failed', { reason: error.reason, error: error.message.slice(0, 500) }, ['leaseUntil']);
            if (error.reason === 'opted_out' && batch.channel === 'sms' && contact.phone) {
              await deps.contactService.suppress('sms', contact.phone, 'opted_out', { at: now().toISOString(), source: deps.provider.name });
            }
            return { kind: 'failed', reason: error.reason };
          }
          if (error instanceof ProviderAmbiguousError) {
            // The provider may have taken it: never send again.
            await deps.sends.move(key, 'sending', 'failed', { reason: 'outcome_unknown', error: error.message.slice(0, 500) }, ['leaseUntil']);
            return { kind: 'failed', reason: 'outcome_unknown' };
          }
          // Throttled or transient: give the send back and let the queue retry the message.
          await deps.sends.move(key, 'sending', 'queued', {}, ['leaseUntil']);
          throw error;
        }
        const { leaseUntil: _lease, ...held } = record;
        delivered.push({ i, sent: { ...held, status: 'sent', sentAt: now().toISOString(), providerMessageId, cost }, ...('segments' in message && message.segments ? { segments: message.segments } : {}) });
        return { kind: 'unsettled' };
      }),
    ),
  );
  if (delivered.length === 0) return { results, error: firstError };

  // Accepted by the provider: sent (one batch write), then on the timeline. A send that is no
  // longer `sending` (its lease ran out and another worker judged it) is still recorded as sent on
  // the timeline, as the provider's events will be.
  try {
    const moved = await deps.sends.markSentMany(delivered.map(({ sent, segments }) => ({ pk: sent.pk, sk: sent.sk, sentAt: sent.sentAt, providerMessageId: sent.providerMessageId, cost: sent.cost, ...(segments !== undefined ? { segments } : {}) })));
    delivered.forEach(({ i }, k) => {
      const outcome = moved[k]!;
      if (outcome.done || outcome.code === 'ConditionalCheckFailed') results[i] = { kind: 'sent' };
      else firstError ??= new Error(`sent send not recorded: ${outcome.code} ${outcome.message}`);
    });
    await recordSentMany(delivered.map(({ sent }) => sent), deps);
  } catch (error) {
    firstError ??= error;
  }
  return { results, error: firstError };
}

/** A send that is not ours to make: already done, held by another worker, or abandoned mid-send. */
async function settleUnclaimed(record: SendRecord, key: { campaignId: string; runId: string; contactId: string }, deps: SenderDeps, now: () => Date): Promise<OneResult> {
  if (record.status === 'sent') {
    // Redelivery after the send: make sure the timeline has it (idempotent), nothing else.
    await recordSent(record, deps);
    return { kind: 'done' };
  }
  if (record.status === 'sending') {
    if (record.leaseUntil && Date.parse(record.leaseUntil) > now().getTime()) throw new SendInFlightError(`send ${record.sendId} is being sent by another worker`);
    if (await deps.sends.move(key, 'sending', 'failed', { reason: 'outcome_unknown', error: 'a previous attempt stopped after calling the provider' }, ['leaseUntil'])) {
      return { kind: 'failed', reason: 'outcome_unknown' };
    }
  }
  return { kind: 'done' };
}

/** The sends of a chunk on their contacts' timelines, in one batch write (and their `sent` counters). */
async function recordSentMany(records: SendRecord[], deps: SenderDeps): Promise<void> {
  await deps.timeline.recordFastMany(records.filter((r) => r.sentAt && r.channel).map(sentInteraction));
}

function sentInteraction(record: SendRecord) {
  return {
    contactId: record.contactId,
    id: record.sendId,
    type: 'sent',
    occurredAt: record.sentAt!,
    channel: record.channel!,
    campaignId: record.campaignId,
    sendId: record.sendId,
    data: { variant: record.variant, runId: record.runId, providerMessageId: record.providerMessageId },
  };
}

/** The send on the contact's timeline (and its `sent` counters, which frequency caps read). */
async function recordSent(record: SendRecord, deps: SenderDeps): Promise<void> {
  if (!record.sentAt || !record.channel) return;
  await deps.timeline.recordFast(sentInteraction(record));
}

export { ProviderThrottledError };
