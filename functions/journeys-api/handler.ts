import * as z from 'zod';
import type { JourneyTask } from '../../events/journeys.ts';
import { sendToQueue } from '../../shared/aws/queue.ts';
import { CampaignStore } from '../../shared/campaigns/campaign-store.ts';
import { GoalModelSource } from '../../shared/campaigns/goal-model-source.ts';
import { createSchedule, deleteLaunchSchedule } from '../../shared/campaigns/scheduling.ts';
import { functionConfig, intSetting } from '../../shared/config.ts';
import { html, httpApi, json, route, type JwtClaims } from '../../shared/http/api.ts';
import { JourneyStore, type Journey } from '../../shared/journeys/journey-store.ts';
import { createJourney, pauseJourney, resumeJourney, startJourney, stopJourney, updateJourney, type JourneyLifecycleDeps } from '../../shared/journeys/lifecycle.ts';
import { contactJourneys, journeyReport, journeyResource, versionResource } from '../../shared/journeys/resources.ts';
import { renderJourneyReportHtml } from '../../shared/journeys/report-html.ts';
import { JourneyStateStore } from '../../shared/journeys/state-store.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { ModelStore } from '../../shared/learning/store.ts';
import { SegmentService } from '../../shared/segments/segment-service.ts';
import { SegmentStore } from '../../shared/segments/segment-store.ts';
import { TemplateStore } from '../../shared/templates/template-store.ts';

const config = functionConfig('journeys-api', {
  tables: { journeys: true, journeyStates: true, campaigns: true, segments: true, templates: true, models: true },
  queues: { journeyTasks: true },
  managesSchedules: true,
  settings: {
    scanSegments: intSetting('AUDIENCE_SCAN_SEGMENTS', 4, 1, 1000),
    segmentCheckMinutes: intSetting('JOURNEY_SEGMENT_CHECK_MINUTES', 15, 1, 1440),
  },
});
const journeys = new JourneyStore(config.tables.journeys);
const states = new JourneyStateStore(config.tables.journeyStates);
const campaigns = new CampaignStore(config.tables.campaigns);
const segments = new SegmentStore({ segments: config.tables.segments, segmentStats: '' });
const { scheduling } = config;
const deps: JourneyLifecycleDeps = {
  journeys,
  campaigns,
  segments,
  // Rules are compiled to check them; no audience is read here (the scan settings are unused).
  segmentService: new SegmentService(segments, { contactsTable: '', activityTable: '', scanSegments: 1 }),
  templates: new TemplateStore(config.tables.templates),
  enqueue: async (tasks: JourneyTask[]) => void (await sendToQueue(config.queues.journeyTasks, tasks.map((t) => ({ body: JSON.stringify(t) })))),
  schedules: {
    create: (journey, definition) =>
      definition.entry.type === 'segment_audience'
        ? createSchedule(`journey-${journey.id}`, definition.entry.schedule, { kind: 'fire', journeyId: journey.id }, `Touchloop journey ${journey.name}`, scheduling)
        : Promise.resolve(undefined),
    remove: (name) => deleteLaunchSchedule(name, scheduling),
  },
  scanSegments: config.settings.scanSegments,
  segmentCheckMinutes: config.settings.segmentCheckMinutes,
  models: new GoalModelSource(new ModelStore(config.tables.models)),
};

const IdParams = z.object({ id: z.uuid('must be a journey id') });
const actorOf = (claims: JwtClaims | undefined) => (typeof claims?.sub === 'string' ? claims.sub : undefined);
/** A definition is checked by the journey schema itself (400 at the step's path), not here. */
const AnyBody = z.unknown();

async function resourceOf(id: string, head?: Journey) {
  const journey = head ?? (await journeys.getOr404(id));
  const [version, stats] = await Promise.all([journeys.version(id, journey.version), journeys.stats(id)]);
  return journeyResource(journey, version, stats);
}
const action = (status: number, act: (id: string, deps: JourneyLifecycleDeps) => Promise<unknown>) =>
  route({ params: IdParams, handle: async ({ params }) => (await act(params.id, deps), json(status, await resourceOf(params.id))) });

export const handler = httpApi({
  'POST /v1/journeys': route({
    body: AnyBody,
    handle: async ({ body, claims }) => {
      const { journey } = await createJourney(body, actorOf(claims), deps);
      return json(201, await resourceOf(journey.id));
    },
  }),
  'GET /v1/journeys': route({ handle: async () => json(200, { items: await Promise.all((await journeys.list()).map(async (j) => (await resourceOf(j.id, j)).journey)) }) }),
  'GET /v1/journeys/{id}': route({ params: IdParams, handle: async ({ params }) => json(200, await resourceOf(params.id)) }),
  'PUT /v1/journeys/{id}': route({
    params: IdParams,
    body: AnyBody,
    handle: async ({ params, body }) => {
      await updateJourney(params.id, body, deps);
      return json(200, await resourceOf(params.id));
    },
  }),
  'GET /v1/journeys/{id}/versions/{version}': route({
    params: z.object({ id: z.uuid('must be a journey id'), version: z.coerce.number().int('must be a version number').min(1, 'must be a version number') }),
    handle: async ({ params }) => {
      const version = await journeys.version(params.id, params.version);
      if (!version) throw new NotFoundError('journey version', `${params.id} v${params.version}`);
      return json(200, { version: versionResource(version) });
    },
  }),
  'POST /v1/journeys/{id}/start': action(202, startJourney),
  'POST /v1/journeys/{id}/pause': action(200, pauseJourney),
  'POST /v1/journeys/{id}/resume': action(200, resumeJourney),
  'POST /v1/journeys/{id}/stop': action(200, stopJourney),
  'GET /v1/journeys/{id}/report': route({ params: IdParams, handle: async ({ params }) => json(200, { report: await journeyReport(params.id, { journeys, campaigns }) }) }),
  'GET /v1/journeys/{id}/report.html': route({
    params: IdParams,
    handle: async ({ params }) =>
      html(200, renderJourneyReportHtml(await journeyReport(params.id, { journeys, campaigns })), { 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:" }),
  }),
  'GET /v1/contacts/{id}/journeys': route({ params: z.object({ id: z.uuid('must be a contact id') }), handle: async ({ params }) => json(200, { items: await contactJourneys(params.id, { journeys, states }) }) }),
});
