/**
 * Local imitation of Amazon EventBridge Scheduler: the store of schedules and the timers that
 * fire them, in-process. Schedules come from the topology (recurring cron/rate) and from
 * application code through the Scheduler API (one-time `at(...)` schedules).
 *
 * How it mirrors AWS (and where it deliberately differs):
 * - Expressions and time zones are evaluated by shared/schedule-expression.ts (DST rules there).
 * - A one-time schedule whose time has already passed fires once, promptly, right after create
 *   or update (EventBridge Scheduler fires past-due one-time schedules at once). StartDate and
 *   EndDate are ignored for one-time schedules, as on AWS.
 * - A rate schedule without StartDate fires immediately on create/update and then every
 *   interval (AWS: "begins invoking the target immediately"); with StartDate it fires at
 *   StartDate + k × interval. A cron schedule never fires before StartDate.
 * - Recurring schedules stop before EndDate (a fire time at or after EndDate is not used).
 * - ActionAfterCompletion DELETE removes the schedule once it has no fire left, at the moment of
 *   its last firing — AWS invokes Lambda asynchronously, so "after invoking" is immediate there,
 *   whereas a local invoke may run the whole handler.
 * - Fires are exact (no 60-second jitter, flexible time windows are stored but ignored); missed
 *   occurrences (process suspended) are not back-filled, the next one in the future is used.
 * - Timers are unref'd: they never keep the process alive.
 */
import { BadRequestError, ConflictError as AppConflictError, NotFoundError } from '../../shared/errors.ts';
import { assertValidTimeZone, atInstant, nextFireTime, parseScheduleExpression, type ScheduleExpression } from '../../shared/schedule-expression.ts';

export interface LocalScheduleTarget {
  arn: string;
  roleArn?: string;
  input?: string;
}

export interface LocalSchedule {
  name: string;
  groupName: string; // group default 'default'
  expression: string;
  timezone: string; // default 'UTC'
  target: LocalScheduleTarget;
  state: 'ENABLED' | 'DISABLED';
  actionAfterCompletion: 'NONE' | 'DELETE';
  startDate?: Date;
  endDate?: Date;
  flexibleTimeWindowMinutes?: number; // ignored locally (fire at the exact time), but stored
  description?: string;
  createdAt: Date;
  lastFiredAt?: Date;
  nextFireAt: Date | null;
}

export type LocalScheduleInput = Omit<LocalSchedule, 'createdAt' | 'nextFireAt' | 'lastFiredAt' | 'state' | 'actionAfterCompletion' | 'groupName' | 'timezone'> &
  Partial<Pick<LocalSchedule, 'state' | 'actionAfterCompletion' | 'groupName' | 'timezone'>>;

export type ScheduleInvoker = (schedule: LocalSchedule, firedAt: Date) => Promise<void>;

export interface LocalSchedulerOptions {
  invoke: ScheduleInvoker;
  now?: () => Date;
  onError?: (error: unknown, schedule: LocalSchedule) => void;
}

export class ConflictError extends AppConflictError {
  override name = 'ConflictError';
  constructor(name: string, groupName: string) {
    super(`Schedule ${name} already exists in group ${groupName}`, 'schedule_exists');
  }
}

export class ScheduleNotFoundError extends NotFoundError {
  override name = 'ScheduleNotFoundError';
  constructor(name: string, groupName: string) {
    super('Schedule', `${groupName}/${name}`);
  }
}

/** setTimeout's limit (2^31 - 1 ms, ~24.8 days); longer waits are re-armed in steps. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

const DEFAULT_GROUP = 'default';
const NAME_PATTERN = /^[0-9a-zA-Z\-_.]{1,64}$/;

interface Entry {
  schedule: LocalSchedule;
  parsed: ScheduleExpression;
  /** When the current definition was set (create or update): the start of a rate schedule without StartDate. */
  definedAt: Date;
  oneTimeDone: boolean;
  timer?: ReturnType<typeof setTimeout>;
  /** Changes on every (re)arm and removal, so a stale timer callback does nothing. */
  token: number;
}

