/**
 * A manual clock for tests: time moves only when the test calls `advance`, and timers fire in
 * due-time order (ties in scheduling order), each with `now()` equal to its due time.
 *
 * @module
 */
import type { Clock } from "../clock.ts";

interface Timer {
  due: number;
  seq: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  after(ms: number, fn: () => void): () => void {
    const timer: Timer = { due: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Number of timers not yet fired. */
  pending(): number {
    return this.timers.length;
  }

  /**
   * Moves time forward by `ms`, firing due timers in order; timers scheduled by a firing timer
   * fire too when they fall inside the window. Awaits a macrotask turn after each timer so that
   * promise chains woken by it settle before the next one fires.
   */
  async advance(ms: number): Promise<void> {
    const end = this.current + ms;
    for (;;) {
      const next = this.nextDue();
      if (!next || next.due > end) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = next.due;
      next.fn();
      await settle();
    }
    this.current = end;
    await settle();
  }

  private nextDue(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers) {
      if (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

/**
 * Lets every pending microtask and I/O-free promise chain run. Several macrotask turns, not one:
 * the runner starts each key after a `setImmediate` of its own, so a key added now runs one turn
 * later, and a key re-added by that run one turn after that.
 */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}
