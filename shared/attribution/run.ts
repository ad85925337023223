import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { batchGetAll, documentClient, queryAll, scanAll } from '../aws/dynamodb.ts';
import { runsOf, type Campaign } from '../campaigns/model.ts';
import { responseCounts, type ResponseCounts } from '../campaigns/responses.ts';
import { sendPk } from '../campaigns/send-store.ts';
import type { Contact } from '../contacts/model.ts';
import type { Interaction } from '../contacts/timeline.ts';
import { scoresOf } from '../scoring/model.ts';
import { campaignAccumulator, HOLDOUT, passContact, type CampaignAccumulator, type CampaignInfo, type GroupAccumulator } from './contact-pass.ts';
import { liftReport, rateLift, type LiftReport, type MetricLift } from './lift.ts';
import { storable } from '../numbers.ts';
import { forEachLimit } from '../concurrency.ts';
import { ACTIVITY_ATTRIBUTE, expiredActivityKeys } from '../activity/activity.ts';
import { ACTIVITY_MONTHS_ATTRIBUTE, activityMonthOf, oldestActivityMonth } from '../activity/activity-store.ts';
import { conversionSummary } from '../learning/collect.ts';
import type { LearningCollector } from '../learning/parts.ts';
import { toEvalContact } from '../segments/contact-view.ts';

const DAY = 86_400_000;
/** How far back the run reads timelines: the longest attribution window plus the score history. */
export const LOOKBACK_DAYS = 180;

/** The earliest instant a run reads: the score history, or — for older ranges (imported history) — the range minus the longest window. */
export function lookbackStart(now: Date, from?: Date): number {
  const history = now.getTime() - LOOKBACK_DAYS * DAY;
  return from ? Math.min(history, from.getTime() - 90 * DAY) : history;
}

export interface AttributionTables {
  interactions: string;
  contacts: string;
  campaigns: string;
  sends: string;
  attribution: string;
  attributionRuns: string;
  attributionParts: string;
  reports: string;
}

export interface RunRecord {
  runId: string;
  from: string;
  to: string;
  status: 'running' | 'completed';
  segmentsTotal: number;
  segmentsDone: number;
  startedAt: string;
  completedAt?: string;
  contacts?: number;
  conversions?: number;
  interactions?: number;
  readUnits?: number;
  /** A learning run trains the models from this run's examples and scores every contact before it completes. */
  learn?: boolean;
  phase?: RunPhase;
  /** Learning: the goals trained, the models done so far of `modelsTotal`, the scoring segments done of `scoreSegmentsTotal`. */
  goals?: string[];
  modelsTotal?: number;
  modelsDone?: number;
  scoreSegmentsTotal?: number;
  scoreSegmentsDone?: number;
  /** Learning: contacts scored and score writes made. */
  scored?: number;
  scoreWrites?: number;
}

/** What one scan segment (or one page of it) learnt; parts are summed when the run finishes. */
export interface RunPart {
  contacts: number;
  interactions: number;
  conversions: number;
  readUnits: number;
  /** "campaignId|day|variant" → credited conversions, revenue and the number of conversions touched. */
  credits: Record<string, { conversions: number; revenue: number; touched: number }>;
  campaigns: Record<string, CampaignAccumulator>;
  /** A learning run: training examples seen per goal (the examples themselves are in the learning bucket). */
  learning?: Record<string, number>;
}

export const emptyPart = (): RunPart => ({ contacts: 0, interactions: 0, conversions: 0, readUnits: 0, credits: {}, campaigns: {} });

/** A run's phases: attribution (the scan), then for a learning run training and scoring, then completed. */
export type RunPhase = 'attribution' | 'training' | 'scoring' | 'completed';

/** Members of a group and those who visited the site within the goal window after exposure. */
export interface VisitGroup {
  members: number;
  visitors: number;
  rate: number;
}

/**
 * One row of the funnel by group: a variant's treatment members, or the holdout. Every count is of
 * unique contacts. The holdout is sent nothing, so its message steps (sent, delivered, opened,
 * clicked, unsubscribed) are null — not applicable — and only targeted, visited, converted and
 * revenue are counted for it; they are what the variants are compared with.
 */
export interface FunnelRow {
  /** The variant's name ('' for a campaign without variants), or '#holdout'. */
  group: string;
  holdout: boolean;
  /** Contacts the launch assigned to this group (sent or not: skipped, failed, still queued…). */
  targeted: number;
  sent: number | null;
  delivered: number | null;
  opened: number | null;
  clicked: number | null;
  /** Visited the site at least once within the goal window after their send (holdout: after the launch). */
  visited: number;
  /** Converted (the goal event) within the goal window after their send (holdout: after the launch). */
  converted: number;
  /** Revenue of those conversions. */
  revenue: number;
  unsubscribed: number | null;
}

