import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { emptyForm, formOf, toInput, type CampaignForm } from '../../console/src/pages/campaigns/form-model.ts';
import type { CampaignResource } from '../../console/src/pages/campaigns/types.ts';
import { fromRule, newCond, newGroup, toRule, withKind, type Cond } from '../../console/src/pages/segments/rule-model.ts';
import { CampaignInput } from '../../shared/campaigns/model.ts';
import { issuesFromZod, type ValidationIssue } from '../../shared/errors.ts';
import { Rule, type RuleNode } from '../../shared/segments/rule.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

/**
 * The console's segment builder and campaign form against the real API (local runtime, DynamoDB
 * Local): the bodies they build are accepted, the API's issues carry the paths the builder puts
 * beside its rows and fields, and what the API answers reads back into the same form.
 */
let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
  for (const [i, plan] of ['pro', 'pro', 'pro', 'free'].entries()) {
    const res = await t.api('POST', '/v1/contacts', { body: { email: `builder${i}@example.com`, timezone: 'UTC', attributes: { plan }, consent: { email: { status: 'confirmed', wordingVersion: 'v1' } } } });
    expect(res.status).toBe(201);
  }
});
afterAll(async () => {
  await t?.stop();
});

const row = (kind: Cond['kind'], patch: Partial<Cond> = {}): Cond => ({ ...withKind(newCond(), kind), ...patch });
const planIs = (plan: string) => newGroup('and', [row('attribute', { attribute: 'plan', op: 'eq', value: plan }), row('reachable', { value: 'email' })]);
type Issues = { error: { issues: ValidationIssue[] } };

describe('segments', () => {
  test('the live preview of a built rule counts what the rule says, and changes with it', async () => {
    const pro = await t.api<{ count: number; reachable: { email: number } }>('POST', '/v1/segments/preview', { body: { rule: toRule(planIs('pro')).rule, timezone: 'UTC' } });
    const free = await t.api<{ count: number }>('POST', '/v1/segments/preview', { body: { rule: toRule(planIs('free')).rule, timezone: 'UTC' } });
    expect([pro.status, pro.body.count, pro.body.reachable.email]).toEqual([200, 3, 3]);
    expect([free.status, free.body.count]).toEqual([200, 1]);
  });

  test("the API reports a bad row at the same path as the browser's check, and saves nothing", async () => {
    // Prepare: a nested none-of group whose behaviour row reaches past the 400 days kept.
    const late = row('behaviour', { event: 'opened', withinAmount: '999', withinUnit: 'days' });
    const root = newGroup('and', [row('reachable'), newGroup('none', [row('hasAddress', { value: 'sms' }), late])]);
    const { rule, paths } = toRule(root);
    const before = await t.api<{ items: unknown[] }>('GET', '/v1/segments');

    // Act
    const res = await t.api<Issues>('POST', '/v1/segments', { body: { name: 'Too far back', rule, timezone: 'UTC' } });

    // Assess
    const local = Rule.safeParse(rule);
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toEqual(issuesFromZod(local.error!.issues, 'rule'));
    expect(res.body.error.issues.map((i) => i.path)).toEqual([`${paths.get(late.key)}.behaviour.within.amount`]);
    expect((await t.api<{ items: unknown[] }>('GET', '/v1/segments')).body.items).toHaveLength(before.body.items.length);
  });

  test('a reference to a segment that does not exist is refused at "rule" (shown above the form), nothing saved', async () => {
    const before = await t.api<{ items: unknown[] }>('GET', '/v1/segments');
    const rule = toRule(newGroup('and', [row('segment', { value: '00000000-0000-4000-8000-000000000000' })])).rule;
    const res = await t.api<Issues>('POST', '/v1/segments', { body: { name: 'Ghost', rule, timezone: 'UTC' } });
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toEqual([{ path: 'rule', message: expect.stringContaining('does not exist') }]);
    expect((await t.api<{ items: unknown[] }>('GET', '/v1/segments')).body.items).toHaveLength(before.body.items.length);
  });

  test('a saved segment reads back into the builder unchanged; a new version keeps the old one readable', async () => {
    // Prepare
    const first = toRule(planIs('pro')).rule;
    const created = await t.api<{ segment: { id: string; version: number } }>('POST', '/v1/segments', { body: { name: 'Pro', rule: first, timezone: 'Europe/Berlin' } });
    expect(created.status).toBe(201);
    const id = created.body.segment.id;

    // Act: load it as the editor does, change a row, save a new version.
    const loaded = await t.api<{ segment: { rule: RuleNode; timezone: string } }>('GET', `/v1/segments/${id}`);
    const root = fromRule(loaded.body.segment.rule);
    expect(toRule(root).rule).toEqual(first);
    const changed = { ...root, op: 'or' as const };
    const put = await t.api<{ segment: { version: number } }>('PUT', `/v1/segments/${id}`, { body: { name: 'Pro or reachable', rule: toRule(changed).rule, timezone: loaded.body.segment.timezone } });

    // Assess
    expect([put.status, put.body.segment.version]).toEqual([200, 2]);
    const v1 = await t.api<{ segment: { version: number; rule: unknown; name: string }; versions: Array<{ version: number }> }>('GET', `/v1/segments/${id}?version=1`);
    expect([v1.body.segment.version, v1.body.segment.name, v1.body.segment.rule]).toEqual([1, 'Pro', first]);
    expect(v1.body.versions.map((v) => v.version).sort()).toEqual([1, 2]);
    expect((await t.api<{ segment: { rule: unknown } }>('GET', `/v1/segments/${id}`)).body.segment.rule).toEqual({ or: (first as { and: unknown[] }).and });
  });
});

