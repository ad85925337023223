import { describe, expect, test } from 'vitest';
import { emptyForm, formOf, toInput, type CampaignForm } from '../../console/src/pages/campaigns/form-model.ts';
import type { CampaignResource } from '../../console/src/pages/campaigns/types.ts';
import { LEARNED_SCORE_ENTRY, SCORE_OPTIONS, fromRule, newCond, newGroup, scoreChoice, toRule, withKind, withScoreChoice, type Cond, type Group } from '../../console/src/pages/segments/rule-model.ts';
import { CampaignInput } from '../../shared/campaigns/model.ts';
import { issuesFromZod } from '../../shared/errors.ts';
import { Rule, SCORE_NAMES, type RuleNode } from '../../shared/segments/rule.ts';

/** A builder row of `kind` with `patch` applied (as the marketer would set its controls). */
const row = (kind: Cond['kind'], patch: Partial<Cond> = {}): Cond => ({ ...withKind(newCond(), kind), ...patch });
const SEGMENT = '0b9e2f3c-5a41-4c7e-9d1a-3f6b8c2e7a10';
const TEMPLATE = '6f1d2c3b-4a59-4e8f-b7a6-5d4c3b2a1f09';

describe('segment rule builder → the rule language', () => {
  test('every kind of row becomes a rule the shared schema accepts, with the values typed as the API expects', () => {
    // Prepare: one row of each kind, some negated, inside a nested any-of group.
    const root: Group = newGroup('and', [
      row('attribute', { attribute: 'plan', op: 'in', value: 'pro, team' }),
      row('attribute', { attribute: 'age', valueType: 'number', op: 'between', value: '18', value2: '65' }),
      row('attribute', { attribute: 'renewal', valueType: 'date', op: 'lt', value: '2027-01-01' }),
      row('attribute', { attribute: 'vip', valueType: 'boolean', op: 'eq', value: 'true' }),
      row('createdAt', { op: 'withinLast', value: '30', unit: 'days' }),
      row('tags', { op: 'contains', value: 'vip' }),
      row('email', { op: 'exists', value: 'false' }),
      newGroup('or', [row('reachable', { value: 'sms' }), row('suppressed', { op: 'isNot', value: 'email' }), row('consent', { channel: 'sms', value: 'pending' })]),
      newGroup('none', [row('behaviour', { event: 'custom', eventName: 'added_to_cart', op: 'eq', value: '0', withinAmount: '' })]),
      row('score', { score: 'propensity.email', op: 'gte', value: '0.05' }),
      row('segment', { op: 'isNot', value: SEGMENT }),
    ]);

    // Act
    const { rule } = toRule(root);

    // Assess
    expect(Rule.safeParse(rule).success).toBe(true);
    expect(rule).toEqual({
      and: [
        { field: 'attributes.plan', op: 'in', values: ['pro', 'team'] },
        { field: 'attributes.age', op: 'between', values: [18, 65] },
        { field: 'attributes.renewal', op: 'lt', value: { date: '2027-01-01' } },
        { field: 'attributes.vip', op: 'eq', value: true },
        { field: 'createdAt', op: 'withinLast', amount: 30, unit: 'days' },
        { field: 'tags', op: 'contains', value: 'vip' },
        { field: 'email', op: 'exists', value: false },
        { or: [{ reachable: 'sms' }, { not: { suppressed: 'email' } }, { consent: { channel: 'sms', status: 'pending' } }] },
        { not: { or: [{ behaviour: { type: 'custom', name: 'added_to_cart', count: { op: 'eq', value: 0 } } }] } },
        { score: 'propensity.email', op: 'gte', value: 0.05 },
        { not: { segment: SEGMENT } },
      ],
    });
  });

  test.each<[string, RuleNode]>([
    ['a field condition', { and: [{ field: 'attributes.plan', op: 'eq', value: 'pro' }] }],
    ['any of, with a date range and a relative window', { or: [{ field: 'updatedAt', op: 'between', values: [{ date: '2026-01-01' }, { date: '2026-06-30' }] }, { field: 'createdAt', op: 'moreThanAgo', amount: 2, unit: 'weeks' }] }],
    ['none of, nested two deep', { and: [{ not: { or: [{ and: [{ hasAddress: 'sms' }, { field: 'country', op: 'startsWith', value: 'D' }] }] } }] }],
    ['behaviour with channel, window and count', { and: [{ behaviour: { type: 'clicked', channel: 'email', within: { amount: 30, unit: 'days' }, count: { op: 'gte', value: 2 } } }] }],
    ['a score between and numbers in a list', { and: [{ score: 'value.monetary', op: 'between', values: [10, 500] }, { field: 'attributes.tier', op: 'in', values: [1, 2, 3] }] }],
  ])('a saved rule reads back into rows and out again unchanged: %s', (_name, saved) => {
    expect(Rule.safeParse(saved).success).toBe(true);
    expect(toRule(fromRule(saved)).rule).toEqual(saved);
  });

  test('a rule that is not a group reads back as one row in an all-of group; `not` of one condition becomes "is not"', () => {
    expect(toRule(fromRule({ reachable: 'email' })).rule).toEqual({ and: [{ reachable: 'email' }] });
    const root = fromRule({ not: { consent: { channel: 'email', status: 'withdrawn' } } });
    expect(root.children[0]).toMatchObject({ type: 'cond', kind: 'consent', op: 'isNot', value: 'withdrawn' });
    expect(toRule(root).rule).toEqual({ and: [{ not: { consent: { channel: 'email', status: 'withdrawn' } } }] });
  });

  test("the schema's issues land on the row that caused them: each row's path is where its JSON sits", () => {
    // Prepare: a good row, then a nested group whose second row has a behaviour window past the 400 days kept and a negated row with no segment chosen.
    const window = row('behaviour', { event: 'opened', withinAmount: '999', withinUnit: 'days' });
    const noSegment = row('segment', { op: 'isNot', value: '' });
    const blankValue = row('attribute', { attribute: 'plan', op: 'eq', value: '' });
    const root = newGroup('and', [row('reachable'), newGroup('none', [row('hasAddress'), window, noSegment]), blankValue]);

    // Act
    const { rule, paths } = toRule(root);
    const parsed = Rule.safeParse(rule);

    // Assess
    expect(parsed.success).toBe(false);
    const issues = issuesFromZod(parsed.error!.issues, 'rule');
    expect(paths.get(window.key)).toBe('rule.and[1].not.or[1]');
    expect(paths.get(noSegment.key)).toBe('rule.and[1].not.or[2].not');
    expect(paths.get(blankValue.key)).toBe('rule.and[2]');
    expect(issues.map((i) => i.path).sort()).toEqual(['rule.and[1].not.or[1].behaviour.within.amount', 'rule.and[1].not.or[2].not.segment', 'rule.and[2].value']);
  });

  test('an empty group is reported at the group, not lost', () => {
    const empty = newGroup('or', []);
    const { rule, paths } = toRule(newGroup('and', [row('reachable'), empty]));
    const parsed = Rule.safeParse(rule);
    expect(parsed.success).toBe(false);
    expect(issuesFromZod(parsed.error!.issues, 'rule').map((i) => i.path)).toEqual([paths.get(empty.key)]);
  });

  test('a number field left as text is sent as text, so the check names it instead of comparing with NaN or 0', () => {
    const { rule } = toRule(newGroup('and', [row('attribute', { attribute: 'age', valueType: 'number', op: 'gt', value: 'thirty' })]));
    expect(rule).toEqual({ and: [{ field: 'attributes.age', op: 'gt', value: 'thirty' }] });
    const parsed = Rule.safeParse(rule);
    expect(issuesFromZod(parsed.error!.issues, 'rule')).toEqual([{ path: 'rule.and[0].value', message: 'must be a number or a date such as { "date": "2026-01-31" }' }]);
  });
});