export interface CampaignReport {
  campaignId: string;
  name: string;
  computedAt: string;
  runId: string;
  range: { from: string; to: string };
  goal: Campaign['goal'];
  /** Campaign-wide: converted is the attributed conversions; visited the treatment members who visited within the window. */
  funnel: { targeted: number; holdout: number; sent: number; converted: number; visited?: number } & ResponseCounts;
  revenue: number;
  cost: number;
  roi: number | null;
  /** Per variant: treatment members (from the send records), unique responders by type, converters and revenue in the goal window, attributed credit and lift. */
  variants: Array<
    ResponseCounts & {
      variant: string;
      members: number;
      converters: number;
      revenue: number;
      attributedConversions: number;
      attributedRevenue: number;
      lift: LiftReport | null;
      /** Members who visited within the window, and their visit rate's lift over the holdout (absent in reports computed before visits were measured). */
      visitors?: number;
      visitLift?: MetricLift | null;
    }
  >;
  /** Treatment members by the channel they were sent on; converters and revenue inside the goal window after the send. */
  channels: Array<ResponseCounts & { channel: string; sent: number; converters: number; conversionRate: number | null; revenue: number }>;
  lift: LiftReport | null;
  holdout: { members: number; converters: number; revenue: number; visitors?: number };
  /**
   * The visit rate of all treatment members against the holdout's (visited the site at least once
   * within the goal window after the send / the launch), and its lift by the conversion rate's
   * test: null when either group is empty. Absent in reports computed before visits were measured.
   */
  visits?: { treatment: VisitGroup; holdout: VisitGroup; lift: MetricLift | null };
  /** The funnel per variant and for the holdout (see FunnelRow); absent in reports computed before. */
  funnels?: FunnelRow[];
  forecastVsActual: {
    email: { forecast: number | null; low: number | null; high: number | null; actual: number; error: number | null };
    sms: { forecast: number | null; low: number | null; high: number | null; actual: number; error: number | null };
  };
}

export class AttributionStore {
  constructor(
    readonly tables: AttributionTables,
    private readonly db: DynamoDBDocumentClient = documentClient,
  ) {}

  async createRun(from: Date, to: Date, segmentsTotal: number, now = new Date(), learn = false): Promise<RunRecord> {
    const run: RunRecord = { runId: randomUUID(), from: from.toISOString(), to: to.toISOString(), status: 'running', segmentsTotal, segmentsDone: 0, startedAt: now.toISOString(), learn, phase: 'attribution' };
    await this.db.send(new PutCommand({ TableName: this.tables.attributionRuns, Item: run }));
    return run;
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const item = (await this.db.send(new GetCommand({ TableName: this.tables.attributionRuns, Key: { runId }, ConsistentRead: true }))).Item as
      | (RunRecord & { doneSegments?: Set<number>; doneModels?: Set<string>; doneScoreSegments?: Set<number>; learningParts?: Set<string> })
      | undefined;
    if (!item) return undefined;
    const { doneSegments, doneModels, doneScoreSegments, learningParts: _parts, ...run } = item;
    return {
      ...run,
      segmentsDone: doneSegments?.size ?? run.segmentsDone,
      ...(run.modelsTotal !== undefined ? { modelsDone: doneModels?.size ?? 0 } : {}),
      ...(run.scoreSegmentsTotal !== undefined ? { scoreSegmentsDone: doneScoreSegments?.size ?? 0 } : {}),
    };
  }

