import type { AttributeValue, Channel, ConsentStatus } from '../shared/contacts/model.ts';
import { beta, scoresOf } from '../shared/scoring/model.ts';
import { activityKeys, hourOf, indexActivity } from '../shared/activity/activity.ts';
import type { EvalContact } from '../shared/segments/contact-view.ts';
import { compileRule, type RuleNode } from '../shared/segments/rule.ts';
import { medianOf, print, prng, type Figure } from './harness.ts';

/**
 * Segment rule evaluation over 1,000,000 in-memory contacts (what an audience scan does per page
 * after DynamoDB has returned the items): one attribute comparison, a nested boolean rule with
 * relative dates, and a behaviour window with a score threshold.
 */

const CONTACTS = 1_000_000;
const NOW_MS = Date.parse('2026-11-20T10:00:00.000Z');
const DAY_MS = 86_400_000;
const NOW_HOUR = hourOf(NOW_MS);


function weighted<T>(random: () => number, choices: readonly (readonly [T, number])[]): T {
  let r = random() * choices.reduce((sum, [, w]) => sum + w, 0);
  for (const [value, w] of choices) {
    r -= w;
    if (r < 0) return value;
  }
  return choices[choices.length - 1]![0];
}

const COUNTRIES = [
  ['GB', 25, 'Europe/London'],
  ['US', 30, 'America/New_York'],
  ['DE', 12, 'Europe/Berlin'],
  ['FR', 9, 'Europe/Paris'],
  ['NL', 5, 'Europe/Amsterdam'],
  ['ES', 6, 'Europe/Madrid'],
  ['IT', 5, 'Europe/Rome'],
  ['CA', 5, 'America/Toronto'],
  ['AU', 3, 'Australia/Sydney'],
] as const;
const COUNTRY_CHOICES = COUNTRIES.map((c) => [c, c[1]] as const);
const CITIES = ['London', 'Manchester', 'New York', 'Chicago', 'Berlin', 'Munich', 'Paris', 'Lyon', 'Amsterdam', 'Madrid', 'Rome', 'Toronto', 'Sydney'];
const TAGS: readonly (readonly [string, number])[] = [
  ['newsletter', 0.5],
  ['vip', 0.05],
  ['churned', 0.1],
  ['webinar-2026', 0.08],
  ['black-friday', 0.2],
  ['beta', 0.03],
  ['b2b', 0.15],
];

function syntheticContact(i: number, random: () => number): EvalContact {
  const [country, , timezone] = weighted(random, COUNTRY_CHOICES);
  const createdMs = NOW_MS - Math.floor(random() * 3 * 365 * DAY_MS);
  const attributes: Record<string, AttributeValue> = {
    plan: weighted(random, [
      ['free', 70],
      ['pro', 25],
      ['enterprise', 5],
    ]),
    city: CITIES[Math.floor(random() * CITIES.length)]!,
  };
  if (random() < 0.9) attributes['age'] = 18 + Math.floor(random() * 63);
  if (random() < 0.55) {
    const orderMs = NOW_MS - Math.floor(random() * 730 * DAY_MS);
    // Mostly dates as CSV imports bring them, some full instants as the API writes them.
    attributes['lastOrder'] = random() < 0.8 ? new Date(orderMs).toISOString().slice(0, 10) : new Date(orderMs).toISOString();
  }
  const hasPhone = random() < 0.45;
  const emailConsent = weighted<ConsentStatus | undefined>(random, [
    ['confirmed', 60],
    ['pending', 8],
    ['withdrawn', 7],
    [undefined, 25],
  ]);
  // Response propensity skewed towards low rates, as real audiences are; 20–80 observations each.
  const meanEmail = 0.005 + 0.25 * random() ** 3;
  const meanSms = 0.01 + 0.2 * random() ** 3;
  const observations = 20 + Math.floor(random() * 60);
  // A few behaviour series per active contact (each series costs ~0.5 KB in the index, so the
  // million contacts fit the default heap): email sends, some opens, clicks (one per campaign), conversions.
  const stored = Object.create(null) as Record<string, number>; // dictionary mode from the start: thousands of distinct keys
  const record = (type: string, channel: Channel, campaignId: string | undefined, daysAgoMax: number) => {
    const hour = NOW_HOUR - Math.floor(random() ** 2 * daysAgoMax * 24); // the square favours recent hours
    // The keys activityKeys() writes (built here directly: its ISO round trip would double the set-up time).
    const channelKey = `${type}|${channel}|${hour}`;
    stored[channelKey] = (stored[channelKey] ?? 0) + 1;
    if (campaignId) {
      const campaignKey = `${type}|c:${campaignId}|${hour}`;
      stored[campaignKey] = (stored[campaignKey] ?? 0) + 1;
    }
  };
  if (random() < 0.6) {
    const sends = 1 + Math.floor(random() * 8);
    for (let e = 0; e < sends; e++) record('sent', 'email', undefined, 180);
    if (random() < 0.4) for (let e = Math.floor(random() * 3); e >= 0; e--) record('opened', 'email', undefined, 180);
    if (random() < 0.25) record('clicked', 'email', `cmp-${Math.floor(random() * 40)}`, 120);
    if (random() < 0.05) record('converted', 'email', undefined, 365);
    if (hasPhone && random() < 0.3) record('sent', 'sms', undefined, 90);
  }
  const tags: string[] = [];
  for (const [tag, p] of TAGS) if (random() < p) tags.push(tag);
  return {
    id: `c${i}`,
    email: random() < 0.92 ? `user${i}@example.com` : undefined,
    phone: hasPhone ? `+4477${String(i).padStart(8, '0')}` : undefined,
    country,
    timezone,
    tags,
    createdAt: new Date(createdMs).toISOString(),
    updatedAt: new Date(createdMs + Math.floor(random() * (NOW_MS - createdMs))).toISOString(),
    attributes,
    consent: { email: emailConsent, sms: hasPhone && random() < 0.5 ? 'confirmed' : undefined },
    suppressed: { email: random() < 0.03, sms: random() < 0.02 },
    scores: scoresOf({
      lead: Math.floor(random() * 80),
      engagement: random(),
      propensity: { email: beta(meanEmail * observations, (1 - meanEmail) * observations), sms: beta(meanSms * observations, (1 - meanSms) * observations) },
      bestHour: random() < 0.6 ? Math.floor(random() * 24) : null,
    }),
    activity: indexActivity(stored, NOW_MS),
  };
}

