import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import { importedCampaignId } from '../../shared/imports/history-import.ts';
import { PRIORS } from '../../shared/scoring/model.ts';
import { ACTIVITY_RETENTION_DAYS, hourOf } from '../../shared/activity/activity.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => {
  await t?.stop();
});

interface Report {
  funnel: { sent: number; clicked: number; opened: number; converted: number };
  revenue: number;
  holdout: { members: number; converters: number };
  lift: { treatment: { rate: number }; holdout: { rate: number }; conversionRate: { absolute: { estimate: number; low: number; high: number }; pValue: number | null } } | null;
  variants: Array<{ variant: string; members: number; converters: number }>;
  forecastVsActual: { email: { forecast: number | null; actual: number } };
  channels: Array<{ channel: string; sent: number; opened: number; clicked: number; converters: number; revenue: number }>;
}

describe('the closed loop end to end', () => {
  test('leads → segment → campaign → opens, clicks and conversions through the real endpoints → attribution run → report → scores → a follow-up segment picks the responders', async () => {
    // Leads, imported with consent.
    const rows = ['email,first_name,tags,consent_email,consent_email_version', ...Array.from({ length: 120 }, (_, i) => `loop${i}@example.com,N${i},loop,yes,v1`)];
    const imported = await t.api<{ summary: { created: number } }>('POST', '/v1/contacts/import', { rawBody: rows.join('\n'), headers: { 'content-type': 'text/csv' } });
    expect(imported.body.summary.created).toBe(120);
    const template = (
      await t.api<{ template: { id: string } }>('POST', '/v1/templates', {
        body: { channel: 'email', name: 'Loop', subject: 'Hi {{contact.first_name}}', html: '<html><body><a href="https://shop.example.com/deal">Deal</a></body></html>', text: 'Deal: https://shop.example.com/deal' },
      })
    ).body.template.id;
    const segment = (await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name: 'Loop', rule: { field: 'tags', op: 'contains', value: 'loop' } } })).body.segment.id;
    const engaged = (await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name: 'Engaged', rule: { score: 'propensity.email', op: 'gt', value: 0.03 } } })).body.segment.id;
    const storeBefore = ((await (await fetch(`${t.runtime.urls.ses}/store`)).json()) as { emails: unknown[] }).emails.length;
    const campaign = (
      await t.api<{ campaign: { id: string } }>('POST', '/v1/campaigns', {
        body: {
          name: 'Loop sale',
          segmentId: segment,
          channels: ['email'],
          variants: [{ name: 'A', weight: 1, templates: { email: template } }],
          holdoutPercent: 25,
          schedule: { type: 'immediate' },
          limits: { sendRatePerSecond: { email: 1000 } },
          goal: { event: 'purchase', attributionWindowDays: 7, model: 'last_touch' },
          costPerMessage: { email: 0.01 },
        },
      })
    ).body.campaign.id;
    await t.api('POST', `/v1/campaigns/${campaign}/launch`);
    await t.runtime.idle(60_000);
    const sentCampaign = (await t.api<{ campaign: { counters: { sent: number; holdout: number } } }>('GET', `/v1/campaigns/${campaign}`)).body.campaign;
    expect(sentCampaign.counters.sent + sentCampaign.counters.holdout).toBe(120);

    // Responses through the real endpoints: the first 20 recipients open and click; 12 of them buy.
    const emails = ((await (await fetch(`${t.runtime.urls.ses}/store`)).json()) as { emails: Array<{ destination: { to: string[] }; body: { html: string } }> }).emails.slice(storeBefore);
    expect(emails).toHaveLength(sentCampaign.counters.sent);
    const responders = emails.slice(0, 20);
    for (const email of responders) {
      await fetch(/src="([^"]+\/t\/o\/[^"]+)"/.exec(email.body.html)![1]!);
      const click = await fetch(/href="([^"]+\/t\/c\/[^"]+)"/.exec(email.body.html)![1]!, { redirect: 'manual' });
      expect(click.status).toBe(302);
    }
    const now = Date.now();
    const buyers = responders.slice(0, 12).map((e) => e.destination.to[0]!);
    for (const [i, email] of buyers.entries()) {
      const r = await t.api('POST', '/v1/events', { body: { email, name: 'purchase', value: 10, currency: 'EUR', occurredAt: new Date(now + 1000).toISOString(), idempotencyKey: `loop-order-${i}` } });
      expect(r.status).toBe(201);
    }
    // Two holdout contacts buy too (the baseline the lift is measured against).
    const sendsView = await t.api<{ items: Array<{ email: string; id: string }> }>('GET', '/v1/contacts?limit=200');
    const mailed = new Set(emails.map((e) => e.destination.to[0]));
    const holdoutBuyers = sendsView.body.items.filter((c) => c.email?.startsWith('loop') && !mailed.has(c.email)).slice(0, 2);
    expect(holdoutBuyers).toHaveLength(2);
    for (const [i, c] of holdoutBuyers.entries()) {
      await t.api('POST', '/v1/events', { body: { contactId: c.id, name: 'purchase', value: 10, occurredAt: new Date(now + 1000).toISOString(), idempotencyKey: `holdout-order-${i}` } });
    }
    await t.runtime.idle();

    // The attribution run over today.
    const day = new Date(now);
    const from = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate())).toISOString();
    const to = new Date(Date.parse(from) + 2 * 86_400_000).toISOString();
    const started = await t.api<{ run: { runId: string } }>('POST', '/v1/attribution/runs', { body: { from, to } });
    expect(started.status).toBe(202);
    await t.runtime.idle(60_000);
    const run = await t.api<{ run: { status: string; conversions: number } }>('GET', `/v1/attribution/runs/${started.body.run.runId}`);
    expect(run.body.run).toMatchObject({ status: 'completed', conversions: 14 });

    const report = (await t.api<{ report: Report }>('GET', `/v1/campaigns/${campaign}/report`)).body.report;
    expect(report.funnel).toMatchObject({ sent: sentCampaign.counters.sent, opened: 20, clicked: 20, converted: 12 });
    expect(report.revenue).toBe(120);
    expect(report.holdout).toMatchObject({ members: sentCampaign.counters.holdout, converters: 2 });
    expect(report.variants).toEqual([expect.objectContaining({ variant: 'A', members: sentCampaign.counters.sent, converters: 12 })]);
    expect(report.lift!.treatment.rate).toBeCloseTo(12 / sentCampaign.counters.sent, 6);
    expect(report.lift!.holdout.rate).toBeCloseTo(2 / sentCampaign.counters.holdout, 6);
    expect(report.lift!.conversionRate.absolute.estimate).toBeCloseTo(12 / sentCampaign.counters.sent - 2 / sentCampaign.counters.holdout, 6);
    expect(report.forecastVsActual.email.actual).toBe(20);
    expect(report.channels).toEqual([expect.objectContaining({ channel: 'email', sent: sentCampaign.counters.sent, opened: 20, clicked: 20, converters: 12, revenue: 120 })]);
    expect(report.forecastVsActual.email.forecast).toBeGreaterThan(0);

    // Idempotent: the same range again gives the same numbers.
    const again = await t.api<{ run: { runId: string } }>('POST', '/v1/attribution/runs', { body: { from, to } });
    await t.runtime.idle(60_000);
    const report2 = (await t.api<{ report: Report & { runId: string } }>('GET', `/v1/campaigns/${campaign}/report`)).body.report;
    expect(report2.runId).toBe(again.body.run.runId);
    expect({ funnel: report2.funnel, revenue: report2.revenue, holdout: report2.holdout, lift: report2.lift }).toEqual({ funnel: report.funnel, revenue: report.revenue, holdout: report.holdout, lift: report.lift });

    // Scores moved: responders' propensity rose above the prior, buyers have value; a follow-up segment on scores picks the responders.
    const responderEmail = responders[0]!.destination.to[0]!;
    const responder = (await t.api<{ items: Array<{ scores: { propensity: { email: { mean: number } }; value: { monetary: number; frequency: number } } }> }>('GET', `/v1/contacts?email=${responderEmail}`)).body.items[0]!;
    expect(responder.scores.propensity.email.mean).toBeGreaterThan(0.02);
    expect(responder.scores.value).toMatchObject({ monetary: 10, frequency: 1 });
    const silent = emails[emails.length - 1]!.destination.to[0]!;
    const silentContact = (await t.api<{ items: Array<{ scores: { propensity: { email: { mean: number } } } }> }>('GET', `/v1/contacts?email=${silent}`)).body.items[0]!;
    // A send of today has not had its response window yet: no evidence against the silent contact, who keeps the prior.
    expect(silentContact.scores.propensity.email.mean).toBeCloseTo(PRIORS.propensity.email.alpha / (PRIORS.propensity.email.alpha + PRIORS.propensity.email.beta), 6);
    const followUp = await t.api<{ count: number }>('POST', '/v1/segments/preview', { body: { rule: { and: [{ field: 'tags', op: 'contains', value: 'loop' }, { score: 'propensity.email', op: 'gt', value: 0.03 }] } } });
    expect(followUp.body.count).toBe(20);

    // Segment statistics were refreshed by the run with the new scores.
    const stats = (await t.api<{ stats: { size: number; computedAt: string } }>('GET', `/v1/segments/${engaged}`)).body.stats;
    expect(stats.size).toBe(20);

    // The HTML report shows the same numbers.
    const page = await t.api<string>('GET', `/v1/campaigns/${campaign}/report.html`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<svg');
    expect(page.text).toMatch(/data-kpi="conversions">Attributed conversions<b>12<\/b>/);
  }, 180_000);
});