  async savePart(runId: string, partId: string, part: RunPart): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tables.attributionParts, Item: { runId, partId, part: JSON.stringify(part) } }));
  }

  async parts(runId: string): Promise<RunPart[]> {
    const out: RunPart[] = [];
    for await (const item of queryAll(this.db, { TableName: this.tables.attributionParts, KeyConditionExpression: 'runId = :r', ExpressionAttributeValues: { ':r': runId }, ConsistentRead: true })) {
      out.push(JSON.parse(String(item.part)) as RunPart);
    }
    return out;
  }

  /**
   * A scan segment finished; true once every segment has (the caller then finalises the run). The
   * finished segments are a set, so a redelivered last message — the finalisation failed once —
   * finds the run still complete and finalises it again (every step of that is idempotent), where a
   * counter would have passed the total and left the run running for ever.
   */
  async segmentDone(runId: string, segment: number): Promise<boolean> {
    const result = await this.db.send(
      new UpdateCommand({ TableName: this.tables.attributionRuns, Key: { runId }, UpdateExpression: 'ADD doneSegments :segment', ExpressionAttributeValues: { ':segment': new Set([segment]) }, ReturnValues: 'ALL_NEW' }),
    );
    const run = result.Attributes as RunRecord & { doneSegments: Set<number> };
    return run.status === 'running' && run.doneSegments.size >= run.segmentsTotal;
  }

  async completeRun(runId: string, totals: Pick<RunRecord, 'contacts' | 'conversions' | 'interactions' | 'readUnits'>, now = new Date()): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tables.attributionRuns,
          Key: { runId },
          UpdateExpression: 'SET #s = :done, #p = :done, completedAt = :at, contacts = :c, conversions = :v, interactions = :i, readUnits = :r',
          ConditionExpression: '#s = :running',
          ExpressionAttributeNames: { '#s': 'status', '#p': 'phase' },
          ExpressionAttributeValues: { ':done': 'completed', ':running': 'running', ':at': now.toISOString(), ':c': totals.contacts, ':v': totals.conversions, ':i': totals.interactions, ':r': totals.readUnits },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** Attribution totals kept on a learning run until scoring completes it. */
  async saveTotals(runId: string, totals: Pick<RunRecord, 'contacts' | 'conversions' | 'interactions' | 'readUnits'>): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tables.attributionRuns,
        Key: { runId },
        UpdateExpression: 'SET contacts = :c, conversions = :v, interactions = :i, readUnits = :r',
        ExpressionAttributeValues: { ':c': totals.contacts, ':v': totals.conversions, ':i': totals.interactions, ':r': totals.readUnits },
      }),
    );
  }

  /** A scan page's learning part (its object key stem in the learning bucket). */
  async addLearningPart(runId: string, stem: string): Promise<void> {
    await this.db.send(new UpdateCommand({ TableName: this.tables.attributionRuns, Key: { runId }, UpdateExpression: 'ADD learningParts :p', ExpressionAttributeValues: { ':p': new Set([stem]) } }));
  }

  async learningParts(runId: string): Promise<string[]> {
    const item = (await this.db.send(new GetCommand({ TableName: this.tables.attributionRuns, Key: { runId }, ConsistentRead: true, ProjectionExpression: 'learningParts' }))).Item;
    return [...((item?.learningParts as Set<string> | undefined) ?? [])].sort();
  }

  /**
   * Attribution is done: the run trains `goals` (and the BTYD models). False when the run is past
   * training already (a redelivered finish), so the caller sends no training again.
   */
  async startTraining(runId: string, goals: string[]): Promise<boolean> {
    return this.transition(runId, ['attribution', 'training'], 'SET #p = :next, goals = :g, modelsTotal = :t', { ':next': 'training', ':g': goals, ':t': goals.length + 1 });
  }

  /** One model (a goal's pair, or `btyd`) is trained; true once all are, while the run is still training. */
  async modelDone(runId: string, model: string): Promise<boolean> {
    const result = await this.db.send(
      new UpdateCommand({ TableName: this.tables.attributionRuns, Key: { runId }, UpdateExpression: 'ADD doneModels :m', ExpressionAttributeValues: { ':m': new Set([model]) }, ReturnValues: 'ALL_NEW' }),
    );
    const run = result.Attributes as RunRecord & { doneModels: Set<string> };
    return run.status === 'running' && run.phase === 'training' && run.doneModels.size >= (run.modelsTotal ?? Infinity);
  }

  /** Training is done: the run scores `segments` contacts scan segments. False when it is past that already. */
  async startScoring(runId: string, segments: number): Promise<boolean> {
    return this.transition(runId, ['training', 'scoring'], 'SET #p = :next, scoreSegmentsTotal = :t', { ':next': 'scoring', ':t': segments });
  }

  /** One scoring segment is done (its counts added); true once every segment is, while the run is running. */
  async scoreSegmentDone(runId: string, segment: number, counts: { scored: number; writes: number }): Promise<boolean> {
    const result = await this.db.send(
      new UpdateCommand({
        TableName: this.tables.attributionRuns,
        Key: { runId },
        UpdateExpression: 'ADD doneScoreSegments :s, scored :n, scoreWrites :w',
        ExpressionAttributeValues: { ':s': new Set([segment]), ':n': counts.scored, ':w': counts.writes },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const run = result.Attributes as RunRecord & { doneScoreSegments: Set<number> };
    return run.status === 'running' && run.doneScoreSegments.size >= (run.scoreSegmentsTotal ?? Infinity);
  }

  /** Adds a scoring page's counts without finishing its segment (a continuation follows). */
  async addScoreCounts(runId: string, counts: { scored: number; writes: number }): Promise<void> {
    await this.db.send(new UpdateCommand({ TableName: this.tables.attributionRuns, Key: { runId }, UpdateExpression: 'ADD scored :n, scoreWrites :w', ExpressionAttributeValues: { ':n': counts.scored, ':w': counts.writes } }));
  }

  private async transition(runId: string, from: RunPhase[], update: string, values: Record<string, unknown>): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tables.attributionRuns,
          Key: { runId },
          UpdateExpression: update,
          ConditionExpression: `#s = :running AND #p IN (${from.map((_, i) => `:from${i}`).join(', ')})`,
          ExpressionAttributeNames: { '#s': 'status', '#p': 'phase' },
          ExpressionAttributeValues: { ...values, ':running': 'running', ...Object.fromEntries(from.map((p, i) => [`:from${i}`, p])) },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async saveReport(report: CampaignReport): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tables.reports, Item: storable(report) }));
  }

  async report(campaignId: string): Promise<CampaignReport | undefined> {
    return (await this.db.send(new GetCommand({ TableName: this.tables.reports, Key: { campaignId } }))).Item as CampaignReport | undefined;
  }

  /** Replaces the credit items of [from, to) for every campaign touched (idempotent: stale ones are deleted). */
  async writeCredits(credits: RunPart['credits'], campaignIds: string[], from: string, to: string, runId: string): Promise<void> {
    const fromDay = from.slice(0, 10);
    const lastDay = new Date(Date.parse(to) - 1).toISOString().slice(0, 10);
    const fresh = new Map<string, Record<string, unknown>>();
    for (const [key, value] of Object.entries(credits)) {
      const [campaignId, day, variant] = key.split('|') as [string, string, string];
      fresh.set(`${campaignId}|day#${day}#${variant}`, { campaignId, sk: `day#${day}#${variant}`, day, variant, ...value, runId });
    }
    for (const campaignId of new Set([...campaignIds, ...[...fresh.values()].map((v) => String(v.campaignId))])) {
      const existing = await this.db.send(
        new QueryCommand({
          TableName: this.tables.attribution,
          KeyConditionExpression: 'campaignId = :c AND sk BETWEEN :a AND :b',
          ExpressionAttributeValues: { ':c': campaignId, ':a': `day#${fromDay}`, ':b': `day#${lastDay}#\uffff` },
        }),
      );
      for (const item of existing.Items ?? []) {
        if (!fresh.has(`${campaignId}|${String(item.sk)}`)) await this.db.send(new DeleteCommand({ TableName: this.tables.attribution, Key: { campaignId, sk: item.sk } }));
      }
    }
    for (const item of fresh.values()) await this.db.send(new PutCommand({ TableName: this.tables.attribution, Item: item }));
  }

  /** Every day's credit of a campaign (all runs so far). */
  async creditsOf(campaignId: string): Promise<Array<{ day: string; variant: string; conversions: number; revenue: number; touched: number }>> {
    const out: Array<{ day: string; variant: string; conversions: number; revenue: number; touched: number }> = [];
    for await (const item of queryAll(this.db, { TableName: this.tables.attribution, KeyConditionExpression: 'campaignId = :c', ExpressionAttributeValues: { ':c': campaignId } })) out.push(item as (typeof out)[number]);
    return out;
  }
}

