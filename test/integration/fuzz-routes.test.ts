/**
 * Fuzzing every HTTP route the runtime serves: the topology's routes (public and marketer
 * /v1/*) and the runtime's own (/health, /_local/*), read from the declarations, so a new route
 * is fuzzed without touching this file. Each generated request is sent on its own, the pipeline
 * is let settle, and then:
 *
 * - no answer is a 5xx (nor no answer at all);
 * - a /v1/* request without a valid token gets 401 (or 404 when no route has that method and
 *   path, or 413 for a body API Gateway refuses before the authorizer), never what the function
 *   would say;
 * - a 4xx wrote nothing: the DynamoDB meter in front of DynamoDB Local counts the items every
 *   accepted write request wrote, by table, and the count does not move during a refused
 *   request — except the writes listed in WRITES_ON_REFUSAL, each with its reason.
 *
 * Reproducible: the seed is fixed and printed (FUZZ_SEED overrides it, FUZZ_RUNS the number of
 * requests, FUZZ_PATH replays the counterexample fast-check names on failure). Requests go one at
 * a time, so every write the meter counts between two settled states belongs to one request.
 */
import { Agent, request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createLocalAuth } from '../../infra/local/auth.ts';
import { topology } from '../../infra/topology.ts';
import { sendIdOf } from '../../shared/campaigns/send-store.ts';
import { btydGate } from '../../shared/learning/btyd.ts';
import { ModelStore } from '../../shared/learning/store.ts';
import { twilioSignature } from '../../shared/responses/twilio.ts';
import { signToken } from '../../shared/tokens.ts';
import type { DynamoDbLocal } from '../../infra/local/dynamodb-local.ts';
import { startFileDynamoDb } from '../helpers/dynamodb.ts';
import { DynamoDbMeter } from '../helpers/dynamodb-meter.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

const SEED = envInteger('FUZZ_SEED', 20261111);
/**
 * 4,000 requests: about 50 per route (82 routes), each route's share checked below. The property
 * holds per request, so what a larger run adds is more combinations per route, not other kinds:
 * `FUZZ_RUNS=10000` runs the earlier size.
 */
const RUNS = envInteger('FUZZ_RUNS', 4_000);
const REPLAY_PATH = process.env.FUZZ_PATH || undefined;

function envInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, not ${raw}`);
  return value;
}

/**
 * Writes that a refused request makes on purpose, per route, status and table, each with the
 * most items one request may write there. Nothing else may be written by a 4xx.
 */
const WRITES_ON_REFUSAL: Array<{ route: string; statuses: number[]; table: string; maxItems: number; reason: string }> = [
  {
    route: 'POST /f/{formId}',
    statuses: [400, 429],
    table: 'rateLimits',
    maxItems: 2,
    reason:
      'the per-IP and per-form rate-limit counters are bumped before the submission is validated, so a flood of invalid posts is limited too; 429 is the limiter itself answering',
  },
  {
    route: 'POST /e/{siteKey}',
    statuses: [400, 415, 429],
    table: 'rateLimits',
    maxItems: 2,
    reason: 'the per-IP and per-site rate-limit counters are bumped (after the origin check) before the body is read, so unreadable and invalid reports are limited too',
  },
  {
    route: 'POST /v1/messages',
    statuses: [422],
    table: 'sends',
    maxItems: 1,
    reason: 'a transactional message to a bounced, complained, opted-out or erased address is refused and the refusal is recorded for its idempotency key (one item), so a replay answers the same refusal',
  },
];

// ---------------------------------------------------------------------------------------------
// Routes: from the declarations
// ---------------------------------------------------------------------------------------------

type Access = 'protected' | 'public' | 'local';
interface FuzzRoute {
  key: string;
  method: string;
  path: string;
  access: Access;
}

const TOPOLOGY_ROUTES: FuzzRoute[] = Object.values(topology.functions).flatMap((fn) =>
  (fn.http ?? []).map((r): FuzzRoute => ({ key: `${r.method} ${r.path}`, method: r.method, path: r.path, access: r.public ? 'public' : 'protected' })),
);

const paramsOf = (path: string): string[] => [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);

// ---------------------------------------------------------------------------------------------
// The runtime, metered, with real resources to aim at
// ---------------------------------------------------------------------------------------------

let t: TestRuntime;
let meter: DynamoDbMeter;
let dynamodb: DynamoDbLocal | undefined;
let routes: FuzzRoute[];
let world: World;

interface World {
  contacts: { main: string; other: string; victim: string; mainEmail: string };
  forms: { open: string; tight: string };
  sites: { open: string; tight: string; victim: string };
  segments: { main: string; victim: string };
  templates: { email: string; sms: string };
  campaigns: { main: string; second: string };
  submission: string;
  attributionRun: string;
  tokens: { doi: string[]; click: string[]; open: string[]; unsubscribe: string[]; victimUnsubscribe: string[] };
  auth: Record<AuthKind, string | undefined>;
}

const FORM_ORIGIN = 'https://www.example.com';
const SITE_ORIGIN = 'https://shop.example.com';
/** Twilio is configured (its webhooks check signatures with this token); SMS still go through the local sink. */
const TWILIO_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:fuzz-twilio';
const TWILIO_AUTH_TOKEN = 'fuzz-twilio-auth-token';

beforeAll(async () => {
  dynamodb = await startFileDynamoDb();
  meter = new DynamoDbMeter(dynamodb.endpoint);
  t = await startTestRuntime({ dynamodbEndpoint: await meter.start(), environment: { TWILIO_SECRET_ARN } });
  t.runtime.secrets.set(TWILIO_SECRET_ARN, JSON.stringify({ accountSid: 'ACfuzz', authToken: TWILIO_AUTH_TOKEN, from: '+15555550100' }));
  routes = [...TOPOLOGY_ROUTES, ...t.runtime.describeLocalRoutes().map((key): FuzzRoute => {
    const [method, path] = key.split(' ') as [string, string];
    return { key, method, path, access: 'local' };
  })];
  world = await seedWorld();
  // Nothing fires on its own during the fuzz (the dispatcher's every-minute run, a launch's
  // at() schedule), so every write lands between a request and its settling; the fuzz still
  // fires the built-in schedules through POST /_local/schedules/{name}/run.
  t.runtime.scheduler.stop();
  await t.runtime.idle();
}, 120_000);

afterAll(async () => {
  await t?.stop();
  await meter?.stop();
  await dynamodb?.stop();
});

/** A seeding call that must succeed. */
async function created<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await t.api<T>(method, path, { body });
  if (response.status >= 300) throw new Error(`seeding ${method} ${path} → ${response.status}: ${response.text.slice(0, 500)}`);
  return response.body;
}

const SAMPLE_RULE = {
  and: [
    { reachable: 'email' },
    { field: 'attributes.plan', op: 'in', values: ['pro', 'team'] },
    { not: { behaviour: { type: 'clicked', channel: 'email', within: { amount: 30, unit: 'days' }, count: { op: 'gte', value: 1 } } } },
    { score: 'lead', op: 'gte', value: 0 },
    { field: 'attributes.seats', op: 'between', values: [1, 10] },
    { field: 'createdAt', op: 'withinLast', amount: 12, unit: 'months' },
  ],
};

async function seedWorld(): Promise<World> {
  const contact = (email: string) => ({ email, attributes: { firstName: 'Fuzz', plan: 'pro', seats: 3 }, tags: ['fuzz'], consent: { email: { status: 'confirmed', wordingVersion: 'v1' } } });
  const main = (await created<{ contact: { id: string } }>('POST', '/v1/contacts', contact('fuzz-main@example.com'))).contact.id;
  const other = (await created<{ contact: { id: string } }>('POST', '/v1/contacts', contact('fuzz-other@example.com'))).contact.id;
  const victim = (await created<{ contact: { id: string } }>('POST', '/v1/contacts', contact('fuzz-victim@example.com'))).contact.id;

  const formDefinition = (overrides: Record<string, unknown>) => ({
    name: 'Fuzz form',
    fields: [
      { name: 'email', type: 'email', required: true },
      { name: 'first_name', type: 'text', attribute: 'firstName' },
      { name: 'age', type: 'number' },
      { name: 'plan', type: 'select', options: ['free', 'pro', 'team'] },
      { name: 'birthday', type: 'date' },
      { name: 'newsletter', type: 'boolean' },
    ],
    allowedOrigins: [FORM_ORIGIN],
    // Email consent only, confirmed by the owner: form posts make no contact a campaign can reach
    // by SMS, whose quiet hours would defer sends beyond what the fuzz waits for.
    consent: { email: { text: 'Send me news', version: 'fuzz-1' } },
    doubleOptIn: true,
    ...overrides,
  });
  const openForm = (await created<{ form: { id: string } }>('POST', '/v1/forms', formDefinition({ rateLimit: { perIpPerMinute: 1000, perFormPerMinute: 100_000 } }))).form.id;
  const tightForm = (await created<{ form: { id: string } }>('POST', '/v1/forms', formDefinition({ name: 'Tight form', redirectUrl: 'https://www.example.com/thanks', rateLimit: { perIpPerMinute: 1, perFormPerMinute: 2 } })))
    .form.id;

  const site = (name: string, perIpPerMinute: number) => created<{ site: { id: string } }>('POST', '/v1/sites', { name, allowedOrigins: [SITE_ORIGIN], rateLimit: { perIpPerMinute, perSitePerMinute: 100_000 } });
  const sites = { open: (await site('Shop', 1000)).site.id, tight: (await site('Tight shop', 1)).site.id, victim: (await site('Victim shop', 1000)).site.id };

  const segment = async (name: string) => (await created<{ segment: { id: string } }>('POST', '/v1/segments', { name, rule: SAMPLE_RULE, timezone: 'Europe/Berlin' })).segment.id;
  const segments = { main: await segment('Fuzz segment'), victim: await segment('Victim segment') };
  const templates = {
    email: (await created<{ template: { id: string } }>('POST', '/v1/templates', { channel: 'email', name: 'Fuzz email', subject: 'Hi {{default contact.firstName "there"}}', html: '<p>Hi <a href="https://shop.example.com/sale">sale</a></p>', text: 'Hi' })).template.id,
    sms: (await created<{ template: { id: string } }>('POST', '/v1/templates', { channel: 'sms', name: 'Fuzz sms', body: 'Hi {{default contact.firstName "there"}}' })).template.id,
  };
  const campaignBody = campaignSample(segments.main, templates.email);
  const campaigns = {
    main: (await created<{ campaign: { id: string } }>('POST', '/v1/campaigns', campaignBody)).campaign.id,
    second: (await created<{ campaign: { id: string } }>('POST', '/v1/campaigns', { ...campaignBody, name: 'Second' })).campaign.id,
  };

  // A post for a known address holds its changes on a timeline entry: the submission a marketer may apply.
  const post = (formId: string, fields: Record<string, string>) =>
    fetch(`${t.runtime.urls.api}/f/${formId}`, { method: 'POST', headers: { 'content-type': 'application/json', origin: FORM_ORIGIN }, body: JSON.stringify(fields) });
  expect((await post(openForm, { email: 'fuzz-main@example.com', first_name: 'Changed' })).status).toBe(200);
  // A new address with consent: a real double-opt-in link arrives in the local SES inbox.
  expect((await post(openForm, { email: 'fuzz-doi@example.com', consent_email: 'on' })).status).toBe(200);
  await t.runtime.idle();
  const timeline = await created<{ items: Array<{ id: string; type: string }> }>('GET', `/v1/contacts/${main}/timeline`);
  const submission = timeline.items.find((i) => i.type === 'form_submitted')!.id;
  const inbox = (await (await fetch(`${t.runtime.urls.ses}/store`)).json()) as { emails: Array<{ destination: { to: string[] }; body: { text?: string } }> };
  const doiLink = inbox.emails.flatMap((e) => (e.destination.to.includes('fuzz-doi@example.com') ? [/\/f\/confirm\/([A-Za-z0-9_.-]+)/.exec(e.body.text ?? '')?.[1]] : [])).find(Boolean);
  if (!doiLink) throw new Error('seeding: no double-opt-in link in the local inbox');

  const attributionRun = (await created<{ run: { runId: string } }>('POST', '/v1/attribution/runs', { from: new Date(Date.now() - 86_400_000).toISOString(), to: new Date().toISOString() })).run.runId;

  // A model for the /v1/models routes to find (only the nightly run writes the models table): a BTYD
  // version too thin to use, and one campaign's forecast against its actual.
  const models = new ModelStore(t.runtime.tableNames.models!);
  const gate = btydGate([{ x: 1, tx: 3, T: 10, n: 1 }]);
  await models.record({ kind: 'btyd', modelId: 'btyd', status: gate.status, reason: gate.reason, dataHash: 'fuzz', gate, bgNbd: null, gammaGamma: null, gammaGammaRows: 0 }, null, 'run-fuzz', new Date());
  await models.putForecastActual({ campaignId: 'fuzz', name: 'Fuzz <b>', launchedAt: new Date().toISOString(), goal: 'purchase', forecastModel: 'beta', forecast: 2, low: 0, high: 4, actual: 1, treated: 20, computedAt: new Date().toISOString() });

  // Links as the senders sign them: a click into the registered site, the open pixel, unsubscribe links.
  const sendId = (contactId: string) => sendIdOf(campaigns.main, 'run-fuzz', contactId);
  const tokens = {
    doi: [doiLink],
    click: [
      await signToken('click', { s: sendId(main), c: main, k: campaigns.main, i: 0, u: `${SITE_ORIGIN}/sale?x=1` }),
      await signToken('click', { s: sendId(other), c: other, k: campaigns.main, i: 1, u: 'https://elsewhere.example.org/' }),
    ],
    open: [await signToken('open', { s: sendId(main), c: main, k: campaigns.main })],
    unsubscribe: ['preview', await signToken('unsubscribe', { s: sendId(other), c: other, ch: 'email' })],
    victimUnsubscribe: ['preview', await signToken('unsubscribe', { s: sendId(victim), c: victim, ch: 'email' })],
  };

  const otherAuth = await createLocalAuth();
  const auth: World['auth'] = {
    dev: `Bearer ${t.runtime.devToken}`,
    lowercase: `bearer ${t.runtime.devToken}`,
    none: undefined,
    empty: '',
    bearerOnly: 'Bearer ',
    garbage: 'Bearer not.a.jwt',
    basic: 'Basic dXNlcjpwYXNz',
    truncated: `Bearer ${t.runtime.devToken.slice(0, -5)}`,
    otherKey: `Bearer ${await otherAuth.mintToken()}`,
    wrongAudience: `Bearer ${await t.runtime.auth.mintToken({ aud: 'someone-else' })}`,
    expired: `Bearer ${await t.runtime.auth.mintToken({}, '1 hour ago')}`,
    unsigned: `Bearer ${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'x', iss: 'https://touchloop.local/idp', aud: 'touchloop-api', exp: 4_102_444_800 })).toString('base64url')}.`,
  };
  return {
    contacts: { main, other, victim, mainEmail: 'fuzz-main@example.com' },
    forms: { open: openForm, tight: tightForm },
    sites,
    segments,
    templates,
    campaigns,
    submission,
    attributionRun,
    tokens,
    auth,
  };
}

function campaignSample(segmentId: string, emailTemplate: string) {
  return {
    name: 'Fuzz campaign',
    segmentId,
    channels: ['email'],
    variants: [{ name: 'A', weight: 1, templates: { email: emailTemplate } }],
    holdoutPercent: 10,
    schedule: { type: 'immediate' },
    limits: { frequencyCap: { perDay: 3, perWeek: 10 }, sendRatePerSecond: { email: 50 }, maxRecipients: 100, budget: 10 },
    goal: { event: 'purchase', attributionWindowDays: 7, model: 'last_touch' },
    costPerMessage: { email: 0.0001 },
    marketing: true,
  };
}

// ---------------------------------------------------------------------------------------------
// What a route expects: real values for its parameters, a valid body to start mutating from
// ---------------------------------------------------------------------------------------------

/**
 * Real values for a path parameter. Deleting, cancelling and unsubscribing requests (also a
 * DELETE sent to another route's path) get their own victims, so the rest keep reaching deep.
 */
function realValues(route: FuzzRoute, param: string, method: string): string[] {
  const w = world;
  const { path } = route;
  const destroys = method === 'DELETE';
  if (path.startsWith('/v1/contacts/')) return param === 'submissionId' ? [w.submission] : destroys ? [w.contacts.victim] : [w.contacts.main, w.contacts.other];
  if (path.startsWith('/v1/forms/') || param === 'formId') return [w.forms.open, w.forms.tight];
  if (path.startsWith('/v1/segments/')) return destroys ? [w.segments.victim] : [w.segments.main, w.segments.victim];
  if (path.startsWith('/v1/templates/')) return [w.templates.email, w.templates.sms];
  if (path.startsWith('/v1/campaigns/')) return path.endsWith('/cancel') ? [w.campaigns.second] : [w.campaigns.main, w.campaigns.second];
  if (path.startsWith('/v1/sites/')) return destroys ? [w.sites.victim] : [w.sites.open, w.sites.tight, w.sites.victim];
  if (path.startsWith('/v1/attribution/runs/')) return [w.attributionRun];
  if (path.startsWith('/v1/models/')) return param === 'n' ? ['1', '2'] : ['btyd', 'propensity.purchase'];
  if (param === 'siteKey') return [w.sites.open, w.sites.tight];
  if (path.startsWith('/f/confirm/')) return w.tokens.doi;
  if (path.startsWith('/t/c/')) return w.tokens.click;
  if (path.startsWith('/t/o/')) return w.tokens.open;
  if (path.startsWith('/u/')) return method === 'POST' ? w.tokens.victimUnsubscribe : w.tokens.unsubscribe;
  if (param === 'name') return ['dispatch-deferred-sends', 'nightly-attribution'];
  // A route this file does not know yet: ids of every kind.
  return [w.contacts.main, w.forms.open, w.segments.main, w.templates.email, w.campaigns.main, w.sites.open];
}

const isoAgo = (ms: number) => new Date(Date.now() - ms).toISOString();

/** A body the route accepts (before mutation), by route key; routes that read none get none, unless a mutation puts one there. */
function sampleBody(route: FuzzRoute): unknown {
  const w = world;
  const email = w.contacts.mainEmail;
  switch (route.key) {
    case 'POST /v1/contacts':
      return { email: 'fuzz-new@example.com', phone: '+447400000001', country: 'GB', attributes: { firstName: 'Ada', plan: 'pro', seats: 3, vip: true }, tags: ['fuzz'], timezone: 'Europe/London', consent: { email: { status: 'confirmed', wordingVersion: 'v1', capturedAt: isoAgo(60_000) } } };
    case 'PATCH /v1/contacts/{id}':
      return { attributes: { plan: 'team', seats: null }, tags: ['vip'], timezone: 'Europe/Paris', country: 'FR' };
    case 'POST /v1/contacts/import':
      return [
        { email: 'import-1@example.com', first_name: 'Imp', tags: 'a;b', consent_email: 'yes', consent_email_version: 'v1' },
        { email: 'import-2@example.com', phone: '07400 000002', country: 'GB', plan: 'free' },
      ];
    case 'POST /v1/suppressions':
      return { email: 'suppressed@example.com', channel: 'email', reason: 'manual', note: 'fuzz' };
    case 'POST /v1/forms':
      return {
        name: 'Fuzzed form',
        fields: [
          { name: 'email', type: 'email', required: true },
          { name: 'plan', type: 'select', options: ['a', 'b'] },
          { name: 'note', type: 'text', maxLength: 100 },
        ],
        allowedOrigins: [FORM_ORIGIN],
        consent: { email: { text: 'News', version: 'v1' } },
        attributes: { source: 'fuzz', priority: 2 },
        doubleOptIn: true,
        redirectUrl: 'https://www.example.com/thanks',
        defaultCountry: 'GB',
        rateLimit: { perIpPerMinute: 10, perFormPerMinute: 600 },
      };
    case 'POST /f/{formId}':
      return { email: 'lead@example.com', first_name: 'Lee', age: 33, plan: 'pro', birthday: '1990-01-31', newsletter: 'on', consent_email: 'on', tz: 'Europe/Berlin' };
    case 'POST /v1/segments':
    case 'PUT /v1/segments/{id}':
      return { name: 'Fuzzed segment', rule: { or: [SAMPLE_RULE, { segment: w.segments.main }] }, timezone: 'Europe/Berlin' };
    case 'POST /v1/segments/preview':
      return { rule: SAMPLE_RULE, timezone: 'UTC' };
    case 'POST /v1/templates':
      return { channel: 'email', name: 'Fuzzed', subject: 'Hello {{contact.firstName}}', html: '<p>{{#if contact.firstName}}Hi{{/if}} <a href="https://shop.example.com/">go</a></p>', text: 'Hi {{contact.firstName}}' };
    case 'POST /v1/templates/{id}/render':
      return { contactId: w.contacts.main, marketing: true };
    case 'POST /v1/templates/render':
      return { channel: 'email', subject: 'Hello {{contact.firstName}}', html: '<p>{{#if contact.firstName}}Hi{{/if}} <a href="{{unsubscribeUrl}}">leave</a></p>', text: 'Hi', contactId: w.contacts.main, marketing: true };
    case 'POST /v1/campaigns':
    case 'PUT /v1/campaigns/{id}':
      return campaignSample(w.segments.main, w.templates.email);
    case 'POST /v1/messages':
      return { idempotencyKey: 'receipt-1', to: { email }, channel: 'email', template: w.templates.email, data: { orderNumber: 'F-1', total: 3.5, paid: true, note: null }, metadata: { orderId: 'F-1' }, tags: ['receipt'] };
    case 'POST /v1/events':
      return { email, name: 'purchase', value: 42.5, currency: 'EUR', occurredAt: isoAgo(3_600_000), idempotencyKey: 'order-1' };
    case 'POST /v1/sites':
      return { name: 'Fuzzed site', allowedOrigins: [SITE_ORIGIN], eventNames: ['purchase'], rateLimit: { perIpPerMinute: 30, perSitePerMinute: 3000 } };
    case 'PATCH /v1/sites/{id}':
      return { name: 'Renamed', eventNames: null, allowedOrigins: [SITE_ORIGIN] };
    case 'POST /e/{siteKey}':
      return { email, name: 'purchase', value: 10, currency: 'EUR', idempotencyKey: 'web-1' };
    case 'POST /v1/campaigns/import':
      return {
        campaign: { externalId: 'legacy-1', name: 'Legacy', launchedAt: isoAgo(10 * 86_400_000), goal: { event: 'purchase' }, costPerMessage: { email: 0.001 } },
        sends: [{ contact: { email }, channel: 'email', sentAt: isoAgo(10 * 86_400_000), holdout: false, variant: 'A' }],
        interactions: [{ contact: { email }, type: 'clicked', occurredAt: isoAgo(9 * 86_400_000), link: 'https://shop.example.com/' }],
        conversions: [{ contact: { email }, name: 'purchase', value: 5, currency: 'EUR', occurredAt: isoAgo(8 * 86_400_000), idempotencyKey: 'legacy-order' }],
        events: [
          { type: 'visit', contact: { email }, occurredAt: isoAgo(9 * 86_400_000), url: 'https://shop.example.com/?utm_source=legacy' },
          { type: 'page_view', contact: { email }, occurredAt: isoAgo(9 * 86_400_000), url: 'https://shop.example.com/p/1', title: 'Product 1' },
          { type: 'custom', contact: { email }, occurredAt: isoAgo(9 * 86_400_000), name: 'wishlist_add', properties: { sku: 'P1' } },
        ],
      };
    case 'POST /v1/attribution/runs':
      return { from: isoAgo(2 * 86_400_000), to: isoAgo(0) };
    case 'POST /u/{token}':
      return { 'List-Unsubscribe': 'One-Click' };
    case 'POST /webhooks/twilio/sms':
      return { MessageSid: 'SM0123456789abcdef', From: '+447400999999', To: '+15555550100', Body: 'STOP' };
    case 'POST /webhooks/twilio/status':
      return { MessageSid: 'SM0123456789abcdef', MessageStatus: 'undelivered', ErrorCode: '21610', To: '+447400999999' };
    case 'POST /_local/sms/inbound':
      // A number no contact holds: its STOP or START never makes anyone reachable by SMS.
      return { from: '+447400999998', body: 'HELP' };
    default:
      return undefined;
  }
}

/** The query a route reads, with values that work. */
function sampleQuery(route: FuzzRoute): Record<string, string> {
  const w = world;
  switch (route.key) {
    case 'GET /v1/contacts':
      return { email: w.contacts.mainEmail, limit: '10' };
    case 'GET /v1/contacts/{id}/timeline':
      return { limit: '5', cursor: Buffer.from(`${new Date().toISOString()}#x`).toString('base64url') };
    case 'GET /v1/contacts/{id}/consents':
      return { limit: '2' };
    case 'GET /v1/forms/{id}/submissions':
      return { limit: '2', from: isoAgo(86_400_000), to: isoAgo(0) };
    case 'GET /v1/segments/{id}':
      return { version: '1' };
    case 'GET /v1/forecast-accuracy':
      return { limit: '5' };
    case 'POST /v1/segments/preview':
    case 'POST /v1/segments/{id}/preview':
      return { goal: 'purchase' };
    case 'GET /v1/forms':
    case 'GET /v1/sites':
      return { limit: '2' };
    case 'POST /webhooks/twilio/status':
      return { touchloop_contact: w.contacts.main, touchloop_campaign: w.campaigns.main, touchloop_run: 'run-fuzz' };
    case 'POST /_local/schedules/{name}/run':
      return { group: 'touchloop-campaigns' };
    default:
      return {};
  }
}

