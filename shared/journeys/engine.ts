import type { JourneyEvent, JourneyTask } from '../../events/journeys.ts';
import { sendToQueue } from '../aws/queue.ts';
import type { CampaignStore } from '../campaigns/campaign-store.ts';
import { assignmentHash, isHoldout } from '../campaigns/assignment.ts';
import { frequencyCapSince } from '../campaigns/eligibility.ts';
import { enqueueRecords } from '../campaigns/fanout.ts';
import { deltasFor, planPage } from '../campaigns/launch.ts';
import type { Campaign } from '../campaigns/model.ts';
import type { SendStore } from '../campaigns/send-store.ts';
import { forEachLimit } from '../concurrency.ts';
import type { ContactService } from '../contacts/contact-service.ts';
import type { ContactStore } from '../contacts/contact-store.ts';
import type { Timeline } from '../contacts/timeline.ts';
import { COUNT_WINDOWS } from '../learning/features.ts';
import { logger } from '../logger.ts';
import { ModelNotActiveError, type GoalModelSource } from '../campaigns/goal-model-source.ts';
import { entryTargetingRefusal, type TargetingRefusal } from './targeting.ts';
import { scanSegment, type AudienceMember } from '../segments/audience.ts';
import { toEvalContact } from '../segments/contact-view.ts';
import type { CompiledRule } from '../segments/rule.ts';
import type { SegmentService } from '../segments/segment-service.ts';
import type { SegmentStore } from '../segments/segment-store.ts';
import type { EventTrigger, JourneyDefinition, JourneyStep, StepOfType, WaitTrigger } from './definition.ts';
import { statName, STAT_SHARDS, type Journey, type JourneyStore, type JourneyVersion } from './journey-store.ts';
import { entrySk, waitShardOf, type EntryChange, type JourneyEntry, type JourneyLedger, type JourneyStateStore } from './state-store.ts';
import { parseStepCampaignId, parseStepRunId, stepRunId } from './step-campaigns.ts';
import { nextLocalTime, waitEnds } from './timing.ts';

export interface EngineDeps {
  journeys: JourneyStore;
  states: JourneyStateStore;
  campaigns: CampaignStore;
  sends: SendStore;
  contacts: ContactStore;
  contactService: ContactService;
  timeline: Timeline;
  segments: SegmentStore;
  segmentService: SegmentService;
  contactsTable: string;
  activityTable: string;
  queueUrls: { email: string; sms: string; tasks: string };
  send?: typeof sendToQueue;
  /** How long a head read may be reused (ms): a paused or stopped journey is seen within this. */
  headTtlMs?: number;
  /** The learned models: uplift targeting at entry (a journey with targeting and no models keeps everyone out as model_not_active). */
  models?: GoalModelSource;
}

/** Why a contact's pass ended. */
export type ExitReason = 'completed' | 'goal' | 'unsubscribed' | 'erased' | 'stopped' | 'contact_missing';

/** A step's outcome, applied behind the seq gate. */
type Outcome =
  | { kind: 'move'; to: string | undefined; set?: Record<string, unknown> }
  | { kind: 'wait'; dueAt?: Date; waitingFor?: string }
  | { kind: 'exit'; reason: ExitReason };

type Cause = { kind: 'run' } | { kind: 'wake'; seq: number } | { kind: 'event'; keys: Set<string> };

/** A definition version as the engine keeps it: the version and its split rules, compiled. */
interface LoadedVersion {
  version: JourneyVersion;
  /** By "<stepId>#<branch>": the compiled rule and the time it was compiled for. */
  rules: Map<string, { at: number; rule: Promise<CompiledRule> }>;
}

/** How long a compiled split rule is reused: its relative times are fixed when it is compiled. */
const RULE_REUSE_MS = 60_000;

/** At most this many steps in one go: a loop is paced by a wait, so a pass never needs more. */
const MAX_STEPS_PER_RUN = 200;
const RESPONSE_TYPES = new Set(['delivered', 'opened', 'clicked', 'replied']);
const UNSUBSCRIBE_TYPES = new Set(['unsubscribed', 'consent_withdrawn']);

/** The keys an event satisfies, in the form triggerKey gives triggers (so a wait or an entry matches by set membership). */
export function eventKeys(event: JourneyEvent): Set<string> {
  const keys = new Set<string>();
  if (event.type === 'form_submitted') {
    keys.add('lead.captured');
    if (event.formId) keys.add(`lead.captured:${event.formId}`);
  } else if (event.type === 'converted' && event.name) keys.add(`conversion:${event.name}`);
  else if (event.type === 'custom' && event.name) keys.add(`custom:${event.name}`);
  else if (event.type.startsWith('consent_')) {
    const status = event.type.slice('consent_'.length);
    for (const channel of ['*', event.channel ?? '*']) for (const s of ['*', status]) keys.add(`consent.changed:${channel}:${s}`);
  }
  return keys;
}