/**
 * Who each run of a campaign enrolled, from its send records: a contact is a treatment member
 * (of the variant and channel of their earliest send) when any run sent to them, otherwise a
 * holdout member when a run held them out. Reads every run a recurring campaign has had.
 */
async function enrolment(campaign: Campaign, tables: AttributionTables, db: DynamoDBDocumentClient): Promise<{ holdout: Set<string>; enrolled: NonNullable<CampaignInfo['enrolled']> }> {
  const members = new Map<string, { sentAt?: string; variant: string; channel: string } | 'holdout'>();
  // The variant the launch chose for a contact it did not (or not yet) send to: targeted, not a member.
  const assigned = new Map<string, string>();
  for (const runId of runsOf(campaign)) {
    for await (const item of queryAll(db, {
      TableName: tables.sends,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':pk': sendPk(campaign.id, runId) },
      ProjectionExpression: 'contactId, #s, variant, channel, sentAt',
    })) {
      const contactId = String(item.contactId);
      const known = members.get(contactId);
      if (item.status === 'sent') {
        const sentAt = typeof item.sentAt === 'string' ? item.sentAt : undefined;
        if (known === undefined || known === 'holdout' || (sentAt !== undefined && (known.sentAt === undefined || sentAt < known.sentAt))) {
          members.set(contactId, { sentAt, variant: typeof item.variant === 'string' ? item.variant : '', channel: typeof item.channel === 'string' ? item.channel : 'email' });
        }
      } else if (item.status === 'holdout') {
        if (known === undefined) members.set(contactId, 'holdout');
      } else if (!assigned.has(contactId)) {
        assigned.set(contactId, typeof item.variant === 'string' ? item.variant : '');
      }
    }
  }
  const holdout = new Set<string>();
  const enrolled: NonNullable<CampaignInfo['enrolled']> = { groups: {}, channels: {}, targeted: {} };
  // Targeted by group, each contact once, in the group the lift counts it in (sent → its variant,
  // else held out → holdout), or — never sent nor held out — with the variant it was assigned.
  const targeted = enrolled.targeted!;
  for (const [contactId, variant] of assigned) if (!members.has(contactId)) targeted[variant] = (targeted[variant] ?? 0) + 1;
  for (const member of members.values()) {
    const group = member === 'holdout' ? HOLDOUT : member.variant;
    targeted[group] = (targeted[group] ?? 0) + 1;
  }
  for (const [contactId, member] of members) {
    if (member === 'holdout') {
      holdout.add(contactId);
      enrolled.groups[HOLDOUT] = (enrolled.groups[HOLDOUT] ?? 0) + 1;
    } else {
      enrolled.groups[member.variant] = (enrolled.groups[member.variant] ?? 0) + 1;
      enrolled.channels[member.channel] = (enrolled.channels[member.channel] ?? 0) + 1;
    }
  }
  return { holdout, enrolled };
}