/** Query parameters routes read, and some they do not. */
const QUERY_KEYS = ['limit', 'cursor', 'email', 'phone', 'country', 'version', 'group', 'touchloop_contact', 'touchloop_campaign', 'touchloop_run', 'from', 'to', 'id', 'goal'];

/** Field names the routes read: what random bodies are built from. */
const FIELD_NAMES = [
  ...new Set([
    'email', 'phone', 'country', 'attributes', 'tags', 'timezone', 'consent', 'status', 'wordingVersion', 'name', 'fields', 'type', 'required', 'options',
    'allowedOrigins', 'doubleOptIn', 'redirectUrl', 'rule', 'and', 'or', 'not', 'field', 'op', 'value', 'values', 'channel', 'subject', 'html', 'text', 'body',
    'segmentId', 'channels', 'variants', 'weight', 'templates', 'schedule', 'limits', 'goal', 'contactId', 'occurredAt', 'idempotencyKey', 'clickId', 'currency',
    'from', 'to', 'campaign', 'sends', 'interactions', 'conversions', 'reason', 'marketing', 'rateLimit', 'behaviour', 'segment', 'score', 'reachable',
    '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty',
  ]),
];

// ---------------------------------------------------------------------------------------------
// Generators: a request is a small description (printable when fast-check reports it), made
// into bytes on the wire only when sent
// ---------------------------------------------------------------------------------------------

