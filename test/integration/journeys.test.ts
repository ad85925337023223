/**
 * Journeys through the local runtime, with its controllable clock (infra/local/clock.ts): a
 * welcome series from a form to a goal, waits that wake, events that release them, entry rules,
 * guardrails shared with campaigns, pause/resume/stop, versions, and the hostile cases (50
 * submissions at once, a duplicated wake-up, a crash between a send and its step's gate).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';
import { localOutbox } from '../helpers/ses.ts';
import { journeyEngineFrom } from '../../shared/journeys/wiring.ts';
import { JourneyStateStore } from '../../shared/journeys/state-store.ts';
import type { JourneyTask } from '../../events/journeys.ts';

let t: TestRuntime;
beforeAll(async () => {
  // Journey heads uncached: a journey started a moment ago takes the next event (in production, within 2 s).
  t = await startTestRuntime({ environment: { JOURNEY_CACHE_MS: '0' } });
}, 120_000);
afterAll(async () => {
  await t?.stop();
});

const outbox = () => localOutbox(t.runtime);
const mailTo = (address: string) => outbox().mailTo(address);
const smsTo = (phone: string) => outbox().smsTo(phone);

interface JourneyView {
  journey: { id: string; status: string; version: number; counts: { entries: number; holdout: number; inFlight: number; exits: Record<string, number> } };
}
interface ContactJourney {
  journeyId: string;
  entry: number;
  version: number;
  status: string;
  stepId: string | null;
  responses: string[];
  goalReached: boolean;
  exitReason?: string;
  waitingUntil?: string;
}

async function template(body: Record<string, unknown>): Promise<string> {
  const response = await t.api<{ template: { id: string } }>('POST', '/v1/templates', { body });
  expect(response.status, response.text).toBe(201);
  return response.body.template.id;
}
async function form(): Promise<string> {
  const response = await t.api<{ form: { id: string } }>('POST', '/v1/forms', {
    body: {
      name: `Signup ${randomUUID().slice(0, 6)}`,
      fields: [
        { name: 'email', type: 'email', required: true },
        { name: 'phone', type: 'phone' },
        { name: 'first_name', type: 'text', attribute: 'firstName' },
      ],
      allowedOrigins: ['https://shop.example.com'],
      consent: { email: { text: 'Send me news', version: 'news-1' }, sms: { text: 'Text me', version: 'sms-1' } },
      doubleOptIn: false,
      defaultCountry: 'GB',
      rateLimit: { perIpPerMinute: 1000, perFormPerMinute: 10000 },
    },
  });
  expect(response.status, response.text).toBe(201);
  return response.body.form.id;
}
const submit = (formId: string, fields: Record<string, unknown>) => t.api<Record<string, unknown>>('POST', `/f/${formId}`, { body: fields, token: null });
async function createJourney(body: Record<string, unknown>): Promise<string> {
  const response = await t.api<JourneyView>('POST', '/v1/journeys', { body });
  expect(response.status, response.text).toBe(201);
  return response.body.journey.id;
}
async function startJourney(id: string): Promise<void> {
  const response = await t.api<JourneyView>('POST', `/v1/journeys/${id}/start`);
  expect(response.status, response.text).toBe(202);
}
async function contactIdOf(email: string): Promise<string> {
  const response = await t.api<{ items: Array<{ id: string }> }>('GET', `/v1/contacts?email=${encodeURIComponent(email)}`);
  expect(response.body.items.length, response.text).toBe(1);
  return response.body.items[0]!.id;
}
async function journeysOf(contactId: string, journeyId: string): Promise<ContactJourney[]> {
  const response = await t.api<{ items: ContactJourney[] }>('GET', `/v1/contacts/${contactId}/journeys`);
  expect(response.status, response.text).toBe(200);
  return response.body.items.filter((i) => i.journeyId === journeyId);
}
async function view(id: string): Promise<JourneyView['journey']> {
  return (await t.api<JourneyView>('GET', `/v1/journeys/${id}`)).body.journey;
}
const purchase = (contactId: string, value = 40) => t.api('POST', '/v1/events', { body: { contactId, name: 'purchase', value, occurredAt: new Date().toISOString(), idempotencyKey: `order-${randomUUID()}` } });
/** Lets the runtime settle: queues, the timeline's stream and the journey worker. */
const settle = async () => {
  await t.runtime.idle(60_000);
  await t.runtime.idle(60_000);
};

