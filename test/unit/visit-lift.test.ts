import { describe, expect, test } from 'vitest';
import { campaignAccumulator, HOLDOUT, passContact, type CampaignAccumulator, type CampaignInfo } from '../../shared/attribution/contact-pass.ts';
import { buildReport, mergeParts, emptyPart } from '../../shared/attribution/run.ts';
import { CampaignInput, emptyCounters, type Campaign } from '../../shared/campaigns/model.ts';
import type { Interaction } from '../../shared/contacts/timeline.ts';
import { defaultScores } from '../../shared/scoring/model.ts';
import { expectedLift } from '../helpers/expected-lift.ts';

/**
 * Visit lift against a holdout: timelines seeded by hand, passed through the attribution run's
 * pure steps (passContact per contact, mergeParts, buildReport), and the report's visit rates,
 * lift, interval and p-value compared with figures computed here from the seeded counts with
 * their own arithmetic (an erf series, not the project's normal distribution code).
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const LAUNCH = Date.UTC(2026, 10, 2, 9, 0, 0);
const NOW = LAUNCH + 20 * DAY;
const CAMPAIGN_ID = '44444444-0000-4000-8000-000000000001';
const WINDOW_DAYS = 7;

function campaign(): Campaign {
  return {
    ...CampaignInput.parse({
      name: 'Visits',
      segmentId: '00000000-0000-4000-8000-000000000001',
      channels: ['email'],
      variants: [
        { name: 'A', weight: 1, templates: { email: '00000000-0000-4000-8000-000000000002' } },
        { name: 'B', weight: 1, templates: { email: '00000000-0000-4000-8000-000000000002' } },
      ],
      holdoutPercent: 25,
      schedule: { type: 'immediate' },
      goal: { event: 'purchase', attributionWindowDays: WINDOW_DAYS },
    }),
    id: CAMPAIGN_ID,
    status: 'completed',
    createdAt: new Date(LAUNCH).toISOString(),
    updatedAt: new Date(LAUNCH).toISOString(),
    version: 1,
    counters: { ...emptyCounters(), targeted: 83, sent: 60, holdout: 20 },
    spent: 0,
    launchedAt: new Date(LAUNCH).toISOString(),
    runId: '1',
  };
}

let seq = 0;
function entry(contactId: string, type: string, at: number, extra: Partial<Interaction> = {}): Interaction {
  const occurredAt = new Date(at).toISOString();
  const id = `e${seq++}`;
  return { contactId, sk: `${occurredAt}#${id}`, id, type, occurredAt, recordedAt: occurredAt, ...extra };
}

interface Seeded {
  id: string;
  items: Interaction[];
}

/**
 * Treatment A: 30 sent an hour after launch, 15 visit inside the window. Treatment B: 30 sent,
 * 9 visit inside it. Holdout: 20, 3 visit inside the window after the launch. Around them, what
 * must not count: visits before the send or the launch, at the exposure instant, after the window,
 * page views and custom events (not visits), and a second visit of a visitor.
 */
function seed(): Seeded[] {
  const contacts: Seeded[] = [];
  const sendAt = LAUNCH + HOUR;
  const end = (exposure: number) => exposure + WINDOW_DAYS * DAY;
  for (const [variant, visitors] of [
    ['A', 15],
    ['B', 9],
  ] as const) {
    for (let i = 0; i < 30; i++) {
      const id = `t-${variant}-${i}`;
      const items = [entry(id, 'sent', sendAt, { campaignId: CAMPAIGN_ID, sendId: `s-${id}`, channel: 'email', data: { variant } })];
      if (i < visitors) {
        // One at the last instant of the window (it counts), every third visitor twice (still one visitor).
        items.push(entry(id, 'visited', i === 0 ? end(sendAt) : sendAt + (i + 1) * HOUR));
        if (i % 3 === 0) items.push(entry(id, 'visited', sendAt + 2 * DAY));
      } else if (i < visitors + 4) {
        items.push(entry(id, 'visited', sendAt - HOUR)); // before the send
        items.push(entry(id, 'visited', end(sendAt) + 1)); // just after the window
        items.push(entry(id, 'page_viewed', sendAt + HOUR, { data: { url: 'https://shop.example.com/', path: '/' } }));
        items.push(entry(id, 'custom', sendAt + HOUR, { data: { name: 'added_to_cart' } }));
      }
      if (i === 29) items.push(entry(id, 'visited', sendAt)); // at the exposure instant: not after it
      items.sort((a, b) => (a.sk < b.sk ? -1 : 1));
      contacts.push({ id, items });
    }
  }
  for (let i = 0; i < 20; i++) {
    const id = `h-${i}`;
    const items: Interaction[] = [];
    if (i < 3) items.push(entry(id, 'visited', LAUNCH + (i + 1) * DAY));
    else if (i < 6) items.push(entry(id, 'visited', LAUNCH - DAY));
    else if (i === 6) items.push(entry(id, 'page_viewed', LAUNCH + DAY, { data: { url: 'https://shop.example.com/', path: '/' } }));
    contacts.push({ id, items });
  }
  return contacts;
}