type AuthKind = 'dev' | 'lowercase' | 'none' | 'empty' | 'bearerOnly' | 'garbage' | 'basic' | 'truncated' | 'otherKey' | 'wrongAudience' | 'expired' | 'unsigned';
const VALID_AUTH: ReadonlySet<AuthKind> = new Set(['dev', 'lowercase']);

/** A JSON value, or one of the markers the serialiser expands: number text JSON.stringify cannot write, long strings, deep nesting. */
type Hostile = unknown;
const raw = (text: string) => ({ $raw: text });
const long = (length: number, char: string) => ({ $long: [length, char] as const });
const deep = (key: string, depth: number) => ({ $deep: [key, depth] as const });

/** Path parameter spellings, already in wire form (valid percent-encoding or deliberately not). */
const HOSTILE_SEGMENTS = [
  '%', '%E0%A4%A', '%zz', '%C0%80', '%ED%A0%80', '%FF', '%00', '%0A', '%0D%0A', '%2F', 'a%2Fb', '%2e%2e', '..', '.', '%25', '%u00e9', '~', ';', "'", '"', '<script>',
  '{id}', '*', '$', '@', '+', '%20', 'null', 'undefined', '0', '-1', '1e309', 'NaN', '__proto__', 'constructor', 'toString', 'embed', 'confirm', 'preview',
  '00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF', '{00000000-0000-4000-8000-000000000000}', '00000000-0000-4000-8000-00000000000',
  `site_${'A'.repeat(22)}`, `site_${'A'.repeat(23)}`, 'a.b', `${'A'.repeat(40)}.${'B'.repeat(43)}`, '\u00e9', '\u00ff\u00fe',
];

