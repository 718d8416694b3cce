/**
 * Rate limiters for the work queue, with client-go's default controller policy: the longer of a
 * per-key exponential back-off (5 ms doubling up to 1000 s, reset by `forget`) and an overall
 * token bucket (10 per second, burst 100) that only slows a storm of retries across all keys.
 *
 * `when(key)` both answers the delay and records the failure, exactly as client-go's `When` does;
 * `numRequeues` counts failures since the last `forget`.
 *
 * @module
 */
import type { Clock } from "./clock.ts";

export interface RateLimiter<K> {
  /** The delay before `key` may be retried; counts one more failure of `key`. */
  when(key: K): number;
  forget(key: K): void;
  numRequeues(key: K): number;
}

/** Per-key exponential back-off: `baseMs * 2^failures`, capped at `maxMs`. */
export function exponentialRateLimiter<K>(baseMs = 5, maxMs = 1_000_000): RateLimiter<K> {
  const failures = new Map<K, number>();
  return {
    when(key) {
      const n = failures.get(key) ?? 0;
      failures.set(key, n + 1);
      // 2^n overflows to Infinity long after it passes any sane cap; Math.min handles both.
      return Math.min(baseMs * 2 ** n, maxMs);
    },
    forget(key) {
      failures.delete(key);
    },
    numRequeues(key) {
      return failures.get(key) ?? 0;
    },
  };
}

/**
 * Overall token bucket (golang.org/x/time/rate semantics): `qps` tokens per second, at most
 * `burst` saved; each `when` takes a token, and a negative balance is the wait.
 */
export function bucketRateLimiter<K>(clock: Clock, qps = 10, burst = 100): RateLimiter<K> {
  let tokens = burst;
  let last = clock.now();
  return {
    when() {
      const now = clock.now();
      tokens = Math.min(burst, tokens + ((now - last) / 1000) * qps);
      last = now;
      tokens -= 1;
      return tokens >= 0 ? 0 : (-tokens / qps) * 1000;
    },
    forget() {},
    numRequeues() {
      return 0;
    },
  };
}

/** The longest delay of several limiters; requeues are the most any of them counted. */
export function maxOfRateLimiter<K>(...limiters: RateLimiter<K>[]): RateLimiter<K> {
  return {
    when(key) {
      let delay = 0;
      for (const l of limiters) delay = Math.max(delay, l.when(key));
      return delay;
    },
    forget(key) {
      for (const l of limiters) l.forget(key);
    },
    numRequeues(key) {
      let n = 0;
      for (const l of limiters) n = Math.max(n, l.numRequeues(key));
      return n;
    },
  };
}

/** client-go's `DefaultControllerRateLimiter`. */
export function defaultControllerRateLimiter<K>(clock: Clock): RateLimiter<K> {
  return maxOfRateLimiter<K>(exponentialRateLimiter<K>(5, 1_000_000), bucketRateLimiter<K>(clock));
}
