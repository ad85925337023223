import { randomUUID } from 'node:crypto';
import { compileEventPattern, validateEventPattern, type EventPattern } from './event-pattern.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './lambda.ts';

/** An event as EventBridge delivers it to targets. */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

export interface PutEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
  Time?: string | number | Date;
}

export interface PutResultEntry {
  EventId?: string;
  ErrorCode?: string;
  ErrorMessage?: string;
}

export type RuleDelivery = (event: BusEvent) => Promise<void> | void;

export interface LocalRule {
  name: string;
  bus: string;
  pattern: EventPattern;
  deliver: RuleDelivery;
  /** What the rule targets, for describing the wiring. */
  target: { queue: string } | { function: string };
}

const MAX_ENTRY_BYTES = 256 * 1024;

/**
 * In-process EventBridge: named buses, rules with real event-pattern semantics, PutEvents
 * entry validation with per-entry error codes. Delivery is asynchronous, as on AWS; the
 * runtime's `idle()` waits for deliveries in flight.
 */
export class LocalEventBus {
  private readonly rules: Array<LocalRule & { matches: (event: unknown) => boolean }> = [];
  private inFlight = 0;
  private readonly waiters: Array<() => void> = [];
  readonly counters = { putEventsCalls: 0, entries: 0, failedEntries: 0, deliveries: 0, deliveryFailures: 0 };
  onDeliveryError: (error: unknown, rule: LocalRule, event: BusEvent) => void = () => undefined;

  constructor(readonly busNames: string[]) {}

  addRule(rule: LocalRule): void {
    validateEventPattern(rule.pattern);
    if (!this.busNames.includes(rule.bus)) throw new Error(`rule ${rule.name}: unknown bus ${rule.bus}`);
    this.rules.push({ ...rule, matches: compileEventPattern(rule.pattern) });
  }

  listRules(): LocalRule[] {
    return this.rules.map(({ name, bus, pattern, deliver, target }) => ({ name, bus, pattern, deliver, target }));
  }

  private resolveBus(name: string | undefined): string | undefined {
    const bare = name?.includes(':event-bus/') ? name.split(':event-bus/')[1] : name;
    const bus = bare || 'default';
    return this.busNames.includes(bus) ? bus : undefined;
  }

  putEvents(entries: PutEntry[], now = new Date()): { FailedEntryCount: number; Entries: PutResultEntry[] } {
    this.counters.putEventsCalls++;
    const results: PutResultEntry[] = [];
    let failed = 0;
    for (const entry of entries) {
      this.counters.entries++;
      const error = this.checkEntry(entry);
      const bus = this.resolveBus(entry.EventBusName);
      if (error || !bus) {
        failed++;
        results.push(error ?? { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${entry.EventBusName} does not exist.` });
        continue;
      }
      const time = entry.Time ? new Date(entry.Time) : now;
      const event: BusEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': entry.DetailType!,
        source: entry.Source!,
        account: LOCAL_ACCOUNT,
        // EventBridge reports event time to the second.
        time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: LOCAL_REGION,
        resources: entry.Resources ?? [],
        detail: JSON.parse(entry.Detail!),
      };
      results.push({ EventId: event.id });
      this.route(bus, event);
    }
    this.counters.failedEntries += failed;
    return { FailedEntryCount: failed, Entries: results };
  }

  private checkEntry(entry: PutEntry): PutResultEntry | undefined {
    if (!entry.Source) return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.' };
    if (!entry.DetailType) return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter DetailType is not valid. Reason: DetailType is a required argument.' };
    if (!entry.Detail) return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Detail is not valid. Reason: Detail is a required argument.' };
    if (Buffer.byteLength(entry.Detail, 'utf8') + entry.Source.length + entry.DetailType.length > MAX_ENTRY_BYTES) {
      return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Total size of the entries in the request is over the limit.' };
    }
    try {
      const detail: unknown = JSON.parse(entry.Detail);
      if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) throw new Error('not an object');
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    return undefined;
  }

  private route(bus: string, event: BusEvent): void {
    for (const rule of this.rules) {
      if (rule.bus !== bus || !rule.matches(event)) continue;
      this.inFlight++;
      this.counters.deliveries++;
      // Asynchronous like EventBridge: the producer's PutEvents returns before targets run.
      setImmediate(() => {
        Promise.resolve()
          .then(() => rule.deliver(event))
          .catch((error: unknown) => {
            this.counters.deliveryFailures++;
            this.onDeliveryError(error, rule, event);
          })
          .finally(() => {
            this.inFlight--;
            if (this.inFlight === 0) this.waiters.splice(0).forEach((w) => w());
          });
      });
    }
  }

  /** Resolves when no delivery is in flight. */
  settled(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get pending(): number {
    return this.inFlight;
  }
}