/** Bytes to %XX, so any string (lone surrogates included, as U+FFFD) fits a URL. */
const percentEncode = (text: string) => [...Buffer.from(text, 'utf8')].map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');

type SegmentValue = { real: number } | { text: string } | { wire: string } | { long: number } | { uuid: string };
const segmentValue: fc.Arbitrary<SegmentValue> = fc.oneof(
  { weight: 10, arbitrary: fc.nat().map((n) => ({ real: n })) },
  { weight: 3, arbitrary: fc.uuid().map((u) => ({ uuid: u })) },
  { weight: 3, arbitrary: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 40 })).map((s) => ({ text: s })) },
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS).map((s) => ({ wire: s })) },
  { weight: 1, arbitrary: fc.constantFrom(65, 2049, 4097, 8193, 20_000).map((n) => ({ long: n })) },
  // Several segments where one is expected: `..`, `//`, a slash inside.
  { weight: 1, arbitrary: fc.constantFrom('../x', '..%2F..', 'a//b', '/', '//', 'x/', 'embed/x').map((s) => ({ wire: s })) },
);

type BodyDesc =
  | { kind: 'none' }
  | { kind: 'sample'; mutations: Mutation[] }
  | { kind: 'random'; value: Hostile }
  | { kind: 'truncated'; keep: number }
  | { kind: 'garbage'; text: string }
  | { kind: 'sized'; bytes: number };

/**
 * What is done to a valid body: a place (any, or only the numbers, or only the texts; `at`
 * picks one, modulo how many there are) is deleted, replaced, wrapped in an array, or gets a key.
 */
type Mutation =
  | { op: 'delete'; at: number }
  | { op: 'set'; at: number; value: Hostile }
  | { op: 'number'; at: number; value: Hostile }
  | { op: 'text'; at: number; value: Hostile }
  | { op: 'add'; at: number; key: string; value: Hostile }
  | { op: 'wrap'; at: number }
  | { op: 'repeat'; at: number; times: number };

/** Numbers JavaScript holds but DynamoDB (magnitudes 1e-130…1e126) or the SDK's marshaller (integers beyond 2^53) may not, and their neighbours. */
const EDGE_NUMBERS = [
  1e308, -1e308, Number.MAX_VALUE, 1e300, 1e127, 1e126, 1e21, 1e16, 2 ** 53, 2 ** 53 + 2, -(2 ** 53) - 2, 1e15, 1e15 + 1,
  1e-300, 5e-324, -5e-324, 1e-131, 1e-130, 1e-10, 1e-9, Number.EPSILON, 0.1 + 0.2, -0, 0, -1, 1.5, 123456789.12345679,
];
const RAW_NUMBERS = ['1e400', '-1e400', '1e-400', '123456789012345678901234567890', '-0.0', '1E+2', '0.0000000000000000000000000000000000000000001'];
const hostileNumber: fc.Arbitrary<Hostile> = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...EDGE_NUMBERS) }, { weight: 1, arbitrary: fc.constantFrom(...RAW_NUMBERS).map(raw) }, { weight: 1, arbitrary: fc.double() });
/** Long texts: past field limits, and (in 3- and 4-byte characters) past what one DynamoDB item holds (400 KB). */
const longText = fc.constantFrom(101, 1001, 2049, 10_001, 150_001, 300_001).chain((n) => fc.constantFrom(long(n, 'x'), long(n, 'é'), long(n, '€'), long(n, '😀')));
const hostileText: fc.Arbitrary<Hostile> = fc.oneof(
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 3, arbitrary: longText },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', ' ', '\u0000', '\u202e', 'null', '__proto__', 'constructor', '../../etc/passwd', '%E0%A4%A', '{{constructor.constructor}}', '{{lookup this "__proto__"}}', '{{#each}}', '<script>alert(1)</script>', 'javascript:alert(1)', 'https://evil.example/', 'Not/AZone', '2026-02-30', '+275760-09-13T00:00:00Z', '0001-01-01T00:00:00Z', 'FUZZ-MAIN@EXAMPLE.COM', '+447400000001'),
  },
);

const hostileValue: fc.Arbitrary<Hostile> = fc.oneof(
  fc.constantFrom<Hostile>(null, true, false, 0, -1, 1, 1.5, '', ' ', 'null', 'true', '0', [], {}, [null], [[]], { '': '' }),
  hostileNumber,
  fc.integer(),
  hostileText,
  fc.constantFrom('fuzz-main@example.com', 'a@b', '07400 000001', 'Europe/Berlin', '2026-11-11T10:00:00Z'),
  fc.constantFrom('not', 'and', 'or', 'rule', 'x').chain((key) => fc.constantFrom(11, 100, 3000, 20_000).map((depth) => deep(key, depth))),
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.constantFrom(...FIELD_NAMES), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  fc.constant(Object.fromEntries([['__proto__', { polluted: true }]])),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 1, arbitrary: fc.nat().map((at): Mutation => ({ op: 'delete', at })) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(), hostileValue).map(([at, value]): Mutation => ({ op: 'set', at, value })) },
  { weight: 3, arbitrary: fc.tuple(fc.nat(), hostileNumber).map(([at, value]): Mutation => ({ op: 'number', at, value })) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(), hostileText).map(([at, value]): Mutation => ({ op: 'text', at, value })) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.string({ maxLength: 12 })), hostileValue).map(([at, key, value]): Mutation => ({ op: 'add', at, key, value })) },
  { weight: 1, arbitrary: fc.nat().map((at): Mutation => ({ op: 'wrap', at })) },
  // A list grown past its limit (or to many items within it), each item a copy of its first.
  { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.constantFrom(2, 11, 21, 51, 101, 501, 2001)).map(([at, times]): Mutation => ({ op: 'repeat', at, times })) },
);

/** Body sizes at the documented limits: forms 16 KB, site events 8 KB, unsubscribe 4 KB, webhooks and inbound SMS 64 KB, API 1 MiB, imports and API Gateway 10 MiB. */
const LIMITS = [4096, 8192, 16 * 1024, 64 * 1024, 1024 * 1024];
const GATEWAY_LIMIT = 10 * 1024 * 1024;
const sizedBody: fc.Arbitrary<BodyDesc> = fc.oneof(
  { weight: 30, arbitrary: fc.tuple(fc.constantFrom(...LIMITS), fc.constantFrom(-1, 0, 1)).map(([limit, delta]): BodyDesc => ({ kind: 'sized', bytes: limit + delta })) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1).map((delta): BodyDesc => ({ kind: 'sized', bytes: GATEWAY_LIMIT + delta })) },
);

