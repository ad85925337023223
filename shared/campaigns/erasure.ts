import type { ErasureHook } from '../contacts/contact-service.ts';
import type { CampaignStore } from './campaign-store.ts';
import { parseSendId, type SendStore } from './send-store.ts';

/** Erasure also moves the person's send records (every run of every campaign, holdouts included) to their pseudonym. */
export function pseudonymiseSends(campaigns: Pick<CampaignStore, 'runs'>, sends: Pick<SendStore, 'pseudonymise'>): ErasureHook {
  return async (contactId, pseudonym, { sendIds }) => {
    const fromTimeline = sendIds.flatMap((s) => {
      const parsed = parseSendId(s);
      return parsed ? [{ campaignId: parsed.campaignId, runId: parsed.runId }] : [];
    });
    await sends.pseudonymise(contactId, pseudonym, [...(await campaigns.runs()), ...fromTimeline]);
  };
}