/** The key of an entry trigger or a wait's trigger. */
export function triggerKey(trigger: EventTrigger | WaitTrigger): string {
  switch (trigger.event) {
    case 'lead.captured':
      return trigger.formId ? `lead.captured:${trigger.formId}` : 'lead.captured';
    case 'conversion':
      return `conversion:${trigger.name}`;
    case 'custom':
      return `custom:${trigger.name}`;
    case 'consent.changed':
      return `consent.changed:${trigger.channel ?? '*'}:${trigger.status ?? '*'}`;
    case 'response':
      return `response:${trigger.step}:${trigger.type}`;
  }
}

const shardOf = (contactId: string): number => Math.floor(assignmentHash('journey-stats', contactId, 'shard') * STAT_SHARDS);
const responsesOf = (entry: JourneyEntry): Set<string> => new Set(entry.responses ?? []);

/**
 * The journey interpreter and its effects. Every step of an entry is decided from the entry as
 * read (consistently) and then applied with one conditional transaction on its `seq`; effects
 * that happen before that gate are idempotent by their own keys (a send record per entry and
 * step pass, a contact patch to fixed values), so a crash anywhere repeats at most a no-op and a
 * duplicated wake-up or event moves nothing twice.
 */
export class JourneyEngine {
  private readonly versions = new Map<string, Promise<LoadedVersion | undefined>>();
  private readonly heads = new Map<string, { at: number; journey: Promise<Journey | undefined> }>();
  private readonly stepCampaigns = new Map<string, { at: number; campaign: Promise<Campaign | undefined> }>();
  private running: { at: number; journeys: Promise<Journey[]> } | undefined;

  constructor(private readonly deps: EngineDeps) {}

  // ------------------------------------------------------------------------------------------
  // Reads, cached briefly

  private head(id: string, now: number): Promise<Journey | undefined> {
    const ttl = this.deps.headTtlMs ?? 2_000;
    const cached = this.heads.get(id);
    if (cached && now - cached.at < ttl) return cached.journey;
    const journey = this.deps.journeys.get(id, true);
    this.heads.set(id, { at: now, journey });
    return journey;
  }

  private runningJourneys(now: number): Promise<Journey[]> {
    const ttl = this.deps.headTtlMs ?? 2_000;
    if (this.running && now - this.running.at < ttl) return this.running.journeys;
    const journeys = this.deps.journeys.withStatus('running');
    this.running = { at: now, journeys };
    return journeys;
  }

  private versionOf(journeyId: string, version: number) {
    const key = `${journeyId}#${version}`;
    let loaded = this.versions.get(key);
    if (!loaded) {
      loaded = this.deps.journeys.version(journeyId, version).then((v) => (v ? { version: v, rules: new Map() } : undefined));
      this.versions.set(key, loaded);
      loaded.catch(() => this.versions.delete(key));
    }
    return loaded;
  }

  private stepCampaign(id: string, now: number): Promise<Campaign | undefined> {
    const cached = this.stepCampaigns.get(id);
    if (cached && now - cached.at < 60_000) return cached.campaign;
    const campaign = this.deps.campaigns.get(id, false);
    this.stepCampaigns.set(id, { at: now, campaign });
    return campaign;
  }

  /** The contact as segment rules and eligibility see it (behaviour counters attached when asked). */
  private async member(contactId: string, withActivitySince: number | null | undefined, now: Date): Promise<AudienceMember | undefined> {
    let item = await this.deps.contacts.get(contactId, true);
    if (!item) return undefined;
    if (withActivitySince !== null) [item] = await this.deps.timeline.activity.attach([item], { nowMs: now.getTime(), consistent: true, ...(withActivitySince !== undefined ? { sinceMs: withActivitySince } : {}) });
    return { item: item!, contact: toEvalContact(item!, now.getTime()) };
  }

  // ------------------------------------------------------------------------------------------
  // Entering