describe('campaigns', () => {
  let segmentId: string;
  let emailTemplate: string;
  let smsTemplate: string;
  beforeAll(async () => {
    segmentId = (await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name: 'Audience', rule: toRule(planIs('pro')).rule } })).body.segment.id;
    emailTemplate = (await t.api<{ template: { id: string } }>('POST', '/v1/templates', { body: { channel: 'email', name: 'Hello', subject: 'Hello', html: '<p>Hello</p>', text: 'Hello' } })).body.template.id;
    smsTemplate = (await t.api<{ template: { id: string } }>('POST', '/v1/templates', { body: { channel: 'sms', name: 'Hello SMS', body: 'Hello' } })).body.template.id;
  });
  const filled = (patch: Partial<CampaignForm> = {}): CampaignForm => {
    const form = emptyForm();
    return { ...form, name: 'Builder campaign', segmentId, variants: [{ ...form.variants[0]!, email: emailTemplate }], holdoutPercent: '50', quiet: 'none', ...patch };
  };

  test('the form creates a draft the API accepts, and the draft reads back into the same definition (edit → save changes nothing)', async () => {
    // Prepare
    const form = filled({ channels: 'email,sms', variants: [{ key: 'a', name: 'A', weight: '1', email: emailTemplate, sms: smsTemplate }], when: 'at', at: '2031-05-04T09:30', localTime: true, perWeek: '2', model: 'time_decay', halfLifeDays: '2' });
    const body = toInput(form);
    expect(CampaignInput.safeParse(body).success).toBe(true);

    // Act
    const created = await t.api<{ campaign: CampaignResource }>('POST', '/v1/campaigns', { body });
    const id = created.body.campaign.id;
    const loaded = (await t.api<{ campaign: CampaignResource }>('GET', `/v1/campaigns/${id}`)).body.campaign;
    const saved = await t.api<{ campaign: CampaignResource }>('PUT', `/v1/campaigns/${id}`, { body: toInput(formOf(loaded)) });

    // Assess
    expect(created.status).toBe(201);
    expect(saved.status).toBe(200);
    const definition = (c: CampaignResource) => CampaignInput.parse(Object.fromEntries(Object.keys(CampaignInput.shape).filter((k) => k in c).map((k) => [k, c[k as keyof CampaignResource]])));
    expect(definition(saved.body.campaign)).toEqual(definition(loaded));
    expect(loaded).toMatchObject({ status: 'draft', holdoutPercent: 50, schedule: { type: 'at', at: '2031-05-04T09:30', localTime: true }, limits: { quietHours: { email: null, sms: null }, frequencyCap: { perWeek: 2 } } });
  });

  test('an SMS template chosen as the email template is refused beside the Template field, and no campaign is created', async () => {
    const before = (await t.api<{ items: unknown[] }>('GET', '/v1/campaigns')).body.items.length;
    const res = await t.api<Issues>('POST', '/v1/campaigns', { body: toInput(filled({ variants: [{ ...emptyForm().variants[0]!, email: smsTemplate }] })) });
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toEqual([{ path: 'variants[0].templates.email', message: expect.stringContaining('is an sms template') }]);
    expect((await t.api<{ items: unknown[] }>('GET', '/v1/campaigns')).body.items).toHaveLength(before);
  });

  test("a campaign cannot be edited once launched (the edit page offers drafts only): the API answers 409 and the definition stays", async () => {
    const created = (await t.api<{ campaign: CampaignResource }>('POST', '/v1/campaigns', { body: toInput(filled({ when: 'at', at: '2031-01-01T09:00' })) })).body.campaign;
    expect((await t.api('POST', `/v1/campaigns/${created.id}/launch`)).status).toBe(202);
    const edit = await t.api('PUT', `/v1/campaigns/${created.id}`, { body: toInput(filled({ name: 'Renamed after launch' })) });
    expect(edit.status).toBe(409);
    expect((await t.api<{ campaign: CampaignResource }>('GET', `/v1/campaigns/${created.id}`)).body.campaign.name).toBe('Builder campaign');
    expect((await t.api('POST', `/v1/campaigns/${created.id}/cancel`)).status).toBe(200);
  });
});
