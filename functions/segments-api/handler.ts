import * as z from 'zod';
import { functionConfig, intSetting } from '../../shared/config.ts';
import { TimeZoneField } from '../../shared/contacts/api-schemas.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { httpApi, json, noContent, route, type JwtClaims } from '../../shared/http/api.ts';
import { isLearnableGoal } from '../../shared/learning/names.ts';
import { ModelStore } from '../../shared/learning/store.ts';
import { Rule } from '../../shared/segments/rule.ts';
import { SegmentService } from '../../shared/segments/segment-service.ts';
import { SegmentStore } from '../../shared/segments/segment-store.ts';
import { segmentUsage } from '../../shared/segments/usage.ts';

const config = functionConfig('segments-api', {
  tables: { segments: true, segmentStats: true, contacts: true, activity: true, campaigns: true, models: true },
  queues: {},
  settings: { scanSegments: intSetting('AUDIENCE_SCAN_SEGMENTS', 4, 1, 1000) },
});
const store = new SegmentStore({ segments: config.tables.segments, segmentStats: config.tables.segmentStats });
const service = new SegmentService(store, {
  contactsTable: config.tables.contacts,
  activityTable: config.tables.activity,
  scanSegments: config.settings.scanSegments,
  models: new ModelStore(config.tables.models),
});
const usage = segmentUsage(config.tables.campaigns);

const Definition = z.strictObject({
  name: z.string().trim().min(1).max(200),
  rule: Rule,
  timezone: TimeZoneField.default('UTC'),
});
const InlineDefinition = z.strictObject({ rule: Rule, timezone: TimeZoneField.default('UTC') });
const IdParams = z.object({ id: z.uuid('must be a segment id') });
const GOAL_MESSAGE = 'must be a conversion event such as purchase: 1–100 of A-Z a-z 0-9 _ . : - (not email or sms)';
/** `?goal=purchase`: the preview's forecast adds the goal's expected converters. */
const PreviewQuery = z.object({ goal: z.string(GOAL_MESSAGE).refine(isLearnableGoal, GOAL_MESSAGE).optional() });
const actorOf = (claims: JwtClaims | undefined) => (typeof claims?.sub === 'string' ? claims.sub : undefined);

async function latestOr404(id: string) {
  const segment = await store.latest(id);
  if (!segment) throw new NotFoundError('segment', id);
  return segment;
}

export const handler = httpApi({
  'POST /v1/segments': route({
    body: Definition,
    handle: async ({ body, claims }) => {
      await service.checkReferences(body);
      const segment = await store.create({ ...body, createdBy: actorOf(claims) });
      return json(201, { segment, warnings: await service.warnings(body) });
    },
  }),

  'GET /v1/segments': route({
    handle: async () => {
      const segments = await store.list();
      const withStats = await Promise.all(segments.map(async (segment) => ({ ...segment, stats: (await store.stats(segment.id)) ?? null })));
      return json(200, { items: withStats });
    },
  }),

  'GET /v1/segments/{id}': route({
    params: IdParams,
    query: z.object({ version: z.coerce.number().int().min(1).optional() }),
    handle: async ({ params, query }) => {
      const latest = await latestOr404(params.id);
      const segment = query.version ? await store.version(params.id, query.version) : latest;
      if (!segment || segment.deleted) throw new NotFoundError('segment version', `${params.id}@${query.version}`);
      const versions = (await store.versions(params.id)).filter((v) => !v.deleted).map((v) => ({ version: v.version, createdAt: v.createdAt, createdBy: v.createdBy }));
      return json(200, { segment, versions, stats: (await store.stats(params.id)) ?? null });
    },
  }),

  'PUT /v1/segments/{id}': route({
    params: IdParams,
    body: Definition,
    handle: async ({ params, body, claims }) => {
      const current = await latestOr404(params.id);
      await service.checkReferences(body, params.id);
      const segment = await store.putVersion(current, { ...body, createdBy: actorOf(claims) });
      return json(200, { segment, warnings: await service.warnings(body) });
    },
  }),

  'DELETE /v1/segments/{id}': route({
    params: IdParams,
    handle: async ({ params, claims }) => {
      const current = await latestOr404(params.id);
      await usage.assertDeletable(params.id);
      await service.assertNotReferenced(params.id);
      await store.putVersion(current, { name: current.name, rule: current.rule, timezone: current.timezone, createdBy: actorOf(claims), deleted: true });
      return noContent();
    },
  }),

  'POST /v1/segments/{id}/preview': route({
    params: IdParams,
    query: PreviewQuery,
    handle: async ({ params, query }) => {
      const segment = await latestOr404(params.id);
      return json(200, { segmentId: segment.id, version: segment.version, ...(await service.preview(segment, segment, new Date(), { goal: query.goal })) });
    },
  }),

  'POST /v1/segments/preview': route({
    body: InlineDefinition,
    query: PreviewQuery,
    handle: async ({ body, query }) => json(200, await service.preview(body, undefined, new Date(), { goal: query.goal })),
  }),
});