  /**
   * Enters the contact into the journey if the entry rules allow: running, within its dates, not
   * in it now, re-entry and the maximum of entries respected, and not the trigger of the last
   * entry (a redelivered event). Held-out contacts get an entry that goes nowhere (the report's
   * control group). Then the first steps run at once.
   */
  async enter(journey: Journey, contactId: string, trigger: string, now = new Date()): Promise<'entered' | 'holdout' | 'refused'> {
    if (journey.status !== 'running') return 'refused';
    const loaded = await this.versionOf(journey.id, journey.version);
    if (!loaded) throw new Error(`journey ${journey.id} version ${journey.version} is missing`);
    const def = loaded.version.definition;
    const rules = def.entryRules;
    if (rules.startAt && now.getTime() < Date.parse(rules.startAt)) return 'refused';
    if (rules.endAt && now.getTime() >= Date.parse(rules.endAt)) return 'refused';
    for (let attempt = 0; attempt < 8; attempt++) {
      const ledger = await this.deps.states.ledger(contactId, journey.id);
      const refusal = entryRefusal(def, ledger, trigger, now);
      if (refusal) return 'refused';
      // Uplift targeting before the holdout draw: the holdout comes from the same top share.
      if (def.targeting && attempt === 0) {
        const kept = await this.targetingRefusal(def, contactId, now);
        if (kept) {
          // A ledger with no entry (as a segment baseline writes): the refusal counts once per contact, and a segment check does not score it again.
          if (await this.deps.states.markSeen(contactId, journey.id)) await this.deps.journeys.addStats(journey.id, shardOf(contactId), { [statName.refused(kept)]: 1 });
          return 'refused';
        }
      }
      const n = (ledger?.entries ?? 0) + 1;
      const holdout = isHoldout(journey.id, contactId, def.holdoutPercent);
      const shard = shardOf(contactId);
      const entry: JourneyEntry = {
        contactId,
        sk: entrySk(journey.id, n),
        journeyId: journey.id,
        journeyEntry: journey.id,
        entry: n,
        version: journey.version,
        status: holdout ? 'holdout' : 'active',
        stepId: def.start,
        seq: 0,
        enteredAt: now.toISOString(),
        trigger,
        shard,
        goal: { event: def.goal.event, windowDays: def.goal.attributionWindowDays },
      };
      const counts: Record<string, number> = { [statName.entries]: 1, ...(holdout ? { [statName.holdout]: 1 } : { [statName.entered(def.start)]: 1 }) };
      if (!(await this.deps.states.enter(entry, ledger, now))) continue;
      await this.deps.journeys.addStats(journey.id, shard, counts);
      if (holdout) return 'holdout';
      await this.run(entry, { kind: 'run' }, now);
      return 'entered';
    }
    throw new Error(`entry of ${contactId} into journey ${journey.id} kept losing races`);
  }

  /** Why uplift targeting keeps the contact out, or undefined when it may enter. */
  private async targetingRefusal(def: JourneyDefinition, contactId: string, now: Date): Promise<TargetingRefusal | undefined> {
    const models = this.deps.models;
    if (!def.targeting) return undefined;
    if (!models) return 'model_not_active';
    let applied;
    try {
      applied = await models.targeting(def.targeting, def.goal.event);
    } catch (error) {
      if (error instanceof ModelNotActiveError) return 'model_not_active';
      throw error;
    }
    // The features read behaviour counters over their longest window (and a day's margin).
    const member = await this.member(contactId, now.getTime() - (Math.max(...COUNT_WINDOWS) + 1) * 86_400_000, now);
    if (!member) return 'no_score';
    return entryTargetingRefusal(def, member.contact, await models.upliftScorer(applied.modelId, applied.modelVersion), applied.threshold, now);
  }

  // ------------------------------------------------------------------------------------------
  // Running an entry

  /** Takes the entry through as many steps as it can go now (to a wait or the end). */
  async run(start: Pick<JourneyEntry, 'contactId' | 'journeyId' | 'entry'>, cause: Cause, now = new Date()): Promise<void> {
    for (let i = 0; i < MAX_STEPS_PER_RUN; i++) {
      const entry = await this.deps.states.entry(start.contactId, start.journeyId, start.entry);
      if (!entry || !(entry.status === 'active' || entry.status === 'waiting')) return;
      const journey = await this.head(entry.journeyId, now.getTime());
      const loaded = await this.versionOf(entry.journeyId, entry.version);
      if (!journey || !loaded || journey.status === 'stopped') {
        await this.apply(entry, loaded?.version.definition, { kind: 'exit', reason: 'stopped' });
        return;
      }
      if (journey.status !== 'running') {
        // Paused: parked out of the due index until the resume sweep puts it back (a wait woken now was due now: the sweep's lease is dropped).
        const heard = cause.kind === 'event' && entry.status === 'waiting' && entry.waitingFor && cause.keys.has(entry.waitingFor) ? entry.waitingFor : undefined;
        await this.deps.states.gate(entry, { set: { status: 'paused', parkedFrom: entry.status, ...(cause.kind === 'wake' ? { dueAt: now.toISOString() } : {}), ...(heard ? { releasedBy: heard } : {}) }, remove: ['dueShard'] });
        return;
      }
      const def = loaded.version.definition;
      const step = def.steps[entry.stepId];
      if (!step) throw new Error(`journey ${entry.journeyId} v${entry.version} has no step ${entry.stepId}`);
      let outcome: Outcome | undefined;
      if (entry.status === 'waiting') {
        outcome = this.release(entry, step, cause);
        if (!outcome) return;
        // The cause is spent: after this move, later waits wait for their own.
        cause = { kind: 'run' };
      } else {
        outcome = await this.execute(entry, step, loaded, journey, now);
      }
      const moved = await this.apply(entry, def, outcome, now);
      if (moved && (outcome.kind === 'wait' || outcome.kind === 'exit' || (outcome.kind === 'move' && outcome.to === undefined))) return;
    }
    logger.warn('journey entry ran out of steps in one go', { journeyId: start.journeyId, contactId: start.contactId, entry: start.entry });
  }

