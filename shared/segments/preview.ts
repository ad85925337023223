import type { Channel, Contact } from '../contacts/model.ts';
import { countSince, hourOf } from '../activity/activity.ts';
import { propensityId } from '../learning/names.ts';
import { reachable, type EvalContact } from './contact-view.ts';

export interface ChannelForecast {
  /** Sum of the reachable members' response propensities. */
  expectedResponses: number;
  /** 95 % interval of the number of responses (normal approximation of a Poisson-binomial). */
  low: number;
  high: number;
}

/**
 * The goal's expected converters among the reachable members (`?goal=` on a preview): the sum of
 * their stored `propensity.<goal>` scores — each the probability of converting within the goal
 * window if sent a message on the best channel at the best hour — with a 95 % interval of the
 * number of converters (Bernoulli noise only, normal approximation of a Poisson-binomial).
 * Reachable members without a score (the model has not scored them yet) add nothing: compare
 * `scored` with `reachable`.
 */
export interface GoalForecast {
  goal: string;
  /** `propensity.<goal>@v<n>`: the active version the scores came from; null when the model is not active. */
  model: string | null;
  expectedConverters: number | null;
  low: number | null;
  high: number | null;
  /** Members reachable on email or SMS. */
  reachable: number;
  /** Of those, members with a `propensity.<goal>` score. */
  scored: number;
  /** Why the numbers are null (no active model, or no member with a score); null when they are not. */
  reason: string | null;
}

/** What the caller knows of the goal's model: the active version's name, or null and why not; `reason` also explains an empty sum. */
export interface GoalModel {
  model: string | null;
  reason: string;
}

export interface Forecast {
  email: ChannelForecast;
  sms: ChannelForecast;
  /** Present when a goal was asked for. */
  goal?: GoalForecast;
}

export interface SampleContact {
  id: string;
  email?: string;
  phone?: string;
  attributes: Contact['attributes'];
  tags: string[];
}

export interface PreviewResult {
  count: number;
  reachable: { email: number; sms: number };
  sample: SampleContact[];
  forecast: Forecast;
  scanned: number;
  consumedReadUnits: number;
  computedAt: string;
}

const Z95 = 1.959963984540054;
const round = (value: number, places = 2) => Math.round(value * 10 ** places) / 10 ** places;

/**
 * Accumulates a segment's members into a preview (count, reachability, a sample, the response
 * forecast) and its segment-level statistics, in one pass and constant memory.
 */
export class AudienceSummary {
  count = 0;
  scanned = 0;
  consumedReadUnits = 0;
  readonly reachable = { email: 0, sms: 0 };
  readonly sample: SampleContact[] = [];
  private readonly expected = { email: 0, sms: 0 };
  private readonly variance = { email: 0, sms: 0 };
  private readonly propensitySum = { email: 0, sms: 0 };
  private sentRecently = 0;
  private respondedRecently = 0;
  private convertedRecently = 0;
  private revenue = 0;
  private readonly recentFromHour: number;
  /** The goal's score name (`propensity.<goal>`) and its sums over reachable members. */
  private readonly goalScore: string | undefined;
  private readonly goalSums = { reachable: 0, scored: 0, expected: 0, variance: 0 };

  constructor(
    private readonly now: Date,
    private readonly sampleSize = 20,
    private readonly goal?: string,
  ) {
    this.recentFromHour = hourOf(now.getTime()) - 90 * 24;
    this.goalScore = goal === undefined ? undefined : propensityId(goal);
  }

  add(contact: EvalContact, item: Contact): void {
    this.count++;
    if (this.sample.length < this.sampleSize) {
      this.sample.push({ id: item.id, email: item.email, phone: item.phone, attributes: item.attributes, tags: item.tags ?? [] });
    }
    let reachableAny = false;
    for (const channel of ['email', 'sms'] as const satisfies readonly Channel[]) {
      const p = contact.scores.propensity[channel].mean;
      this.propensitySum[channel] += p;
      if (!reachable(contact, channel)) continue;
      reachableAny = true;
      this.reachable[channel]++;
      this.expected[channel] += p;
      this.variance[channel] += p * (1 - p);
    }
    if (this.goalScore !== undefined && reachableAny) this.addGoal(contact);
    const from = this.recentFromHour;
    if (countSince(contact.activity.get('sent|*'), from) > 0) {
      this.sentRecently++;
      if (countSince(contact.activity.get('opened|*'), from) + countSince(contact.activity.get('clicked|*'), from) > 0) this.respondedRecently++;
    }
    if (countSince(contact.activity.get('converted|*'), from) > 0) this.convertedRecently++;
    this.revenue += contact.scores.value.monetary;
  }

  private addGoal(contact: EvalContact): void {
    const sums = this.goalSums;
    sums.reachable++;
    const models = contact.scores.models;
    const p = models && Object.hasOwn(models, this.goalScore!) ? models[this.goalScore!] : undefined;
    // A probability or nothing: anything else in the item is not a score this forecast can use.
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) return;
    sums.scored++;
    sums.expected += p;
    sums.variance += p * (1 - p);
  }

  /** The goal's forecast: null numbers, with the reason, when the model is not active or no reachable member has a score. */
  goalForecast(model: GoalModel): GoalForecast {
    const { reachable: reachableMembers, scored, expected, variance } = this.goalSums;
    const base = { goal: this.goal!, model: model.model, reachable: reachableMembers, scored };
    if (model.model === null || scored === 0) return { ...base, expectedConverters: null, low: null, high: null, reason: model.reason };
    const sd = Math.sqrt(variance);
    return { ...base, expectedConverters: round(expected), low: round(Math.max(0, expected - Z95 * sd)), high: round(expected + Z95 * sd), reason: null };
  }

  /** The response forecast per channel, and the goal's when the summary was made for one and `goalModel` is given. */
  forecast(goalModel?: GoalModel): Forecast {
    const channel = (c: Channel): ChannelForecast => {
      const sd = Math.sqrt(this.variance[c]);
      return { expectedResponses: round(this.expected[c]), low: round(Math.max(0, this.expected[c] - Z95 * sd)), high: round(this.expected[c] + Z95 * sd) };
    };
    return { email: channel('email'), sms: channel('sms'), ...(this.goal !== undefined && goalModel ? { goal: this.goalForecast(goalModel) } : {}) };
  }

  preview(goalModel?: GoalModel): PreviewResult {
    return {
      count: this.count,
      reachable: { ...this.reachable },
      sample: this.sample,
      forecast: this.forecast(goalModel),
      scanned: this.scanned,
      consumedReadUnits: round(this.consumedReadUnits, 1),
      computedAt: this.now.toISOString(),
    };
  }

  stats(segmentId: string, version: number) {
    const per = (value: number, of: number) => (of > 0 ? round(value / of, 4) : null);
    return {
      segmentId,
      version,
      computedAt: this.now.toISOString(),
      size: this.count,
      reachable: { ...this.reachable },
      responseRate: per(this.respondedRecently, this.sentRecently),
      conversionRate: per(this.convertedRecently, this.count),
      revenuePerMember: per(this.revenue, this.count),
      meanPropensity: { email: per(this.propensitySum.email, this.count), sms: per(this.propensitySum.sms, this.count) },
    };
  }
}
