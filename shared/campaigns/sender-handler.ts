import { SendBatch } from '../../events/campaigns.ts';
import { delayRedelivery } from '../aws/queue.ts';
import { contactsFrom, type ContactsConfig } from '../contacts/wiring.ts';
import { logger } from '../logger.ts';
import { messageQueueConsumer } from '../queue/message-consumer.ts';
import { TemplateStore } from '../templates/template-store.ts';
import { TokenBucket } from './decisions.ts';
import type { Channel } from './model.ts';
import { ProviderThrottledError, type MessageProvider } from './providers/provider.ts';
import { sendBatch, SendDeadlineError, SendInFlightError } from './sender.ts';
import { campaignsFrom } from './wiring.ts';

/**
 * The queue consumer of one channel's sends. Pacing: a token bucket per invocation at the
 * campaign's rate divided by the queue's maximum concurrency (so all invocations together stay
 * at the rate). Throttled messages come back with exponential back-off (visibility timeout).
 */
export interface SenderConfig extends ContactsConfig {
  tables: ContactsConfig['tables'] & { campaigns: string; sends: string; templates: string };
  /** The channel's own sends queue (a throttled message's redelivery is pushed back on it). */
  queueUrl: string;
  publicBaseUrl: string;
  /** The postal address marketing messages show. */
  senderAddress: string;
  /** The queue's maximum concurrency: the campaign's rate is shared among this many invocations. */
  concurrency: number;
  /** Messages per second when a campaign sets no rate of its own. */
  defaultRate: number;
}

export function senderHandler(channel: Channel, config: SenderConfig, provider: () => Promise<MessageProvider>) {
  const { campaigns, sends } = campaignsFrom(config);
  const contacts = contactsFrom(config);
  const templates = new TemplateStore(config.tables.templates);
  const { queueUrl, concurrency, defaultRate, publicBaseUrl, senderAddress } = config;
  let providerInstance: Promise<MessageProvider> | undefined;
  const buckets = new Map<string, TokenBucket>();

  return messageQueueConsumer(SendBatch, async (batch, { record, receiveCount, context }) => {
    providerInstance ??= provider();
    const campaign = await campaigns.get(batch.campaignId, false);
    const rate = (campaign?.limits.sendRatePerSecond[channel] ?? defaultRate) / concurrency;
    let bucket = buckets.get(batch.campaignId);
    if (!bucket) buckets.set(batch.campaignId, (bucket = new TokenBucket(rate)));
    try {
      await sendBatch(batch, {
        campaigns,
        sends,
        contacts: contacts.store,
        contactService: contacts.service,
        timeline: contacts.timeline,
        templates,
        provider: await providerInstance,
        bucket,
        publicBaseUrl,
        senderAddress,
      }, undefined, () => context.getRemainingTimeInMillis());
    } catch (error) {
      if (error instanceof SendDeadlineError) {
        // Out of time, nothing claimed: the rest of the message goes again at once.
        await delayRedelivery(queueUrl, record.receiptHandle, 0).catch(() => undefined);
      } else if (error instanceof ProviderThrottledError || error instanceof SendInFlightError) {
        const backoff = Math.min(900, 5 * 2 ** Math.min(receiveCount, 8));
        logger.warn('send batch will be retried', { reason: (error as Error).name, backoffSeconds: backoff, campaignId: batch.campaignId });
        await delayRedelivery(queueUrl, record.receiptHandle, backoff).catch(() => undefined);
      }
      throw error;
    }
  });
}
