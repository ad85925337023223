import { SendBatch } from '../../events/campaigns.ts';
import { delayRedelivery } from '../aws/queue.ts';
import { optionalEnv, requireEnv } from '../config.ts';
import { contactsFromEnv } from '../contacts/wiring.ts';
import { logger } from '../logger.ts';
import { messageQueueConsumer } from '../queue/message-consumer.ts';
import { TemplateStore } from '../templates/template-store.ts';
import { TokenBucket } from './decisions.ts';
import { senderAddressFromEnv } from './messages.ts';
import type { Channel } from './model.ts';
import { ProviderThrottledError, type MessageProvider } from './providers/provider.ts';
import { sendBatch, SendDeadlineError, SendInFlightError } from './sender.ts';
import { campaignsFromEnv } from './wiring.ts';

/**
 * The queue consumer of one channel's sends. Pacing: a token bucket per invocation at the
 * campaign's rate divided by the queue's maximum concurrency (so all invocations together stay
 * at the rate). Throttled messages come back with exponential back-off (visibility timeout).
 */
export function senderHandler(channel: Channel, provider: () => Promise<MessageProvider>) {
  const { campaigns, sends } = campaignsFromEnv();
  const contacts = contactsFromEnv();
  const templates = new TemplateStore(requireEnv('TABLE_TEMPLATES'));
  const queueUrl = requireEnv(channel === 'email' ? 'QUEUE_URL_EMAIL_SENDS' : 'QUEUE_URL_SMS_SENDS');
  const concurrency = Number(optionalEnv('SEND_CONCURRENCY', '5'));
  const defaultRate = Number(optionalEnv(channel === 'email' ? 'EMAIL_SEND_RATE' : 'SMS_SEND_RATE', channel === 'email' ? '14' : '1'));
  const publicBaseUrl = requireEnv('PUBLIC_BASE_URL');
  const senderAddress = senderAddressFromEnv();
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
