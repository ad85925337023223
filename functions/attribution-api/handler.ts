import * as z from 'zod';
import { attributionFrom, startAttributionRun } from '../../shared/attribution/orchestrate.ts';
import { functionConfig, intSetting } from '../../shared/config.ts';
import { sendToQueue } from '../../shared/aws/queue.ts';
import { renderReportHtml } from '../../shared/attribution/report-html.ts';
import { reportView } from '../../shared/attribution/report-view.ts';
import { CampaignStore } from '../../shared/campaigns/campaign-store.ts';
import { NotFoundError, ValidationError } from '../../shared/errors.ts';
import { html, httpApi, json, route } from '../../shared/http/api.ts';
import { ForecastLimitQuery, forecastAccuracy, listModels, modelDetail, ModelIdParam, modelsPage, modelVersion, VersionParam } from '../../shared/learning/model-views.ts';
import { renderModelsHtml } from '../../shared/attribution/models-html.ts';
import { ModelStore } from '../../shared/learning/store.ts';

const config = functionConfig('attribution-api', {
  tables: { interactions: true, contacts: true, activity: true, campaigns: true, sends: true, attribution: true, attributionRuns: true, attributionParts: true, reports: true, segments: true, segmentStats: true, models: true },
  queues: { attributionScan: true, journeyTasks: true },
  settings: { scanSegments: intSetting('ATTRIBUTION_SCAN_SEGMENTS', 4, 1, 1000) },
});
const deps = attributionFrom({ ...config, ...config.settings });
const campaigns = new CampaignStore(deps.tables.campaigns);
const IdParams = z.object({ id: z.uuid('must be a campaign id') });
const models = new ModelStore(config.tables.models);
/** The report pages' headers: never cached, and a CSP that lets nothing but inline style and data: images in. */
const PAGE_HEADERS = { 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:" };

/**
 * A campaign's report from launch on: live counts now, measured figures as of the last run (the
 * JSON and the page show the same one). 404 for an unknown campaign or one not launched yet.
 */
async function reportOf(campaignId: string) {
  const [campaign, measured] = await Promise.all([campaigns.get(campaignId), deps.store.report(campaignId)]);
  if (!campaign?.launchedAt) throw new NotFoundError('report for campaign', campaignId);
  return reportView(campaign, measured, new Date());
}

export const handler = httpApi({
  'POST /v1/attribution/runs': route({
    body: z.strictObject({
      from: z.iso.datetime({ offset: true }),
      to: z.iso.datetime({ offset: true }),
      /** Also train the models and score every contact, as the nightly run does (default false: measure only). */
      learn: z.boolean().default(false),
    }),
    handle: async ({ body }) => {
      const from = new Date(body.from);
      const to = new Date(body.to);
      if (to <= from) throw new ValidationError([{ path: 'to', message: 'must be after from' }]);
      if (to.getTime() - from.getTime() > 366 * 86_400_000) throw new ValidationError([{ path: 'to', message: 'a run covers at most 366 days' }]);
      const run = await startAttributionRun(from, to, deps, sendToQueue, { learn: body.learn });
      // Journeys are measured by their worker: each one's entries against its holdout.
      await sendToQueue(config.queues.journeyTasks, [{ body: JSON.stringify({ kind: 'measure' }) }]);
      return json(202, { run });
    },
  }),

  'GET /v1/attribution/runs/{id}': route({
    params: z.object({ id: z.uuid('must be a run id') }),
    handle: async ({ params }) => {
      const run = await deps.store.getRun(params.id);
      if (!run) throw new NotFoundError('attribution run', params.id);
      return json(200, { run });
    },
  }),

  'GET /v1/campaigns/{id}/report': route({
    params: IdParams,
    handle: async ({ params }) => json(200, { report: await reportOf(params.id) }),
  }),

  'GET /v1/campaigns/{id}/report.html': route({
    params: IdParams,
    handle: async ({ params }) =>
      html(200, renderReportHtml(await reportOf(params.id)), PAGE_HEADERS),
  }),

  'GET /v1/models': route({
    handle: async () => json(200, { items: await listModels(models) }),
  }),

  'GET /v1/models.html': route({
    handle: async () => html(200, renderModelsHtml(await modelsPage(models)), PAGE_HEADERS),
  }),

  'GET /v1/models/{id}': route({
    params: z.object({ id: ModelIdParam }),
    handle: async ({ params }) => {
      const detail = await modelDetail(models, params.id);
      if (!detail) throw new NotFoundError('model', params.id);
      return json(200, detail);
    },
  }),

  'GET /v1/models/{id}/versions/{n}': route({
    params: z.object({ id: ModelIdParam, n: VersionParam }),
    handle: async ({ params }) => {
      const version = await modelVersion(models, params.id, params.n);
      if (!version) throw new NotFoundError(`model ${params.id} version`, String(params.n));
      return json(200, { version });
    },
  }),

  'GET /v1/forecast-accuracy': route({
    query: z.object({ limit: ForecastLimitQuery }),
    handle: async ({ query }) => json(200, await forecastAccuracy(models, query.limit)),
  }),
});
