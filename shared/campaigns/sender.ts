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
import type { Campaign, Channel } from './model.ts';
import { ProviderAmbiguousError, ProviderPermanentError, ProviderThrottledError, type MessageProvider } from './providers/provider.ts';
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
  /** Recipients of one message handled at the same time (default 8). */
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
      await sendBatch(batch, { ...sendDeps, provider: await providerInstance, bucket }, undefined, delivery.remainingMs);
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
 * events (tagged with the send's ids) still record what happened. The window is one provider
 * call plus one DynamoDB write long.
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
    const handleOne = async (recipient: SendBatch['recipients'][number]) => {
      const key = { campaignId: batch.campaignId, runId: batch.runId, contactId: recipient.contactId };
      if (campaign.status === 'cancelled' || campaign.status === 'paused') {
        const to = campaign.status === 'cancelled' ? 'cancelled' : 'paused';
        if (await deps.sends.move(key, 'queued', to)) {
          bump('queued', -1);
          if (to === 'cancelled') bump('cancelled', 1);
          else bump('deferred', 1); // paused sends wait like deferred ones until the campaign resumes
        }
        return;
      }
      const result = await sendOne(campaign, batch, recipient, deps, now);
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
      } else outcome.alreadyDone++;
    };
    // A few recipients at a time (the token bucket still paces the provider calls); the first
    // error stops taking new ones, lets those in flight finish, then fails the message.
    let next = 0;
    let firstError: unknown;
    await Promise.all(
      Array.from({ length: Math.min(deps.parallelism ?? 8, batch.recipients.length) }, async () => {
        while (firstError === undefined && next < batch.recipients.length) {
          if (remainingMs() < 15_000) {
            firstError ??= new SendDeadlineError('the invocation is close to its timeout');
            return;
          }
          const recipient = batch.recipients[next++]!;
          try {
            await handleOne(recipient);
          } catch (error) {
            firstError ??= error;
          }
        }
      }),
    );
    if (firstError !== undefined) throw firstError;
    return outcome;
  } finally {
    // Counters move once per message, even when a recipient throws (throttling) half-way.
    if (campaign) {
      await deps.campaigns.addCounters(campaign.id, deltas);
      if (campaign.runId) await deps.campaigns.completeIfDone(campaign.id, campaign.runId, campaign.schedule.type === 'recurring');
    }
  }
}

type OneResult = { kind: 'sent' } | { kind: 'skipped'; reason: string } | { kind: 'failed'; reason: string } | { kind: 'done' };

async function sendOne(campaign: Campaign, batch: SendBatch, recipient: SendBatch['recipients'][number], deps: SenderDeps, now: () => Date): Promise<OneResult> {
  const key = { campaignId: batch.campaignId, runId: batch.runId, contactId: recipient.contactId };
  const current = await deps.sends.get(batch.campaignId, batch.runId, recipient.contactId);
  if (!current) {
    logger.warn('send record missing; recipient skipped', key);
    return { kind: 'done' };
  }
  if (current.status !== 'queued') return settleUnclaimed(current, key, deps, now);

  // Everything that can fail without consequence happens before the claim: reads, checks, rendering, pacing.
  const stored = await deps.contacts.get(recipient.contactId, true);
  // With the behaviour counters a frequency cap reads, consistently: sends a moment ago count.
  const nowMs = now().getTime();
  const capSince = frequencyCapSince(campaign.limits.frequencyCap, nowMs);
  const contact = stored && capSince !== null ? (await deps.timeline.activity.attach([stored], { nowMs, consistent: true, sinceMs: capSince }))[0] : stored;
  if (!contact) {
    return (await deps.sends.move(key, 'queued', 'skipped', { reason: 'contact_erased' })) ? { kind: 'skipped', reason: 'contact_erased' } : { kind: 'done' };
  }
  const at = now();
  // Checked again at send time: consent, suppression, frequency cap.
  const eligibility = checkEligibility(toEvalContact(contact, at.getTime()), batch.channel, at, campaign.limits.frequencyCap);
  if (!eligibility.eligible) {
    return (await deps.sends.move(key, 'queued', 'skipped', { reason: eligibility.reason })) ? { kind: 'skipped', reason: eligibility.reason } : { kind: 'done' };
  }
  const variant = campaign.variants.find((v) => v.name === recipient.variant) ?? campaign.variants[0]!;
  const templateId = variant.templates[batch.channel];
  const template = templateId ? await deps.templates.get(templateId) : undefined;
  if (!template) {
    return (await deps.sends.move(key, 'queued', 'failed', { reason: 'template_missing' })) ? { kind: 'failed', reason: 'template_missing' } : { kind: 'done' };
  }
  // The signing secret is read first: a passing Secrets Manager error is a retry, not a bad template.
  await projectSecret();
  let message;
  try {
    message = await buildMessage({ template, contact, channel: batch.channel, campaign, sendId: current.sendId, runId: batch.runId, publicBaseUrl: deps.publicBaseUrl, senderAddress: deps.senderAddress });
  } catch (error) {
    const moved = await deps.sends.move(key, 'queued', 'failed', { reason: 'render_failed', error: String((error as Error).message).slice(0, 500) });
    return moved ? { kind: 'failed', reason: 'render_failed' } : { kind: 'done' };
  }
  await deps.bucket.take();

  const claim = await deps.sends.claim(batch.campaignId, batch.runId, recipient.contactId, deps.leaseSeconds ?? 120, now());
  if (!claim.claimed) return claim.record ? settleUnclaimed(claim.record, key, deps, now) : { kind: 'done' };
  const record = claim.record;
  let providerMessageId: string;
  try {
    ({ providerMessageId } = await deps.provider.send(message));
  } catch (error) {
    if (error instanceof ProviderPermanentError) {
      await deps.sends.move(key, 'sending', 'failed', { reason: error.reason, error: error.message.slice(0, 500) }, ['leaseUntil']);
      if (error.reason === 'opted_out' && batch.channel === 'sms' && contact.phone) {
        await deps.contactService.suppress('sms', contact.phone, 'opted_out', { at: at.toISOString(), source: deps.provider.name });
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
  const sentAt = now().toISOString();
  const cost = campaign.costPerMessage[batch.channel] ?? 0;
  const sent: SendRecord = { ...record, status: 'sent', sentAt, providerMessageId, cost };
  await deps.sends.move(key, 'sending', 'sent', { sentAt, providerMessageId, cost, ...('segments' in message && message.segments ? { segments: message.segments } : {}) }, ['leaseUntil']);
  await recordSent(sent, deps);
  return { kind: 'sent' };
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

/** The send on the contact's timeline (and its `sent` counters, which frequency caps read). */
async function recordSent(record: SendRecord, deps: SenderDeps): Promise<void> {
  if (!record.sentAt || !record.channel) return;
  await deps.timeline.recordFast({
    contactId: record.contactId,
    id: record.sendId,
    type: 'sent',
    occurredAt: record.sentAt,
    channel: record.channel,
    campaignId: record.campaignId,
    sendId: record.sendId,
    data: { variant: record.variant, runId: record.runId, providerMessageId: record.providerMessageId },
  });
}

export { ProviderThrottledError };
