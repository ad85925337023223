import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConflictError, ValidationError } from '../errors.ts';
import { streamAudience } from './audience.ts';
import type { EvalContact } from './contact-view.ts';
import { AudienceSummary, type PreviewResult } from './preview.ts';
import { compileRule, findCycle, referencedSegments, type CompiledRule, type RuleNode } from './rule.ts';
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
  db?: DynamoDBDocumentClient;
}

/**
 * Segment use cases: reference checks (existence, cycles), compilation with referenced
 * segments resolved to their latest versions, previews with forecasts, and audience streams.
 */
export class SegmentService {
  constructor(
    private readonly store: SegmentStore,
    private readonly options: SegmentServiceOptions,
  ) {}

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

  /** Count, reachability, sample and forecast; for a saved segment also its statistics, stored with the time. */
  async preview(definition: SegmentDefinition, segment?: SegmentVersion, now = new Date()): Promise<PreviewResult> {
    const compiled = await this.compile(definition, now, segment?.id);
    const summary = new AudienceSummary(now);
    for await (const page of this.audience((c) => compiled.test(c), now)) {
      summary.scanned += page.scanned;
      summary.consumedReadUnits += page.consumedCapacity;
      for (const member of page.members) summary.add(member.contact, member.item);
    }
    if (segment) await this.store.saveStats(summary.stats(segment.id, segment.version));
    return summary.preview();
  }
}
