/**
 * The pure parts of journey execution: when waits end (calendar days in the contact's zone,
 * across daylight-saving changes), the next local time on allowed weekdays, which events satisfy
 * which triggers, the entry rules, and which timeline entries reach the journey worker.
 */
import { describe, expect, test } from 'vitest';
import { entryRefusal, eventKeys, triggerKey } from '../../shared/journeys/engine.ts';
import { parseJourneyDefinition, type JourneyDefinition } from '../../shared/journeys/definition.ts';
import { journeyEventOf } from '../../shared/journeys/timeline-events.ts';
import { nextLocalTime, waitEnds } from '../../shared/journeys/timing.ts';
import { parseStepCampaignId, parseStepRunId, stepCampaign, stepRunId } from '../../shared/journeys/step-campaigns.ts';

const TEMPLATE = '11111111-1111-4111-8111-111111111111';
function definition(entryRules: Record<string, unknown> = {}): JourneyDefinition {
  const parsed = parseJourneyDefinition({
    name: 'j',
    entry: { type: 'event', trigger: { event: 'conversion', name: 'purchase' } },
    entryRules,
    start: 's',
    steps: { s: { type: 'send', channels: ['email'], templates: { email: TEMPLATE } } },
    goal: { event: 'purchase' },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.definition;
}

describe('waitEnds', () => {
  test('minutes and hours are exact', () => {
    const at = new Date('2026-03-28T10:15:00Z');
    expect(waitEnds(at, { amount: 90, unit: 'minutes' }, 'Europe/Berlin').toISOString()).toBe('2026-03-28T11:45:00.000Z');
    expect(waitEnds(at, { amount: 36, unit: 'hours' }, 'Europe/Berlin').toISOString()).toBe('2026-03-29T22:15:00.000Z');
  });

  test('days are calendar days in the zone: across the spring change, 2 days from 09:00 local is 09:00 local (47 hours later)', () => {
    // Berlin: 2026-03-29 02:00 → 03:00.
    const at = new Date('2026-03-28T08:00:00Z'); // 09:00 CET
    const end = waitEnds(at, { amount: 2, unit: 'days' }, 'Europe/Berlin');
    expect(end.toISOString()).toBe('2026-03-30T07:00:00.000Z'); // 09:00 CEST
    expect((end.getTime() - at.getTime()) / 3_600_000).toBe(47);
  });

  test('a week is seven calendar days; in UTC a day is 24 hours', () => {
    expect(waitEnds(new Date('2026-10-20T09:00:00Z'), { amount: 1, unit: 'weeks' }, 'Europe/London').toISOString()).toBe('2026-10-27T10:00:00.000Z');
    expect(waitEnds(new Date('2026-12-06T23:30:00Z'), { amount: 1, unit: 'days' }, 'UTC').toISOString()).toBe('2026-12-07T23:30:00.000Z');
  });

  test('a local time that does not exist (inside the spring gap) moves forward; the end is never before the start', () => {
    const at = new Date('2026-03-28T01:30:00Z'); // 02:30 CET, the day before the gap
    const end = waitEnds(at, { amount: 1, unit: 'days' }, 'Europe/Berlin');
    expect(end.getTime()).toBeGreaterThan(at.getTime());
    expect(end.toISOString()).toBe('2026-03-29T01:30:00.000Z'); // 03:30 CEST: 02:30 does not exist that night
  });
});

describe('nextLocalTime', () => {
  test('later today if the time has not come, otherwise tomorrow', () => {
    expect(nextLocalTime(new Date('2026-12-07T07:00:00Z'), '09:00', undefined, 'Europe/Berlin').toISOString()).toBe('2026-12-07T08:00:00.000Z');
    expect(nextLocalTime(new Date('2026-12-07T08:00:00Z'), '09:00', undefined, 'Europe/Berlin').toISOString()).toBe('2026-12-08T08:00:00.000Z');
  });

  test('weekdays only: a Friday evening waits for Monday morning in the contact\u2019s zone', () => {
    // 2026-12-11 is a Friday.
    const end = nextLocalTime(new Date('2026-12-11T20:00:00Z'), '09:00', ['mon', 'tue', 'wed', 'thu', 'fri'], 'America/New_York');
    expect(end.toISOString()).toBe('2026-12-14T14:00:00.000Z');
  });

  test('every weekday alone is found within a week, whatever the zone', () => {
    const days = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
    for (const zone of ['Pacific/Kiritimati', 'Pacific/Pago_Pago', 'Asia/Kolkata', 'UTC']) {
      for (const day of days) {
        const at = new Date('2026-12-06T12:00:00Z');
        const end = nextLocalTime(at, '06:30', [day], zone);
        expect(end.getTime()).toBeGreaterThan(at.getTime());
        expect(end.getTime() - at.getTime()).toBeLessThanOrEqual(8 * 86_400_000);
        const weekday = new Intl.DateTimeFormat('en-US', { timeZone: zone, weekday: 'short' }).format(end).slice(0, 3).toLowerCase();
        const clock = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(end);
        expect([weekday, clock]).toEqual([day, '06:30']);
      }
    }
  });
});

describe('triggers and events', () => {
  test('an event satisfies the triggers written for it, and no others', () => {
    const form = eventKeys({ contactId: 'c', eventId: 'e', type: 'form_submitted', occurredAt: '2026-12-06T00:00:00Z', formId: 'f1' });
    expect(form.has(triggerKey({ event: 'lead.captured' }))).toBe(true);
    expect(form.has(triggerKey({ event: 'lead.captured', formId: 'f1' }))).toBe(true);
    expect(form.has(triggerKey({ event: 'lead.captured', formId: 'f2' }))).toBe(false);
    const bought = eventKeys({ contactId: 'c', eventId: 'e', type: 'converted', occurredAt: '2026-12-06T00:00:00Z', name: 'purchase' });
    expect(bought.has(triggerKey({ event: 'conversion', name: 'purchase' }))).toBe(true);
    expect(bought.has(triggerKey({ event: 'conversion', name: 'signup' }))).toBe(false);
    expect(bought.has(triggerKey({ event: 'custom', name: 'purchase' }))).toBe(false);
    const withdrawn = eventKeys({ contactId: 'c', eventId: 'e', type: 'consent_withdrawn', occurredAt: '2026-12-06T00:00:00Z', channel: 'sms' });
    for (const trigger of [{}, { channel: 'sms' as const }, { status: 'withdrawn' as const }, { channel: 'sms' as const, status: 'withdrawn' as const }]) {
      expect(withdrawn.has(triggerKey({ event: 'consent.changed', ...trigger })), JSON.stringify(trigger)).toBe(true);
    }
    expect(withdrawn.has(triggerKey({ event: 'consent.changed', channel: 'email' }))).toBe(false);
    expect(withdrawn.has(triggerKey({ event: 'consent.changed', status: 'confirmed' }))).toBe(false);
    expect(eventKeys({ contactId: 'c', eventId: 'e', type: 'page_viewed', occurredAt: '2026-12-06T00:00:00Z' }).size).toBe(0);
  });

  test('the timeline entries that reach the worker: journey responses yes, campaign responses, sends and imported history no', () => {
    const base = { contactId: 'c', id: 'i', occurredAt: '2026-12-06T00:00:00Z' };
    expect(journeyEventOf({ ...base, type: 'converted', data: { name: 'purchase', value: 12.5 } })).toEqual({ contactId: 'c', eventId: 'i', type: 'converted', occurredAt: base.occurredAt, name: 'purchase', value: 12.5 });
    expect(journeyEventOf({ ...base, type: 'form_submitted', data: { formId: 'f' } })?.formId).toBe('f');
    const journeyCampaign = `j.${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}.1.welcome`;
    expect(journeyEventOf({ ...base, type: 'clicked', campaignId: journeyCampaign, sendId: `${journeyCampaign}:e1.0:c` })?.type).toBe('clicked');
    expect(journeyEventOf({ ...base, type: 'clicked', campaignId: '6f1c2b8e-0000-4000-8000-000000000000' })).toBeUndefined();
    expect(journeyEventOf({ ...base, type: 'sent', campaignId: journeyCampaign })).toBeUndefined();
    expect(journeyEventOf({ ...base, type: 'converted', data: { name: 'purchase' }, origin: 'import:job:1' })).toBeUndefined();
    expect(journeyEventOf({ type: 'converted' })).toBeUndefined();
  });
});

describe('entry rules', () => {
  const now = new Date('2026-12-06T12:00:00Z');
  const ledger = (fields: Record<string, unknown>) => ({ contactId: 'c', sk: 'j#ledger', journeyId: 'j', entries: 1, lastEnteredAt: '2026-12-01T12:00:00Z', lastTrigger: 'event:a', ...fields });
  test('a first entry is always allowed; the same trigger twice, or while in the journey, never', () => {
    expect(entryRefusal(definition(), undefined, 'event:a', now)).toBeUndefined();
    expect(entryRefusal(definition({ reentry: { afterDays: 1 } }), ledger({}), 'event:a', now)).toBe('same_trigger');
    expect(entryRefusal(definition({ reentry: { afterDays: 1 } }), ledger({ activeEntry: 1 }), 'event:b', now)).toBe('in_journey');
  });
  test('re-entry: never, after N days since the last entry, and at most N entries', () => {
    expect(entryRefusal(definition(), ledger({}), 'event:b', now)).toBe('no_reentry');
    expect(entryRefusal(definition({ reentry: { afterDays: 7 } }), ledger({}), 'event:b', now)).toBe('too_soon');
    expect(entryRefusal(definition({ reentry: { afterDays: 5 } }), ledger({}), 'event:b', now)).toBeUndefined();
    expect(entryRefusal(definition({ reentry: { afterDays: 5 }, maxEntriesPerContact: 2 }), ledger({ entries: 2 }), 'event:b', now)).toBe('max_entries');
    // A contact only marked as seen (a segment-entry baseline) has not entered: the rules do not hold them back.
    expect(entryRefusal(definition(), ledger({ entries: 0, lastEnteredAt: undefined, lastTrigger: undefined }), 'event:b', now)).toBeUndefined();
  });
});

describe('step campaigns', () => {
  test('a send step\'s campaign carries the journey\'s guardrails (cap, quiet hours, send rate), no holdout of its own, and a run that never completes', () => {
    const parsed = parseJourneyDefinition({
      name: 'Welcome',
      entry: { type: 'event', trigger: { event: 'lead.captured' } },
      start: 'mail',
      steps: { mail: { type: 'send', channels: 'best', templates: { email: TEMPLATE } } },
      goal: { event: 'purchase', attributionWindowDays: 3 },
      limits: { frequencyCap: { perDay: 2, perWeek: 5 }, quietHours: { sms: null }, sendRatePerSecond: { email: 50 } },
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const journeyId = '6f1c2b8e-1111-4000-8000-000000000000';
    const step = parsed.definition.steps.mail!;
    if (step.type !== 'send') throw new Error('not a send step');
    const campaign = stepCampaign(journeyId, 3, 'mail', step, parsed.definition, 'running', new Date('2026-12-06T10:00:00Z'));
    expect(campaign).toMatchObject({
      id: `j.${journeyId}.3.mail`,
      channels: 'best',
      variants: [{ name: 'default', weight: 1, templates: { email: TEMPLATE } }],
      holdoutPercent: 0,
      limits: { frequencyCap: { perDay: 2, perWeek: 5 }, quietHours: { sms: null }, sendRatePerSecond: { email: 50 } },
      goal: { event: 'purchase', attributionWindowDays: 3 },
      status: 'running',
      journey: { id: journeyId, version: 3, stepId: 'mail' },
      fanout: { total: 1, done: 0 },
    });
    expect(parseStepCampaignId(campaign.id)).toEqual({ journeyId, version: 3, stepId: 'mail' });
    expect(parseStepCampaignId('6f1c2b8e-1111-4000-8000-000000000000')).toBeUndefined();
    expect(parseStepRunId(stepRunId(12, 7))).toEqual({ entry: 12, seq: 7 });
    // Send ids split on ":": neither id may hold one.
    expect(`${campaign.id}${stepRunId(1, 2)}`).not.toContain(':');
  });
});
