import type { Channel, Contact } from '../contacts/model.ts';
import { countSince, hourOf } from '../activity/activity.ts';
import { reachable, type EvalContact } from './contact-view.ts';

export interface ChannelForecast {
  /** Sum of the reachable members' response propensities. */
  expectedResponses: number;
  /** 95 % interval of the number of responses (normal approximation of a Poisson-binomial). */
  low: number;
  high: number;
}

export interface Forecast {
  email: ChannelForecast;
  sms: ChannelForecast;
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

  constructor(
    private readonly now: Date,
    private readonly sampleSize = 20,
  ) {
    this.recentFromHour = hourOf(now.getTime()) - 90 * 24;
  }

  add(contact: EvalContact, item: Contact): void {
    this.count++;
    if (this.sample.length < this.sampleSize) {
      this.sample.push({ id: item.id, email: item.email, phone: item.phone, attributes: item.attributes, tags: item.tags ?? [] });
    }
    for (const channel of ['email', 'sms'] as const satisfies readonly Channel[]) {
      const p = contact.scores.propensity[channel].mean;
      this.propensitySum[channel] += p;
      if (!reachable(contact, channel)) continue;
      this.reachable[channel]++;
      this.expected[channel] += p;
      this.variance[channel] += p * (1 - p);
    }
    const from = this.recentFromHour;
    if (countSince(contact.activity.get('sent|*'), from) > 0) {
      this.sentRecently++;
      if (countSince(contact.activity.get('opened|*'), from) + countSince(contact.activity.get('clicked|*'), from) > 0) this.respondedRecently++;
    }
    if (countSince(contact.activity.get('converted|*'), from) > 0) this.convertedRecently++;
    this.revenue += contact.scores.value.monetary;
  }

  forecast(): Forecast {
    const channel = (c: Channel): ChannelForecast => {
      const sd = Math.sqrt(this.variance[c]);
      return { expectedResponses: round(this.expected[c]), low: round(Math.max(0, this.expected[c] - Z95 * sd)), high: round(this.expected[c] + Z95 * sd) };
    };
    return { email: channel('email'), sms: channel('sms') };
  }

  preview(): PreviewResult {
    return {
      count: this.count,
      reachable: { ...this.reachable },
      sample: this.sample,
      forecast: this.forecast(),
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
