/**
 * A learning run's phases after attribution (docs/learning-design.md §4), one `LearningTask` per
 * message on the learning queue:
 *
 * 1. **train** (one per goal): the goal's sample is merged from the run's parts, the propensity
 *    and uplift models are trained, gated and recorded (a version only when the data changed).
 * 2. **btyd**: BG/NBD and Gamma–Gamma are fitted on the parts' counts and buyers.
 * 3. When every model is done, models not retrained for 30 days go stale and one **score** task
 *    per contacts scan segment is sent: each scores its contacts with the models in use and
 *    writes only scores that moved (continuing itself near the timeout).
 * 4. The last scoring segment records forecasts against actuals, refreshes every segment's
 *    statistics and completes the run.
 *
 * Every step is idempotent: versions are keyed by data hash, phases move by conditional writes,
 * done-sets absorb redeliveries.
 */
import { createHash } from 'node:crypto';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { LearningTask } from '../../events/attribution.ts';
import type { AttributionStore } from './run.ts';
import { documentClient } from '../aws/dynamodb.ts';
import type { ObjectStore } from '../aws/objects.ts';
import { sendToQueue } from '../aws/queue.ts';
import { logger } from '../logger.ts';
import { storable } from '../numbers.ts';
import { scanSegment } from '../segments/audience.ts';
import type { SegmentStore } from '../segments/segment-store.ts';
import { refreshSegmentStats } from '../segments/stats-refresh.ts';
import { BtydDataError, btydGate, bgNbdRowsFromCounts, fitBgNbd, fitGammaGamma, BTYD_THRESHOLDS, type BtydThresholds } from '../learning/btyd.ts';
import { featureNames, HOUR_BUCKETS, NUMERIC_NAMES, scanSpec } from '../learning/features.ts';
import { BTYD_ID, propensityId } from '../learning/names.ts';
import { bucketNamesOf, goalSample, mergedFacts } from '../learning/parts.ts';
import { DEFAULT_STRATUM_SIZE, sampleWeight, type SamplePart } from '../learning/sample.ts';
import { scoreContact, scoresMoved, type ActiveModels, type ActivePropensity, type ActiveUplift } from '../learning/score.ts';
import { LEARNING_CODE_VERSION, trainPropensity, trainUplift, type GateThresholds } from '../learning/train.ts';
import type { ModelStore, BtydVersion } from '../learning/store.ts';

const DAY = 86_400_000;
/** Activity read for scoring: the longest count window (90 days) and a day. */
const ACTIVITY_DAYS = 91;

export interface LearningDeps {
  runs: AttributionStore;
  models: ModelStore;
  objects: ObjectStore;
  queueUrl: string;
  contactsTable: string;
  activityTable: string;
  segments: SegmentStore;
  /** Contacts scan segments for scoring (one task each). */
  scanSegments: number;
  thresholds: Partial<GateThresholds>;
  btydThresholds: BtydThresholds;
  /** Examples kept per stratum. */
  stratumSize: number;
  /** Must equal the attribution worker's (the spec the examples were encoded with). */
  excludeAttributes: readonly string[];
  /** Called by the last scoring segment before the statistics refresh (forecast against actual). */
  onScored?: (now: Date) => Promise<void>;
  db?: DynamoDBDocumentClient;
}

export const defaultLearningSettings = { thresholds: {}, btydThresholds: BTYD_THRESHOLDS, stratumSize: DEFAULT_STRATUM_SIZE, excludeAttributes: [] as string[] };

export type LearningOutcome = 'trained' | 'scoring-started' | 'continued' | 'segment-done' | 'run-done' | 'skipped';

export async function processLearningTask(task: LearningTask, deps: LearningDeps, remainingMs: () => number, send = sendToQueue, clock: () => Date = () => new Date()): Promise<LearningOutcome> {
  const run = await deps.runs.getRun(task.runId);
  if (!run || run.status !== 'running') {
    logger.warn('learning task for a run that is not running', { runId: task.runId, kind: task.kind });
    return 'skipped';
  }
  if (task.kind === 'score') return scoreSegment(task, deps, remainingMs, send, clock);
  if (task.kind === 'train') await trainGoal(task.runId, task.goal, deps, clock());
  else await trainBtyd(task.runId, deps, clock());
  if (!(await deps.runs.modelDone(task.runId, task.kind === 'train' ? task.goal : BTYD_ID))) return 'trained';
  return startScoring(task.runId, deps, send, clock());
}

