/**
 * Segment-triggered journeys through the local runtime: a segment audience entering at once
 * (2,400 contacts: the holdout share), a segment-entry journey that takes only contacts newly in
 * the segment, and the goal measured against the holdout by an attribution run.
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import { newContact } from '../../shared/contacts/contact-store.ts';
import { forEachLimit } from '../../shared/concurrency.ts';
import { JourneyStateStore } from '../../shared/journeys/state-store.ts';
import { expectedLift } from '../helpers/expected-lift.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
}, 120_000);
afterAll(async () => {
  await t?.stop();
});

interface Counts {
  entries: number;
  holdout: number;
  inFlight: number;
  exits: Record<string, number>;
}
/** Waits for the runtime to settle (2,400 entries take 20–40 s on a loaded 2-core machine). */
const settle = async () => {
  await t.runtime.idle(400_000);
  await t.runtime.idle(400_000);
};
async function counts(id: string): Promise<Counts> {
  return (await t.api<{ journey: { counts: Counts } }>('GET', `/v1/journeys/${id}`)).body.journey.counts;
}
/** Contacts written straight to the table (the journey is what is tested, not contact creation). */
async function seed(n: number, tag: string): Promise<string[]> {
  const now = new Date().toISOString();
  const ids = Array.from({ length: n }, () => randomUUID());
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += 25) chunks.push(ids.slice(i, i + 25));
  await forEachLimit(chunks, 4, async (chunk) => {
    let items = chunk.map((id) => ({ PutRequest: { Item: { ...newContact(id, now), email: `${id}@example.com`, tags: [tag], consent: { email: { status: 'confirmed', updatedAt: now, source: 'test', wordingVersion: 'v1', confirmedAt: now } } } } }));
    while (items.length) {
      const result = await documentClient.send(new BatchWriteCommand({ RequestItems: { [t.runtime.tableNames.contacts!]: items } }));
      items = (result.UnprocessedItems?.[t.runtime.tableNames.contacts!] ?? []) as typeof items;
    }
  });
  return ids;
}
async function segment(tag: string): Promise<string> {
  const response = await t.api<{ segment: { id: string } }>('POST', '/v1/segments', { body: { name: tag, rule: { field: 'tags', op: 'contains', value: tag } } });
  expect(response.status, response.text).toBe(201);
  return response.body.segment.id;
}
async function journey(body: Record<string, unknown>): Promise<string> {
  const created = await t.api<{ journey: { id: string } }>('POST', '/v1/journeys', { body });
  expect(created.status, created.text).toBe(201);
  const started = await t.api('POST', `/v1/journeys/${created.body.journey.id}/start`);
  expect(started.status, started.text).toBe(202);
  return created.body.journey.id;
}

/**
 * The audience's size. 2,400 contacts over the journey's 4 parallel scan segments are ≈ 600 per
 * segment, so each segment reads at least two pages of 500 (the scan's page size): the paging is
 * exercised as it was with 10,000.
 */
const AUDIENCE = 2_400;
const HOLDOUT_SHARE = 0.1;
/**
 * The holdout share's tolerance: 5 standard errors of a binomial share, as the earlier ±1.5 points
 * at 10,000 contacts were (5 × √(0.1 × 0.9 / 10,000) = 0.015). At 2,400 that is ±3.06 points; an
 * unbiased hash leaves it with probability 6 × 10⁻⁷, a broken holdout (none, or everyone) cannot
 * stay inside it.
 */
const HOLDOUT_TOLERANCE = 5 * Math.sqrt((HOLDOUT_SHARE * (1 - HOLDOUT_SHARE)) / AUDIENCE);