/** The run's pure steps over the seeded timelines, in two parts (as two scan segments would). */
function run(contacts: Seeded[]) {
  const c = campaign();
  const holdout = new Set(contacts.filter((s) => s.id.startsWith('h-')).map((s) => s.id));
  const info: CampaignInfo & { campaign: Campaign } = {
    campaign: c,
    goal: { campaignId: c.id, event: 'purchase', windowDays: WINDOW_DAYS, model: 'last_touch' },
    launchedAt: LAUNCH,
    holdout,
    // As the send records would say: 3 contacts assigned to A and 2 to B were never sent (skipped).
    enrolled: { groups: { A: 30, B: 30, [HOLDOUT]: 20 }, channels: { email: 60 }, targeted: { A: 33, B: 32, [HOLDOUT]: 20 } },
  };
  const campaigns = new Map([[c.id, info]]);
  const parts = [0, 1].map((half) => {
    const accumulators = new Map<string, CampaignAccumulator>();
    contacts.filter((_, i) => i % 2 === half).forEach((s) => passContact(s.id, s.items, campaigns, { from: LAUNCH, to: NOW }, accumulators, defaultScores(), NOW));
    return { ...emptyPart(), campaigns: Object.fromEntries(accumulators) };
  });
  const merged = mergeParts(parts);
  return buildReport(info, merged.campaigns[c.id] ?? campaignAccumulator(), [], { runId: 'run-1', from: new Date(LAUNCH).toISOString(), to: new Date(NOW).toISOString() }, new Date(NOW));
}

