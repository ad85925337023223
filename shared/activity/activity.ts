/**
 * Behaviour counters kept on the contact item (map attribute `activity`), so a segment rule
 * like "clicked an email in the last 30 days ≥ 1" is answered without reading the timeline.
 * Each interaction adds 1 under two keys, in the same transaction that records it (so a
 * repeated event never counts twice, and out-of-order arrival does not matter):
 *
 *   "<type>|<channel or ->|<hour>"          e.g. "clicked|email|493021"
 *   "<type>|c:<campaignId>|<hour>"          when the interaction belongs to a campaign
 *   "custom:<name>|-|<hour>"                 a custom event, also under its own name
 *
 * <hour> is whole hours since the Unix epoch (UTC), the resolution of behaviour windows.
 */
export const ACTIVITY_ATTRIBUTE = 'activity';
export const NO_CHANNEL = '-';
/** Counters older than this are ignored by rules and dropped by the nightly run (see expiredActivityKeys). */
export const ACTIVITY_RETENTION_DAYS = 400;

export const hourOf = (instantMs: number): number => Math.floor(instantMs / 3_600_000);

/**
 * Counters past retention, oldest first, at most `limit` of them: the nightly run removes them in
 * the score update it already makes for each contact it passes, so the contact item (whose size
 * sets the write units of every counter bump, send and response) stops growing after 400 days
 * without an extra write. Keys that are not counters (no numeric hour) are left alone.
 */
export function expiredActivityKeys(stored: Record<string, unknown> | undefined, nowMs: number, limit = 200): string[] {
  const oldest = hourOf(nowMs) - ACTIVITY_RETENTION_DAYS * 24;
  const expired: Array<[string, number]> = [];
  for (const key of Object.keys(stored ?? {})) {
    const last = key.lastIndexOf('|');
    if (last <= 0) continue;
    const tail = key.slice(last + 1);
    const hour = /^\d+$/.test(tail) ? Number(tail) : Number.NaN;
    if (Number.isSafeInteger(hour) && hour < oldest) expired.push([key, hour]);
  }
  return expired
    .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, limit)
    .map(([key]) => key);
}

/** The counter type of a transactional message's `sent` entry. */
export const TRANSACTIONAL_SENT = 'transactional_sent';

/** The counter type of one named custom event ("custom:added_to_cart"): segment rules count it by name. */
export const customCounterType = (name: string): string => `custom:${name}`;

export function activityKeys(interaction: { type: string; channel?: string; campaignId?: string; occurredAt: string; data?: Record<string, unknown> }): string[] {
  const hour = hourOf(Date.parse(interaction.occurredAt));
  // A transactional message (a receipt, a password reset) is no marketing touch: it counts apart,
  // so frequency caps and "sent in the last N days" rules (which read sent|<channel>) ignore it.
  const type = interaction.type === 'sent' && interaction.data?.transactional === true ? TRANSACTIONAL_SENT : interaction.type;
  const keys = [`${type}|${interaction.channel ?? NO_CHANNEL}|${hour}`];
  if (interaction.campaignId) keys.push(`${interaction.type}|c:${interaction.campaignId}|${hour}`);
  // A custom event counts twice: as any custom event and under its own name (names hold no `|`).
  if (interaction.type === 'custom' && typeof interaction.data?.name === 'string') keys.push(`${customCounterType(interaction.data.name)}|${interaction.channel ?? NO_CHANNEL}|${hour}`);
  return keys;
}

/** Counts of one behaviour by hour, ascending: a window sums the tail. */
export interface ActivitySeries {
  hours: Int32Array;
  counts: Int32Array;
}

/**
 * Series by "<type>|<scope>", where scope is a channel, "*" (any channel) or "c:<campaignId>".
 * Built once per contact when it is read, not per rule evaluation.
 */
export type ActivityIndex = Map<string, ActivitySeries>;

export function indexActivity(stored: Record<string, number> | undefined, nowMs = Date.now()): ActivityIndex {
  const oldest = hourOf(nowMs) - ACTIVITY_RETENTION_DAYS * 24;
  const grouped = new Map<string, Map<number, number>>();
  const add = (series: string, hour: number, count: number) => {
    let byHour = grouped.get(series);
    if (!byHour) grouped.set(series, (byHour = new Map()));
    byHour.set(hour, (byHour.get(hour) ?? 0) + count);
  };
  for (const [key, count] of Object.entries(stored ?? {})) {
    const last = key.lastIndexOf('|');
    const first = key.indexOf('|');
    if (first <= 0 || last === first) continue;
    const hour = Number(key.slice(last + 1));
    if (!Number.isInteger(hour) || hour < oldest || typeof count !== 'number') continue;
    const type = key.slice(0, first);
    const scope = key.slice(first + 1, last);
    add(`${type}|${scope}`, hour, count);
    if (!scope.startsWith('c:')) add(`${type}|*`, hour, count);
  }
  const index: ActivityIndex = new Map();
  for (const [series, byHour] of grouped) {
    const hours = [...byHour.keys()].sort((a, b) => a - b);
    index.set(series, { hours: Int32Array.from(hours), counts: Int32Array.from(hours.map((h) => byHour.get(h)!)) });
  }
  return index;
}

/** Sum of counts at or after `fromHour` (binary search for the start, then a short tail sum). */
export function countSince(series: ActivitySeries | undefined, fromHour: number): number {
  if (!series) return 0;
  const { hours, counts } = series;
  let lo = 0;
  let hi = hours.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (hours[mid]! < fromHour) lo = mid + 1;
    else hi = mid;
  }
  let total = 0;
  for (let i = lo; i < counts.length; i++) total += counts[i]!;
  return total;
}

/**
 * A contact's behaviour as the API shows it: counts per channel and type over the last 30 days
 * and over the whole retention, from the counters (whose keys are storage, not model).
 * Interactions without a channel (conversions, form submissions) are under "any".
 */
export type BehaviourSummary = Record<'last30Days' | 'retained', Record<string, Record<string, number>>>;

export function behaviourSummary(stored: Record<string, number> | undefined, nowMs = Date.now()): BehaviourSummary {
  const summary: BehaviourSummary = { last30Days: {}, retained: {} };
  const since = hourOf(nowMs) - 30 * 24;
  for (const [series, values] of indexActivity(stored, nowMs)) {
    const [type, scope] = series.split('|') as [string, string];
    if (scope === '*' || scope.startsWith('c:')) continue;
    const channel = scope === NO_CHANNEL ? 'any' : scope;
    const retained = countSince(values, Number.MIN_SAFE_INTEGER);
    (summary.retained[channel] ??= {})[type] = retained;
    const recent = countSince(values, since);
    if (recent > 0) (summary.last30Days[channel] ??= {})[type] = recent;
  }
  return summary;
}