/** The campaigns a run measures (launched within the lookback), with their goals, holdout members and enrolment. */
export async function loadCampaigns(tables: AttributionTables, now: Date, db: DynamoDBDocumentClient = documentClient, from?: Date): Promise<Map<string, CampaignInfo & { campaign: Campaign }>> {
  const campaigns = new Map<string, CampaignInfo & { campaign: Campaign }>();
  const since = lookbackStart(now, from);
  for await (const campaign of scanAll(db, { TableName: tables.campaigns }) as AsyncIterable<Campaign>) {
    if (!campaign.launchedAt || Date.parse(campaign.launchedAt) < since || !campaign.runId) continue;
    const { holdout, enrolled } = await enrolment(campaign, tables, db);
    campaigns.set(campaign.id, {
      campaign,
      goal: { campaignId: campaign.id, event: campaign.goal.event, windowDays: campaign.goal.attributionWindowDays, model: campaign.goal.model, halfLifeDays: campaign.goal.halfLifeDays },
      launchedAt: Date.parse(campaign.launchedAt),
      holdout,
      enrolled,
    });
  }
  return campaigns;
}

export interface ScanTaskOptions {
  tables: AttributionTables;
  campaigns: ReadonlyMap<string, CampaignInfo>;
  from: Date;
  to: Date;
  segment: number;
  totalSegments: number;
  startKey?: Record<string, unknown>;
  now?: Date;
  db?: DynamoDBDocumentClient;
  /** Stop after the page that leaves less than this much time; returns where to continue. */
  remainingMs?: () => number;
  /** A learning run: each contact's examples, BTYD counts and tokens go here too. */
  learning?: LearningCollector;
}

/**
 * One parallel-scan segment of the interactions table: DynamoDB keeps a partition key's items
 * in one segment, contiguous and in sort-key order, so each contact's timeline arrives whole
 * (a contact split across pages is carried over to the next). Each contact is passed once:
 * credit, lift, responses, and its new scores written back.
 */