/** The spec the run's examples were encoded with, named from the parts' token counts. */
async function specOf(deps: LearningDeps, stems: readonly string[]) {
  const facts = await mergedFacts(deps.objects, stems);
  return { facts, spec: scanSpec({ excludeAttributes: deps.excludeAttributes, bucketNames: bucketNamesOf(facts.tokens) }) };
}

/** Trains and records `propensity.<goal>` and `uplift.<goal>` from the run's sample. */
export async function trainGoal(runId: string, goal: string, deps: LearningDeps, now: Date): Promise<void> {
  const stems = await deps.runs.learningParts(runId);
  const { spec } = await specOf(deps, stems);
  const sample = await goalSample(deps.objects, stems, goal, deps.stratumSize);
  const withHours = { ...spec, hourShares: hourSharesOf(sample) };
  const config = { goal, featureNames: featureNames(spec), thresholds: deps.thresholds };
  const active = await deps.models.active(propensityId(goal));
  const activeModel = active?.version.body.kind === 'propensity' && active.version.body.model ? active.version.body.model : undefined;
  const propensity = trainPropensity(sample, { ...config, ...(activeModel ? { active: activeModel } : {}) });
  const p = await deps.models.record(propensity, withHours, runId, now);
  const uplift = trainUplift(sample, propensity, config);
  const u = await deps.models.record(uplift, withHours, runId, now);
  logger.info('goal trained', { runId, goal, propensity: { status: propensity.status, version: p.version, written: p.written }, uplift: { status: uplift.status, version: u.version, written: u.written } });
}

/** Share of the sample's treated exposures (by sampling weight) in each hour bucket. */
export function hourSharesOf(sample: SamplePart): number[] {
  const first = NUMERIC_NAMES.findIndex((n) => n.startsWith('hour='));
  const shares = new Array<number>(HOUR_BUCKETS).fill(0);
  let total = 0;
  for (const stratum of sample.strata) {
    if (stratum.treated !== 1) continue;
    const w = sampleWeight(stratum);
    for (const e of stratum.examples) {
      for (const j of e.indices) if (j >= first && j < first + HOUR_BUCKETS) shares[j - first] = shares[j - first]! + w;
      total += w;
    }
  }
  return shares.map((v) => (total > 0 ? Math.round((v / total) * 1e6) / 1e6 : 0));
}

/** Fits and records the BTYD pair from the parts' counts (BG/NBD) and buyers (Gamma–Gamma). */
export async function trainBtyd(runId: string, deps: LearningDeps, now: Date): Promise<void> {
  const stems = await deps.runs.learningParts(runId);
  const facts = await mergedFacts(deps.objects, stems);
  const rows = bgNbdRowsFromCounts(facts.bgNbd);
  const gate = btydGate(rows, deps.btydThresholds);
  const dataHash = createHash('sha256')
    .update(JSON.stringify({ code: LEARNING_CODE_VERSION, thresholds: deps.btydThresholds, rows, buyers: facts.buyers }))
    .digest('hex');
  const base = { kind: 'btyd' as const, modelId: BTYD_ID as 'btyd', dataHash, gate, gammaGammaRows: facts.buyers.length };
  let body: BtydVersion = { ...base, status: 'insufficient_history', reason: gate.reason, bgNbd: null, gammaGamma: null };
  if (gate.status === 'active') {
    try {
      body = { ...base, status: 'active', reason: gate.reason, bgNbd: fitBgNbd(rows), gammaGamma: fitGammaGamma(facts.buyers) };
    } catch (error) {
      if (!(error instanceof BtydDataError)) throw error;
      body = { ...base, status: 'insufficient_history', reason: error.message, bgNbd: null, gammaGamma: null };
    }
  }
  const recorded = await deps.models.record(body, null, runId, now);
  logger.info('btyd trained', { runId, status: body.status, version: recorded.version, written: recorded.written });
}

/** Every model is done: stale models retire, then one scoring task per contacts scan segment. */
async function startScoring(runId: string, deps: LearningDeps, send: typeof sendToQueue, now: Date): Promise<LearningOutcome> {
  for (const head of await deps.models.heads()) {
    if (head.activeVersion !== null && (await deps.models.markStale(head.modelId, now))) logger.warn('model went stale', { modelId: head.modelId });
  }
  if (!(await deps.runs.startScoring(runId, deps.scanSegments))) return 'skipped';
  await send(
    deps.queueUrl,
    Array.from({ length: deps.scanSegments }, (_, segment) => ({ body: JSON.stringify({ kind: 'score', runId, segment, totalSegments: deps.scanSegments } satisfies LearningTask) })),
  );
  return 'scoring-started';
}

