import * as z from 'zod';
import type { LaunchMessage } from '../../events/campaigns.ts';
import { sendToQueue } from '../../shared/aws/queue.ts';
import { TRANSITIONS } from '../../shared/campaigns/campaign-store.ts';
import { campaignResource } from '../../shared/campaigns/resources.ts';
import { CampaignInput, channelsOf, type Campaign } from '../../shared/campaigns/model.ts';
import { CampaignStore } from '../../shared/campaigns/campaign-store.ts';
import { createLaunchSchedule, deleteLaunchSchedule, scheduleStartIssues } from '../../shared/campaigns/scheduling.ts';
import { functionConfig } from '../../shared/config.ts';
import { ValidationError, type ValidationIssue } from '../../shared/errors.ts';
import { httpApi, json, route, type JwtClaims } from '../../shared/http/api.ts';
import { SegmentStore } from '../../shared/segments/segment-store.ts';
import { TemplateStore } from '../../shared/templates/template-store.ts';

const config = functionConfig('campaigns-api', {
  tables: { campaigns: true, segments: true, segmentStats: true, templates: true, sends: true },
  queues: { launches: true },
  managesSchedules: true,
});
const campaigns = new CampaignStore(config.tables.campaigns);
const segments = new SegmentStore({ segments: config.tables.segments, segmentStats: config.tables.segmentStats });
const templates = new TemplateStore(config.tables.templates);
const { scheduling } = config;
const launchesUrl = config.queues.launches;

const IdParams = z.object({ id: z.uuid('must be a campaign id') });
const actorOf = (claims: JwtClaims | undefined) => (typeof claims?.sub === 'string' ? claims.sub : undefined);

/** References must exist: the segment, and each variant's templates on the right channel. */
async function checkReferences(input: CampaignInput): Promise<void> {
  const issues: ValidationIssue[] = [];
  if (!(await segments.latest(input.segmentId))) issues.push({ path: 'segmentId', message: `segment ${input.segmentId} does not exist` });
  for (const [i, variant] of input.variants.entries()) {
    for (const channel of channelsOf(input)) {
      const id = variant.templates[channel];
      if (!id) continue;
      const template = await templates.get(id);
      if (!template) issues.push({ path: `variants[${i}].templates.${channel}`, message: `template ${id} does not exist` });
      else if (template.channel !== channel) issues.push({ path: `variants[${i}].templates.${channel}`, message: `template ${id} is an ${template.channel} template` });
    }
  }
  if (issues.length) throw new ValidationError(issues);
}

const view = (campaign: Campaign) => ({ campaign: campaignResource(campaign) });

export const handler = httpApi({
  'POST /v1/campaigns': route({
    body: CampaignInput,
    handle: async ({ body, claims }) => {
      await checkReferences(body);
      return json(201, view(await campaigns.create(body, actorOf(claims))));
    },
  }),

  'GET /v1/campaigns': route({ handle: async () => json(200, { items: (await campaigns.list()).map((c) => view(c).campaign) }) }),

  'GET /v1/campaigns/{id}': route({ params: IdParams, handle: async ({ params }) => json(200, view(await campaigns.getOr404(params.id))) }),

  'PUT /v1/campaigns/{id}': route({
    params: IdParams,
    body: CampaignInput,
    handle: async ({ params, body }) => {
      await checkReferences(body);
      return json(200, view(await campaigns.updateDraft(params.id, body)));
    },
  }),

  'POST /v1/campaigns/{id}/launch': route({
    params: IdParams,
    handle: async ({ params }) => {
      const current = await campaigns.getOr404(params.id);
      await checkReferences(current);
      const { from, to } = TRANSITIONS.launch;
      // A campaign that cannot be launched anyway answers 409 from the transition below.
      const late = from.includes(current.status) ? scheduleStartIssues(current.schedule) : [];
      if (late.length) throw new ValidationError(late);
      const scheduled = await campaigns.transition(params.id, 'launch', from, to);
      try {
        if (scheduled.schedule.type === 'immediate') {
          const message: LaunchMessage = { kind: 'launch', campaignId: scheduled.id };
          await sendToQueue(launchesUrl, [{ body: JSON.stringify(message) }]);
        } else {
          const name = await createLaunchSchedule(scheduled, scheduling);
          if (name) await campaigns.setSchedule(scheduled.id, name);
        }
      } catch (error) {
        // Nothing will fire it: back to draft, so the marketer can launch again.
        await campaigns.transition(params.id, 'launch', ['scheduled'], 'draft').catch(() => undefined);
        throw error;
      }
      return json(202, view(await campaigns.getOr404(params.id)));
    },
  }),

  'POST /v1/campaigns/{id}/pause': route({
    params: IdParams,
    handle: async ({ params }) => json(200, view(await campaigns.transition(params.id, 'pause', TRANSITIONS.pause.from, TRANSITIONS.pause.to))),
  }),

  'POST /v1/campaigns/{id}/resume': route({
    params: IdParams,
    handle: async ({ params }) => {
      const resumed = await campaigns.transition(params.id, 'resume', TRANSITIONS.resume.from, TRANSITIONS.resume.to);
      const message: LaunchMessage = { kind: 'resume', campaignId: resumed.id };
      await sendToQueue(launchesUrl, [{ body: JSON.stringify(message) }]);
      return json(200, view(resumed));
    },
  }),

  'POST /v1/campaigns/{id}/cancel': route({
    params: IdParams,
    handle: async ({ params }) => {
      const cancelled = await campaigns.transition(params.id, 'cancel', TRANSITIONS.cancel.from, TRANSITIONS.cancel.to);
      if (cancelled.scheduleName) await deleteLaunchSchedule(cancelled.scheduleName, scheduling);
      return json(200, view(cancelled));
    },
  }),
});