let emailTemplate: string;
let smsTemplate: string;
let emailTemplate2: string;
beforeAll(async () => {
  emailTemplate = await template({ channel: 'email', name: 'Welcome', subject: 'Welcome {{default contact.firstName "friend"}}', html: '<html><body><p>Hi! <a href="https://shop.example.com/start">Start here</a></p></body></html>', text: 'Hi! https://shop.example.com/start' });
  emailTemplate2 = await template({ channel: 'email', name: 'Welcome v2', subject: 'Welcome aboard (v2)', html: '<html><body><p>Version two</p></body></html>', text: 'Version two' });
  smsTemplate = await template({ channel: 'sms', name: 'Nudge', body: 'Still thinking it over? Take a look: shop.example.com' });
}, 60_000);

/** The welcome series of the issue: form → email → wait 2 days → not clicked? SMS → exit; the goal purchase takes contacts out. */
const welcomeSeries = (formId: string, extra: Record<string, unknown> = {}) => ({
  name: 'Welcome series',
  entry: { type: 'event', trigger: { event: 'lead.captured', formId } },
  holdoutPercent: 0,
  start: 'welcome',
  steps: {
    welcome: { type: 'send', channels: ['email'], templates: { email: emailTemplate }, next: 'pause' },
    pause: { type: 'wait', duration: { amount: 2, unit: 'days' }, next: 'check' },
    check: { type: 'split', branches: [{ name: 'not clicked', when: { response: { step: 'welcome', type: 'clicked', responded: false } }, next: 'nudge' }], otherwise: 'done' },
    nudge: { type: 'send', channels: ['sms'], templates: { sms: smsTemplate }, next: 'done' },
    done: { type: 'exit' },
  },
  goal: { event: 'purchase', attributionWindowDays: 7 },
  limits: { quietHours: { sms: null, email: null } },
  ...extra,
});

describe('the welcome series', () => {
  test('form → email → 2 days → SMS to those who did not click; a click takes the other branch; a purchase during the wait ends it', async () => {
    const formId = await form();
    const journeyId = await createJourney(welcomeSeries(formId));
    await startJourney(journeyId);

    // Three leads from the form: one will not click, one will click, one will buy during the wait.
    const leads = ['ann', 'bob', 'cat'].map((name, i) => ({ name, email: `${name}.${randomUUID().slice(0, 8)}@example.com`, phone: `+4474001${String(Math.floor(Math.random() * 90000) + 10000)}${i}`.slice(0, 13) }));
    for (const lead of leads) expect((await submit(formId, { email: lead.email, phone: lead.phone, first_name: lead.name, consent_email: true, consent_sms: true })).status).toBeLessThan(300);
    await settle();

    const [ann, bob, cat] = await Promise.all(leads.map((l) => contactIdOf(l.email)));
    for (const lead of leads) {
      const mails = await mailTo(lead.email);
      expect(mails.map((m) => m.subject)).toEqual([`Welcome ${lead.name}`]);
    }
    for (const id of [ann!, bob!, cat!]) {
      const [state] = await journeysOf(id, journeyId);
      expect(state).toMatchObject({ status: 'waiting', stepId: 'pause', entry: 1, version: 1 });
    }

    // Bob clicks the tracked link in his email; Cat buys.
    const bobMail = (await mailTo(leads[1]!.email))[0]!;
    const link = /href="([^"]*\/t\/c\/[^"]+)"/.exec(bobMail.body.html ?? '')?.[1];
    expect(link, bobMail.body.html).toBeTruthy();
    expect((await fetch(link!.replace(/&amp;/g, '&'), { redirect: 'manual' })).status).toBe(302);
    expect((await purchase(cat!)).status).toBe(201);
    await settle();
    expect((await journeysOf(bob!, journeyId))[0]!.responses).toContain('welcome:clicked');
    expect((await journeysOf(cat!, journeyId))[0]).toMatchObject({ status: 'exited', exitReason: 'goal', goalReached: true });

    // Nothing happens before the two days are up.
    await t.runtime.advanceClock(47 * 3600_000);
    await settle();
    expect(smsTo(leads[0]!.phone)).toHaveLength(0);

    await t.runtime.advanceClock(3600_000 + 120_000);
    await settle();
    expect(smsTo(leads[0]!.phone).map((m) => m.body)).toEqual([expect.stringContaining('Still thinking it over?')]);
    expect(smsTo(leads[1]!.phone)).toHaveLength(0);
    expect(smsTo(leads[2]!.phone)).toHaveLength(0);
    expect((await journeysOf(ann!, journeyId))[0]).toMatchObject({ status: 'exited', exitReason: 'completed' });
    expect((await journeysOf(bob!, journeyId))[0]).toMatchObject({ status: 'exited', exitReason: 'completed' });

    const journey = await view(journeyId);
    expect(journey.counts).toMatchObject({ entries: 3, holdout: 0, inFlight: 0, exits: { completed: 2, goal: 1 } });
    const report = await t.api<{ report: { steps: Array<{ id: string; entered: number; send: { sent: number } | null }> } }>('GET', `/v1/journeys/${journeyId}/report`);
    expect(report.status, report.text).toBe(200);
    const steps = Object.fromEntries(report.body.report.steps.map((s) => [s.id, s]));
    expect(steps.welcome).toMatchObject({ entered: 3, send: { sent: 3 } });
    expect(steps.nudge).toMatchObject({ entered: 1, send: { sent: 1 } });
    expect(steps.check).toMatchObject({ entered: 2 });
    const page = await t.api<string>('GET', `/v1/journeys/${journeyId}/report.html`);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('<script');
    for (const id of ['welcome', 'pause', 'check', 'nudge', 'done']) expect(page.text).toContain(`data-step="${id}"`);
  }, 180_000);

  test('50 submissions of one address at once enter the contact once and send one welcome email', async () => {
    const formId = await form();
    const journeyId = await createJourney(welcomeSeries(formId));
    await startJourney(journeyId);
    const email = `burst.${randomUUID().slice(0, 8)}@example.com`;
    const answers = await Promise.all(Array.from({ length: 50 }, () => submit(formId, { email, consent_email: true })));
    expect(answers.every((a) => a.status < 300), JSON.stringify(answers.map((a) => a.status))).toBe(true);
    await settle();
    expect(await mailTo(email)).toHaveLength(1);
    const id = await contactIdOf(email);
    expect(await journeysOf(id, journeyId)).toHaveLength(1);
    expect((await view(journeyId)).counts.entries).toBe(1);
  }, 120_000);
});