/** The models in use: every head with an active version that is not stale. */
export async function loadActiveModels(models: ModelStore): Promise<ActiveModels> {
  const propensity = new Map<string, ActivePropensity>();
  const uplift = new Map<string, ActiveUplift>();
  let btyd: ActiveModels['btyd'];
  for (const head of await models.heads()) {
    if (head.activeVersion === null || head.status === 'stale') continue;
    const stored = await models.version(head.modelId, head.activeVersion);
    if (!stored) continue;
    const body = stored.body;
    if (body.kind === 'propensity' && body.model && stored.spec) propensity.set(body.goal, { version: stored.version, spec: stored.spec, model: body.model });
    else if (body.kind === 'uplift' && body.treatment && body.control && stored.spec) uplift.set(body.goal, { version: stored.version, spec: stored.spec, treatment: body.treatment, control: body.control });
    else if (body.kind === 'btyd' && body.bgNbd && body.gammaGamma) btyd = { version: stored.version, bgNbd: body.bgNbd, gammaGamma: body.gammaGamma };
  }
  // Uplift needs its goal's propensity (the channel and hour it scores at).
  for (const goal of [...uplift.keys()]) if (!propensity.has(goal)) uplift.delete(goal);
  return { propensity, uplift, ...(btyd ? { btyd } : {}) };
}

async function scoreSegment(task: Extract<LearningTask, { kind: 'score' }>, deps: LearningDeps, remainingMs: () => number, send: typeof sendToQueue, clock: () => Date): Promise<LearningOutcome> {
  const db = deps.db ?? documentClient;
  const now = clock();
  const models = await loadActiveModels(deps.models);
  const counts = { scored: 0, writes: 0 };
  const modelsAt = now.toISOString();
  let lastKey: Record<string, unknown> | undefined;
  for await (const page of scanSegment({
    table: deps.contactsTable,
    activityTable: deps.activityTable,
    activitySinceMs: now.getTime() - ACTIVITY_DAYS * DAY,
    test: () => true,
    segment: task.segment,
    totalSegments: task.totalSegments,
    startKey: task.startKey,
    db,
    now,
  })) {
    const writes: Array<{ id: string; next: Record<string, number>; hasScores: boolean }> = [];
    for (const { contact, item } of page.members) {
      counts.scored++;
      const next = scoreContact(contact, models, now.getTime());
      const stored = (item.scores as { models?: Record<string, number> } | undefined)?.models;
      if (scoresMoved(stored, next)) writes.push({ id: contact.id, next, hasScores: item.scores !== undefined });
    }
    for (const w of writes) {
      const empty = Object.keys(w.next).length === 0;
      try {
        await db.send(
          new UpdateCommand({
            TableName: deps.contactsTable,
            Key: { id: w.id },
            UpdateExpression: !w.hasScores ? 'SET scores = :s' : empty ? 'REMOVE scores.models, scores.modelsAt' : 'SET scores.models = :m, scores.modelsAt = :at',
            ConditionExpression: 'attribute_exists(id)',
            ...(empty && w.hasScores ? {} : { ExpressionAttributeValues: storable(!w.hasScores ? { ':s': { models: w.next, modelsAt } } : { ':m': w.next, ':at': modelsAt }) }),
          }),
        );
        counts.writes++;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error; // erased meanwhile
      }
    }
    lastKey = page.lastKey;
    if (lastKey && remainingMs() < 60_000) break;
  }
  if (lastKey) {
    await deps.runs.addScoreCounts(task.runId, counts);
    await send(deps.queueUrl, [{ body: JSON.stringify({ ...task, startKey: lastKey } satisfies LearningTask) }]);
    return 'continued';
  }
  if (!(await deps.runs.scoreSegmentDone(task.runId, task.segment, counts))) return 'segment-done';

  // The last segment: forecasts against actuals, segment statistics (scores changed), completion.
  const finishing = clock();
  if (deps.onScored) await deps.onScored(finishing);
  await refreshSegmentStats(deps.segments, { contactsTable: deps.contactsTable, activityTable: deps.activityTable, scanSegments: deps.scanSegments, now: finishing, ...(deps.db ? { db: deps.db } : {}) });
  const run = await deps.runs.getRun(task.runId);
  await deps.runs.completeRun(task.runId, { contacts: run?.contacts ?? 0, conversions: run?.conversions ?? 0, interactions: run?.interactions ?? 0, readUnits: run?.readUnits ?? 0 }, clock());
  logger.info('learning run completed', { runId: task.runId, scored: (run?.scored ?? 0), writes: run?.scoreWrites ?? 0, models: { propensity: [...models.propensity.keys()], uplift: [...models.uplift.keys()], btyd: Boolean(models.btyd) } });
  return 'run-done';
}
