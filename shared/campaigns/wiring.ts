import { optionalEnv, requireEnv } from '../config.ts';
import { CampaignStore } from './campaign-store.ts';
import { SendStore } from './send-store.ts';

/** Campaign stores and queue URLs from the environment the topology gives a function. */
export function campaignsFromEnv() {
  return {
    campaigns: new CampaignStore(requireEnv('TABLE_CAMPAIGNS')),
    sends: new SendStore(requireEnv('TABLE_SENDS')),
    queueUrl: (name: 'LAUNCHES' | 'AUDIENCE_SCAN' | 'EMAIL_SENDS' | 'SMS_SENDS') => requireEnv(`QUEUE_URL_${name}`),
    scanSegments: Number(optionalEnv('AUDIENCE_SCAN_SEGMENTS', '4')),
  };
}