describe('entry rules', () => {
  test('re-entry never: a second submission does not enter again; after N days it does, once the first pass has ended', async () => {
    const formId = await form();
    const never = await createJourney({ ...welcomeSeries(formId), name: 'never', steps: { welcome: { type: 'send', channels: ['email'], templates: { email: emailTemplate } } } });
    const again = await createJourney({ ...welcomeSeries(formId), name: 'again', entryRules: { reentry: { afterDays: 3 }, maxEntriesPerContact: 2 }, steps: { welcome: { type: 'send', channels: ['email'], templates: { email: emailTemplate2 } } } });
    await startJourney(never);
    await startJourney(again);
    const email = `rules.${randomUUID().slice(0, 8)}@example.com`;
    expect((await submit(formId, { email, consent_email: true })).status).toBeLessThan(300);
    await settle();
    const id = await contactIdOf(email);
    expect((await journeysOf(id, never)).length).toBe(1);
    expect((await journeysOf(id, again)).length).toBe(1);

    // A day later: neither lets them in again.
    await t.runtime.advanceClock(86_400_000);
    expect((await submit(formId, { email, first_name: 'x' })).status).toBeLessThan(300);
    await settle();
    expect((await journeysOf(id, never)).length).toBe(1);
    expect((await journeysOf(id, again)).length).toBe(1);

    // Three days after the first entry: "again" takes them a second time, "never" does not; a third time is over the maximum.
    await t.runtime.advanceClock(2 * 86_400_000 + 60_000);
    expect((await submit(formId, { email, first_name: 'y' })).status).toBeLessThan(300);
    await settle();
    expect((await journeysOf(id, never)).length).toBe(1);
    expect((await journeysOf(id, again)).map((e) => e.entry).sort()).toEqual([1, 2]);
    await t.runtime.advanceClock(4 * 86_400_000);
    expect((await submit(formId, { email, first_name: 'z' })).status).toBeLessThan(300);
    await settle();
    expect((await journeysOf(id, again)).length).toBe(2);
    expect((await mailTo(email)).map((m) => m.subject).filter((s) => s.startsWith('Welcome')).sort()).toEqual(['Welcome aboard (v2)', 'Welcome aboard (v2)', 'Welcome friend']);
  }, 180_000);
});

