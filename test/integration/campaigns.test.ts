import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import { newContact } from '../../shared/contacts/contact-store.ts';
import type { Contact } from '../../shared/contacts/model.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => {
  await t?.stop();
});

interface InboxEmail {
  subject: string;
  destination: { to: string[] };
  body: { html?: string; text?: string };
}
async function inbox(): Promise<InboxEmail[]> {
  return ((await (await fetch(`${t.runtime.urls.ses}/store`)).json()) as { emails: InboxEmail[] }).emails;
}

interface CampaignView {
  campaign: { id: string; status: string; counters: { queued: number; sent: number; holdout: number; deferred: number; failed: number; suppressed: Record<string, number> }; forecast: { email: { expectedResponses: number } } | null; runId?: string };
}

async function createTemplate(body: Record<string, unknown>): Promise<string> {
  const response = await t.api<{ template: { id: string } }>('POST', '/v1/templates', { body });
  expect(response.status, response.text).toBe(201);
  return response.body.template.id;
}

async function createSegment(rule: unknown, name = 'seg'): Promise<string> {
  const response = await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name, rule } });
  expect(response.status, response.text).toBe(201);
  return response.body.segment.id;
}

async function launchAndSettle(body: Record<string, unknown>): Promise<CampaignView['campaign']> {
  const created = await t.api<CampaignView>('POST', '/v1/campaigns', { body });
  expect(created.status, created.text).toBe(201);
  const launched = await t.api<CampaignView>('POST', `/v1/campaigns/${created.body.campaign.id}/launch`);
  expect(launched.status, launched.text).toBe(202);
  await t.runtime.idle(60_000);
  return (await t.api<CampaignView>('GET', `/v1/campaigns/${created.body.campaign.id}`)).body.campaign;
}

const contactBody = (email: string, extra: Record<string, unknown> = {}) => ({ email, tags: ['e2e'], ...extra });
const confirmed = { email: { status: 'confirmed', wordingVersion: 'e2e-v1' } };