describe('segment rule builder: learned scores', () => {
  test('the score select lists the fixed scores, churn and expected 90-day value, and an entry for a goal\'s learned score', () => {
    expect(SCORE_OPTIONS.map(([name]) => name)).toEqual([...SCORE_NAMES, 'churn', 'value.expected90d', LEARNED_SCORE_ENTRY]);
    // Every listed name is one the shared schema accepts.
    for (const [name] of SCORE_OPTIONS.filter(([n]) => n !== LEARNED_SCORE_ENTRY)) expect(Rule.safeParse({ score: name, op: 'gt', value: 0 }).success, name).toBe(true);
  });

  test('choosing the learned entry asks for a goal; the typed name becomes the rule\'s score', () => {
    // Prepare: a score row, switched to the learned entry.
    const picked = withScoreChoice(row('score'), LEARNED_SCORE_ENTRY);
    expect([picked.score, scoreChoice(picked)]).toEqual(['propensity.', LEARNED_SCORE_ENTRY]);
    // Choosing it again keeps what was typed.
    expect(withScoreChoice({ ...picked, score: 'uplift.purchase' }, LEARNED_SCORE_ENTRY).score).toBe('uplift.purchase');

    // Act
    const typed = { ...picked, op: 'gte', value: '0.2', score: 'uplift.purchase' };
    const { rule } = toRule(newGroup('and', [typed, row('score', { score: 'churn', op: 'lt', value: '0.3' })]));

    // Assess
    expect(rule).toEqual({ and: [{ score: 'uplift.purchase', op: 'gte', value: 0.2 }, { score: 'churn', op: 'lt', value: 0.3 }] });
    expect(Rule.safeParse(rule).success).toBe(true);
  });

  test.each(['propensity.', 'uplift.x y', 'uplift.email', ''])('a typed name that is no score (%j) is refused by the shared schema at the row\'s score path', (score) => {
    const typed = row('score', { score, op: 'gt', value: '0' });
    const { rule, paths } = toRule(newGroup('and', [row('reachable'), typed]));
    const parsed = Rule.safeParse(rule);
    expect(parsed.success).toBe(false);
    expect(issuesFromZod(parsed.error!.issues, 'rule')).toEqual([{ path: `${paths.get(typed.key)}.score`, message: expect.stringContaining('or a learned score: propensity.<goal>') }]);
  });

  test('a saved rule with learned scores reads back with the typed names and out again unchanged', () => {
    const saved: RuleNode = { and: [{ score: 'propensity.sign_up', op: 'between', values: [0.1, 0.5] }, { score: 'value.expected90d', op: 'gt', value: 50 }, { score: 'propensity.email', op: 'gte', value: 0.02 }] };
    const root = fromRule(saved);
    expect(root.children.map((c) => scoreChoice(c as Cond))).toEqual([LEARNED_SCORE_ENTRY, 'value.expected90d', 'propensity.email']);
    expect(toRule(root).rule).toEqual(saved);
  });
});