const bodyDesc: fc.Arbitrary<BodyDesc> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<BodyDesc>({ kind: 'none' }) },
  { weight: 8, arbitrary: fc.constant<BodyDesc>({ kind: 'sample', mutations: [] }) },
  { weight: 12, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 2 }).map((mutations): BodyDesc => ({ kind: 'sample', mutations })) },
  { weight: 4, arbitrary: hostileValue.map((value): BodyDesc => ({ kind: 'random', value })) },
  { weight: 2, arbitrary: fc.nat().map((keep): BodyDesc => ({ kind: 'truncated', keep })) },
  { weight: 2, arbitrary: fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom('{', '[', '{"a":', '\u0000', 'null', '"x"', '1e400', '--boundary--', 'a=1&a=2&a')).map((text): BodyDesc => ({ kind: 'garbage', text })) },
  { weight: 1, arbitrary: sizedBody },
);

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/vnd.api+json',
  'application/x-www-form-urlencoded',
  'text/plain',
  'text/plain;charset=UTF-8',
  'multipart/form-data; boundary=fuzzboundary',
  'text/csv',
  'application/x-ndjson',
  'application/octet-stream',
  'text/xml',
  'image/png',
  '',
  'json',
  ';;',
  /** No content-type header at all. */
  '(none)',
] as const;

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];
/** 'allowed': the origin the route's form or site allows (none elsewhere). */
const origin = fc.oneof(
  { weight: 4, arbitrary: fc.constant('allowed') },
  { weight: 3, arbitrary: fc.constantFrom(undefined, FORM_ORIGIN, SITE_ORIGIN) },
  { weight: 1, arbitrary: fc.constantFrom('https://evil.example', 'null', `${SITE_ORIGIN}/`, 'http://shop.example.com', 'https://www.example.com.evil.example') },
);

interface RequestDesc {
  route: number;
  /** Another method than the route's, sometimes. */
  method: string | undefined;
  params: SegmentValue[];
  /** Extra segment appended, or a trailing slash. */
  suffix: string | undefined;
  /** The route's own query (see sampleQuery) or none, some of its values replaced, extra parameters appended. */
  query: { sample: boolean; replace: Array<[number, SegmentValue]>; extra: Array<[string, SegmentValue]> };
  auth: AuthKind;
  contentType: (typeof CONTENT_TYPES)[number] | undefined;
  /** Serialise as the content type says, or always as JSON. */
  asJson: boolean;
  origin: string | undefined;
  referer: boolean;
  /** X-Twilio-Signature: none, one computed over the request as sent, or a wrong one. */
  twilioSignature: 'none' | 'valid' | 'wrong';
  body: BodyDesc;
}

function requestArbitrary(routeCount: number): fc.Arbitrary<RequestDesc> {
  return fc.record({
    route: fc.nat({ max: routeCount - 1 }),
    method: fc.oneof({ weight: 12, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS, 'PROPFIND', 'FUZZ') }),
    params: fc.array(segmentValue, { minLength: 2, maxLength: 2 }),
    suffix: fc.oneof({ weight: 15, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('/', '/x', '//', '/..', '/%', '.json') }),
    query: fc.record({
      sample: fc.nat({ max: 3 }).map((n) => n > 0),
      replace: fc.oneof({ weight: 2, arbitrary: fc.constant<Array<[number, SegmentValue]>>([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.nat(), segmentValue), { minLength: 1, maxLength: 2 }) }),
      extra: fc.oneof({ weight: 4, arbitrary: fc.constant<Array<[string, SegmentValue]>>([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.string({ maxLength: 8 })), segmentValue), { minLength: 1, maxLength: 3 }) }),
    }),
    auth: fc.oneof(
      { weight: 14, arbitrary: fc.constant<AuthKind>('dev') },
      { weight: 1, arbitrary: fc.constantFrom<AuthKind>('lowercase', 'none', 'empty', 'bearerOnly', 'garbage', 'basic', 'truncated', 'otherKey', 'wrongAudience', 'expired', 'unsigned') },
      { weight: 3, arbitrary: fc.constant<AuthKind>('none') },
    ),
    // Mostly what the route reads (JSON, or urlencoded / CSV where it takes those), else any.
    contentType: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) }),
    asJson: fc.boolean(),
    origin,
    referer: fc.nat({ max: 4 }).map((n) => n === 0),
    twilioSignature: fc.constantFrom('none', 'valid', 'valid', 'wrong'),
    body: bodyDesc,
  });
}

// ---------------------------------------------------------------------------------------------
// From description to wire
// ---------------------------------------------------------------------------------------------

const isMarker = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && ('$raw' in v || '$long' in v || '$deep' in v);

