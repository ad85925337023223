import { attributeConversion, DAY_MS, type AttributionModel, type CampaignGoal, type Conversion, type Touch } from '../shared/attribution/attribute.ts';
import { medianOf, print, prng } from './harness.ts';

/**
 * Nightly attribution throughput: 1,000,000 synthetic conversions, each with 1–5 touches
 * (sends plus some of their delivered/opened/clicked events, a few outside the window, after
 * the conversion or of a campaign with another goal event) across 40 campaigns with mixed
 * models. Counts interactions processed: touches + conversions.
 */

const CONVERSIONS = 1_000_000;
const CAMPAIGNS = 40;
const NOW_MS = Date.parse('2026-11-20T00:00:00.000Z');
const MODELS: readonly AttributionModel[] = ['last_touch', 'first_touch', 'linear', 'time_decay'];
const WINDOWS = [1, 3, 7, 14, 30];
const ENGAGEMENT: readonly Touch['kind'][] = ['delivered', 'opened', 'clicked'];


interface Workload {
  goals: Map<string, CampaignGoal>;
  conversions: Conversion[];
  touches: Touch[][];
  interactions: number;
}

function workload(): Workload {
  const random = prng(20261120);
  const goals = new Map<string, CampaignGoal>();
  const campaignIds: string[] = [];
  for (let c = 0; c < CAMPAIGNS; c++) {
    const campaignId = `campaign-${c}`;
    campaignIds.push(campaignId);
    goals.set(campaignId, {
      campaignId,
      event: c % 10 === 9 ? 'signup' : 'purchase',
      windowDays: WINDOWS[c % WINDOWS.length]!,
      model: MODELS[c % MODELS.length]!,
      halfLifeDays: c % 8 === 3 ? 2 : undefined,
    });
  }
  // Send ids only need to be distinct within one contact's touches: a pool keeps memory flat.
  const sendIds = Array.from({ length: 64 }, (_, i) => `run-${i >> 3}:send-${i}`);
  const conversions: Conversion[] = new Array<Conversion>(CONVERSIONS);
  const touches: Touch[][] = new Array<Touch[]>(CONVERSIONS);
  let interactions = 0;
  for (let i = 0; i < CONVERSIONS; i++) {
    const at = NOW_MS - Math.floor(random() * 30 * DAY_MS);
    conversions[i] = { id: `conv-${i}`, contactId: `contact-${i}`, at, value: Math.round(random() * 20000) / 100, name: 'purchase' };
    const count = 1 + Math.floor(random() * 5);
    const list: Touch[] = [];
    let sendSlot = Math.floor(random() * 56);
    while (list.length < count) {
      const campaignId = campaignIds[Math.floor(random() * CAMPAIGNS)]!;
      // Mostly within the last week before the conversion; ~10 % after it.
      const sentAt = at - Math.floor((random() * 1.1 - 0.1) * 10 * DAY_MS);
      const sendId = sendIds[sendSlot++ % sendIds.length]!;
      const variant = random() < 0.5 ? 'A' : 'B';
      const channel = random() < 0.7 ? 'email' : 'sms';
      list.push({ campaignId, sendId, variant, channel, at: sentAt, kind: 'sent' });
      // Some engagement with that send, collapsed into it by attribution.
      if (list.length < count && random() < 0.4) {
        list.push({ campaignId, sendId, at: sentAt + Math.floor(random() * DAY_MS), kind: ENGAGEMENT[Math.floor(random() * 3)]! });
      }
    }
    touches[i] = list;
    interactions += list.length + 1;
  }
  return { goals, conversions, touches, interactions };
}

export async function run(): Promise<void> {
  const { goals, conversions, touches, interactions } = workload();
  let credited = 0;
  const interactionsPerSecond = await medianOf(5, () => {
    const start = performance.now();
    let sum = 0;
    for (let i = 0; i < conversions.length; i++) {
      const credits = attributeConversion(conversions[i]!, touches[i]!, goals);
      for (const c of credits) sum += c.credit;
    }
    const seconds = (performance.now() - start) / 1000;
    credited = sum;
    return interactions / seconds;
  });
  if (!(credited > 0)) throw new Error('nothing was attributed');
  const perConversion = interactions / conversions.length;

  print(`Attribution (median of 5 runs, one core; ${conversions.length.toLocaleString('en-US')} conversions, ${perConversion.toFixed(2)} interactions each)`, [
    { name: 'interactions attributed per second (touches + conversions)', value: interactionsPerSecond, unit: 'interactions/s', target: '≥ 1,000,000/s' },
    { name: 'conversions attributed per second', value: interactionsPerSecond / perConversion, unit: 'conversions/s' },
    { name: 'conversions credited to some campaign (credit sum)', value: credited, unit: 'conversions' },
  ]);
}