describe('campaign form → CampaignInput', () => {
  const filled = (patch: Partial<CampaignForm> = {}): CampaignForm => {
    const form = emptyForm();
    return { ...form, name: 'Spring sale', segmentId: SEGMENT, variants: [{ ...form.variants[0]!, email: TEMPLATE }], ...patch };
  };

  test('blanks are left out, so the API applies its defaults (holdout 10 %, goal purchase in 7 days, no cap)', () => {
    const parsed = CampaignInput.safeParse(toInput(filled({ holdoutPercent: '' })));
    expect(parsed.success).toBe(true);
    expect(parsed.data).toMatchObject({ holdoutPercent: 10, channels: ['email'], schedule: { type: 'immediate' }, limits: { quietHours: {}, sendRatePerSecond: {} }, goal: { event: 'purchase', attributionWindowDays: 7, model: 'last_touch' } });
    expect(parsed.data!.limits.frequencyCap).toBeUndefined();
  });

  test('quiet hours: "None" turns them off on both channels; a custom window applies to the channels the campaign sends by', () => {
    expect(toInput(filled({ quiet: 'none' }))['limits']).toMatchObject({ quietHours: { email: null, sms: null } });
    const emailOnly = CampaignInput.safeParse(toInput(filled({ quiet: 'custom', quietStart: '20:00', quietEnd: '09:00' })));
    expect(emailOnly.data?.limits.quietHours).toEqual({ email: { start: '20:00', end: '09:00' } });
    const best = CampaignInput.safeParse(toInput(filled({ channels: 'best', quiet: 'custom', quietStart: '20:00', quietEnd: '09:00' })));
    expect(best.data?.limits.quietHours).toEqual({ email: { start: '20:00', end: '09:00' }, sms: { start: '20:00', end: '09:00' } });
  });

  test("a template for a channel the campaign does not use is not sent (the API would refuse it), and the schedule's local time is kept", () => {
    const input = toInput(filled({ channels: 'sms', variants: [{ ...filled().variants[0]!, email: TEMPLATE, sms: SEGMENT }], when: 'at', at: '2027-03-01T09:00', localTime: true }));
    expect(input['variants']).toEqual([{ name: 'A', weight: 1, templates: { sms: SEGMENT } }]);
    expect(input['schedule']).toEqual({ type: 'at', at: '2027-03-01T09:00', timezone: 'UTC', localTime: true });
    expect(CampaignInput.safeParse(input).success).toBe(true);
  });

  test('bad entries are reported at the paths the form shows them beside', () => {
    const parsed = CampaignInput.safeParse(toInput(filled({ name: ' ', holdoutPercent: '80', variants: [{ ...filled().variants[0]!, weight: 'heavy', email: '' }], when: 'recurring', cron: 'every day', perDay: '0' })));
    const paths = issuesFromZod(parsed.error!.issues).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['name', 'holdoutPercent', 'variants[0].weight', 'schedule.cron', 'limits.frequencyCap.perDay']));
  });

  test('an email campaign with email quiet hours saves back without gaining SMS ones', () => {
    const input = CampaignInput.parse(toInput(filled({ quiet: 'custom', quietStart: '22:00', quietEnd: '07:00' })));
    const resource = { ...input, id: SEGMENT, status: 'draft', createdAt: '', updatedAt: '', counters: {}, spent: 0, forecast: null } as unknown as CampaignResource;
    expect(CampaignInput.parse(toInput(formOf(resource))).limits.quietHours).toEqual({ email: { start: '22:00', end: '07:00' } });
  });

  test('a saved draft reads back into the form and out again as the same definition', () => {
    // Prepare: what the API answers for a draft with every optional part set.
    const input = CampaignInput.parse(
      toInput(
        filled({
          channels: 'email,sms',
          variants: [
            { key: 'a', name: 'A', weight: '2', email: TEMPLATE, sms: TEMPLATE },
            { key: 'b', name: 'B', weight: '1', email: TEMPLATE, sms: '' },
          ],
          holdoutPercent: '25',
          when: 'recurring',
          cron: 'cron(0 9 ? * MON *)',
          timezone: 'Europe/Berlin',
          quiet: 'custom',
          perDay: '1',
          perWeek: '3',
          rateEmail: '50',
          rateSms: '5',
          maxRecipients: '1000',
          budget: '20',
          goalEvent: 'signup',
          windowDays: '14',
          model: 'time_decay',
          halfLifeDays: '3',
          costEmail: '0.0001',
          costSms: '0.0075',
          marketing: false,
        }),
      ),
    );
    const resource = { ...input, id: SEGMENT, status: 'draft', createdAt: '', updatedAt: '', counters: {}, spent: 0, forecast: null } as unknown as CampaignResource;

    // Act
    const again = CampaignInput.parse(toInput(formOf(resource)));

    // Assess
    expect(again).toEqual(input);
  });
});