describe('visit lift against the holdout', () => {
  test('rates, absolute and relative lift, 95 % interval and p-value equal an independent computation', () => {
    const report = run(seed());
    // 24 of 60 treatment members visited inside their window, 3 of 20 held-out members after the launch.
    expect(report.visits?.treatment).toEqual({ members: 60, visitors: 24, rate: 0.4 });
    expect(report.visits?.holdout).toEqual({ members: 20, visitors: 3, rate: 0.15 });
    const want = expectedLift(24, 60, 3, 20);
    const lift = report.visits!.lift!;
    expect(lift.absolute.estimate).toBeCloseTo(0.25, 12);
    expect(lift.absolute.low).toBeCloseTo(want.absolute.low, 9);
    expect(lift.absolute.high).toBeCloseTo(want.absolute.high, 9);
    expect(lift.relative!.estimate).toBeCloseTo(want.relative.estimate, 9);
    expect(lift.relative!.low).toBeCloseTo(want.relative.low, 9);
    expect(lift.relative!.high).toBeCloseTo(want.relative.high, 9);
    expect(lift.pValue!).toBeCloseTo(want.pValue, 9);
    // The figures themselves, so a wrong formula on both sides cannot pass: 0.25 ± 1.96·√(0.4·0.6/60 + 0.15·0.85/20).
    expect(lift.absolute.low).toBeCloseTo(0.25 - 1.959963984540054 * Math.sqrt(0.004 + 0.006375), 12);
    expect(want.pValue).toBeGreaterThan(0.04);
    expect(want.pValue).toBeLessThan(0.06);

    // Per variant: A 15 of 30 against 3 of 20, B 9 of 30.
    const a = report.variants.find((v) => v.variant === 'A')!;
    const b = report.variants.find((v) => v.variant === 'B')!;
    expect([a.visitors, b.visitors]).toEqual([15, 9]);
    const wantA = expectedLift(15, 30, 3, 20);
    expect(a.visitLift!.absolute.low).toBeCloseTo(wantA.absolute.low, 9);
    expect(a.visitLift!.pValue!).toBeCloseTo(wantA.pValue, 9);
    expect(b.visitLift!.absolute.estimate).toBeCloseTo(0.3 - 0.15, 12);
    expect(report.funnel.visited).toBe(24);
    expect(report.holdout.visitors).toBe(3);
  });

  test('the funnel per variant and for the holdout: targeted, sent, responses, visited, converted, revenue; the holdout’s message steps are not applicable', () => {
    const contacts = seed();
    // Responses and a conversion for some of A, a conversion for one held-out contact.
    const a0 = contacts.find((c) => c.id === 't-A-0')!;
    a0.items.push(entry('t-A-0', 'delivered', LAUNCH + 2 * HOUR, { campaignId: CAMPAIGN_ID, sendId: 's-t-A-0', channel: 'email' }));
    a0.items.push(entry('t-A-0', 'opened', LAUNCH + 3 * HOUR, { campaignId: CAMPAIGN_ID, sendId: 's-t-A-0', channel: 'email' }));
    a0.items.push(entry('t-A-0', 'clicked', LAUNCH + 4 * HOUR, { campaignId: CAMPAIGN_ID, sendId: 's-t-A-0', channel: 'email' }));
    a0.items.push(entry('t-A-0', 'converted', LAUNCH + 5 * HOUR, { data: { name: 'purchase', value: 40 } }));
    const b1 = contacts.find((c) => c.id === 't-B-1')!;
    b1.items.push(entry('t-B-1', 'unsubscribed', LAUNCH + 2 * HOUR, { campaignId: CAMPAIGN_ID, sendId: 's-t-B-1', channel: 'email' }));
    contacts.find((c) => c.id === 'h-0')!.items.push(entry('h-0', 'converted', LAUNCH + 2 * DAY, { data: { name: 'purchase', value: 25 } }));
    for (const c of contacts) c.items.sort((x, y) => (x.sk < y.sk ? -1 : 1));

    const report = run(contacts);
    expect(report.funnels).toEqual([
      { group: 'A', holdout: false, targeted: 33, sent: 30, delivered: 1, opened: 1, clicked: 1, visited: 15, converted: 1, revenue: 40, unsubscribed: 0 },
      { group: 'B', holdout: false, targeted: 32, sent: 30, delivered: 0, opened: 0, clicked: 0, visited: 9, converted: 0, revenue: 0, unsubscribed: 1 },
      { group: HOLDOUT, holdout: true, targeted: 20, sent: null, delivered: null, opened: null, clicked: null, visited: 3, converted: 1, revenue: 25, unsubscribed: null },
    ]);
  });

  test('a part saved before visits were measured merges as no visitors, and a campaign without a holdout has no visit lift', () => {
    const old = { ...emptyPart(), campaigns: { [CAMPAIGN_ID]: { ...campaignAccumulator(), groups: { A: { members: 2, converters: 1, revenue: 5, revenueSquares: 25 } } } } };
    const merged = mergeParts([old, old]);
    expect(merged.campaigns[CAMPAIGN_ID]!.groups.A).toEqual({ members: 4, converters: 2, revenue: 10, revenueSquares: 50, visitors: 0 });
    const c = { ...campaign(), holdoutPercent: 0 };
    const report = buildReport({ campaign: c, goal: { campaignId: c.id, event: 'purchase', windowDays: 7, model: 'last_touch' }, launchedAt: LAUNCH, holdout: new Set() }, merged.campaigns[CAMPAIGN_ID], [], { runId: 'r', from: '', to: '' }, new Date(NOW));
    expect(report.visits).toEqual({ treatment: { members: 4, visitors: 0, rate: 0 }, holdout: { members: 0, visitors: 0, rate: 0 }, lift: null });
    expect(report.funnels!.map((f) => f.group)).toEqual(['A']);
  });
});