  /** Whether what woke a waiting entry releases it, and where to. */
  private release(entry: JourneyEntry, step: JourneyStep, cause: Cause): Outcome | undefined {
    if (cause.kind === 'wake' && cause.seq === entry.seq) {
      if (step.type === 'wait' || step.type === 'wait_until') return { kind: 'move', to: step.next };
      if (step.type === 'wait_for_event') return { kind: 'move', to: step.onTimeout };
    }
    if (cause.kind === 'event' && step.type === 'wait_for_event' && entry.waitingFor && cause.keys.has(entry.waitingFor)) return { kind: 'move', to: step.onEvent };
    return undefined;
  }

  /** What an active entry's current step does. Effects before the gate are idempotent. */
  private async execute(entry: JourneyEntry, step: JourneyStep, loaded: LoadedVersion, journey: Journey, now: Date): Promise<Outcome> {
    const def = loaded.version.definition;
    const timezone = async () => (await this.deps.contacts.get(entry.contactId, false))?.timezone ?? def.limits.timezone;
    switch (step.type) {
      case 'send':
        return this.send(entry, step, loaded.version, now);
      case 'wait':
        return { kind: 'wait', dueAt: waitEnds(now, step.duration, step.duration.unit === 'days' || step.duration.unit === 'weeks' ? await timezone() : 'UTC') };
      case 'wait_until':
        return { kind: 'wait', dueAt: nextLocalTime(now, step.time, step.weekdays, await timezone()) };
      case 'wait_for_event': {
        const key = triggerKey(step.trigger);
        // A response that already came (the email was clicked before the wait began) releases at once.
        if (step.trigger.event === 'response' && responsesOf(entry).has(`${step.trigger.step}:${step.trigger.type}`)) return { kind: 'move', to: step.onEvent };
        return { kind: 'wait', dueAt: waitEnds(now, step.timeout!, step.timeout!.unit === 'days' || step.timeout!.unit === 'weeks' ? await timezone() : 'UTC'), waitingFor: key };
      }
      case 'split': {
        // The rules first: the contact's behaviour counters are read only if a rule looks at behaviour (a read per split otherwise wasted).
        const rules = await Promise.all(
          step.branches.map((branch, i) => {
            if (!branch.when.rule) return undefined;
            // A compiled rule holds the instants of its relative times ("within the last 2 days"), so it is reused for a minute at most.
            const key = `${entry.stepId}#${i}`;
            const cached = loaded.rules.get(key);
            if (cached && now.getTime() - cached.at >= 0 && now.getTime() - cached.at < RULE_REUSE_MS) return cached.rule;
            const rule = this.deps.segmentService.compile({ rule: branch.when.rule, timezone: def.limits.timezone }, now);
            loaded.rules.set(key, { at: now.getTime(), rule });
            return rule;
          }),
        );
        const member = await this.member(entry.contactId, rules.some((rule) => rule?.usesBehaviour) ? undefined : null, now);
        if (!member) return { kind: 'exit', reason: 'contact_missing' };
        for (const [i, branch] of step.branches.entries()) {
          let holds: boolean;
          if (branch.when.response) {
            const { step: sent, type, responded } = branch.when.response;
            holds = responsesOf(entry).has(`${sent}:${type}`) === responded;
          } else {
            holds = rules[i]!.test(member.contact);
          }
          if (holds) return { kind: 'move', to: branch.next, set: { lastBranch: branch.name } };
        }
        return { kind: 'move', to: step.otherwise, set: { lastBranch: 'otherwise' } };
      }
      case 'random_split': {
        const draw = assignmentHash(journey.id, entry.contactId, `split:${entry.stepId}`) * 100;
        let cumulative = 0;
        for (const branch of step.branches) {
          cumulative += branch.weight;
          if (draw < cumulative) return { kind: 'move', to: branch.next, set: { lastBranch: branch.name } };
        }
        const last = step.branches[step.branches.length - 1]!;
        return { kind: 'move', to: last.next, set: { lastBranch: last.name } };
      }
      case 'update': {
        const contact = await this.deps.contacts.get(entry.contactId, true);
        if (!contact) return { kind: 'exit', reason: 'contact_missing' };
        const tags = new Set(contact.tags ?? []);
        for (const tag of step.set.addTags ?? []) tags.add(tag);
        for (const tag of step.set.removeTags ?? []) tags.delete(tag);
        await this.deps.contactService.patch(entry.contactId, {
          ...(step.set.attributes ? { attributes: step.set.attributes } : {}),
          ...(step.set.addTags || step.set.removeTags ? { tags: [...tags] } : {}),
        });
        return { kind: 'move', to: step.next };
      }
      case 'exit':
        return { kind: 'exit', reason: 'completed' };
    }
  }