/** JSON text, expanding the markers; nesting for $deep is written iteratively. */
function toJson(value: unknown): string {
  if (isMarker(value)) {
    if ('$raw' in value) return String(value.$raw);
    if ('$long' in value) {
      const [n, ch] = value.$long as [number, string];
      return JSON.stringify(ch.repeat(n));
    }
    const [key, depth] = value.$deep as [string, number];
    const open = key === 'and' || key === 'or' ? `{${JSON.stringify(key)}:[` : `{${JSON.stringify(key)}:`;
    const close = key === 'and' || key === 'or' ? ']}' : '}';
    return `${open.repeat(depth)}{"reachable":"email"}${close.repeat(depth)}`;
  }
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(',')}}`;
  if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
  return JSON.stringify(value) ?? 'null';
}

/** A field value as text (urlencoded, multipart, CSV). */
const asText = (value: unknown): string => (typeof value === 'string' ? value : isMarker(value) && '$long' in value ? (value.$long as [number, string])[1].repeat((value.$long as [number, string])[0]) : isMarker(value) && '$raw' in value ? String(value.$raw) : toJson(value));

const isPlainRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !isMarker(v);

/** Own properties only (a `__proto__` key stays a key), deep-copied. */
const clone = (value: unknown): unknown => (Array.isArray(value) ? value.map(clone) : value !== null && typeof value === 'object' && !isMarker(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clone(v)])) : value);

/** Every place in a value: [container, key] pairs, the root as [undefined, undefined]. */
function places(root: unknown): Array<{ parent: Record<string, unknown> | unknown[] | undefined; key: string | number | undefined; value: unknown }> {
  const out: Array<{ parent: Record<string, unknown> | unknown[] | undefined; key: string | number | undefined; value: unknown }> = [{ parent: undefined, key: undefined, value: root }];
  for (let i = 0; i < out.length; i++) {
    const { value } = out[i]!;
    if (Array.isArray(value)) value.forEach((v, k) => out.push({ parent: value, key: k, value: v }));
    else if (value !== null && typeof value === 'object' && !isMarker(value)) for (const [k, v] of Object.entries(value)) out.push({ parent: value as Record<string, unknown>, key: k, value: v });
  }
  return out;
}

function setOwn(parent: Record<string, unknown> | unknown[], key: string | number, value: unknown): void {
  Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
}

function mutate(sample: unknown, mutations: Mutation[]): unknown {
  let root = clone(sample);
  for (const m of mutations) {
    const every = places(root);
    const all =
      m.op === 'number' ? every.filter((p) => typeof p.value === 'number') : m.op === 'text' ? every.filter((p) => typeof p.value === 'string') : m.op === 'repeat' ? every.filter((p) => Array.isArray(p.value) && p.value.length > 0) : every;
    if (!all.length) continue;
    const place = all[m.at % all.length]!;
    const replace = (value: unknown) => (place.parent === undefined ? (root = value) : setOwn(place.parent, place.key!, value));
    if (m.op === 'set' || m.op === 'number' || m.op === 'text') replace(clone(m.value));
    else if (m.op === 'wrap') replace([place.value]);
    else if (m.op === 'repeat') {
      // Copies differ in their text (a suffix), so lists that refuse duplicates still grow.
      const first = (place.value as unknown[])[0];
      replace(Array.from({ length: m.times }, (_, i) => (i === 0 ? first : typeof first === 'string' ? `${first}${i}` : isPlainRecord(first) && typeof first.name === 'string' ? { ...first, name: `${first.name}${i}` } : clone(first))));
    }
    else if (m.op === 'delete') {
      if (place.parent === undefined) root = undefined;
      else if (Array.isArray(place.parent)) place.parent.splice(place.key as number, 1);
      else delete place.parent[place.key as string];
    } else {
      const containers = every.filter((p) => p.value !== null && typeof p.value === 'object' && !Array.isArray(p.value) && !isMarker(p.value));
      if (containers.length) setOwn(containers[m.at % containers.length]!.value as Record<string, unknown>, m.key, clone(m.value));
    }
  }
  return root;
}

/** A value written as the content type asks (or as JSON whatever it says). */
function serialise(value: unknown, contentType: string, asJson: boolean): string {
  const type = contentType.toLowerCase();
  if (asJson || value === undefined) return value === undefined ? '' : toJson(value);
  const entries = (v: unknown): Array<[string, string]> =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && !isMarker(v)
      ? Object.entries(v).flatMap(([k, x]) => (Array.isArray(x) ? x.map((item): [string, string] => [k, asText(item)]) : [[k, asText(x)] as [string, string]]))
      : [['value', asText(v)]];
  if (type.startsWith('application/x-www-form-urlencoded')) return entries(value).map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');
  if (type.startsWith('multipart/form-data')) return `${entries(value).map(([k, v]) => `--fuzzboundary\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('')}--fuzzboundary--\r\n`;
  if (type.startsWith('text/csv')) {
    const rows = (Array.isArray(value) ? value : [value]).map((row) => Object.fromEntries(entries(row)));
    const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    const cell = (s: string | undefined) => (s === undefined ? '' : /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
    return [columns.map(cell).join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\n');
  }
  if (type.startsWith('application/x-ndjson')) return (Array.isArray(value) ? value : [value]).map(toJson).join('\n');
  return toJson(value);
}

function sizedText(bytes: number, contentType: string): string {
  const type = contentType.toLowerCase();
  if (type.includes('json') && bytes >= 16) return `{"padding":"${'x'.repeat(bytes - 14)}"}`;
  if (type.startsWith('application/x-www-form-urlencoded')) return `padding=${'x'.repeat(bytes - 8)}`;
  return 'x'.repeat(bytes);
}

interface WireRequest {
  routeKey: string;
  access: Access;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  authorized: boolean;
}

function toWire(desc: RequestDesc): WireRequest {
  const route = routes[desc.route]!;
  const method = desc.method ?? route.method;
  const params = paramsOf(route.path);
  let path = route.path;
  params.forEach((name, i) => {
    const value = desc.params[i]!;
    const reals = realValues(route, name, method);
    const segment =
      'real' in value ? percentEncode(reals[value.real % reals.length]!) : 'uuid' in value ? value.uuid : 'text' in value ? percentEncode(value.text) : 'long' in value ? 'A'.repeat(value.long) : value.wire;
    path = path.replace(`{${name}}`, segment);
  });
  if (desc.suffix) path += desc.suffix;
  const allReal = [...Object.values(world.contacts), ...Object.values(world.campaigns), ...Object.values(world.segments), world.attributionRun, '50', '1', 'GB', '+447400000001'];
  const wire = (v: SegmentValue) => ('real' in v ? percentEncode(allReal[v.real % allReal.length]!) : 'uuid' in v ? v.uuid : 'text' in v ? percentEncode(v.text) : 'long' in v ? 'A'.repeat(v.long) : v.wire);
  const query: Array<[string, string]> = desc.query.sample ? Object.entries(sampleQuery(route)).map(([k, v]) => [percentEncode(k), percentEncode(v)]) : [];
  for (const [at, value] of desc.query.replace) if (query.length) query[at % query.length]![1] = wire(value);
  for (const [key, value] of desc.query.extra) query.push([percentEncode(key), wire(value)]);
  if (query.length) path += `?${query.map(([k, v]) => `${k}=${v}`).join('&')}`;
  const headers: Record<string, string> = {};
  const authorization = world.auth[desc.auth];
  if (authorization !== undefined) headers.authorization = authorization;
  const origin = desc.origin === 'allowed' ? (route.path.startsWith('/f/') ? FORM_ORIGIN : route.path.startsWith('/e/') ? SITE_ORIGIN : undefined) : desc.origin;
  if (origin) headers.origin = origin;
  if (desc.referer) headers.referer = `${origin ?? 'https://elsewhere.example'}/page`;
  const contentType = desc.contentType ?? (route.key === 'POST /v1/contacts/import' ? 'text/csv' : route.key.startsWith('POST /f/') || route.key.startsWith('POST /u/') || route.key.startsWith('POST /webhooks/') ? 'application/x-www-form-urlencoded' : 'application/json');
  let text: string | undefined;
  const body = desc.body;
  if (body.kind === 'sample') text = serialise(mutate(sampleBody(route), body.mutations), contentType, desc.asJson);
  else if (body.kind === 'random') text = serialise(body.value, contentType, desc.asJson);
  else if (body.kind === 'truncated') {
    const full = toJson(sampleBody(route) ?? { email: 'x@example.com' });
    text = full.slice(0, body.keep % Math.max(1, full.length));
  } else if (body.kind === 'garbage') text = body.text;
  else if (body.kind === 'sized') text = sizedText(body.bytes, contentType);
  if (desc.contentType !== '(none)' && (desc.contentType !== undefined || text !== undefined)) headers['content-type'] = contentType;
  if (desc.twilioSignature !== 'none') {
    const params = Object.fromEntries(new URLSearchParams(text ?? ''));
    const query = path.includes('?') ? path.slice(path.indexOf('?')) : '';
    const signature = twilioSignature(TWILIO_AUTH_TOKEN, `${t.runtime.urls.api}${new URL(path, 'http://x').pathname}${query}`, params);
    headers['x-twilio-signature'] = desc.twilioSignature === 'valid' ? signature : `${signature.slice(1)}A`;
  }
  return { routeKey: route.key, access: route.access, method, path, headers, body: text === undefined ? undefined : Buffer.from(text, 'utf8'), authorized: VALID_AUTH.has(desc.auth) };
}

// ---------------------------------------------------------------------------------------------
// Sending, one request at a time
// ---------------------------------------------------------------------------------------------

const agent = new Agent({ keepAlive: false });

interface Answer {
  status: number;
  text: string;
}

function send(request: WireRequest): Promise<Answer> {
  const api = new URL(t.runtime.urls.api);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(
      { host: api.hostname, port: api.port, method: request.method, path: request.path, headers: { ...request.headers, ...(request.body ? { 'content-length': String(request.body.length) } : {}) }, agent },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        // 'close' also settles an answer whose connection ended before its body did.
        const settle = () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        res.on('end', settle);
        res.on('close', settle);
        res.on('error', settle);
      },
    );
    // A server may answer and close before the whole body is sent (a refused upload): the answer counts.
    req.on('error', (error) => (answered ? undefined : reject(error)));
    req.end(request.body);
  });
}