describe('historical import', () => {
  test('a past campaign imported with its holdout, interactions and conversions flows through attribution and lift; importing it again changes nothing', async () => {
    const rows = ['email,consent_email,consent_email_version', ...Array.from({ length: 12 }, (_, i) => `hist${i}@example.com,yes,v1`)];
    await t.api('POST', '/v1/contacts/import', { rawBody: rows.join('\n'), headers: { 'content-type': 'text/csv' } });
    const launched = Date.parse('2026-10-01T09:00:00Z');
    const at = (hours: number) => new Date(launched + hours * 3_600_000).toISOString();
    const body = {
      campaign: { externalId: 'pinpoint-campaign-42', name: 'October newsletter (Pinpoint)', launchedAt: at(0), goal: { event: 'purchase', attributionWindowDays: 7, model: 'linear' }, costPerMessage: { email: 0.001 } },
      sends: Array.from({ length: 12 }, (_, i) => ({ contact: { email: `hist${i}@example.com` }, channel: 'email', sentAt: at(0), holdout: i >= 10, variant: i % 2 ? 'B' : 'A' })),
      interactions: [
        { contact: { email: 'hist0@example.com' }, type: 'opened', occurredAt: at(1) },
        { contact: { email: 'hist0@example.com' }, type: 'clicked', occurredAt: at(2), link: 'https://shop.example.com' },
        { contact: { email: 'hist1@example.com' }, type: 'opened', occurredAt: at(3) },
      ],
      conversions: [
        { contact: { email: 'hist0@example.com' }, name: 'purchase', value: 30, occurredAt: at(24), idempotencyKey: 'old-order-1' },
        { contact: { email: 'hist1@example.com' }, name: 'purchase', value: 20, occurredAt: at(48), idempotencyKey: 'old-order-2' },
        { contact: { email: 'hist11@example.com' }, name: 'purchase', value: 10, occurredAt: at(30), idempotencyKey: 'old-order-3' },
        { contact: { email: 'nobody@example.com' }, name: 'purchase', value: 10, occurredAt: at(30) },
      ],
    };
    const first = await t.api<{ campaignId: string; created: boolean; summary: Record<string, number>; failures: Array<{ path: string }> }>('POST', '/v1/campaigns/import', { body });
    expect(first.status, first.text).toBe(201);
    expect(first.body.summary).toEqual({ sends: 10, holdout: 2, interactions: 3, conversions: 3, events: 0, failed: 1 });
    expect(first.body.failures.map((f) => f.path)).toEqual(['conversions[3].contact']);
    const again = await t.api<{ created: boolean; summary: Record<string, number> }>('POST', '/v1/campaigns/import', { body });
    expect(again.status).toBe(200);
    expect(again.body.summary).toMatchObject({ interactions: 0, conversions: 0 });

    const run = await t.api<{ run: { runId: string } }>('POST', '/v1/attribution/runs', { body: { from: '2026-10-01T00:00:00Z', to: '2026-10-10T00:00:00Z' } });
    expect(run.status).toBe(202);
    await t.runtime.idle(60_000);
    const report = (await t.api<{ report: Report & { holdout: { members: number; converters: number; revenue: number } } }>('GET', `/v1/campaigns/${first.body.campaignId}/report`)).body.report;
    expect(report.funnel).toMatchObject({ sent: 10, opened: 2, clicked: 1, converted: 2 });
    expect(report.revenue).toBe(50);
    expect(report.holdout).toMatchObject({ members: 2, converters: 1, revenue: 10 });
    expect(report.variants.map((v) => [v.variant, v.members, v.converters]).sort()).toEqual([
      ['A', 5, 1],
      ['B', 5, 1],
    ]);
    expect(report.lift!.treatment.rate).toBeCloseTo(0.2, 6);
    expect(report.lift!.holdout.rate).toBeCloseTo(0.5, 6);
  }, 120_000);

  test('a history with future-dated rows is refused whole: 400 naming each row and field, nothing written; the corrected history then imports', async () => {
    const rows = ['email,consent_email,consent_email_version', ...Array.from({ length: 3 }, (_, i) => `ahead${i}@example.com,yes,v1`)];
    await t.api('POST', '/v1/contacts/import', { rawBody: rows.join('\n'), headers: { 'content-type': 'text/csv' } });
    const ago = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    const body = {
      campaign: { externalId: 'old-tool-ahead', name: 'Sent from a clock that runs ahead', launchedAt: tomorrow, goal: { event: 'purchase', attributionWindowDays: 7, model: 'last_touch' } },
      sends: [
        { contact: { email: 'ahead0@example.com' }, channel: 'email', sentAt: ago(3) },
        { contact: { email: 'ahead1@example.com' }, channel: 'email', sentAt: tomorrow },
        { contact: { email: 'ahead2@example.com' }, channel: 'email', sentAt: ago(3), holdout: true },
      ],
      interactions: [
        { contact: { email: 'ahead0@example.com' }, type: 'opened', occurredAt: ago(2) },
        { contact: { email: 'ahead0@example.com' }, type: 'clicked', occurredAt: tomorrow, link: 'https://shop.example.com' },
      ],
      conversions: [
        { contact: { email: 'ahead0@example.com' }, name: 'purchase', value: 30, occurredAt: tomorrow, idempotencyKey: 'ahead-order-1' },
        { contact: { email: 'ahead2@example.com' }, name: 'purchase', value: 10, occurredAt: ago(1), idempotencyKey: 'ahead-order-2' },
      ],
    };
    const refused = await t.api<{ error: { code: string; issues: Array<{ path: string; message: string }> } }>('POST', '/v1/campaigns/import', { body });
    expect(refused.status, refused.text).toBe(400);
    expect(refused.body.error.code).toBe('validation_failed');
    expect(refused.body.error.issues.map((i) => i.path).sort()).toEqual(['campaign.launchedAt', 'conversions[0].occurredAt', 'interactions[1].occurredAt', 'sends[1].sentAt']);
    expect(refused.body.error.issues.every((i) => /future/.test(i.message))).toBe(true);

    // Nothing written: no campaign, no send records, no timeline entries for any of the rows.
    const campaignId = importedCampaignId('old-tool-ahead');
    expect((await t.api('GET', `/v1/campaigns/${campaignId}`)).status).toBe(404);
    const sends = await documentClient.send(new QueryCommand({ TableName: t.runtime.tableNames.sends!, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `${campaignId}#1` } }));
    expect(sends.Items).toEqual([]);
    await t.runtime.idle();
    const timelineTypes = async () => {
      const types: string[] = [];
      for (let i = 0; i < 3; i++) {
        const id = (await t.api<{ items: Array<{ id: string }> }>('GET', `/v1/contacts?email=ahead${i}@example.com`)).body.items[0]!.id;
        const items = (await t.api<{ items: Array<{ type: string }> }>('GET', `/v1/contacts/${id}/timeline?limit=50`)).body.items;
        types.push(...items.map((item) => item.type).filter((type) => ['sent', 'opened', 'clicked', 'converted'].includes(type)));
      }
      return types.sort();
    };
    expect(await timelineTypes()).toEqual([]);

    // With the dates corrected the same history imports as new, the refused request having left nothing behind.
    const fixed = {
      campaign: { ...body.campaign, launchedAt: ago(3) },
      sends: body.sends.map((send) => ({ ...send, sentAt: ago(3) })),
      interactions: body.interactions.map((interaction) => ({ ...interaction, occurredAt: ago(2) })),
      conversions: body.conversions.map((conversion) => ({ ...conversion, occurredAt: ago(1) })),
    };
    const imported = await t.api<{ campaignId: string; created: boolean; summary: Record<string, number> }>('POST', '/v1/campaigns/import', { body: fixed });
    expect(imported.status, imported.text).toBe(201);
    expect(imported.body).toMatchObject({ campaignId, created: true, summary: { sends: 2, holdout: 1, interactions: 2, conversions: 2, failed: 0 } });
    expect(await timelineTypes()).toEqual(['clicked', 'converted', 'converted', 'opened', 'sent', 'sent']);
  }, 60_000);
});

