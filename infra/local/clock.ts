/**
 * The local runtime's controllable clock: journeys wait days, and a newcomer trying one (or a test)
 * cannot. `advance` moves "now" forward for everything in this process: the handlers (which run
 * in-process) and the dispatcher's sweep of due waits and sends; the local identity provider
 * still judges token expiry by real time, so the developer stays signed in. It replaces the
 * global Date with a subclass whose `now()` and no-argument constructor add the offset; every other
 * use of Date (parsing, arithmetic, `instanceof`) behaves as before. Timers (queue visibility,
 * schedules' next run) keep real time: only what code reads as "now" moves.
 *
 * Only the local runtime installs it, and only when asked (POST /_local/clock, or
 * `runtime.clock.advance`). Lambda never does: there, now is now.
 */
const RealDate = globalThis.Date;
let offsetMs = 0;
let installed = false;

class ShiftedDate extends RealDate {
  constructor(...args: unknown[]) {
    if (args.length === 0) super(RealDate.now() + offsetMs);
    else super(...(args as [string | number | Date]));
  }
  static override now(): number {
    return RealDate.now() + offsetMs;
  }
  static override [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof RealDate;
  }
}

export const localClock = {
  /** How far ahead of real time the runtime's clock is (ms). */
  get offsetMs(): number {
    return offsetMs;
  },
  /** Moves the clock forward (never back: a send or wait already due stays due). */
  advance(ms: number): Date {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`the clock only moves forward: got ${ms} ms`);
    if (!installed) {
      globalThis.Date = ShiftedDate as DateConstructor;
      installed = true;
    }
    offsetMs += ms;
    return new Date();
  },
  /** Real time, whatever the offset (the local identity provider judges token expiry by it). */
  realNow(): Date {
    return new RealDate(RealDate.now());
  },
  /** Real time again (a runtime stopping). */
  reset(): void {
    offsetMs = 0;
    if (installed) {
      globalThis.Date = RealDate;
      installed = false;
    }
  },
};

/** "2d", "36h", "90m", "45s" or a number of seconds → ms; undefined when it is none of these. */
export function parseAdvance(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*(d|h|m|s)$/.exec(value.trim());
  if (!match) return undefined;
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[match[2] as 'd' | 'h' | 'm' | 's'];
  return Math.round(Number(match[1]) * unit);
}
