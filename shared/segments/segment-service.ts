import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { forEachLimit } from '../concurrency.ts';
import { ConflictError, ValidationError } from '../errors.ts';
import { modelOfScore, propensityId } from '../learning/names.ts';
import type { HeadStatus, ModelHead, ModelStore } from '../learning/store.ts';
import { streamAudience } from './audience.ts';
import type { EvalContact } from './contact-view.ts';
import { AudienceSummary, type GoalModel, type PreviewResult } from './preview.ts';
import { compileRule, findCycle, learnedScoresIn, referencedSegments, type CompiledRule, type RuleNode } from './rule.ts';
import type { SegmentStore, SegmentVersion } from './segment-store.ts';

export interface SegmentDefinition {
  rule: RuleNode;
  timezone: string;
}

export interface SegmentServiceOptions {
  contactsTable: string;
  /** The behaviour counters' month items (see ActivityStore). */
  activityTable: string;
  /** Parallel scan segments for audience reads. */
  scanSegments: number;
  /** The learned models' heads: previews and `warnings` check rules' learned scores against them, and `?goal=` reads them (required for those). */
  models?: Pick<ModelStore, 'head'>;
  db?: DynamoDBDocumentClient;
}

/**
 * Something a marketer should know about a rule that is nevertheless valid and saved: a learned
 * score whose model is not active (or does not exist yet), so no contact has a value for it.
 */
export interface SegmentWarning {
  /** Where in the request it applies (`rule.and[0].score`). */
  path: string;
  message: string;
  /** The model that produces the score. */
  model: string;
  /** The model's status, or `missing` when no model of that id has been trained. */
  status: HeadStatus | 'missing';
}

export interface PreviewOptions {
  /** A conversion event (validated with isLearnableGoal): the forecast adds its expected converters from `propensity.<goal>`. */
  goal?: string;
}

/** The model's head counts as in use exactly when ModelStore.active would return a version. */
const isActive = (head: ModelHead | undefined): boolean => head !== undefined && head.activeVersion !== null && head.status !== 'stale';

/**
 * Segment use cases: reference checks (existence, cycles), compilation with referenced
 * segments resolved to their latest versions, previews with forecasts, and audience streams.
 */
export class SegmentService {
  constructor(
    private readonly store: SegmentStore,
    private readonly options: SegmentServiceOptions,
  ) {}

  private get models(): Pick<ModelStore, 'head'> {
    if (!this.options.models) throw new Error('SegmentService: previews and warnings need options.models (the models table)');
    return this.options.models;
  }

  /**
   * A segment that other live segments refer to cannot be deleted (409 segment_in_use, naming
   * them): their rules would fail to compile, and so would the nightly statistics and any launch.
   */
  async assertNotReferenced(segmentId: string): Promise<void> {
    const referring = (await this.store.list()).filter((s) => s.id !== segmentId && referencedSegments(s.rule).includes(segmentId));
    if (referring.length) {
      throw new ConflictError(`segment ${segmentId} is referred to by ${referring.map((s) => s.name).join(', ')}; change or delete those segments first`, 'segment_in_use');
    }
  }

  /** Latest versions of every segment the rule reaches, transitively; unknown ones → 400 at the rule path. */
  private async loadReferences(rule: RuleNode, self?: string): Promise<Map<string, SegmentVersion>> {
    const loaded = new Map<string, SegmentVersion>();
    const queue = referencedSegments(rule);
    const missing: string[] = [];
    while (queue.length) {
      const id = queue.shift()!;
      if (loaded.has(id) || id === self) continue;
      const segment = await this.store.latest(id);
      if (!segment) {
        missing.push(id);
        continue;
      }
      loaded.set(id, segment);
      queue.push(...referencedSegments(segment.rule));
    }
    if (missing.length) throw new ValidationError(missing.map((id) => ({ path: 'rule', message: `refers to segment ${id}, which does not exist` })));
    return loaded;
  }

  /** Refuses a definition that would make segment `self` depend on itself. */
  async checkReferences(definition: SegmentDefinition, self?: string): Promise<void> {
    const loaded = await this.loadReferences(definition.rule, self);
    if (!self) return;
    const cycle = findCycle(self, (id) => (id === self ? referencedSegments(definition.rule) : referencedSegments(loaded.get(id)?.rule ?? { and: [] } as unknown as RuleNode)));
    if (cycle) throw new ValidationError([{ path: 'rule', message: `segment references form a cycle: ${cycle.join(' → ')}` }]);
  }

