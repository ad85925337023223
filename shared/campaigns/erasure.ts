import type { ErasureHook } from '../contacts/contact-service.ts';
import type { CampaignStore } from './campaign-store.ts';
import { isTransactionalSendId, parseSendId, type SendStore } from './send-store.ts';

/** Erasure also moves the person's send records (every run of every campaign, holdouts included, and their transactional messages) to their pseudonym. */
export function pseudonymiseSends(campaigns: Pick<CampaignStore, 'runs'>, sends: Pick<SendStore, 'pseudonymise' | 'pseudonymiseMessages'>): ErasureHook {
  return async (contactId, pseudonym, { sendIds }) => {
    const fromTimeline = sendIds.flatMap((s) => {
      const parsed = parseSendId(s);
      return parsed && !isTransactionalSendId(s) ? [{ campaignId: parsed.campaignId, runId: parsed.runId }] : [];
    });
    await sends.pseudonymise(contactId, pseudonym, [...(await campaigns.runs()), ...fromTimeline]);
    // A transactional message's run id is its message id (one record each, under the reserved pseudo-campaign).
    const messageIds = sendIds.filter(isTransactionalSendId).flatMap((s) => parseSendId(s)?.runId ?? []);
    await sends.pseudonymiseMessages(contactId, pseudonym, messageIds);
  };
}