export async function scanAttributionSegment(options: ScanTaskOptions): Promise<{ part: RunPart; lastKey?: Record<string, unknown> }> {
  const db = options.db ?? documentClient;
  const now = options.now ?? new Date();
  const since = new Date(lookbackStart(now, options.from)).toISOString();
  const part = emptyPart();
  const accumulators = new Map<string, CampaignAccumulator>();
  let pending: { contactId: string; items: Interaction[] } | undefined;
  let startKey = options.startKey;

  const flushContacts = async (groups: Array<{ contactId: string; items: Interaction[] }>) => {
    if (!groups.length) return;
    const found = await batchGetAll(db, options.tables.contacts, groups.map((g) => ({ id: g.contactId })), { onCapacity: (units) => (part.readUnits += units) });
    const contacts = new Map(found.map((item) => [String(item.id), item as unknown as Contact]));
    // Pure work per contact first, then the score updates with 16 in flight.
    const oldestMonth = oldestActivityMonth(now.getTime());
    const updates: Array<{ contactId: string; scores: ReturnType<typeof passContact>['scores']; conversions: ReturnType<typeof conversionSummary>; expired: string[]; months: string[] }> = [];
    for (const group of groups) {
      const contact = contacts.get(group.contactId);
      if (!contact) continue; // erased: its anonymised timeline is skipped
      part.contacts++;
      const result = passContact(group.contactId, group.items, options.campaigns, { from: options.from.getTime(), to: options.to.getTime() }, accumulators, scoresOf(contact.scores), now.getTime(), contact.timezone ?? 'UTC');
      part.conversions += group.items.filter((i) => i.type === 'converted' && i.occurredAt >= options.from.toISOString() && i.occurredAt < options.to.toISOString()).length;
      for (const credit of result.credits) {
        const key = `${credit.campaignId}|${credit.day}|${credit.variant ?? ''}`;
        const c = (part.credits[key] ??= { conversions: 0, revenue: 0, touched: 0 });
        c.conversions += credit.credit;
        c.revenue += credit.revenue;
        c.touched++;
      }
      // The months of the interactions passed are listed on the contact (readers fetch the two recent
      // months unlisted; older ones only when listed), unless they already are.
      const listed = new Set(contact.activityMonths ?? []);
      const months = [...new Set(group.items.map((i) => activityMonthOf(i.occurredAt)))].filter((m) => !listed.has(m) && m >= oldestMonth);
      // Conversions in the lookback (what scoring derives churn and expected value from); a learning run also collects the examples.
      const conversions = options.learning ? options.learning.add(toEvalContact(contact, options.learning.now), group.items, options.campaigns) : conversionSummary(group.items);
      updates.push({ contactId: group.contactId, scores: result.scores, conversions, expired: expiredActivityKeys(contact.activity, now.getTime()), months });
    }
    await forEachLimit(updates, 16, async ({ contactId, scores, conversions, expired, months }) => {
      // Counters past retention leave the contact item in the same write (a key removed twice is a
      // no-op), and the new months are listed with it (adding a listed month again is a no-op).
      const removeNames = Object.fromEntries(expired.map((key, i) => [`#x${i}`, key]));
      const removes = [...expired.map((_, i) => `${ACTIVITY_ATTRIBUTE}.#x${i}`), ...(conversions ? [] : ['scores.conversions'])];
      const extra = `${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}${months.length ? ` ADD ${ACTIVITY_MONTHS_ATTRIBUTE} :months` : ''}`;
      await db
        .send(
          new UpdateCommand({
            TableName: options.tables.contacts,
            Key: { id: contactId },
            UpdateExpression: `SET scores.engagement = :e, scores.propensity = :p, scores.#v = :v, scores.bestHour = :h, scores.updatedAt = :u${conversions ? ', scores.conversions = :cv' : ''}, version = version + :one${extra}`,
            ConditionExpression: 'attribute_exists(id)',
            ExpressionAttributeNames: { '#v': 'value', ...removeNames },
            ExpressionAttributeValues: {
              ...storable({ ':e': scores.engagement, ':p': scores.propensity, ':v': scores.value, ':h': scores.bestHour, ':u': scores.updatedAt, ':one': 1, ...(conversions ? { ':cv': conversions } : {}) }),
              ...(months.length ? { ':months': new Set(months) } : {}),
            },
          }),
        )
        .catch((error: unknown) => {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        });
    });
  };

  for (;;) {
    const page = await db.send(
      new ScanCommand({
        TableName: options.tables.interactions,
        Segment: options.segment,
        TotalSegments: options.totalSegments,
        ExclusiveStartKey: startKey,
        FilterExpression: 'occurredAt >= :since',
        ExpressionAttributeValues: { ':since': since },
        ReturnConsumedCapacity: 'TOTAL',
        Limit: 1000,
      }),
    );
    part.readUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
    const complete: Array<{ contactId: string; items: Interaction[] }> = [];
    for (const item of (page.Items ?? []) as Interaction[]) {
      part.interactions++;
      if (item.contactId.startsWith('erased#')) continue;
      if (!pending || pending.contactId !== item.contactId) {
        if (pending) complete.push(pending);
        pending = { contactId: item.contactId, items: [] };
      }
      pending.items.push(item);
    }
    startKey = page.LastEvaluatedKey;
    if (!startKey && pending) {
      complete.push(pending);
      pending = undefined;
    }
    await flushContacts(complete);
    if (!startKey) break;
    // Near the timeout: stop after the last whole contact; the split one is read again by the continuation.
    if (options.remainingMs && options.remainingMs() < 60_000 && pending) {
      part.campaigns = Object.fromEntries(accumulators);
      return { part, lastKey: lastKeyBefore(pending) };
    }
  }
  part.campaigns = Object.fromEntries(accumulators);
  return { part };
}