describe('segment audience', () => {
  test(`${AUDIENCE.toLocaleString('en-US')} contacts enter at once; the holdout share is within ±${(HOLDOUT_TOLERANCE * 100).toFixed(2)} points (5 σ) of 10 %; every treated contact runs its step`, async () => {
    const tag = `aud-${randomUUID().slice(0, 6)}`;
    await seed(AUDIENCE, tag);
    const id = await journey({
      name: 'Everyone',
      entry: { type: 'segment_audience', segmentId: await segment(tag), schedule: { type: 'immediate' } },
      start: 'done',
      steps: { done: { type: 'exit' } },
      goal: { event: 'purchase' },
    });
    await settle();
    const c = await counts(id);
    expect(c.entries).toBe(AUDIENCE);
    expect(Math.abs(c.holdout / c.entries - HOLDOUT_SHARE)).toBeLessThanOrEqual(HOLDOUT_TOLERANCE);
    expect(c.exits).toEqual({ completed: AUDIENCE - c.holdout });
    expect(c.inFlight).toBe(0);
    // A second start of the same journey is refused, and nobody enters twice.
    expect((await t.api('POST', `/v1/journeys/${id}/start`)).status).toBe(409);
  }, 600_000);
});

describe('scheduled segment audience', () => {
  test('a one-time schedule enters the audience when it fires; stopping the journey removes its schedule', async () => {
    const tag = `at-${randomUUID().slice(0, 6)}`;
    await seed(20, tag);
    const at = new Date(Date.now() + 3 * 3600_000).toISOString().slice(0, 16);
    const id = await journey({
      name: 'Friday sale',
      entry: { type: 'segment_audience', segmentId: await segment(tag), schedule: { type: 'at', at, timezone: 'UTC' } },
      holdoutPercent: 0,
      start: 'mark',
      steps: { mark: { type: 'update', set: { addTags: ['sale'] } } },
      goal: { event: 'purchase' },
    });
    await settle();
    expect((await counts(id)).entries).toBe(0);
    expect(t.runtime.scheduler.get(`journey-${id}`, 'touchloop-campaigns')).toMatchObject({ expression: `at(${at}:00)`, timezone: 'UTC', target: { arn: expect.stringMatching(/:journeyTasks$/) } });
    const fire = await t.api('POST', `/_local/schedules/journey-${id}/run?group=touchloop-campaigns`, { token: null });
    expect(fire.status, fire.text).toBe(202);
    await settle();
    expect((await counts(id)).entries).toBe(20);
    // The stop removes the schedule.
    expect((await t.api('POST', `/v1/journeys/${id}/stop`)).status).toBe(200);
    expect((await t.api('POST', `/_local/schedules/journey-${id}/run?group=touchloop-campaigns`, { token: null })).status).toBe(404);
  }, 120_000);
});

describe('segment entry', () => {
  test('the contacts in the segment at the start are the baseline; only contacts newly in it enter at the next check', async () => {
    const tag = `new-${randomUUID().slice(0, 6)}`;
    const before = await seed(5, tag);
    const id = await journey({
      name: 'Newcomers',
      entry: { type: 'segment_entry', segmentId: await segment(tag) },
      holdoutPercent: 0,
      start: 'mark',
      steps: { mark: { type: 'update', set: { attributes: { onboarded: true } } } },
      goal: { event: 'purchase' },
    });
    await settle();
    expect((await counts(id)).entries).toBe(0);
    const newcomers = await seed(3, tag);
    // The check runs every 15 minutes (JOURNEY_SEGMENT_CHECK_MINUTES): move the clock past it.
    await t.runtime.advanceClock(16 * 60_000);
    await settle();
    expect((await counts(id)).entries).toBe(3);
    const states = new JourneyStateStore(t.runtime.tableNames.journeyStates!);
    for (const contactId of newcomers) expect((await states.forContact(contactId, id)).entries).toHaveLength(1);
    for (const contactId of before) expect((await states.forContact(contactId, id)).entries).toHaveLength(0);
    const contact = await t.api<{ contact: { attributes: Record<string, unknown> } }>('GET', `/v1/contacts/${newcomers[0]}`);
    expect(contact.body.contact.attributes.onboarded).toBe(true);
    // The next check finds no one new.
    await t.runtime.advanceClock(16 * 60_000);
    await settle();
    expect((await counts(id)).entries).toBe(3);
  }, 300_000);
});