describe('definitions', () => {
  test('a loop without a wait, a dangling reference and an unknown template are refused with the step named', async () => {
    const loop = await t.api<{ error: { issues: Array<{ path: string; message: string }> } }>('POST', '/v1/journeys', {
      body: {
        name: 'loop',
        entry: { type: 'event', trigger: { event: 'conversion', name: 'purchase' } },
        start: 'a',
        steps: { a: { type: 'update', set: { addTags: ['x'] }, next: 'b' }, b: { type: 'update', set: { addTags: ['y'] }, next: 'a' } },
        goal: { event: 'purchase' },
      },
    });
    expect(loop.status).toBe(400);
    expect(loop.body.error.issues.map((i) => i.path)).toContain('steps.b.next');
    const missing = await t.api<{ error: { issues: Array<{ path: string; message: string }> } }>('POST', '/v1/journeys', {
      body: { name: 'bad', entry: { type: 'event', trigger: { event: 'conversion', name: 'purchase' } }, start: 's', steps: { s: { type: 'send', channels: ['email'], templates: { email: randomUUID() }, next: 'nowhere' } }, goal: { event: 'purchase' } },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error.issues.map((i) => i.path)).toContain('steps.s.next');
    const unknownTemplate = await t.api<{ error: { issues: Array<{ path: string; message: string }> } }>('POST', '/v1/journeys', {
      body: { name: 'bad', entry: { type: 'event', trigger: { event: 'conversion', name: 'purchase' } }, start: 's', steps: { s: { type: 'send', channels: ['email'], templates: { email: randomUUID() } } }, goal: { event: 'purchase' } },
    });
    expect(unknownTemplate.status).toBe(400);
    expect(unknownTemplate.body.error.issues[0]).toMatchObject({ path: 'steps.s.templates.email', message: expect.stringContaining('does not exist') });
    expect((await t.api('POST', '/v1/journeys', { body: { name: 'x' }, token: null })).status).toBe(401);
  });

  test('a new version takes new entries; contacts in flight finish on the version they entered with', async () => {
    const formId = await form();
    const definition = (subjectTemplate: string) => ({
      ...welcomeSeries(formId),
      start: 'pause',
      steps: { pause: { type: 'wait', duration: { amount: 1, unit: 'hours' }, next: 'mail' }, mail: { type: 'send', channels: ['email'], templates: { email: subjectTemplate } } },
    });
    const id = await createJourney(definition(emailTemplate));
    await startJourney(id);
    const early = `early.${randomUUID().slice(0, 8)}@example.com`;
    await submit(formId, { email: early, consent_email: true });
    await settle();
    const put = await t.api<JourneyView>('PUT', `/v1/journeys/${id}`, { body: definition(emailTemplate2) });
    expect(put.status, put.text).toBe(200);
    expect(put.body.journey.version).toBe(2);
    const late = `late.${randomUUID().slice(0, 8)}@example.com`;
    await submit(formId, { email: late, consent_email: true });
    await settle();
    await t.runtime.advanceClock(3600_000 + 120_000);
    await settle();
    expect((await mailTo(early)).map((m) => m.subject)).toEqual(['Welcome friend']);
    expect((await mailTo(late)).map((m) => m.subject)).toEqual(['Welcome aboard (v2)']);
    const v1 = await t.api<{ version: { version: number } }>('GET', `/v1/journeys/${id}/versions/1`);
    expect(v1.body.version.version).toBe(1);
  }, 120_000);
});

describe('the local clock', () => {
  test('only moves forward, by a duration it can read; anything else is a 400 that moves nothing', async () => {
    const before = (await t.api<{ now: string; offsetSeconds: number }>('GET', '/_local/clock', { token: null })).body;
    for (const advance of ['soon', -60, '-2d', '2 weeks', null]) {
      const refused = await t.api<{ error: { issues: Array<{ path: string }> } }>('POST', '/_local/clock', { body: { advance }, token: null });
      expect(refused.status, JSON.stringify(advance)).toBe(400);
      expect(refused.body.error.issues[0]!.path).toBe('advance');
    }
    expect((await t.api('POST', '/_local/clock', { rawBody: '{not json', headers: { 'content-type': 'application/json' }, token: null })).status).toBe(400);
    const after = (await t.api<{ offsetSeconds: number }>('GET', '/_local/clock', { token: null })).body;
    expect(after.offsetSeconds).toBe(before.offsetSeconds);
    const moved = await t.api<{ now: string; offsetSeconds: number }>('POST', '/_local/clock', { body: { advance: '90m' }, token: null });
    expect(moved.status).toBe(200);
    expect(moved.body.offsetSeconds).toBe(before.offsetSeconds + 5400);
    expect(Date.parse(moved.body.now) - Date.parse(before.now)).toBeGreaterThanOrEqual(5400_000);
  });
});

describe('pause, resume, stop', () => {
  test('a paused journey moves no one; resumed, the waits go on; stopped, nothing more is sent', async () => {
    const formId = await form();
    const id = await createJourney({
      ...welcomeSeries(formId),
      start: 'pause',
      steps: { pause: { type: 'wait', duration: { amount: 1, unit: 'hours' }, next: 'mail' }, mail: { type: 'send', channels: ['email'], templates: { email: emailTemplate }, next: 'later' }, later: { type: 'wait', duration: { amount: 1, unit: 'hours' }, next: 'again' }, again: { type: 'send', channels: ['email'], templates: { email: emailTemplate2 } } },
    });
    await startJourney(id);
    const email = `pause.${randomUUID().slice(0, 8)}@example.com`;
    await submit(formId, { email, consent_email: true });
    await settle();
    expect((await t.api('POST', `/v1/journeys/${id}/pause`)).status).toBe(200);
    expect((await t.api('POST', `/v1/journeys/${id}/pause`)).status).toBe(409);
    await t.runtime.advanceClock(2 * 3600_000);
    await settle();
    expect(await mailTo(email)).toHaveLength(0);
    const contactId = await contactIdOf(email);
    expect((await journeysOf(contactId, id))[0]!.status).toBe('paused');

    expect((await t.api('POST', `/v1/journeys/${id}/resume`)).status).toBe(200);
    await settle();
    await t.runtime.advanceClock(120_000);
    await settle();
    expect((await mailTo(email)).map((m) => m.subject)).toEqual(['Welcome friend']);

    expect((await t.api('POST', `/v1/journeys/${id}/stop`)).status).toBe(200);
    await settle();
    await t.runtime.advanceClock(2 * 3600_000);
    await settle();
    expect(await mailTo(email)).toHaveLength(1);
    expect((await journeysOf(contactId, id))[0]).toMatchObject({ status: 'exited', exitReason: 'stopped' });
    expect((await t.api('POST', `/v1/journeys/${id}/start`)).status).toBe(409);
    expect((await view(id)).counts.exits).toEqual({ stopped: 1 });
  }, 180_000);
});

describe('pause and events', () => {
  test('an event a wait listens for that arrives while the journey is paused releases the wait when it resumes', async () => {
    const formId = await form();
    const id = await createJourney({
      ...welcomeSeries(formId),
      start: 'listen',
      steps: {
        listen: { type: 'wait_for_event', trigger: { event: 'custom', name: 'added_to_cart' }, timeout: { amount: 3, unit: 'days' }, onEvent: 'nudge', onTimeout: 'bye' },
        nudge: { type: 'send', channels: ['email'], templates: { email: emailTemplate } },
        bye: { type: 'exit' },
      },
    });
    await startJourney(id);
    const email = `cart.${randomUUID().slice(0, 8)}@example.com`;
    await submit(formId, { email, consent_email: true });
    await settle();
    const contactId = await contactIdOf(email);
    expect((await journeysOf(contactId, id))[0]).toMatchObject({ status: 'waiting', stepId: 'listen' });
    expect((await t.api('POST', `/v1/journeys/${id}/pause`)).status).toBe(200);
    expect((await t.api('POST', '/v1/events', { body: { type: 'custom', name: 'added_to_cart', contactId, occurredAt: new Date().toISOString(), idempotencyKey: `cart-${randomUUID()}` } })).status).toBe(201);
    await settle();
    expect(await mailTo(email)).toHaveLength(0);
    expect((await journeysOf(contactId, id))[0]!.status).toBe('paused');
    expect((await t.api('POST', `/v1/journeys/${id}/resume`)).status).toBe(200);
    await settle();
    expect((await mailTo(email)).map((m) => m.subject)).toEqual(['Welcome friend']);
    expect((await journeysOf(contactId, id))[0]).toMatchObject({ status: 'exited', exitReason: 'completed' });
  }, 120_000);
});

describe('exits', () => {
  test('unsubscribing through the link in a journey email ends the pass with unsubscribed; nothing more is sent', async () => {
    const unsubscribable = await template({ channel: 'email', name: 'With link', subject: 'Hello', html: '<html><body><p>Hi</p><a href="{{unsubscribeUrl}}">Unsubscribe</a></body></html>', text: 'Hi' });
    const formId = await form();
    const id = await createJourney({
      ...welcomeSeries(formId),
      start: 'hello',
      steps: {
        hello: { type: 'send', channels: ['email'], templates: { email: unsubscribable }, next: 'pause' },
        pause: { type: 'wait', duration: { amount: 1, unit: 'days' }, next: 'again' },
        again: { type: 'send', channels: ['email'], templates: { email: unsubscribable } },
      },
    });
    await startJourney(id);
    const email = `unsub.${randomUUID().slice(0, 8)}@example.com`;
    await submit(formId, { email, consent_email: true });
    await settle();
    const [mail] = await mailTo(email);
    const link = /href="([^"]*\/u\/[^"]+)"/.exec(mail!.body.html ?? '')?.[1];
    expect(link, mail!.body.html).toBeTruthy();
    expect((await fetch(link!.replace(/&amp;/g, '&'), { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBeLessThan(300);
    await settle();
    const contactId = await contactIdOf(email);
    expect((await journeysOf(contactId, id))[0]).toMatchObject({ status: 'exited', exitReason: 'unsubscribed' });
    await t.runtime.advanceClock(25 * 3600_000);
    await settle();
    expect(await mailTo(email)).toHaveLength(1);
    expect((await view(id)).counts.exits).toEqual({ unsubscribed: 1 });
  }, 120_000);
});

describe('exactly once', () => {
  test('a duplicated wake-up, a stale one, and a crash between a send and its gate send nothing twice', async () => {
    const formId = await form();
    const id = await createJourney({
      ...welcomeSeries(formId),
      start: 'pause',
      steps: { pause: { type: 'wait', duration: { amount: 1, unit: 'hours' }, next: 'mail' }, mail: { type: 'send', channels: ['email'], templates: { email: emailTemplate }, next: 'tail' }, tail: { type: 'wait', duration: { amount: 5, unit: 'days' } } },
    });
    await startJourney(id);
    const email = `once.${randomUUID().slice(0, 8)}@example.com`;
    await submit(formId, { email, consent_email: true });
    await settle();
    const contactId = await contactIdOf(email);
    const states = new JourneyStateStore(t.runtime.tableNames.journeyStates!);
    const waiting = (await states.forContact(contactId, id)).entries[0]!;
    expect(waiting.status).toBe('waiting');

    // The same wake-up three times, and one for a seq already passed: one email.
    const wake: JourneyTask = { kind: 'wake', contactId, journeyId: id, entry: 1, seq: waiting.seq };
    const queue = t.runtime.queues.get('journeyTasks')!;
    for (const task of [wake, wake, { ...wake, seq: waiting.seq - 1 }, wake]) queue.send(JSON.stringify(task));
    await settle();
    expect(await mailTo(email)).toHaveLength(1);
    const after = (await states.forContact(contactId, id)).entries[0]!;
    expect(after).toMatchObject({ status: 'waiting', stepId: 'tail' });

    // A crash between the send (record written, queued) and the step's gate: the retry finds the record and sends nothing new.
    const email2 = `crash.${randomUUID().slice(0, 8)}@example.com`;
    await submit(formId, { email: email2, consent_email: true });
    await settle();
    const contact2 = await contactIdOf(email2);
    const entry = (await states.forContact(contact2, id)).entries[0]!;
    const config = {
      tables: Object.fromEntries(['contacts', 'contactLookups', 'consents', 'suppressions', 'interactions', 'activity', 'journeys', 'journeyStates', 'campaigns', 'sends', 'segments', 'segmentStats'].map((n) => [n, t.runtime.tableNames[n]!])) as never,
      queues: { emailSends: t.runtime.queues.get('emailSends')!.url, smsSends: t.runtime.queues.get('smsSends')!.url, journeyTasks: queue.url },
      eventBus: process.env.EVENT_BUS_NAME ?? 'touchloop',
      scanSegments: 1,
    };
    const crashing = journeyEngineFrom(config);
    const engineStates = (crashing as unknown as { deps: { states: JourneyStateStore } }).deps.states;
    const gate = engineStates.gate.bind(engineStates);
    let crashes = 0;
    engineStates.gate = async (e, change) => {
      if (change.set?.lastSend && crashes === 0) {
        crashes++;
        throw new Error('crash after the send, before the gate');
      }
      return gate(e, change);
    };
    await expect(crashing.run(entry, { kind: 'wake', seq: entry.seq })).rejects.toThrow('crash after the send');
    await settle();
    // The retry (the queue redelivering the wake-up) repeats the send step: the record exists, the sender's claim holds.
    await crashing.run(entry, { kind: 'wake', seq: entry.seq });
    await settle();
    expect(crashes).toBe(1);
    expect(await mailTo(email2)).toHaveLength(1);
    expect((await states.forContact(contact2, id)).entries[0]).toMatchObject({ status: 'waiting', stepId: 'tail' });
  }, 180_000);
});

describe('guardrails shared with campaigns', () => {
  test('a cap of two a day stops the third message across a campaign and a journey', async () => {
    const email = `capped.${randomUUID().slice(0, 8)}@example.com`;
    const created = await t.api<{ contact: { id: string } }>('POST', '/v1/contacts', { body: { email, tags: ['capped'], consent: { email: { status: 'confirmed', wordingVersion: 'v1' } } } });
    expect(created.status, created.text).toBe(201);
    const contactId = created.body.contact.id;
    const segment = await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name: 'capped', rule: { field: 'tags', op: 'contains', value: 'capped' } } });
    expect(segment.status, segment.text).toBe(201);
    const campaign = await t.api<{ campaign: { id: string } }>('POST', '/v1/campaigns', {
      body: { name: 'Promo', segmentId: segment.body.segment.id, channels: ['email'], variants: [{ name: 'A', weight: 1, templates: { email: emailTemplate2 } }], holdoutPercent: 0, schedule: { type: 'immediate' }, limits: { frequencyCap: { perDay: 2 } } },
    });
    expect(campaign.status, campaign.text).toBe(201);
    expect((await t.api('POST', `/v1/campaigns/${campaign.body.campaign.id}/launch`)).status).toBe(202);
    await settle();
    expect(await mailTo(email)).toHaveLength(1);

    const journeyId = await createJourney({
      name: 'Two touches',
      entry: { type: 'event', trigger: { event: 'custom', name: 'browsed' } },
      holdoutPercent: 0,
      start: 'first',
      steps: {
        first: { type: 'send', channels: ['email'], templates: { email: emailTemplate }, next: 'gap' },
        gap: { type: 'wait', duration: { amount: 10, unit: 'minutes' }, next: 'second' },
        second: { type: 'send', channels: ['email'], templates: { email: emailTemplate }, next: 'end' },
        end: { type: 'exit' },
      },
      goal: { event: 'purchase' },
      limits: { frequencyCap: { perDay: 2 }, quietHours: { email: null } },
    });
    await startJourney(journeyId);
    expect((await t.api('POST', '/v1/events', { body: { type: 'custom', name: 'browsed', contactId, occurredAt: new Date().toISOString(), idempotencyKey: `b-${randomUUID()}` } })).status).toBe(201);
    await settle();
    expect(await mailTo(email)).toHaveLength(2);
    await t.runtime.advanceClock(11 * 60_000);
    await settle();
    expect(await mailTo(email)).toHaveLength(2);
    const report = await t.api<{ report: { steps: Array<{ id: string; send: { sent: number; skipped: number } | null }> } }>('GET', `/v1/journeys/${journeyId}/report`);
    const second = report.body.report.steps.find((s) => s.id === 'second')!;
    expect(second.send).toMatchObject({ sent: 0, skipped: 1 });
    expect((await journeysOf(contactId, journeyId))[0]).toMatchObject({ status: 'exited', exitReason: 'completed' });
  }, 180_000);
});

describe('splits on rules', () => {
  test('a behaviour rule sees the contact\u2019s counters and an attribute rule the contact: each contact takes its own branch', async () => {
    // Prepare: three contacts; only the first viewed the pricing page, only the second is on the pro plan.
    const tag = `split-${randomUUID().slice(0, 8)}`;
    const [looker, pro, other] = await Promise.all(
      ['free', 'pro', 'free'].map(async (plan, i) => {
        const response = await t.api<{ contact: { id: string } }>('POST', '/v1/contacts', { body: { email: `${tag}-${i}@example.com`, attributes: { plan } } });
        expect(response.status, response.text).toBeLessThan(300);
        return response.body.contact.id;
      }),
    );
    const event = (contactId: string, name: string) => t.api('POST', '/v1/events', { body: { type: 'custom', name, contactId, occurredAt: new Date().toISOString(), idempotencyKey: `${name}-${randomUUID()}` } });
    expect((await event(looker!, `${tag}_pricing`)).status).toBe(201);
    await settle();
    const journeyId = await createJourney({
      name: 'Trial routing',
      entry: { type: 'event', trigger: { event: 'custom', name: `${tag}_trial` } },
      holdoutPercent: 0,
      start: 'route',
      steps: {
        route: {
          type: 'split',
          branches: [
            { name: 'saw pricing', when: { rule: { behaviour: { type: 'custom', name: `${tag}_pricing`, within: { amount: 7, unit: 'days' } } } }, next: 'pricing' },
            { name: 'pro', when: { rule: { field: 'attributes.plan', op: 'eq', value: 'pro' } }, next: 'upgrade' },
          ],
          otherwise: 'done',
        },
        pricing: { type: 'update', set: { addTags: [`${tag}-pricing`] } },
        upgrade: { type: 'update', set: { addTags: [`${tag}-pro`] } },
        done: { type: 'exit' },
      },
      goal: { event: 'purchase' },
    });
    await startJourney(journeyId);

    // Act: all three start a trial.
    for (const id of [looker!, pro!, other!]) expect((await event(id, `${tag}_trial`)).status).toBe(201);
    await settle();

    // Assess: the looker by behaviour, the pro by attribute, the third neither; all three out.
    const tagsOf = async (id: string) => ((await t.api<{ contact: { tags?: string[] } }>('GET', `/v1/contacts/${id}`)).body.contact.tags ?? []).filter((x) => x.startsWith(tag));
    expect(await tagsOf(looker!)).toEqual([`${tag}-pricing`]);
    expect(await tagsOf(pro!)).toEqual([`${tag}-pro`]);
    expect(await tagsOf(other!)).toEqual([]);
    for (const id of [looker!, pro!, other!]) expect((await journeysOf(id, journeyId))[0]).toMatchObject({ status: 'exited', exitReason: 'completed' });
    expect((await view(journeyId)).counts).toMatchObject({ entries: 3, inFlight: 0, exits: { completed: 3 } });
  }, 120_000);

  test('a relative-time rule is judged against the time of the split, not of the first split of the journey', async () => {
    // Prepare: a split on "ordered within the last 2 days"; both contacts last ordered now.
    const tag = `recent-${randomUUID().slice(0, 8)}`;
    const orderedAt = new Date().toISOString();
    const [early, late] = await Promise.all(
      [0, 1].map(async (i) => {
        const response = await t.api<{ contact: { id: string } }>('POST', '/v1/contacts', { body: { email: `${tag}-${i}@example.com`, attributes: { lastOrderAt: orderedAt } } });
        expect(response.status, response.text).toBeLessThan(300);
        return response.body.contact.id;
      }),
    );
    const journeyId = await createJourney({
      name: 'Recent buyers',
      entry: { type: 'event', trigger: { event: 'custom', name: `${tag}_visit` } },
      holdoutPercent: 0,
      start: 'route',
      steps: {
        route: { type: 'split', branches: [{ name: 'recent', when: { rule: { field: 'attributes.lastOrderAt', op: 'withinLast', amount: 2, unit: 'days' } }, next: 'recent' }], otherwise: 'done' },
        recent: { type: 'update', set: { addTags: [`${tag}-recent`] } },
        done: { type: 'exit' },
      },
      goal: { event: 'purchase' },
    });
    await startJourney(journeyId);
    const visit = (contactId: string) => t.api('POST', '/v1/events', { body: { type: 'custom', name: `${tag}_visit`, contactId, occurredAt: new Date().toISOString(), idempotencyKey: `v-${randomUUID()}` } });

    // Act: one visits now, the other three days later (their order is then three days old).
    expect((await visit(early!)).status).toBe(201);
    await settle();
    await t.runtime.advanceClock(3 * 86_400_000);
    expect((await visit(late!)).status).toBe(201);
    await settle();

    // Assess: only the first was a recent buyer when they reached the split.
    const tagsOf = async (id: string) => ((await t.api<{ contact: { tags?: string[] } }>('GET', `/v1/contacts/${id}`)).body.contact.tags ?? []).filter((x) => x.startsWith(tag));
    expect(await tagsOf(early!)).toEqual([`${tag}-recent`]);
    expect(await tagsOf(late!)).toEqual([]);
  }, 120_000);
});

describe('erasure', () => {
  test('erasing a contact mid-journey ends their pass (counted as erased), keeps the entry under a pseudonym, and sends nothing more', async () => {
    const formId = await form();
    const id = await createJourney({
      ...welcomeSeries(formId),
      start: 'pause',
      steps: { pause: { type: 'wait', duration: { amount: 1, unit: 'hours' }, next: 'mail' }, mail: { type: 'send', channels: ['email'], templates: { email: emailTemplate } } },
    });
    await startJourney(id);
    const email = `erase.${randomUUID().slice(0, 8)}@example.com`;
    await submit(formId, { email, consent_email: true });
    await settle();
    const contactId = await contactIdOf(email);
    expect((await journeysOf(contactId, id))[0]!.status).toBe('waiting');
    expect((await t.api('DELETE', `/v1/contacts/${contactId}`)).status).toBe(204);
    await settle();
    const states = new JourneyStateStore(t.runtime.tableNames.journeyStates!);
    expect((await states.forContact(contactId)).entries).toEqual([]);
    await t.runtime.advanceClock(2 * 3600_000);
    await settle();
    expect(await mailTo(email)).toHaveLength(0);
    expect((await view(id)).counts).toMatchObject({ entries: 1, inFlight: 0, exits: { erased: 1 } });
  }, 120_000);
});
