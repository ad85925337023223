import * as z from 'zod';
import { sendToQueue } from '../../shared/aws/queue.ts';
import { CampaignStore } from '../../shared/campaigns/campaign-store.ts';
import { GoalModelSource } from '../../shared/campaigns/goal-model-source.ts';
import { cancelCampaign, createCampaign, launchCampaign, pauseCampaign, resumeCampaign, updateDraft, type LifecycleDeps } from '../../shared/campaigns/lifecycle.ts';
import { CampaignInput, type Campaign } from '../../shared/campaigns/model.ts';
import { campaignResource } from '../../shared/campaigns/resources.ts';
import { createLaunchSchedule, deleteLaunchSchedule } from '../../shared/campaigns/scheduling.ts';
import { functionConfig } from '../../shared/config.ts';
import { httpApi, json, route, type JwtClaims } from '../../shared/http/api.ts';
import { ModelStore } from '../../shared/learning/store.ts';
import { SegmentStore } from '../../shared/segments/segment-store.ts';
import { TemplateStore } from '../../shared/templates/template-store.ts';

const config = functionConfig('campaigns-api', {
  tables: { campaigns: true, segments: true, segmentStats: true, templates: true, sends: true, models: true },
  queues: { launches: true },
  managesSchedules: true,
});
const campaigns = new CampaignStore(config.tables.campaigns);
const { scheduling } = config;
const deps: LifecycleDeps = {
  campaigns,
  segments: new SegmentStore({ segments: config.tables.segments, segmentStats: config.tables.segmentStats }),
  templates: new TemplateStore(config.tables.templates),
  enqueue: async (message) => void (await sendToQueue(config.queues.launches, [{ body: JSON.stringify(message) }])),
  schedules: { create: (campaign) => createLaunchSchedule(campaign, scheduling), remove: (name) => deleteLaunchSchedule(name, scheduling) },
  models: new GoalModelSource(new ModelStore(config.tables.models)),
};

const IdParams = z.object({ id: z.uuid('must be a campaign id') });
const actorOf = (claims: JwtClaims | undefined) => (typeof claims?.sub === 'string' ? claims.sub : undefined);
const view = (campaign: Campaign) => ({ campaign: campaignResource(campaign) });
/** A lifecycle action on the campaign in the path, answered with the campaign as it now is. */
const action = (status: number, act: (id: string, deps: LifecycleDeps) => Promise<Campaign>) =>
  route({ params: IdParams, handle: async ({ params }) => json(status, view(await act(params.id, deps))) });

export const handler = httpApi({
  'POST /v1/campaigns': route({ body: CampaignInput, handle: async ({ body, claims }) => json(201, view(await createCampaign(body, actorOf(claims), deps))) }),
  'GET /v1/campaigns': route({ handle: async () => json(200, { items: (await campaigns.list()).map((c) => view(c).campaign) }) }),
  'GET /v1/campaigns/{id}': action(200, (id) => campaigns.getOr404(id)),
  'PUT /v1/campaigns/{id}': route({ params: IdParams, body: CampaignInput, handle: async ({ params, body }) => json(200, view(await updateDraft(params.id, body, deps))) }),
  'POST /v1/campaigns/{id}/launch': action(202, launchCampaign),
  'POST /v1/campaigns/{id}/pause': action(200, pauseCampaign),
  'POST /v1/campaigns/{id}/resume': action(200, resumeCampaign),
  'POST /v1/campaigns/{id}/cancel': action(200, cancelCampaign),
});