  /**
   * A send step: the step campaign plans this one contact exactly as a campaign launch plans an
   * audience page (channel choice, consent, suppression, frequency cap across campaigns and
   * journeys, quiet hours as a deferral), writes the send record keyed by entry and pass, and puts
   * it on the channel queue; the channel senders do the rest. A record that already exists (a
   * retry after a crash) is put on the queue again if it is still queued: the sender's claim
   * makes that one message.
   */
  private async send(entry: JourneyEntry, step: StepOfType<'send'>, version: JourneyVersion, now: Date): Promise<Outcome> {
    const campaignId = version.stepCampaigns[entry.stepId];
    const campaign = campaignId ? await this.stepCampaign(campaignId, now.getTime()) : undefined;
    if (!campaign) throw new Error(`journey ${entry.journeyId} v${entry.version} step ${entry.stepId} has no campaign`);
    const member = await this.member(entry.contactId, frequencyCapSince(campaign.limits.frequencyCap, now.getTime()), now);
    if (!member) return { kind: 'exit', reason: 'contact_missing' };
    const runId = stepRunId(entry.entry, entry.seq);
    const plan = planPage(campaign, [member], { now, runId, alreadyTargeted: 0, alreadyCommittedCost: 0 });
    const created = await this.deps.sends.createMany(plan.records);
    let queued = created.filter((r) => r.status === 'queued');
    if (created.length === 0) {
      const existing = await this.deps.sends.get(campaign.id, runId, entry.contactId);
      queued = existing?.status === 'queued' ? [existing] : [];
    } else {
      await this.deps.campaigns.addCounters(campaign.id, deltasFor(created));
    }
    await enqueueRecords(campaign, runId, queued, { audienceScan: '', email: this.deps.queueUrls.email, sms: this.deps.queueUrls.sms }, now, this.deps.send);
    void step;
    return { kind: 'move', to: step.next, set: { lastSend: { campaignId: campaign.id, runId } } };
  }

  /** Applies an outcome behind the gate, with its counters. False: the entry moved meanwhile. */
  private async apply(entry: JourneyEntry, def: JourneyDefinition | undefined, outcome: Outcome, now = new Date()): Promise<boolean> {
    const counts: Record<string, number> = {};
    let change: EntryChange;
    if (outcome.kind === 'wait') {
      change = {
        set: { status: 'waiting', ...(outcome.dueAt ? { dueAt: outcome.dueAt.toISOString(), dueShard: waitShardOf(entry.contactId) } : {}), ...(outcome.waitingFor ? { waitingFor: outcome.waitingFor } : {}) },
      };
    } else if (outcome.kind === 'exit' || outcome.to === undefined) {
      const reason = outcome.kind === 'exit' ? outcome.reason : 'completed';
      counts[statName.left(entry.stepId)] = 1;
      counts[statName.exit(entry.stepId, reason)] = 1;
      change = { set: { status: 'exited', exitReason: reason, exitedAt: now.toISOString(), ...(outcome.kind === 'move' ? outcome.set : {}) }, remove: ['dueShard', 'dueAt', 'waitingFor', 'parkedFrom'], exits: true };
    } else {
      if (def && !def.steps[outcome.to]) throw new Error(`journey ${entry.journeyId} v${entry.version}: step ${outcome.to} does not exist`);
      counts[statName.left(entry.stepId)] = 1;
      counts[statName.entered(outcome.to)] = 1;
      change = { set: { status: 'active', stepId: outcome.to, ...outcome.set }, remove: ['dueShard', 'dueAt', 'waitingFor'] };
    }
    if (!(await this.deps.states.gate(entry, change))) return false;
    // Counted after the move, not in its transaction: every entry of a popular step adds to the same few counter items,
    // and transactions on them would conflict with each other (a crash between the two loses a count, never a step).
    if (Object.keys(counts).length) await this.deps.journeys.addStats(entry.journeyId, entry.shard, counts);
    return true;
  }