describe('behaviour counters past retention', () => {
  test('the nightly run removes them in the score update of each contact it passes, keeping the counters rules still read', async () => {
    const now = Date.now();
    const oldest = hourOf(now) - ACTIVITY_RETENTION_DAYS * 24;
    const expired = { [`sent|email|${oldest - 30}`]: 1, [`sent|c:old-campaign|${oldest - 30}`]: 1, [`opened|email|${oldest - 2}`]: 2 };
    const liveMonth = new Date(now).toISOString().slice(0, 7);
    const oldMonth = new Date(now - (ACTIVITY_RETENTION_DAYS + 40) * 86_400_000).toISOString().slice(0, 7);
    const fresh = { [`sent|email|${oldest + 1}`]: 1, [`clicked|email|${hourOf(now) - 5}`]: 1 };
    const created = await t.api<{ contact: { id: string } }>('POST', '/v1/contacts', { body: { email: 'retention@example.com', consent: { email: { status: 'confirmed', wordingVersion: 'v1' } } } });
    expect(created.status, created.text).toBe(201);
    const id = created.body.contact.id;
    await documentClient.send(new UpdateCommand({ TableName: t.runtime.tableNames.contacts!, Key: { id }, UpdateExpression: 'SET activity = :a ADD activityMonths :m', ExpressionAttributeValues: { ':a': { ...expired, ...fresh }, ':m': new Set([oldMonth]) } }));
    const bought = await t.api('POST', '/v1/events', { body: { email: 'retention@example.com', name: 'purchase', value: 5, occurredAt: new Date(now).toISOString(), idempotencyKey: 'retention-order' } });
    expect(bought.status, bought.text).toBe(201);
    await t.runtime.idle();
    const from = new Date(Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), new Date(now).getUTCDate())).toISOString();
    const run = await t.api<{ run: { runId: string } }>('POST', '/v1/attribution/runs', { body: { from, to: new Date(Date.parse(from) + 86_400_000).toISOString() } });
    expect(run.status).toBe(202);
    await t.runtime.idle(60_000);
    expect((await t.api<{ run: { status: string } }>('GET', `/v1/attribution/runs/${run.body.run.runId}`)).body.run.status).toBe('completed');

    const active = (await documentClient.send(new GetCommand({ TableName: t.runtime.tableNames.contacts!, Key: { id } }))).Item as { activity: Record<string, number>; activityMonths: Set<string>; scores: { updatedAt?: string } };
    expect(Object.keys(active.activity).filter((k) => k in expired)).toEqual([]);
    expect(active.activity).toEqual(fresh);
    // The month of today's interactions is listed by the run (the old one is ignored by readers, its item gone by TTL).
    expect([...active.activityMonths].sort()).toEqual([oldMonth, liveMonth].sort());
    expect(active.scores.updatedAt).toBeDefined();
  }, 120_000);
});
