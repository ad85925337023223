import type { JourneyTask } from '../../events/journeys.ts';
import { sendToQueue } from '../aws/queue.ts';
import { forEachLimit } from '../concurrency.ts';
import { logger } from '../logger.ts';
import type { JourneyStore } from './journey-store.ts';
import { WAIT_SHARDS, type JourneyStateStore } from './state-store.ts';

export interface WaitSweepDeps {
  states: JourneyStateStore;
  journeys: JourneyStore;
  tasksQueue: string;
  send?: typeof sendToQueue;
  /** segment_entry journeys are checked for newly matching contacts this often (minutes). */
  segmentCheckMinutes?: number;
  /** Parallel scan segments of a check. */
  scanSegments?: number;
}

/** A woken wait that is not acted on (the wake-up was lost) falls due again after this. */
export const WAKE_LEASE_MS = 10 * 60_000;
/** Conditional lease updates in flight at once (each on its own item). */
const LEASES_IN_FLIGHT = 16;

/**
 * Run by the dispatcher every minute: the waits that are due, shard by shard, each leased (its due
 * time moved on by WAKE_LEASE_MS, conditionally; LEASES_IN_FLIGHT at once) and woken with its
 * entry's seq on the journey tasks queue, ten to a request. Stops at the budget; the rest are due next minute.
 */
export async function wakeDueWaits(deps: WaitSweepDeps, now = new Date(), budgetMs = 40_000): Promise<number> {
  const started = Date.now();
  const until = new Date(now.getTime() + WAKE_LEASE_MS);
  let woken = 0;
  // Each run starts at another shard (by the minute): a run that uses its whole budget and the next one do not walk the same shards in step.
  const first = Math.floor(now.getTime() / 60_000) % WAIT_SHARDS;
  for (let i = 0; i < WAIT_SHARDS; i++) {
    const shard = (first + i) % WAIT_SHARDS;
    for (;;) {
      if (Date.now() - started > budgetMs) return woken;
      const due = await deps.states.due(`jdue#${shard}`, now, 200);
      const tasks: JourneyTask[] = [];
      // Leases in parallel: one at a time, a minute's budget woke a few thousand waits, and an audience that entered together falls due together.
      await forEachLimit(due, LEASES_IN_FLIGHT, async (key) => {
        const leased = await deps.states.lease({ contactId: key.contactId, sk: key.sk, dueAt: key.dueAt! }, until);
        if (leased) tasks.push({ kind: 'wake', contactId: leased.contactId, journeyId: leased.journeyId, entry: leased.entry, seq: leased.seq });
      });
      if (tasks.length) await (deps.send ?? sendToQueue)(deps.tasksQueue, tasks.map((t) => ({ body: JSON.stringify(t) })));
      woken += tasks.length;
      if (due.length < 200) break;
    }
  }
  return woken;
}

/**
 * segment_entry journeys whose next check is due get one: scan tasks in `check` mode (contacts
 * in the segment that the journey has never seen enter). The head's check counter moves first,
 * conditionally, so two dispatchers never start the same check.
 */
export async function startSegmentChecks(deps: WaitSweepDeps, now = new Date()): Promise<number> {
  let started = 0;
  for (const journey of await deps.journeys.withStatus('running')) {
    if (journey.entry.type !== 'segment_entry' || !journey.segmentChecks || Date.parse(journey.segmentChecks.nextAt) > now.getTime()) continue;
    const next = { done: journey.segmentChecks.done + 1, nextAt: new Date(now.getTime() + (deps.segmentCheckMinutes ?? 15) * 60_000).toISOString() };
    if (!(await deps.journeys.setFields(journey.id, { segmentChecks: next }, { field: 'segmentChecks', equals: journey.segmentChecks }))) continue;
    const total = deps.scanSegments ?? 4;
    const tasks: JourneyTask[] = Array.from({ length: total }, (_, segment) => ({ kind: 'scan', mode: 'check', journeyId: journey.id, runKey: `c${next.done}`, segment, totalSegments: total }));
    await (deps.send ?? sendToQueue)(deps.tasksQueue, tasks.map((t) => ({ body: JSON.stringify(t) })));
    started++;
  }
  if (started) logger.info('journey segment checks started', { started });
  return started;
}