  /** Ends an entry now (goal, unsubscribe, stop), whatever step it is at. */
  private async end(entry: JourneyEntry, reason: ExitReason, now: Date): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await this.apply(entry, undefined, { kind: 'exit', reason }, now)) return;
      const current = await this.deps.states.entry(entry.contactId, entry.journeyId, entry.entry);
      if (!current || !['active', 'waiting', 'paused'].includes(current.status)) return;
      entry = current;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Events

  /**
   * A timeline event: responses to journey messages are noted on their entries; a goal
   * conversion is counted (within its window, held-out entries too) and ends the entries in
   * progress; an unsubscribe ends them; waits listening for it move on; and running journeys
   * whose entry it triggers take the contact in.
   */
  async onEvent(event: JourneyEvent, now = new Date()): Promise<void> {
    const keys = eventKeys(event);
    const { entries } = await this.deps.states.forContact(event.contactId);
    const inProgress = (e: JourneyEntry) => e.status === 'active' || e.status === 'waiting' || e.status === 'paused';

    if (RESPONSE_TYPES.has(event.type) && event.campaignId && event.sendId) {
      const step = parseStepCampaignId(event.campaignId);
      const run = parseStepRunId(event.sendId.split(':')[1] ?? '');
      const target = step && run && entries.find((e) => e.journeyId === step.journeyId && e.entry === run.entry);
      if (step && target) {
        const response = `${step.stepId}:${event.type}`;
        await this.deps.states.addResponse(event.contactId, step.journeyId, target.entry, response);
        if (target.status === 'waiting' && target.waitingFor === `response:${response}`) await this.run(target, { kind: 'event', keys: new Set([`response:${response}`]) }, now);
      }
    }

    if (event.type === 'converted' && event.name) {
      const at = Date.parse(event.occurredAt);
      for (const entry of entries.filter((e) => e.goal?.event === event.name)) {
        const entered = Date.parse(entry.enteredAt);
        if (at >= entered && at <= entered + entry.goal.windowDays * 86_400_000) await this.deps.states.markGoal(entry, event.eventId, event.value ?? 0);
        if (inProgress(entry)) await this.end(entry, 'goal', now);
      }
    }

    if (UNSUBSCRIBE_TYPES.has(event.type)) {
      for (const entry of entries.filter(inProgress)) {
        const loaded = await this.versionOf(entry.journeyId, entry.version);
        if (loaded && (await this.unsubscribeEnds(loaded.version.definition, entry.contactId))) await this.end(entry, 'unsubscribed', now);
      }
    }

    if (keys.size) {
      for (const entry of entries.filter((e) => e.status === 'waiting' && e.waitingFor && keys.has(e.waitingFor))) await this.run(entry, { kind: 'event', keys }, now);
      // A paused journey's wait keeps the event it was listening for; the resume releases it.
      for (const entry of entries.filter((e) => e.status === 'paused' && e.parkedFrom === 'waiting' && e.waitingFor && keys.has(e.waitingFor))) await this.deps.states.noteEvent(entry, entry.waitingFor!);
      for (const cached of await this.runningJourneys(now.getTime())) {
        if (cached.entry.type !== 'event' || !keys.has(triggerKey(cached.entry.trigger))) continue;
        // Read again: a new version takes new entries from the moment it is saved, and a paused journey takes none.
        const journey = await this.deps.journeys.get(cached.id, true);
        if (journey?.entry.type === 'event' && keys.has(triggerKey(journey.entry.trigger))) await this.enter(journey, event.contactId, `event:${event.eventId}`, now);
      }
    }
  }

  /** Whether an unsubscribe ends the contact's pass: any channel, or only once no channel the journey sends by is left. */
  private async unsubscribeEnds(def: JourneyDefinition, contactId: string): Promise<boolean> {
    if (def.exitOnUnsubscribe === 'any_channel') return true;
    const channels = new Set(Object.values(def.steps).flatMap((s) => (s.type === 'send' ? (s.channels === 'best' ? (['email', 'sms'] as const) : s.channels) : [])));
    const contact = await this.deps.contacts.get(contactId, true);
    if (!contact) return true;
    return [...channels].every((c) => contact.consent?.[c]?.status !== 'confirmed');
  }

  // ------------------------------------------------------------------------------------------
  // Tasks

  async handle(task: JourneyTask, remainingMs: () => number, now = () => new Date()): Promise<void> {
    switch (task.kind) {
      case 'event':
        return this.onEvent(task.event, now());
      case 'wake':
        return this.run({ contactId: task.contactId, journeyId: task.journeyId, entry: task.entry }, { kind: 'wake', seq: task.seq }, now());
      case 'scan':
        return this.scan(task, remainingMs, now);
      case 'fire':
        return this.fire(task.journeyId, task.scheduledTime, now());
      case 'resume':
      case 'stop':
        return this.sweep(task, remainingMs, now);
      case 'measure':
        return this.measure(task, remainingMs, now);
    }
  }

  /** A segment_audience journey's run: one scan task per parallel segment. */
  async fire(journeyId: string, scheduledTime: string | undefined, now: Date, totalSegments = 4): Promise<void> {
    const journey = await this.deps.journeys.get(journeyId);
    if (!journey || journey.status !== 'running' || journey.entry.type !== 'segment_audience') return;
    const at = scheduledTime && !Number.isNaN(Date.parse(scheduledTime)) ? new Date(scheduledTime) : now;
    const runKey = `r${at.toISOString().slice(0, 16).replace(/[-:T]/g, '')}`;
    await this.enqueueScans(journeyId, 'audience', runKey, totalSegments);
  }

  async enqueueScans(journeyId: string, mode: 'audience' | 'baseline' | 'check', runKey: string, totalSegments: number): Promise<void> {
    const tasks: JourneyTask[] = Array.from({ length: totalSegments }, (_, segment) => ({ kind: 'scan', mode, journeyId, runKey, segment, totalSegments }));
    await (this.deps.send ?? sendToQueue)(this.deps.queueUrls.tasks, tasks.map((t) => ({ body: JSON.stringify(t) })));
  }

  /** One parallel segment of a segment-triggered journey's audience; continues in a new task near the timeout. */
  private async scan(task: Extract<JourneyTask, { kind: 'scan' }>, remainingMs: () => number, now: () => Date): Promise<void> {
    const journey = await this.deps.journeys.get(task.journeyId);
    if (!journey || journey.status !== 'running' || journey.entry.type === 'event') return;
    const segment = await this.deps.segments.latest(journey.entry.segmentId);
    if (!segment) {
      logger.error('journey segment no longer exists', { journeyId: journey.id, segmentId: journey.entry.segmentId });
      return;
    }
    const compiled = await this.deps.segmentService.compile(segment, now(), segment.id);
    for await (const page of scanSegment({ table: this.deps.contactsTable, activityTable: this.deps.activityTable, activitySinceMs: compiled.usesBehaviour ? undefined : null, test: (c) => compiled.test(c), segment: task.segment, totalSegments: task.totalSegments, startKey: task.startKey, now: now() })) {
      await forEachLimit(page.members, 8, async ({ item }) => {
        if (task.mode === 'baseline') await this.deps.states.markSeen(item.id, journey.id);
        else if (task.mode === 'audience') await this.enter(journey, item.id, `run:${task.runKey}`, now());
        // check: newly matching = never seen by this journey (no ledger: not in the baseline, never entered).
        else if (!(await this.deps.states.ledger(item.id, journey.id))) await this.enter(journey, item.id, `check:${task.runKey}`, now());
      });
      if (page.lastKey && remainingMs() < 30_000) {
        await (this.deps.send ?? sendToQueue)(this.deps.queueUrls.tasks, [{ body: JSON.stringify({ ...task, startKey: page.lastKey } satisfies JourneyTask) }]);
        return;
      }
    }
  }

  /** After a resume: parked entries go back (waits into the due index, active ones run); sends the pause held go out. After a stop: every entry in progress ends. */
  private async sweep(task: Extract<JourneyTask, { kind: 'resume' | 'stop' }>, remainingMs: () => number, now: () => Date): Promise<void> {
    let startKey = task.startKey;
    do {
      const page = await this.deps.states.page(task.journeyId, startKey);
      await forEachLimit(page.items, 8, async (indexed) => {
        const entry = await this.deps.states.entry(indexed.contactId, indexed.journeyId, indexed.entry);
        if (!entry) return;
        if (task.kind === 'stop') {
          if (['active', 'waiting', 'paused'].includes(entry.status)) await this.end(entry, 'stopped', now());
          return;
        }
        if (entry.lastSend) await this.releaseSend(entry.lastSend, entry.contactId, now());
        if (entry.status !== 'paused') return;
        const back = entry.parkedFrom ?? 'active';
        const moved = await this.deps.states.gate(entry, { set: { status: back, ...(back === 'waiting' && entry.dueAt ? { dueShard: waitShardOf(entry.contactId) } : {}) }, remove: ['parkedFrom', 'releasedBy'] });
        if (!moved) return;
        if (back === 'active') await this.run(entry, { kind: 'run' }, now());
        else {
          // What the wait listened for came during the pause (an event, or a response to one of its messages): it moves on now.
          const heard = entry.releasedBy ?? (entry.waitingFor?.startsWith('response:') && responsesOf(entry).has(entry.waitingFor.slice('response:'.length)) ? entry.waitingFor : undefined);
          if (heard) await this.run(entry, { kind: 'event', keys: new Set([heard]) }, now());
        }
      });
      startKey = page.lastKey;
      if (startKey && remainingMs() < 30_000) {
        await (this.deps.send ?? sendToQueue)(this.deps.queueUrls.tasks, [{ body: JSON.stringify({ ...task, startKey } satisfies JourneyTask) }]);
        return;
      }
    } while (startKey);
  }

  /** A send the pause held (`paused` by the sender) goes back on its queue. */
  private async releaseSend(lastSend: { campaignId: string; runId: string }, contactId: string, now: Date): Promise<void> {
    const record = await this.deps.sends.get(lastSend.campaignId, lastSend.runId, contactId);
    if (record?.status !== 'paused') return;
    const campaign = await this.deps.campaigns.get(lastSend.campaignId);
    if (!campaign || campaign.status !== 'running') return;
    if (await this.deps.sends.move(record, 'paused', 'queued')) {
      await enqueueRecords(campaign, record.runId, [{ ...record, status: 'queued' }], { audienceScan: '', email: this.deps.queueUrls.email, sms: this.deps.queueUrls.sms }, now, this.deps.send);
      await this.deps.campaigns.addCounters(campaign.id, { deferred: -1, queued: 1 });
    }
  }

  /**
   * The nightly measurement: for each journey (or one), its entries against its holdout — who
   * reached the goal within the window after entering, and their revenue — stored for the
   * report's lift. Pages of entries; partial sums ride in the continuation task.
   */
  private async measure(task: Extract<JourneyTask, { kind: 'measure' }>, remainingMs: () => number, now: () => Date): Promise<void> {
    if (!task.journeyId) {
      const journeys = (await this.deps.journeys.list()).filter((j) => j.status !== 'draft');
      // After the nightly run (scores and segment statistics are new): segment-entry journeys are checked at the dispatcher's next minute.
      for (const j of journeys) {
        if (j.status === 'running' && j.entry.type === 'segment_entry' && j.segmentChecks) await this.deps.journeys.setFields(j.id, { segmentChecks: { ...j.segmentChecks, nextAt: now().toISOString() } }, { field: 'segmentChecks', equals: j.segmentChecks });
      }
      await (this.deps.send ?? sendToQueue)(this.deps.queueUrls.tasks, journeys.map((j) => ({ body: JSON.stringify({ kind: 'measure', journeyId: j.id } satisfies JourneyTask) })));
      return;
    }
    const empty = () => ({ members: 0, converters: 0, revenue: 0, revenueSquares: 0 });
    const sums = (task.partial as { treatment: ReturnType<typeof empty>; holdout: ReturnType<typeof empty> } | undefined) ?? { treatment: empty(), holdout: empty() };
    let startKey = task.startKey;
    do {
      const page = await this.deps.states.page(task.journeyId, startKey, 1000);
      for (const entry of page.items) {
        const group = entry.status === 'holdout' ? sums.holdout : sums.treatment;
        const revenue = Number(entry.goalRevenue ?? 0);
        group.members++;
        if (entry.goalEvents && [...entry.goalEvents].length) group.converters++;
        group.revenue += revenue;
        group.revenueSquares += revenue * revenue;
      }
      startKey = page.lastKey;
      if (startKey && remainingMs() < 20_000) {
        await (this.deps.send ?? sendToQueue)(this.deps.queueUrls.tasks, [{ body: JSON.stringify({ kind: 'measure', journeyId: task.journeyId, startKey, partial: sums } satisfies JourneyTask) }]);
        return;
      }
    } while (startKey);
    await this.deps.journeys.putMeasured(task.journeyId, { ...sums, measuredAt: now().toISOString() });
  }
}

/** Why the entry rules keep the contact out now, or undefined when they may enter. */
export function entryRefusal(def: JourneyDefinition, ledger: JourneyLedger | undefined, trigger: string, now: Date): string | undefined {
  if (!ledger) return undefined;
  if (ledger.lastTrigger === trigger) return 'same_trigger';
  if (ledger.activeEntry !== undefined) return 'in_journey';
  const entries = ledger.entries ?? 0;
  if (entries === 0) return undefined;
  const rules = def.entryRules;
  if (rules.reentry === 'never') return 'no_reentry';
  if (ledger.lastEnteredAt && now.getTime() < Date.parse(ledger.lastEnteredAt) + rules.reentry.afterDays * 86_400_000) return 'too_soon';
  if (rules.maxEntriesPerContact !== undefined && entries >= rules.maxEntriesPerContact) return 'max_entries';
  return undefined;
}