describe('an email campaign end to end', () => {
  test('every eligible contact gets exactly one personalised email; suppressed, unsubscribed, pending and unconsented ones get nothing', async () => {
    const emailTemplate = await createTemplate({
      channel: 'email',
      name: 'Welcome',
      subject: 'Hello {{default contact.firstName "friend"}}',
      html: '<html><body><p>Hi {{default contact.firstName "friend"}}, 20% off for you.</p></body></html>',
      text: 'Hi {{default contact.firstName "friend"}}, 20% off for you.',
    });
    await t.api('POST', '/v1/contacts', { body: contactBody('ada@example.com', { attributes: { firstName: 'Ada' }, consent: confirmed }) });
    await t.api('POST', '/v1/contacts', { body: contactBody('nameless@example.com', { consent: confirmed }) });
    await t.api('POST', '/v1/contacts', { body: contactBody('suppressed@example.com', { consent: confirmed }) });
    await t.api('POST', '/v1/suppressions', { body: { email: 'suppressed@example.com', channel: 'email', reason: 'manual' } });
    await t.api('POST', '/v1/contacts', { body: contactBody('gone@example.com', { consent: { email: { status: 'withdrawn', wordingVersion: 'e2e-v1' } } }) });
    await t.api('POST', '/v1/contacts', { body: contactBody('silent@example.com') });
    // A double-opt-in form submission: consent pending until confirmed.
    const form = await t.api<{ form: { id: string } }>('POST', '/v1/forms', {
      body: { name: 'DOI', fields: [{ name: 'email', type: 'email', required: true }], consent: { email: { text: 'News', version: 'f1' } }, doubleOptIn: true, tags: ['e2e'] },
    });
    await t.api('POST', `/f/${form.body.form.id}`, { token: null, body: { email: 'pending@example.com', consent_email: true } });
    await t.runtime.idle();
    const before = (await inbox()).length;

    const segmentId = await createSegment({ field: 'tags', op: 'contains', value: 'e2e' }, 'e2e contacts');
    const campaign = await launchAndSettle({
      name: 'Spring sale',
      segmentId,
      channels: ['email'],
      variants: [{ name: 'A', weight: 1, templates: { email: emailTemplate } }],
      holdoutPercent: 0,
      schedule: { type: 'immediate' },
      limits: { sendRatePerSecond: { email: 1000 } },
    });

    const emails = (await inbox()).slice(before);
    expect(emails.map((e) => e.destination.to[0]).sort()).toEqual(['ada@example.com', 'nameless@example.com']);
    const ada = emails.find((e) => e.destination.to[0] === 'ada@example.com')!;
    expect(ada.subject).toBe('Hello Ada');
    expect(ada.body.text).toContain('Hi Ada, 20% off');
    expect(ada.body.text).toMatch(/Unsubscribe: http:\/\/127\.0\.0\.1:\d+\/u\//);
    expect(emails.find((e) => e.destination.to[0] === 'nameless@example.com')!.subject).toBe('Hello friend');

    expect(campaign.status).toBe('completed');
    expect(campaign.counters).toMatchObject({ sent: 2, queued: 0, deferred: 0, failed: 0, holdout: 0 });
    expect(campaign.counters.suppressed).toEqual({ suppressed: 1, consent_withdrawn: 1, pending_confirmation: 1, no_consent: 1 });
    expect(campaign.forecast?.email.expectedResponses).toBeGreaterThan(0);

    // The send is on the contact's timeline.
    const adaId = (await t.api<{ items: Array<{ id: string }> }>('GET', '/v1/contacts?email=ada@example.com')).body.items[0]!.id;
    const timeline = await t.api<{ items: Array<{ type: string; campaignId?: string }> }>('GET', `/v1/contacts/${adaId}/timeline`);
    expect(timeline.body.items.filter((i) => i.type === 'sent' && i.campaignId === campaign.id)).toHaveLength(1);

    // A second launch is refused; a duplicate launch message and a redelivered send message send nothing more.
    expect((await t.api('POST', `/v1/campaigns/${campaign.id}/launch`)).status).toBe(409);
    t.runtime.queues.get('launches')!.send(JSON.stringify({ kind: 'launch', campaignId: campaign.id }));
    t.runtime.queues.get('emailSends')!.send(JSON.stringify({ campaignId: campaign.id, runId: campaign.runId, channel: 'email', recipients: [{ contactId: adaId, variant: 'A' }] }));
    await t.runtime.idle();
    expect((await inbox()).length).toBe(before + 2);
    expect((await t.api('POST', `/v1/campaigns/${campaign.id}/cancel`)).status).toBe(409);

    // A second campaign with a daily cap of 1 skips the contacts the first one reached today.
    const second = await launchAndSettle({
      name: 'Follow-up',
      segmentId,
      channels: ['email'],
      variants: [{ name: 'A', weight: 1, templates: { email: emailTemplate } }],
      holdoutPercent: 0,
      schedule: { type: 'immediate' },
      limits: { frequencyCap: { perDay: 1 }, sendRatePerSecond: { email: 1000 } },
    });
    expect(second.counters.sent).toBe(0);
    expect(second.counters.suppressed.frequency_cap).toBe(2);
    expect((await inbox()).length).toBe(before + 2);
  }, 120_000);
});

describe('holdout and variants at scale', () => {
  test('on 10,000 contacts the holdout share is within 1.5 points of 10 % and variants split by weight', async () => {
    const now = new Date().toISOString();
    const contacts: Contact[] = Array.from({ length: 10_000 }, (_, i) => {
      const c = newContact(`22222222-0000-4000-8000-${String(i).padStart(12, '0')}`, now);
      c.email = `scale${i}@example.com`;
      c.tags = ['scale'];
      return c;
    });
    for (let i = 0; i < contacts.length; i += 25 * 8) {
      await Promise.all(
        Array.from({ length: 8 }, (_, j) => contacts.slice(i + j * 25, i + (j + 1) * 25)).filter((chunk) => chunk.length).map((chunk) =>
          documentClient.send(new BatchWriteCommand({ RequestItems: { [t.runtime.tableNames.contacts!]: chunk.map((Item) => ({ PutRequest: { Item } })) } })),
        ),
      );
    }
    const template = await createTemplate({ channel: 'email', name: 'Scale', subject: 'x', html: '<p>x</p>', text: 'x' });
    const segmentId = await createSegment({ field: 'tags', op: 'contains', value: 'scale' }, 'scale');
    const campaign = await launchAndSettle({
      name: 'Scale',
      segmentId,
      channels: ['email'],
      variants: [
        { name: 'A', weight: 3, templates: { email: template } },
        { name: 'B', weight: 1, templates: { email: template } },
      ],
      holdoutPercent: 10,
      schedule: { type: 'immediate' },
    });
    // Nobody consented: everyone is either holdout or skipped, so nothing is sent and the split is visible in the records.
    expect(campaign.counters.holdout + (campaign.counters.suppressed.no_consent ?? 0)).toBe(10_000);
    expect(Math.abs(campaign.counters.holdout / 10_000 - 0.1)).toBeLessThanOrEqual(0.015);
    const variants: Record<string, number> = {};
    let start: Record<string, unknown> | undefined;
    do {
      const page = await documentClient.send(
        new QueryCommand({ TableName: t.runtime.tableNames.sends, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `${campaign.id}#1` }, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) if (item.variant) variants[item.variant as string] = (variants[item.variant as string] ?? 0) + 1;
      start = page.LastEvaluatedKey;
    } while (start);
    const assigned = (variants.A ?? 0) + (variants.B ?? 0);
    expect(assigned).toBe(10_000 - campaign.counters.holdout);
    expect(Math.abs((variants.A ?? 0) / assigned - 0.75)).toBeLessThanOrEqual(0.02);
  }, 180_000);
});

describe('SMS and quiet hours', () => {
  test('a contact whose local time is within quiet hours is deferred to the end of them, not dropped', async () => {
    // A zone where it is night right now (between 22:00 and 06:00 local).
    const zones = ['Pacific/Auckland', 'Asia/Tokyo', 'Asia/Kolkata', 'Europe/Berlin', 'America/New_York', 'America/Los_Angeles', 'Pacific/Honolulu'];
    const hourIn = (zone: string) => Number(new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', hourCycle: 'h23' }).format(new Date()));
    const nightZone = zones.find((z) => hourIn(z) >= 22 || hourIn(z) < 6)!;
    const dayZone = zones.find((z) => hourIn(z) >= 10 && hourIn(z) < 19)!;
    expect(nightZone && dayZone).toBeTruthy();
    const sms = await createTemplate({ channel: 'sms', name: 'Flash', body: 'Hi {{default contact.firstName "there"}}: flash sale today!' });
    await t.api('POST', '/v1/contacts', { body: { phone: '+447400111001', timezone: nightZone, tags: ['quiet'], attributes: { firstName: 'Nox' }, consent: { sms: { status: 'confirmed', wordingVersion: 's1' } } } });
    await t.api('POST', '/v1/contacts', { body: { phone: '+447400111002', timezone: dayZone, tags: ['quiet'], attributes: { firstName: 'Dia' }, consent: { sms: { status: 'confirmed', wordingVersion: 's1' } } } });
    const segmentId = await createSegment({ field: 'tags', op: 'contains', value: 'quiet' }, 'quiet');
    t.runtime.smsSink.clear();
    const campaign = await launchAndSettle({
      name: 'Flash',
      segmentId,
      channels: ['sms'],
      variants: [{ name: 'A', weight: 1, templates: { sms: sms } }],
      holdoutPercent: 0,
      schedule: { type: 'immediate' },
      limits: { sendRatePerSecond: { sms: 100 } },
    });
    expect(t.runtime.smsSink.messages.map((m) => [m.to, m.body])).toEqual([['+447400111002', 'Hi Dia: flash sale today!\nReply STOP to opt out']]);
    expect(campaign.status).toBe('running');
    expect(campaign.counters).toMatchObject({ sent: 1, deferred: 1 });
    const deferred = (
      await documentClient.send(
        new QueryCommand({ TableName: t.runtime.tableNames.sends, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `${campaign.id}#1` } }),
      )
    ).Items!.find((r) => r.status === 'deferred')!;
    // Deferred to 08:00 in the contact's own zone.
    const local = new Intl.DateTimeFormat('en-GB', { timeZone: nightZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(deferred.dueAt as string));
    expect(local).toBe('08:00');
  }, 120_000);
});

describe('scheduling', () => {
  test('a one-time campaign gets an at() schedule in the launch group that cancel removes; a recurring one gets a cron in its time zone', async () => {
    const template = await createTemplate({ channel: 'email', name: 'Later', subject: 'x', html: '<p>x</p>', text: 'x' });
    const segmentId = await createSegment({ field: 'tags', op: 'contains', value: 'nobody' }, 'later');
    const base = { segmentId, channels: ['email'], variants: [{ name: 'A', weight: 1, templates: { email: template } }], holdoutPercent: 0 };

    // June of next year: always ahead, and always summer time in Berlin.
    const year = new Date().getUTCFullYear() + 1;
    const oneTime = await t.api<CampaignView>('POST', '/v1/campaigns', { body: { ...base, name: 'Next year', schedule: { type: 'at', at: `${year}-06-01T09:00`, timezone: 'Europe/Berlin' } } });
    const launched = await t.api<CampaignView & { campaign: { scheduleName: string } }>('POST', `/v1/campaigns/${oneTime.body.campaign.id}/launch`);
    expect(launched.body.campaign.status).toBe('scheduled');
    const schedule = t.runtime.scheduler.get(launched.body.campaign.scheduleName, 'touchloop-campaigns')!;
    // 09:00 in Berlin (CEST, UTC+2) is 07:00 UTC.
    expect(schedule).toMatchObject({ expression: `at(${year}-06-01T07:00:00)`, timezone: 'UTC', actionAfterCompletion: 'DELETE' });
    expect(schedule.target.arn).toMatch(/:launches$/);
    const cancelled = await t.api<CampaignView>('POST', `/v1/campaigns/${oneTime.body.campaign.id}/cancel`);
    expect(cancelled.body.campaign.status).toBe('cancelled');
    expect(t.runtime.scheduler.get(launched.body.campaign.scheduleName, 'touchloop-campaigns')).toBeUndefined();
    expect((await t.api('POST', `/v1/campaigns/${oneTime.body.campaign.id}/launch`)).status).toBe(409);

    const local = await t.api<CampaignView & { campaign: { scheduleName: string } }>('POST', '/v1/campaigns', {
      body: { ...base, name: 'Local nine', schedule: { type: 'at', at: `${year}-06-01T09:00`, localTime: true } },
    });
    const localLaunched = await t.api<CampaignView & { campaign: { scheduleName: string } }>('POST', `/v1/campaigns/${local.body.campaign.id}/launch`);
    // Starts when 09:00 first happens on Earth (UTC+14), i.e. 19:00 UTC the day before.
    expect(t.runtime.scheduler.get(localLaunched.body.campaign.scheduleName, 'touchloop-campaigns')!.expression).toBe(`at(${year}-05-31T19:00:00)`);

    const recurring = await t.api<CampaignView>('POST', '/v1/campaigns', {
      body: { ...base, name: 'Weekly', schedule: { type: 'recurring', cron: 'cron(0 9 ? * MON *)', timezone: 'America/New_York' } },
    });
    const recurringLaunched = await t.api<CampaignView & { campaign: { scheduleName: string } }>('POST', `/v1/campaigns/${recurring.body.campaign.id}/launch`);
    expect(t.runtime.scheduler.get(recurringLaunched.body.campaign.scheduleName, 'touchloop-campaigns')).toMatchObject({
      expression: 'cron(0 9 ? * MON *)',
      timezone: 'America/New_York',
      actionAfterCompletion: 'NONE',
    });
    // Firing the schedule now runs it (the local route that fires a schedule on demand).
    const fired = await t.api('POST', `/_local/schedules/${recurringLaunched.body.campaign.scheduleName}/run?group=touchloop-campaigns`, { token: null });
    expect(fired.status).toBe(202);
    await t.runtime.idle();
    const afterRun = (await t.api<CampaignView>('GET', `/v1/campaigns/${recurring.body.campaign.id}`)).body.campaign;
    expect(afterRun.runId).toMatch(/^r\d{12}$/);
    // An empty audience: the run is done and the campaign waits for its next firing.
    expect(afterRun.status).toBe('scheduled');
  }, 60_000);

  test('a schedule that starts in the past → 400 at its field (use "immediate" to start now), the campaign stays a draft and nothing is scheduled; a client clock a little slow is accepted', async () => {
    const template = await createTemplate({ channel: 'email', name: 'Past', subject: 'x', html: '<p>x</p>', text: 'x' });
    const segmentId = await createSegment({ field: 'tags', op: 'contains', value: 'nobody' }, 'past');
    const base = { segmentId, channels: ['email'], variants: [{ name: 'A', weight: 1, templates: { email: template } }], holdoutPercent: 0 };
    const wallClock = (instantMs: number) => new Date(instantMs).toISOString().slice(0, 19); // UTC wall clock, YYYY-MM-DDTHH:mm:ss
    type ErrorView = { error: { code: string; issues: Array<{ path: string; message: string }> } };
    const launchRefused = async (name: string, schedule: Record<string, unknown>, path: string) => {
      const created = await t.api<CampaignView>('POST', '/v1/campaigns', { body: { ...base, name, schedule } });
      expect(created.status, created.text).toBe(201);
      const id = created.body.campaign.id;
      const launched = await t.api<ErrorView>('POST', `/v1/campaigns/${id}/launch`);
      expect(launched.status, `${name}: ${launched.text}`).toBe(400);
      expect(launched.body.error.code).toBe('validation_failed');
      expect(launched.body.error.issues.map((i) => i.path)).toEqual([path]);
      const after = (await t.api<CampaignView & { campaign: { scheduleName?: string; launchedAt?: string } }>('GET', `/v1/campaigns/${id}`)).body.campaign;
      expect(after).toMatchObject({ status: 'draft', counters: { queued: 0, sent: 0 } });
      expect(after.scheduleName).toBeUndefined();
      expect(t.runtime.scheduler.get(`campaign-${id}`, 'touchloop-campaigns')).toBeUndefined();
      return launched.body.error.issues[0]!.message;
    };

    // Yesterday at this hour, Berlin time.
    const yesterday = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Berlin', dateStyle: 'short', timeStyle: 'short' }).format(new Date(Date.now() - 86_400_000)).replace(' ', 'T');
    expect(await launchRefused('Yesterday', { type: 'at', at: yesterday, timezone: 'Europe/Berlin' }, 'schedule.at')).toMatch(/immediate/);
    // Two hours from now in UTC has already come in UTC+14: contacts there would get it late.
    expect(await launchRefused('Local, already passed out east', { type: 'at', at: wallClock(Date.now() + 2 * 3_600_000), localTime: true }, 'schedule.at')).toMatch(/UTC\+14/);
    // A cron whose years are over never fires.
    await launchRefused('Recurring, over', { type: 'recurring', cron: `cron(0 9 ? * MON ${new Date().getUTCFullYear() - 1})`, timezone: 'America/New_York' }, 'schedule.cron');

    // "Now" from a client whose clock is half a minute slow is a start now, not an error.
    const nowish = await t.api<CampaignView>('POST', '/v1/campaigns', { body: { ...base, name: 'Now-ish', schedule: { type: 'at', at: wallClock(Date.now() - 30_000) } } });
    const launched = await t.api<CampaignView>('POST', `/v1/campaigns/${nowish.body.campaign.id}/launch`);
    expect(launched.status, launched.text).toBe(202);
    // A recurring schedule is refused only when it never fires again: past Mondays are no reason.
    const weekly = await t.api<CampaignView>('POST', '/v1/campaigns', { body: { ...base, name: 'Weekly', schedule: { type: 'recurring', cron: 'cron(0 9 ? * MON *)', timezone: 'Europe/Berlin' } } });
    expect((await t.api('POST', `/v1/campaigns/${weekly.body.campaign.id}/launch`)).status).toBe(202);
    await t.runtime.idle();
  }, 60_000);

  test('invalid campaigns → 400 with paths; unknown references are named', async () => {
    const response = await t.api<{ error: { issues: Array<{ path: string }> } }>('POST', '/v1/campaigns', {
      body: {
        name: '',
        segmentId: '00000000-0000-4000-8000-000000000000',
        channels: ['email', 'email'],
        variants: [{ name: 'A', weight: 0, templates: {} }],
        schedule: { type: 'recurring', cron: '0 9 * * 1', timezone: 'Mars/Olympus' },
        limits: { quietHours: { sms: { start: '25:00', end: '08:00' } } },
      },
    });
    expect(response.status).toBe(400);
    const paths = response.body.error.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['name', 'variants[0].weight', 'schedule.cron', 'schedule.timezone', 'limits.quietHours.sms.start']));
    const unknown = await t.api<{ error: { issues: Array<{ path: string }> } }>('POST', '/v1/campaigns', {
      body: { name: 'x', segmentId: '00000000-0000-4000-8000-000000000000', channels: ['email'], variants: [{ name: 'A', weight: 1, templates: { email: '00000000-0000-4000-8000-000000000001' } }], schedule: { type: 'immediate' } },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.issues.map((i) => i.path).sort()).toEqual(['segmentId', 'variants[0].templates.email']);
  });

  test('numbers DynamoDB cannot store (1e300, 1e-300) → 400 at their paths, not a 500 from the write (found by the route fuzz)', async () => {
    // Prepare
    const segmentId = await createSegment({ reachable: 'email' }, 'numbers');
    const templateId = await createTemplate({ channel: 'email', name: 'numbers', subject: 's', html: '<p>x</p>', text: 'x' });
    const base = { name: 'Numbers', segmentId, channels: ['email'], variants: [{ name: 'A', weight: 1, templates: { email: templateId } }], schedule: { type: 'immediate' } };
    const cases: Array<[string, Record<string, unknown>]> = [
      ['limits.budget', { limits: { budget: 1e300 } }],
      ['limits.budget', { limits: { budget: 1e-300 } }],
      ['holdoutPercent', { holdoutPercent: 1e-300 }],
      ['variants[0].weight', { variants: [{ name: 'A', weight: 1e-300, templates: { email: templateId } }] }],
      ['goal.halfLifeDays', { goal: { halfLifeDays: 1e-300 } }],
      ['limits.sendRatePerSecond.email', { limits: { sendRatePerSecond: { email: 1e-300 } } }],
      ['costPerMessage.email', { costPerMessage: { email: 1e-300 } }],
    ];
    for (const [path, change] of cases) {
      // Act
      const response = await t.api<{ error: { issues: Array<{ path: string }> } }>('POST', '/v1/campaigns', { body: { ...base, ...change } });
      // Assess
      expect(response.status, `${path}: ${response.text}`).toBe(400);
      expect(response.body.error.issues.map((i) => i.path)).toEqual([path]);
    }
    const imported = await t.api<{ error: { issues: Array<{ path: string }> } }>('POST', '/v1/campaigns/import', {
      body: { campaign: { externalId: 'numbers', name: 'n', launchedAt: '2026-01-01T00:00:00Z', costPerMessage: { sms: 1e-300 } }, sends: [{ contact: { email: 'n@example.com' }, channel: 'email', sentAt: '2026-01-01T00:00:00Z' }] },
    });
    expect(imported.status).toBe(400);
    expect(imported.body.error.issues.map((i) => i.path)).toEqual(['campaign.costPerMessage.sms']);
  });
});

describe('one-click unsubscribe', () => {
  test('GET shows a page and changes nothing; POST (RFC 8058) unsubscribes at once; a second campaign sends nothing to that address', async () => {
    const template = await createTemplate({ channel: 'email', name: 'Unsub', subject: 'News', html: '<p>News</p>', text: 'News' });
    await t.api('POST', '/v1/contacts', { body: { email: 'leaver@example.com', tags: ['unsub'], consent: confirmed } });
    await t.api('POST', '/v1/contacts', { body: { email: 'stayer@example.com', tags: ['unsub'], consent: confirmed } });
    const segmentId = await createSegment({ field: 'tags', op: 'contains', value: 'unsub' }, 'unsub');
    const campaign = { segmentId, channels: ['email'], variants: [{ name: 'A', weight: 1, templates: { email: template } }], holdoutPercent: 0, schedule: { type: 'immediate' }, limits: { sendRatePerSecond: { email: 1000 } } };
    const before = (await inbox()).length;
    await launchAndSettle({ ...campaign, name: 'First' });
    const leaverMail = (await inbox()).slice(before).find((e) => e.destination.to[0] === 'leaver@example.com')!;
    const link = /Unsubscribe: (\S+)/.exec(leaverMail.body.text ?? '')![1]!;

    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post">');
    const leaverId = (await t.api<{ items: Array<{ id: string }> }>('GET', '/v1/contacts?email=leaver@example.com')).body.items[0]!.id;
    expect((await t.api<{ reachable: { email: boolean } }>('GET', `/v1/contacts/${leaverId}`)).body.reachable.email).toBe(true);

    const tampered = await fetch(`${link.slice(0, -2)}xx`, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(tampered.status).toBe(400);
    const oneClick = await fetch(link, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(oneClick.status).toBe(200);
    const view = await t.api<{ contact: { consent: { email: { status: string } } }; suppressed: { email: { reasons: string[] } | null }; reachable: { email: boolean } }>('GET', `/v1/contacts/${leaverId}`);
    expect(view.body.contact.consent.email.status).toBe('withdrawn');
    expect(view.body.suppressed.email?.reasons).toEqual(['unsubscribed']);
    expect(view.body.reachable.email).toBe(false);
    expect((await fetch(link, { method: 'POST' })).status).toBe(200); // twice is harmless

    const second = (await inbox()).length;
    const again = await launchAndSettle({ ...campaign, name: 'Second' });
    expect((await inbox()).slice(second).map((e) => e.destination.to[0])).toEqual(['stayer@example.com']);
    expect(again.counters.suppressed.consent_withdrawn).toBe(1);
  }, 120_000);
});
