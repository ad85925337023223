/**
 * Paces sends inside one sender invocation: `ratePerSecond` tokens accrue continuously up to
 * `burst`, and the bucket starts full. Waiters are served first come, first served. By default it
 * reads the global monotonic clock and timers (which a test's fake timers replace).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly burst: number;
  /** Pending take() calls, chained so a later small request cannot starve an earlier one. */
  private queue: Promise<void> = Promise.resolve();
  private waiting = 0;

  constructor(
    private readonly ratePerSecond: number,
    burst?: number,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {
    if (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0) throw new RangeError(`ratePerSecond must be a positive number, got ${ratePerSecond}`);
    // Default: one second's worth, but at least one token so slow rates (0.5/s) can send at all.
    this.burst = burst ?? Math.max(1, ratePerSecond);
    if (!Number.isFinite(this.burst) || this.burst < 1) throw new RangeError(`burst must be at least 1, got ${burst}`);
    this.tokens = this.burst;
    this.last = this.now();
  }

  /** Resolves once `n` tokens have been taken, waiting (via `sleep`) for them to accrue. */
  take(n = 1): Promise<void> {
    this.check(n);
    this.waiting++;
    const turn = this.queue.then(() => this.acquire(n)).finally(() => this.waiting--);
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Takes `n` tokens if they are there now (and nobody is waiting ahead); never waits. */
  tryTake(n = 1): boolean {
    this.check(n);
    if (this.waiting > 0) return false;
    this.refill();
    if (this.tokens + EPSILON < n) return false;
    this.tokens = Math.max(0, this.tokens - n);
    return true;
  }

  private check(n: number): void {
    if (!Number.isFinite(n) || n <= 0) throw new RangeError(`token count must be a positive number, got ${n}`);
    if (n > this.burst) throw new RangeError(`cannot take ${n} tokens from a bucket holding at most ${this.burst}`);
  }

  private async acquire(n: number): Promise<void> {
    for (;;) {
      this.refill();
      if (this.tokens + EPSILON >= n) {
        this.tokens = Math.max(0, this.tokens - n);
        return;
      }
      // Sleep until the shortfall has accrued; loop in case the clock moved less than asked.
      await this.sleep(Math.max(1, Math.ceil(((n - this.tokens) / this.ratePerSecond) * 1000)));
    }
  }

  private refill(): void {
    const now = this.now();
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000);
      this.last = now;
    }
  }
}

/** Absorbs floating-point shortfalls such as 0.1 × 10 = 0.9999999999999999. */
const EPSILON = 1e-9;
