import { describe, expect, test } from 'vitest';
import { indexActivity } from '../../shared/activity/activity.ts';
import { newContact } from '../../shared/contacts/contact-store.ts';
import { defaultScores } from '../../shared/scoring/model.ts';
import type { EvalContact } from '../../shared/segments/contact-view.ts';
import { AudienceSummary, type GoalModel } from '../../shared/segments/preview.ts';

const NOW = new Date('2026-06-15T12:00:00.000Z');
const Z95 = 1.959963984540054;
const ACTIVE: GoalModel = { model: 'propensity.purchase@v4', reason: 'no reachable member has a propensity.purchase score yet' };

/** A member reachable by email (or by nothing) with the given learned scores. */
function member(id: string, reachable: boolean, models?: Record<string, unknown>): EvalContact {
  return {
    id,
    email: `${id}@example.com`,
    tags: [],
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
    attributes: {},
    consent: { email: reachable ? 'confirmed' : 'pending' },
    suppressed: { email: false, sms: false },
    scores: { ...defaultScores(), ...(models ? { models: models as Record<string, number> } : {}) },
    activity: indexActivity(undefined, NOW.getTime()),
  };
}

function summarise(goal: string | undefined, members: EvalContact[]): AudienceSummary {
  const summary = new AudienceSummary(NOW, 20, goal);
  for (const m of members) summary.add(m, newContact(m.id, NOW.toISOString()));
  return summary;
}

describe('AudienceSummary goal forecast', () => {
  test('sums the reachable members\' probabilities; anything that is not a probability in [0, 1] counts as no score', () => {
    // Prepare
    const members = [
      member('a', true, { 'propensity.purchase': 0.2 }),
      member('b', true, { 'propensity.purchase': 1 }),
      member('c', true, { 'propensity.purchase': 0 }),
      member('d', true, { 'propensity.purchase': 1.2 }),
      member('e', true, { 'propensity.purchase': -0.1 }),
      member('f', true, { 'propensity.purchase': Number.NaN }),
      member('g', true, { 'propensity.purchase': '0.5' }),
      member('h', true, { 'uplift.purchase': 0.3 }),
      member('i', false, { 'propensity.purchase': 0.9 }),
    ];

    // Act
    const forecast = summarise('purchase', members).forecast(ACTIVE).goal;

    // Assess: a, b and c, with variance 0.16 + 0 + 0.
    expect(forecast).toEqual({ goal: 'purchase', model: 'propensity.purchase@v4', expectedConverters: 1.2, low: Math.round((1.2 - Z95 * 0.4) * 100) / 100, high: Math.round((1.2 + Z95 * 0.4) * 100) / 100, reachable: 8, scored: 3, reason: null });
  });

  test('the lower end is never below 0; no goal asked, no goal forecast', () => {
    const members = [member('a', true, { 'propensity.purchase': 0.01 })];
    expect(summarise('purchase', members).forecast(ACTIVE).goal).toMatchObject({ expectedConverters: 0.01, low: 0 });
    expect(summarise(undefined, members).forecast(ACTIVE)).not.toHaveProperty('goal');
  });

  test('without an active model, scores left on contacts are not summed; with one and no scores, the reason says so', () => {
    const scored = [member('a', true, { 'propensity.purchase': 0.5 })];
    expect(summarise('purchase', scored).forecast({ model: null, reason: 'model propensity.purchase is not active' }).goal).toEqual({
      goal: 'purchase',
      model: null,
      expectedConverters: null,
      low: null,
      high: null,
      reachable: 1,
      scored: 1,
      reason: 'model propensity.purchase is not active',
    });
    expect(summarise('purchase', [member('b', true)]).forecast(ACTIVE).goal).toMatchObject({ model: 'propensity.purchase@v4', expectedConverters: null, scored: 0, reason: ACTIVE.reason });
  });
});