/**
 * A scan position just before a contact's first item: sort keys begin with an ISO year, so "0"
 * sorts before all of them, and the continuation reads the split contact whole.
 */
function lastKeyBefore(pending: { contactId: string }): Record<string, unknown> {
  return { contactId: pending.contactId, sk: '0' };
}

const sumGroups = (a: GroupAccumulator | undefined, b: GroupAccumulator): GroupAccumulator => ({
  members: (a?.members ?? 0) + b.members,
  converters: (a?.converters ?? 0) + b.converters,
  revenue: (a?.revenue ?? 0) + b.revenue,
  revenueSquares: (a?.revenueSquares ?? 0) + b.revenueSquares,
  visitors: (a?.visitors ?? 0) + (b.visitors ?? 0),
});

export function mergeParts(parts: RunPart[]): RunPart {
  const merged = emptyPart();
  for (const part of parts) {
    merged.contacts += part.contacts;
    merged.interactions += part.interactions;
    merged.conversions += part.conversions;
    merged.readUnits += part.readUnits;
    for (const [goal, n] of Object.entries(part.learning ?? {})) (merged.learning ??= {})[goal] = (merged.learning[goal] ?? 0) + n;
    for (const [key, c] of Object.entries(part.credits)) {
      const m = (merged.credits[key] ??= { conversions: 0, revenue: 0, touched: 0 });
      m.conversions += c.conversions;
      m.revenue += c.revenue;
      m.touched += c.touched;
    }
    for (const [campaignId, acc] of Object.entries(part.campaigns)) {
      const m = (merged.campaigns[campaignId] ??= campaignAccumulator());
      for (const [group, g] of Object.entries(acc.groups)) m.groups[group] = sumGroups(m.groups[group], g);
      for (const [type, n] of Object.entries(acc.responders)) m.responders[type] = (m.responders[type] ?? 0) + n;
      for (const [channel, n] of Object.entries(acc.responded)) m.responded[channel] = (m.responded[channel] ?? 0) + n;
      for (const [channel, c] of Object.entries(acc.channels ?? {})) {
        const mc = ((m.channels ??= {})[channel] ??= { members: 0, responders: {}, converters: 0, revenue: 0 });
        mc.members += c.members;
        mc.converters += c.converters;
        mc.revenue += c.revenue;
        for (const [type, n] of Object.entries(c.responders)) mc.responders[type] = (mc.responders[type] ?? 0) + n;
      }
      for (const [variant, counts] of Object.entries(acc.variants ?? {})) {
        const mv = ((m.variants ??= {})[variant] ??= {});
        for (const [type, n] of Object.entries(counts)) mv[type] = (mv[type] ?? 0) + n;
      }
    }
  }
  return merged;
}

const round = (v: number, places = 4) => Math.round(v * 10 ** places) / 10 ** places;