const RULES: { name: string; target: number; rule: RuleNode; timezone: string }[] = [
  {
    name: '(1) attributes.plan eq "pro"',
    target: 2_000_000,
    rule: { field: 'attributes.plan', op: 'eq', value: 'pro' },
    timezone: 'UTC',
  },
  {
    name: '(2) nested and/or/not with relative dates',
    target: 0,
    rule: {
      and: [
        { field: 'country', op: 'in', values: ['GB', 'DE', 'FR', 'NL'] },
        { or: [{ field: 'createdAt', op: 'withinLast', amount: 90, unit: 'days' }, { field: 'attributes.lastOrder', op: 'moreThanAgo', amount: 6, unit: 'months' }] },
        { not: { field: 'tags', op: 'contains', value: 'churned' } },
      ],
    },
    timezone: 'Europe/London',
  },
  {
    name: '(3) clicked email in 30 days and propensity.email ≥ 0.05',
    target: 500_000,
    rule: {
      and: [
        { behaviour: { type: 'clicked', channel: 'email', within: { amount: 30, unit: 'days' }, count: { op: 'gte', value: 1 } } },
        { score: 'propensity.email', op: 'gte', value: 0.05 },
      ],
    },
    timezone: 'UTC',
  },
];

export function syntheticContacts(count: number, seed = 20261120): EvalContact[] {
  // The generator writes counter keys itself: make sure they are the ones activityKeys() writes.
  const [sample] = activityKeys({ type: 'sent', channel: 'email', occurredAt: new Date(NOW_MS).toISOString() });
  if (sample !== `sent|email|${NOW_HOUR}`) throw new Error(`activity key format changed: ${sample}`);
  const random = prng(seed);
  const contacts: EvalContact[] = new Array<EvalContact>(count);
  for (let i = 0; i < count; i++) contacts[i] = syntheticContact(i, random);
  return contacts;
}

export async function run(): Promise<void> {
  const buildStart = performance.now();
  const contacts = syntheticContacts(CONTACTS);
  const buildSeconds = (performance.now() - buildStart) / 1000;

  const figures: Figure[] = [];
  for (const { name, target, rule, timezone } of RULES) {
    const { test } = compileRule(rule, { now: new Date(NOW_MS), timezone });
    let matched = -1;
    const perSecond = await medianOf(5, () => {
      const start = performance.now();
      let count = 0;
      for (let i = 0; i < contacts.length; i++) if (test(contacts[i]!)) count++;
      const seconds = (performance.now() - start) / 1000;
      // Every run must agree: the rule is pure and the contacts do not change.
      if (matched !== -1 && count !== matched) throw new Error(`${name}: ${count} matched, earlier ${matched}`);
      matched = count;
      return contacts.length / seconds;
    });
    if (matched <= 0 || matched >= contacts.length) throw new Error(`${name}: matched ${matched} of ${contacts.length}, the rule is not selective`);
    figures.push({ name: `${name}`, value: perSecond, unit: 'contacts/s', ...(target ? { target: `≥ ${target.toLocaleString('en-US')} contacts/s` } : {}) });
    figures.push({ name: `    matched (of ${contacts.length.toLocaleString('en-US')})`, value: matched, unit: `contacts (${((matched / contacts.length) * 100).toFixed(1)} %)` });
  }
  figures.push({ name: 'building the 1M synthetic contacts (not timed above)', value: buildSeconds, unit: 's' });
  print('Segment rules: compiled predicate over 1,000,000 in-memory contacts (median of 5 runs, one core)', figures);
}