const describeRequest = (r: WireRequest) =>
  `${r.method} ${r.path.length > 300 ? `${r.path.slice(0, 300)}…(${r.path.length})` : r.path} [${r.routeKey}] headers=${JSON.stringify({ ...r.headers, ...(r.headers.authorization ? { authorization: `${r.headers.authorization.slice(0, 12)}…` } : {}) })} body=${r.body ? `${JSON.stringify(r.body.subarray(0, 1500).toString('utf8'))}${r.body.length > 1500 ? `…(${r.body.length} bytes)` : ''}` : '(none)'}`;

const REQUEST_LINE = /^(\S+) (\S+) (\d{3}) (\d+)ms (\S+)$/;

// ---------------------------------------------------------------------------------------------
// The property
// ---------------------------------------------------------------------------------------------

test(`every route, ${RUNS} generated requests: never a 5xx, 401 first on /v1/*, nothing written on a 4xx (seed ${SEED})`, { timeout: Math.max(300_000, RUNS * 60) }, async () => {
  // Prepare: the route list is the declarations' (not vacuous), and the runtime wired exactly the topology's.
  expect(routes.length).toBeGreaterThanOrEqual(50);
  expect(routes.filter((r) => r.access === 'public').length).toBeGreaterThanOrEqual(10);
  expect(routes.filter((r) => r.access === 'local').length).toBeGreaterThanOrEqual(3);
  expect(new Set(t.runtime.describeWiring().routes.map((r) => r.routeKey))).toEqual(new Set(TOPOLOGY_ROUTES.map((r) => r.key)));
  const tableOf = Object.fromEntries(Object.entries(t.runtime.tableNames).map(([logical, physical]) => [physical, logical]));
  const statuses = new Map<number, number>();
  const perRoute = new Map<string, { sent: number; ok: number }>(routes.map((r) => [r.key, { sent: 0, ok: 0 }]));
  const allowancesUsed = new Map<string, number>();
  let sent = 0;

  /** One request, sent alone; everything it set off settles before its writes are counted. */
  const exercise = async (desc: RequestDesc): Promise<void> => {
    const request = toWire(desc);
    const writesBefore = { ...meter.units.writesByTable };
    const logsBefore = t.logs.length;
    const answer = await send(request);
    await t.runtime.idle(60_000);
    sent++;
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    const counts = perRoute.get(request.routeKey)!;
    counts.sent++;
    if (answer.status < 300) counts.ok++;

    const newLogs = t.logs.slice(logsBefore);
    const context = () => `${describeRequest(request)}\n→ ${answer.status} ${answer.text.slice(0, 500)}\nruntime log:\n${newLogs.join('\n').slice(0, 4000)}`;
    expect(answer.status, `5xx:\n${context()}`).toBeLessThan(500);
    // The gateway logs every request it reads; Node's HTTP parser refuses the others (an unknown method, an oversized request line) with a 4xx of its own.
    const line = newLogs.map((l) => REQUEST_LINE.exec(l)).find(Boolean);
    if (!line) expect(answer.status, `not answered by the gateway:\n${context()}`).toBeGreaterThanOrEqual(400);
    if (line && request.path.startsWith('/v1/') && !request.authorized) {
      expect([401, 404, 413], `no valid token, yet:\n${context()}`).toContain(answer.status);
    }
    if (answer.status >= 400) {
      const routed = line ? routeServing(line[1]!, line[2]!, line[5]!) : undefined;
      const written = Object.entries(meter.units.writesByTable)
        .map(([physical, n]) => [tableOf[physical] ?? physical, n - (writesBefore[physical] ?? 0)] as const)
        .filter(([, n]) => n > 0);
      for (const [table, items] of written) {
        const allowance = WRITES_ON_REFUSAL.find((a) => a.route === routed && a.statuses.includes(answer.status) && a.table === table);
        expect(allowance !== undefined && items <= allowance.maxItems, `${items} item(s) written to ${table} by a ${answer.status}:\n${context()}`).toBe(true);
        const key = `${routed} ${answer.status} ${table}`;
        allowancesUsed.set(key, (allowancesUsed.get(key) ?? 0) + 1);
      }
    }
  };

  // Act / Assess. The system's state carries from one request to the next, so a failure is
  // reported as found (endOnFailure), not shrunk by replaying requests against a changed state.
  try {
    await fc.assert(fc.asyncProperty(requestArbitrary(routes.length), exercise), { seed: SEED, numRuns: RUNS, ...(REPLAY_PATH ? { path: REPLAY_PATH } : {}), endOnFailure: true });
  } finally {
    const histogram = Object.fromEntries([...statuses].sort(([a], [b]) => a - b));
    console.log(
      `fuzz-routes: seed ${SEED} (FUZZ_SEED; FUZZ_RUNS=${RUNS}${REPLAY_PATH ? `; FUZZ_PATH=${REPLAY_PATH}` : ''}): ${sent} requests over ${routes.length} routes; statuses ${JSON.stringify(histogram)}; ` +
        `routes that answered 2xx: ${[...perRoute.values()].filter((c) => c.ok > 0).length}/${routes.length}; writes allowed on refusal ${JSON.stringify(Object.fromEntries(allowancesUsed))}`,
    );
  }

  // Not vacuous: every route was aimed at, most reached their success path, refusals of each kind happened.
  if (!REPLAY_PATH) {
    expect(sent).toBe(RUNS);
    for (const [key, counts] of perRoute) expect(counts.sent, key).toBeGreaterThanOrEqual(Math.floor(RUNS / routes.length / 3));
  }
  if (RUNS >= 4000) {
    expect([...perRoute.values()].filter((c) => c.ok > 0).length).toBeGreaterThanOrEqual(Math.floor(routes.length * 0.6));
    for (const status of [400, 401, 404, 413, 429]) expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
  }
});

/**
 * The topology route that served a request, from its log line (method, path as the gateway read
 * it, function): the function's route of that method whose pattern the path fits, literal
 * segments first. Undefined for the runtime's own routes and for requests no function served.
 */
function routeServing(method: string, path: string, functionName: string): string | undefined {
  const parts = path.split('/').filter(Boolean);
  const fits = (pattern: string) => {
    const segments = pattern.split('/').filter(Boolean);
    return segments.length === parts.length && segments.every((s, i) => s.startsWith('{') || s === parts[i]);
  };
  const literals = (pattern: string) => pattern.split('/').filter((s) => s && !s.startsWith('{')).length;
  const candidates = (Object.entries(topology.functions).find(([name]) => name === functionName)?.[1].http ?? []).filter((r) => r.method === method && fits(r.path)).sort((a, b) => literals(b.path) - literals(a.path));
  return candidates[0] ? `${candidates[0].method} ${candidates[0].path}` : undefined;
}