describe('measurement', () => {
  test('an attribution run measures goal conversions and revenue of those who entered against the holdout, with the lift an independent computation gives', async () => {
    const tag = `goal-${randomUUID().slice(0, 6)}`;
    const ids = await seed(400, tag);
    const id = await journey({
      name: 'Win-back',
      entry: { type: 'segment_audience', segmentId: await segment(tag), schedule: { type: 'immediate' } },
      holdoutPercent: 50,
      start: 'wait',
      steps: { wait: { type: 'wait', duration: { amount: 3, unit: 'days' } } },
      goal: { event: 'purchase', attributionWindowDays: 7 },
    });
    await settle();
    const states = new JourneyStateStore(t.runtime.tableNames.journeyStates!);
    const groups = new Map<string, 'treatment' | 'holdout'>();
    await forEachLimit(ids, 8, async (contactId) => {
      const [entry] = (await states.forContact(contactId, id)).entries;
      groups.set(contactId, entry!.status === 'holdout' ? 'holdout' : 'treatment');
    });
    // Every third treated contact buys, every sixth held-out one; one treated buyer buys twice.
    const buyers = { treatment: 0, holdout: 0 };
    const treated = ids.filter((c) => groups.get(c) === 'treatment');
    const held = ids.filter((c) => groups.get(c) === 'holdout');
    const buying = [...treated.filter((_, i) => i % 3 === 0), ...held.filter((_, i) => i % 6 === 0)];
    await forEachLimit(buying, 8, async (contactId) => {
      const response = await t.api('POST', '/v1/events', { body: { contactId, name: 'purchase', value: 30, occurredAt: new Date().toISOString(), idempotencyKey: `o-${contactId}` } });
      expect(response.status, response.text).toBe(201);
      buyers[groups.get(contactId)!]++;
    });
    await t.api('POST', '/v1/events', { body: { contactId: treated[0], name: 'purchase', value: 20, occurredAt: new Date().toISOString(), idempotencyKey: `o2-${treated[0]}` } });
    await settle();
    // Buyers in progress left with the goal; held-out buyers were counted, not moved.
    expect((await counts(id)).exits.goal).toBe(buyers.treatment);

    const from = new Date(Date.now() - 86_400_000).toISOString();
    const run = await t.api('POST', '/v1/attribution/runs', { body: { from, to: new Date(Date.now() + 60_000).toISOString() } });
    expect(run.status, run.text).toBe(202);
    await settle();
    const report = await t.api<{ report: { goal: { measured: boolean; treatment: { members: number; converters: number; revenue: number }; holdout: { members: number; converters: number; revenue: number }; lift: { conversionRate: { absolute: { estimate: number; low: number; high: number }; pValue: number } } } } }>('GET', `/v1/journeys/${id}/report`);
    expect(report.status, report.text).toBe(200);
    const goal = report.body.report.goal;
    expect(goal.measured).toBe(true);
    expect(goal.treatment).toMatchObject({ members: treated.length, converters: buyers.treatment, revenue: buyers.treatment * 30 + 20 });
    expect(goal.holdout).toMatchObject({ members: held.length, converters: buyers.holdout, revenue: buyers.holdout * 30 });
    const expected = expectedLift(buyers.treatment, treated.length, buyers.holdout, held.length);
    expect(goal.lift.conversionRate.absolute.estimate).toBeCloseTo(expected.absolute.estimate, 9);
    expect(goal.lift.conversionRate.absolute.low).toBeCloseTo(expected.absolute.low, 9);
    expect(goal.lift.conversionRate.absolute.high).toBeCloseTo(expected.absolute.high, 9);
    expect(goal.lift.conversionRate.pValue).toBeCloseTo(expected.pValue, 9);
    // Measuring again changes nothing (the same data, the same figures).
    await t.api('POST', '/v1/attribution/runs', { body: { from, to: new Date(Date.now() + 60_000).toISOString() } });
    await settle();
    const again = await t.api<{ report: { goal: unknown } }>('GET', `/v1/journeys/${id}/report`);
    expect({ ...(again.body.report.goal as object), measuredAt: null }).toEqual({ ...goal, measuredAt: null });
  }, 300_000);
});
