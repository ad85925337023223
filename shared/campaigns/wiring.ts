import { CampaignStore } from './campaign-store.ts';
import { SendStore } from './send-store.ts';

/** The campaign and send stores of a function whose topology entry declares both tables. */
export function campaignsFrom(config: { tables: { campaigns: string; sends: string } }) {
  return { campaigns: new CampaignStore(config.tables.campaigns), sends: new SendStore(config.tables.sends) };
}