/** The report of one campaign from the merged run and its stored credits. */
export function buildReport(
  info: CampaignInfo & { campaign: Campaign },
  acc: CampaignAccumulator | undefined,
  credits: Array<{ variant: string; conversions: number; revenue: number }>,
  run: { runId: string; from: string; to: string },
  now: Date,
): CampaignReport {
  const campaign = info.campaign;
  // Members come from the send records (who was enrolled), converters and revenue from the timelines read.
  const groups: Record<string, GroupAccumulator> = Object.fromEntries(Object.entries(acc?.groups ?? {}).map(([name, g]) => [name, { ...g }]));
  if (info.enrolled) {
    for (const [name, members] of Object.entries(info.enrolled.groups)) groups[name] = { ...(groups[name] ?? { members: 0, converters: 0, revenue: 0, revenueSquares: 0 }), members };
  }
  const holdout = groups[HOLDOUT] ?? { members: 0, converters: 0, revenue: 0, revenueSquares: 0, visitors: 0 };
  const treatmentGroups = Object.entries(groups).filter(([name]) => name !== HOLDOUT);
  const treatment = treatmentGroups.reduce<GroupAccumulator>((sum, [, g]) => sumGroups(sum, g), { members: 0, converters: 0, revenue: 0, revenueSquares: 0, visitors: 0 });
  const attributedConversions = credits.reduce((s, c) => s + c.conversions, 0);
  const attributedRevenue = credits.reduce((s, c) => s + c.revenue, 0);
  const cost = campaign.spent ?? 0;
  const responders = acc?.responders ?? {};
  const forecast = campaign.forecast;
  const channel = (c: 'email' | 'sms') => {
    const actual = acc?.responded[c] ?? 0;
    const f = forecast?.[c];
    return {
      forecast: f ? f.expectedResponses : null,
      low: f ? f.low : null,
      high: f ? f.high : null,
      actual,
      error: f ? round(actual - f.expectedResponses, 2) : null,
    };
  };
  const lift = (g: GroupAccumulator) => (g.members > 0 && holdout.members > 0 ? liftReport(g, holdout) : null);
  const visitGroup = (g: GroupAccumulator): VisitGroup => {
    const visitors = Math.min(g.visitors ?? 0, g.members);
    return { members: g.members, visitors, rate: g.members > 0 ? round(visitors / g.members, 6) : 0 };
  };
  const visitLift = (g: GroupAccumulator) => (g.members > 0 && holdout.members > 0 ? rateLift({ members: g.members, successes: visitGroup(g).visitors }, { members: holdout.members, successes: visitGroup(holdout).visitors }) : null);
  const targeted = info.enrolled?.targeted ?? {};
  const funnels: FunnelRow[] = [
    ...treatmentGroups.map(([variant, g]): FunnelRow => {
      const responses = responseCounts(acc?.variants?.[variant] ?? {});
      return {
        group: variant,
        holdout: false,
        targeted: targeted[variant] ?? g.members,
        sent: g.members,
        delivered: responses.delivered,
        opened: responses.opened,
        clicked: responses.clicked,
        visited: visitGroup(g).visitors,
        converted: g.converters,
        revenue: round(g.revenue, 2),
        unsubscribed: responses.unsubscribed,
      };
    }),
    // The holdout's row, when the campaign has one (an imported history can hold out without a percentage).
    ...(holdout.members > 0 || campaign.holdoutPercent > 0
      ? [
          {
            group: HOLDOUT,
            holdout: true,
            targeted: targeted[HOLDOUT] ?? holdout.members,
            sent: null,
            delivered: null,
            opened: null,
            clicked: null,
            visited: visitGroup(holdout).visitors,
            converted: holdout.converters,
            revenue: round(holdout.revenue, 2),
            unsubscribed: null,
          } satisfies FunnelRow,
        ]
      : []),
  ];
  return {
    campaignId: campaign.id,
    name: campaign.name,
    computedAt: now.toISOString(),
    runId: run.runId,
    range: { from: run.from, to: run.to },
    goal: campaign.goal,
    funnel: {
      targeted: campaign.counters.targeted,
      holdout: campaign.counters.holdout,
      sent: campaign.counters.sent,
      ...responseCounts(responders),
      visited: visitGroup(treatment).visitors,
      converted: round(attributedConversions),
    },
    revenue: round(attributedRevenue, 2),
    cost: round(cost, 4),
    roi: cost > 0 ? round((attributedRevenue - cost) / cost) : null,
    variants: treatmentGroups.map(([variant, g]) => {
      const own = credits.filter((c) => c.variant === variant);
      return {
        variant,
        members: g.members,
        ...responseCounts(acc?.variants?.[variant] ?? {}),
        converters: g.converters,
        revenue: round(g.revenue, 2),
        attributedConversions: round(own.reduce((s, c) => s + c.conversions, 0)),
        attributedRevenue: round(own.reduce((s, c) => s + c.revenue, 0), 2),
        lift: lift(g),
        visitors: visitGroup(g).visitors,
        visitLift: visitLift(g),
      };
    }),
    channels: [...new Set([...Object.keys(acc?.channels ?? {}), ...Object.keys(info.enrolled?.channels ?? {})])]
      .sort((a, b) => a.localeCompare(b))
      .map((name) => {
        const c = acc?.channels?.[name] ?? { members: 0, responders: {}, converters: 0, revenue: 0 };
        const sent = info.enrolled?.channels[name] ?? c.members;
        return { channel: name, sent, ...responseCounts(c.responders), converters: c.converters, conversionRate: sent > 0 ? round(c.converters / sent, 6) : null, revenue: round(c.revenue, 2) };
      }),
    lift: lift(treatment),
    holdout: { members: holdout.members, converters: holdout.converters, revenue: round(holdout.revenue, 2), visitors: visitGroup(holdout).visitors },
    visits: { treatment: visitGroup(treatment), holdout: visitGroup(holdout), lift: visitLift(treatment) },
    funnels,
    forecastVsActual: { email: channel('email'), sms: channel('sms') },
  };
}