  async compile(definition: SegmentDefinition, now = new Date(), self?: string): Promise<CompiledRule> {
    const loaded = await this.loadReferences(definition.rule, self);
    const compiled = new Map<string, CompiledRule>();
    const resolving = new Set<string>();
    const resolveSegment = (id: string): CompiledRule | undefined => {
      const done = compiled.get(id);
      if (done) return done;
      const segment = loaded.get(id);
      if (!segment || resolving.has(id)) return undefined;
      resolving.add(id);
      const rule = compileRule(segment.rule, { now, timezone: segment.timezone, resolveSegment });
      resolving.delete(id);
      compiled.set(id, rule);
      return rule;
    };
    return compileRule(definition.rule, { now, timezone: definition.timezone, resolveSegment });
  }

  audience(test: (contact: EvalContact) => boolean, now = new Date()) {
    return streamAudience({ table: this.options.contactsTable, activityTable: this.options.activityTable, test, totalSegments: this.options.scanSegments, db: this.options.db, now });
  }

  /**
   * Warnings for the learned scores the rule compares whose model is not active: saving and
   * previewing still succeed (the model may pass its gates tonight), but until then no contact has
   * the score and every comparison with it is false. One head read per model the rule names.
   * Learned scores of the segments the rule refers to are not checked here: each was checked when
   * its own segment was saved.
   */
  async warnings(definition: Pick<SegmentDefinition, 'rule'>): Promise<SegmentWarning[]> {
    const uses = learnedScoresIn(definition.rule);
    // Each model once, a few reads in flight: a rule may name many (a hostile one, hundreds).
    const heads = new Map<string, ModelHead | undefined>(uses.map(({ score }) => [modelOfScore(score), undefined]));
    await forEachLimit([...heads.keys()], 8, async (model) => {
      heads.set(model, await this.models.head(model));
    });
    const out: SegmentWarning[] = [];
    for (const { path, score } of uses) {
      const model = modelOfScore(score);
      const head = heads.get(model);
      if (isActive(head)) continue;
      const missing = `no contact has the score ${score}, and a comparison with a missing score never matches (its negation does)`;
      out.push(
        head
          ? { path, model, status: head.status, message: `model ${model} is not active (status ${head.status}: ${head.reason}): ${missing}` }
          : { path, model, status: 'missing', message: `no such model yet: ${model} has not been trained (the nightly run trains it once there is enough history): ${missing}` },
      );
    }
    return out;
  }

  /**
   * Count, reachability, sample and forecast (with `goal`, also the goal's expected converters from
   * the stored propensity scores); for a saved segment also its statistics, stored with the time.
   */
  async preview(definition: SegmentDefinition, segment?: SegmentVersion, now = new Date(), options: PreviewOptions = {}): Promise<PreviewResult & { warnings: SegmentWarning[] }> {
    const compiled = await this.compile(definition, now, segment?.id);
    const [warnings, goalHead] = await Promise.all([this.warnings(definition), options.goal === undefined ? undefined : this.models.head(propensityId(options.goal))]);
    const summary = new AudienceSummary(now, 20, options.goal);
    for await (const page of this.audience((c) => compiled.test(c), now)) {
      summary.scanned += page.scanned;
      summary.consumedReadUnits += page.consumedCapacity;
      for (const member of page.members) summary.add(member.contact, member.item);
    }
    if (segment) await this.store.saveStats(summary.stats(segment.id, segment.version));
    return { ...summary.preview(options.goal === undefined ? undefined : goalModelOf(options.goal, goalHead)), warnings };
  }
}

/** The goal forecast's model: the active version's name, or null with why there are no scores to sum. */
function goalModelOf(goal: string, head: ModelHead | undefined): GoalModel {
  const id = propensityId(goal);
  if (head && isActive(head)) return { model: `${id}@v${head.activeVersion}`, reason: `no reachable member has a ${id} score yet: the nightly scoring pass writes them for contacts it scores after the model is trained` };
  if (!head) return { model: null, reason: `no such model yet: ${id} has not been trained (the nightly run trains it once goal ${goal} has enough history)` };
  return { model: null, reason: `model ${id} is not active (status ${head.status}: ${head.reason}), so its scores are not used` };
}