export class LocalScheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly invoke: ScheduleInvoker;
  private readonly now: () => Date;
  private readonly onError: (error: unknown, schedule: LocalSchedule) => void;
  private stopped = false;
  private tokens = 0;

  constructor(options: LocalSchedulerOptions) {
    this.invoke = options.invoke;
    this.now = options.now ?? (() => new Date());
    this.onError =
      options.onError ??
      ((error, schedule) => {
        console.error(`[scheduler] ${schedule.groupName}/${schedule.name} failed to invoke ${schedule.target.arn}:`, error);
      });
  }

  create(input: LocalScheduleInput): LocalSchedule {
    const groupName = input.groupName ?? DEFAULT_GROUP;
    const key = keyOf(input.name, groupName);
    const { schedule, parsed } = this.validate(input, groupName);
    if (this.entries.has(key)) throw new ConflictError(input.name, groupName);
    const now = this.now();
    const entry: Entry = { schedule: { ...schedule, createdAt: now }, parsed, definedAt: now, oneTimeDone: false, token: 0 };
    this.entries.set(key, entry);
    this.schedule(entry, now);
    return clone(entry.schedule);
  }

  /** Replaces the definition, like UpdateSchedule (unset optional fields go back to defaults); keeps createdAt and lastFiredAt. */
  update(input: LocalScheduleInput): LocalSchedule {
    const groupName = input.groupName ?? DEFAULT_GROUP;
    const entry = this.entries.get(keyOf(input.name, groupName));
    if (!entry) throw new ScheduleNotFoundError(input.name, groupName);
    const { schedule, parsed } = this.validate(input, groupName);
    const now = this.now();
    entry.schedule = { ...schedule, createdAt: entry.schedule.createdAt, ...(entry.schedule.lastFiredAt ? { lastFiredAt: entry.schedule.lastFiredAt } : {}) };
    entry.parsed = parsed;
    entry.definedAt = now;
    entry.oneTimeDone = false;
    this.schedule(entry, now);
    return clone(entry.schedule);
  }

  get(name: string, groupName: string = DEFAULT_GROUP): LocalSchedule | undefined {
    const entry = this.entries.get(keyOf(name, groupName));
    return entry ? clone(entry.schedule) : undefined;
  }

  delete(name: string, groupName: string = DEFAULT_GROUP): boolean {
    const entry = this.entries.get(keyOf(name, groupName));
    if (!entry) return false;
    this.remove(entry);
    return true;
  }

  list(groupName?: string): LocalSchedule[] {
    return [...this.entries.values()]
      .filter((entry) => groupName === undefined || entry.schedule.groupName === groupName)
      .map((entry) => clone(entry.schedule))
      .sort((a, b) => (a.groupName === b.groupName ? a.name.localeCompare(b.name) : a.groupName.localeCompare(b.groupName)));
  }

  /**
   * Fires the schedule now (local route POST /_local/schedules/{name}/run), even when DISABLED,
   * without touching its timetable. A one-time schedule with DELETE is deleted, as after a
   * regular fire. The invoker's error is returned to the caller (rejects) rather than onError.
   */
  async runNow(name: string, groupName: string = DEFAULT_GROUP): Promise<void> {
    const entry = this.entries.get(keyOf(name, groupName));
    if (!entry) throw new ScheduleNotFoundError(name, groupName);
    const firedAt = this.now();
    entry.schedule.lastFiredAt = firedAt;
    const snapshot = clone(entry.schedule);
    if (entry.parsed.kind === 'at' && entry.schedule.actionAfterCompletion === 'DELETE') this.remove(entry);
    await this.invoke(snapshot, firedAt);
  }

  /** Clears every timer; schedules stay readable but nothing fires any more (also stops re-arming). */
  stop(): void {
    this.stopped = true;
    for (const entry of this.entries.values()) this.disarm(entry);
  }

  // -------------------------------------------------------------------------------------------

  private validate(input: LocalScheduleInput, groupName: string): { schedule: Omit<LocalSchedule, 'createdAt'>; parsed: ScheduleExpression } {
    if (typeof input.name !== 'string' || !NAME_PATTERN.test(input.name)) {
      throw new BadRequestError(`Schedule name "${String(input.name)}" must be 1-64 characters of letters, digits, "-", "_" and "."`, 'invalid_schedule');
    }
    if (!NAME_PATTERN.test(groupName)) {
      throw new BadRequestError(`Schedule group name "${groupName}" must be 1-64 characters of letters, digits, "-", "_" and "."`, 'invalid_schedule');
    }
    const parsed = parseScheduleExpression(input.expression);
    const timezone = input.timezone ?? 'UTC';
    assertValidTimeZone(timezone);
    if (!input.target || typeof input.target.arn !== 'string' || input.target.arn === '') {
      throw new BadRequestError(`Schedule ${input.name} needs a target with an arn`, 'invalid_schedule');
    }
    for (const [label, date] of [
      ['startDate', input.startDate],
      ['endDate', input.endDate],
    ] as const) {
      if (date !== undefined && (!(date instanceof Date) || Number.isNaN(date.getTime()))) {
        throw new BadRequestError(`Schedule ${input.name}: ${label} must be a valid Date`, 'invalid_schedule');
      }
    }
    if (input.startDate && input.endDate && input.endDate.getTime() <= input.startDate.getTime()) {
      throw new BadRequestError(`Schedule ${input.name}: endDate must be after startDate`, 'invalid_schedule');
    }
    const window = input.flexibleTimeWindowMinutes;
    if (window !== undefined && (!Number.isInteger(window) || window < 1 || window > 1440)) {
      throw new BadRequestError(`Schedule ${input.name}: flexibleTimeWindowMinutes must be a whole number from 1 to 1440`, 'invalid_schedule');
    }
    const state = input.state ?? 'ENABLED';
    if (state !== 'ENABLED' && state !== 'DISABLED') throw new BadRequestError(`Schedule ${input.name}: state must be ENABLED or DISABLED`, 'invalid_schedule');
    const actionAfterCompletion = input.actionAfterCompletion ?? 'NONE';
    if (actionAfterCompletion !== 'NONE' && actionAfterCompletion !== 'DELETE') {
      throw new BadRequestError(`Schedule ${input.name}: actionAfterCompletion must be NONE or DELETE`, 'invalid_schedule');
    }
    const schedule: Omit<LocalSchedule, 'createdAt'> = {
      name: input.name,
      groupName,
      expression: input.expression,
      timezone,
      target: { ...input.target },
      state,
      actionAfterCompletion,
      nextFireAt: null,
      ...(input.startDate ? { startDate: new Date(input.startDate) } : {}),
      ...(input.endDate ? { endDate: new Date(input.endDate) } : {}),
      ...(window !== undefined ? { flexibleTimeWindowMinutes: window } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
    };
    return { schedule, parsed };
  }

  /** The next fire time strictly after `after` (at or after it when `inclusive`), honouring start/end dates; null when done. */
  private computeNext(entry: Entry, after: Date, inclusive: boolean): Date | null {
    const { schedule, parsed } = entry;
    if (parsed.kind === 'at') return entry.oneTimeDone ? null : atInstant(parsed, schedule.timezone); // may be in the past: fires at once
    const from = inclusive ? new Date(after.getTime() - 1) : after;
    const start = parsed.kind === 'rate' ? (schedule.startDate ?? entry.definedAt) : schedule.startDate;
    const next = nextFireTime(parsed, schedule.timezone, from, start);
    if (next && schedule.endDate && next.getTime() >= schedule.endDate.getTime()) return null;
    return next;
  }

  /** Works out nextFireAt after a (re)definition and arms the timer. */
  private schedule(entry: Entry, now: Date): void {
    this.disarm(entry);
    // Inclusive only for rate: without StartDate its first fire is "now" (AWS starts at once).
    entry.schedule.nextFireAt = entry.schedule.state === 'ENABLED' ? this.computeNext(entry, now, entry.parsed.kind === 'rate') : null;
    if (entry.schedule.nextFireAt === null && entry.schedule.state === 'ENABLED' && entry.schedule.actionAfterCompletion === 'DELETE') {
      this.remove(entry); // nothing left to fire (e.g. EndDate already passed)
      return;
    }
    this.arm(entry);
  }

  private arm(entry: Entry): void {
    this.disarm(entry);
    const target = entry.schedule.nextFireAt;
    if (this.stopped || target === null || entry.schedule.state !== 'ENABLED') return;
    const token = entry.token;
    const delay = Math.min(Math.max(0, target.getTime() - this.now().getTime()), MAX_TIMER_DELAY_MS);
    const timer = setTimeout(() => {
      if (entry.token !== token || this.entries.get(keyOf(entry.schedule.name, entry.schedule.groupName)) !== entry) return;
      entry.timer = undefined;
      // Not due yet: a step of a long wait, or a timer that woke a little early.
      if (this.now().getTime() < target.getTime()) this.arm(entry);
      else this.fire(entry, target);
    }, delay);
    timer.unref();
    entry.timer = timer;
  }

  private disarm(entry: Entry): void {
    entry.token = ++this.tokens;
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = undefined;
  }

  private remove(entry: Entry): void {
    this.disarm(entry);
    const key = keyOf(entry.schedule.name, entry.schedule.groupName);
    if (this.entries.get(key) === entry) this.entries.delete(key);
  }

  private fire(entry: Entry, scheduledFor: Date): void {
    const firedAt = this.now();
    entry.schedule.lastFiredAt = firedAt;
    if (entry.parsed.kind === 'at') entry.oneTimeDone = true;
    // From the later of the due time and now: occurrences missed while suspended are not replayed.
    const from = firedAt.getTime() > scheduledFor.getTime() ? firedAt : scheduledFor;
    let next: Date | null = null;
    try {
      next = this.computeNext(entry, from, false);
    } catch (error) {
      this.report(error, entry.schedule);
    }
    entry.schedule.nextFireAt = next;
    const snapshot = clone(entry.schedule);
    if (next === null && entry.schedule.actionAfterCompletion === 'DELETE') this.remove(entry);
    else this.arm(entry);
    void this.invokeSafely(snapshot, firedAt);
  }

  private async invokeSafely(schedule: LocalSchedule, firedAt: Date): Promise<void> {
    try {
      await this.invoke(schedule, firedAt);
    } catch (error) {
      this.report(error, schedule);
    }
  }

  private report(error: unknown, schedule: LocalSchedule): void {
    try {
      this.onError(error, schedule);
    } catch (handlerError) {
      // A failing error handler must not take the timer loop down with it.
      console.error('[scheduler] onError threw:', handlerError);
    }
  }
}

function keyOf(name: string, groupName: string): string {
  return `${groupName}\u0000${name}`;
}

/** Callers get copies, so they cannot change a stored schedule behind the scheduler's back. */
function clone(schedule: LocalSchedule): LocalSchedule {
  return {
    ...schedule,
    target: { ...schedule.target },
    createdAt: new Date(schedule.createdAt),
    nextFireAt: schedule.nextFireAt ? new Date(schedule.nextFireAt) : null,
    ...(schedule.lastFiredAt ? { lastFiredAt: new Date(schedule.lastFiredAt) } : {}),
    ...(schedule.startDate ? { startDate: new Date(schedule.startDate) } : {}),
    ...(schedule.endDate ? { endDate: new Date(schedule.endDate) } : {}),
  };
}
