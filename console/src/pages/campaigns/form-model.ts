import type { CampaignResource } from './types.ts';

/**
 * The campaign form's state (what the marketer typed, as text) and its conversions: `toInput`
 * builds the request body CampaignInput validates (blanks left out so the API's defaults apply),
 * `formOf` reads a saved draft back into the form.
 */
export type ChannelChoice = 'email' | 'sms' | 'email,sms' | 'sms,email' | 'best';
export interface VariantForm {
  key: string;
  name: string;
  weight: string;
  email: string;
  sms: string;
}
/** What the marketer typed, as text; `toInput` turns it into a CampaignInput. */
export interface CampaignForm {
  name: string;
  segmentId: string;
  channels: ChannelChoice;
  variants: VariantForm[];
  holdoutPercent: string;
  when: 'immediate' | 'at' | 'recurring';
  at: string;
  timezone: string;
  localTime: boolean;
  cron: string;
  quiet: 'default' | 'none' | 'custom';
  quietStart: string;
  quietEnd: string;
  perDay: string;
  perWeek: string;
  rateEmail: string;
  rateSms: string;
  maxRecipients: string;
  budget: string;
  goalEvent: string;
  windowDays: string;
  model: 'last_touch' | 'first_touch' | 'linear' | 'time_decay';
  halfLifeDays: string;
  costEmail: string;
  costSms: string;
  marketing: boolean;
}

const VARIANT_NAMES = 'ABCDEFGHIJ';
let variantSeq = 0;
export const newVariant = (index: number): VariantForm => ({ key: `v${Date.now().toString(36)}${variantSeq++}`, name: VARIANT_NAMES[index] ?? `V${index + 1}`, weight: '1', email: '', sms: '' });

function tomorrowAtNine(): string {
  const d = new Date(Date.now() + 86_400_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T09:00`;
}

export const emptyForm = (): CampaignForm => ({
  name: '',
  segmentId: '',
  channels: 'email',
  variants: [newVariant(0)],
  holdoutPercent: '10',
  when: 'immediate',
  at: tomorrowAtNine(),
  timezone: 'UTC',
  localTime: false,
  cron: 'cron(0 9 ? * MON *)',
  quiet: 'default',
  quietStart: '21:00',
  quietEnd: '08:00',
  perDay: '',
  perWeek: '',
  rateEmail: '',
  rateSms: '',
  maxRecipients: '',
  budget: '',
  goalEvent: 'purchase',
  windowDays: '7',
  model: 'last_touch',
  halfLifeDays: '',
  costEmail: '',
  costSms: '',
  marketing: true,
});

const text = (n: number | undefined | null) => (n === undefined || n === null ? '' : String(n));

/** A saved campaign as the form (editing a draft). */
export function formOf(c: CampaignResource): CampaignForm {
  const quiet = c.limits.quietHours;
  const custom = quiet.email ?? quiet.sms;
  const base = emptyForm();
  return {
    ...base,
    name: c.name,
    segmentId: c.segmentId,
    channels: c.channels === 'best' ? 'best' : (c.channels.join(',') as ChannelChoice),
    variants: c.variants.map((v, i) => ({ ...newVariant(i), name: v.name, weight: String(v.weight), email: v.templates.email ?? '', sms: v.templates.sms ?? '' })),
    holdoutPercent: String(c.holdoutPercent),
    when: c.schedule.type === 'immediate' ? 'immediate' : c.schedule.type,
    at: c.schedule.type === 'at' ? c.schedule.at.slice(0, 16) : base.at,
    timezone: c.schedule.type === 'immediate' ? 'UTC' : c.schedule.timezone,
    localTime: c.schedule.type === 'at' && c.schedule.localTime,
    cron: c.schedule.type === 'recurring' ? c.schedule.cron : base.cron,
    quiet: custom ? 'custom' : quiet.email === null && quiet.sms === null ? 'none' : 'default',
    quietStart: custom?.start ?? base.quietStart,
    quietEnd: custom?.end ?? base.quietEnd,
    perDay: text(c.limits.frequencyCap?.perDay),
    perWeek: text(c.limits.frequencyCap?.perWeek),
    rateEmail: text(c.limits.sendRatePerSecond.email),
    rateSms: text(c.limits.sendRatePerSecond.sms),
    maxRecipients: text(c.limits.maxRecipients),
    budget: text(c.limits.budget),
    goalEvent: c.goal.event,
    windowDays: String(c.goal.attributionWindowDays),
    model: c.goal.model,
    halfLifeDays: text(c.goal.halfLifeDays),
    costEmail: text(c.costPerMessage.email),
    costSms: text(c.costPerMessage.sms),
    marketing: c.marketing,
  };
}

/** A number when the text is one, the text itself otherwise (the schema names the problem), undefined when blank. */
function numberOr(value: string): number | string | undefined {
  const t = value.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}
/** Drops undefined values, so an optional number left blank is absent rather than invalid. */
const defined = <T extends Record<string, unknown>>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

export const channelsOf = (choice: ChannelChoice): Array<'email' | 'sms'> => (choice === 'best' ? ['email', 'sms'] : (choice.split(',') as Array<'email' | 'sms'>));

/** The request body: exactly the fields CampaignInput takes, blanks left out so the defaults apply. */
export function toInput(f: CampaignForm): Record<string, unknown> {
  const channels = channelsOf(f.channels);
  const schedule =
    f.when === 'immediate' ? { type: 'immediate' } : f.when === 'at' ? { type: 'at', at: f.at, timezone: f.timezone, localTime: f.localTime } : { type: 'recurring', cron: f.cron.trim(), timezone: f.timezone };
  const window = f.quiet === 'custom' ? { start: f.quietStart, end: f.quietEnd } : null;
  // "None" turns quiet hours off on both channels; a custom window applies to the channels the campaign sends by.
  const quietHours = f.quiet === 'default' ? {} : f.quiet === 'none' ? { email: null, sms: null } : Object.fromEntries(channels.map((c) => [c, window]));
  const cap = defined({ perDay: numberOr(f.perDay), perWeek: numberOr(f.perWeek) });
  return {
    name: f.name,
    segmentId: f.segmentId,
    channels: f.channels === 'best' ? 'best' : channels,
    variants: f.variants.map((v) => ({
      name: v.name,
      weight: numberOr(v.weight),
      templates: defined({ email: channels.includes('email') && v.email ? v.email : undefined, sms: channels.includes('sms') && v.sms ? v.sms : undefined }),
    })),
    ...defined({ holdoutPercent: numberOr(f.holdoutPercent) }),
    schedule,
    limits: defined({
      frequencyCap: Object.keys(cap).length ? cap : undefined,
      quietHours,
      sendRatePerSecond: defined({ email: channels.includes('email') ? numberOr(f.rateEmail) : undefined, sms: channels.includes('sms') ? numberOr(f.rateSms) : undefined }),
      maxRecipients: numberOr(f.maxRecipients),
      budget: numberOr(f.budget),
    }),
    goal: defined({ event: f.goalEvent, attributionWindowDays: numberOr(f.windowDays), model: f.model, halfLifeDays: f.model === 'time_decay' ? numberOr(f.halfLifeDays) : undefined }),
    costPerMessage: defined({ email: channels.includes('email') ? numberOr(f.costEmail) : undefined, sms: channels.includes('sms') ? numberOr(f.costSms) : undefined }),
    marketing: f.marketing,
  };
}

