/**
 * What the API answers about a campaign: its definition, lifecycle, live counters and responses, spend and
 * launch forecast — never the storage's bookkeeping (the audience-scan fan-out, the forecast's
 * running sums, run lists, versions). Documented in the README.
 */
import { forecastOf } from './forecast.ts';
import { CampaignInput, type Campaign, type CampaignCounters, type CampaignStatus } from './model.ts';
import { campaignResponses, type CampaignResponses } from './responses.ts';

const DEFINITION_KEYS = Object.keys(CampaignInput.shape) as Array<keyof CampaignInput>;

export type CampaignResource = CampaignInput & {
  id: string;
  status: CampaignStatus;
  createdAt: string;
  updatedAt: string;
  createdBy?: string;
  segmentVersion?: number;
  launchedAt?: string;
  completedAt?: string;
  /** The current run (one per launch; a recurring campaign runs once per firing). */
  runId?: string;
  /** The EventBridge Scheduler schedule that fires its launches (in the deployment's schedule group). */
  scheduleName?: string;
  counters: CampaignCounters;
  /** Live responses to its messages (events as they are recorded; the report's measured funnel counts unique contacts): zeros before the first. */
  responses: CampaignResponses;
  spent: number;
  forecast: Campaign['forecast'] | null;
  /** Set at launch: the model that made the goal forecast and chose 'best' channels (`propensity.<goal>@v<n>`), or `beta`. */
  forecastModel?: string;
  /** Set at launch of a targeted campaign: the uplift model version and the threshold applied. */
  targetingApplied?: Campaign['targetingApplied'];
};

export function campaignResource(campaign: Campaign): CampaignResource {
  const definition = Object.fromEntries(DEFINITION_KEYS.filter((k) => campaign[k] !== undefined).map((k) => [k, campaign[k]])) as CampaignInput;
  const optional = (['createdBy', 'segmentVersion', 'launchedAt', 'completedAt', 'runId', 'scheduleName', 'forecastModel', 'targetingApplied'] as const).filter((k) => campaign[k] !== undefined);
  return {
    id: campaign.id,
    ...definition,
    status: campaign.status,
    createdAt: campaign.createdAt,
    updatedAt: campaign.updatedAt,
    ...Object.fromEntries(optional.map((k) => [k, campaign[k]])),
    counters: campaign.counters,
    responses: campaignResponses(campaign.responses),
    spent: campaign.spent ?? 0,
    forecast: campaign.forecast ?? forecastOf(campaign as Campaign & { forecastSums?: Record<string, number> }) ?? null,
  };
}
