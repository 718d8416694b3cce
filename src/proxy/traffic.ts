/**
 * Connections the proxy sent to each endpoint of each Service port over the last minute (the web
 * view's traffic chart).
 *
 * Contract: `count` is on the connection path: it bumps one per-second bucket of a fixed ring of
 * 60 (no allocation once a port/endpoint pair has been seen). `recent()` sums the buckets of the
 * last `WINDOW_S` seconds; pairs with nothing left in the window are dropped there, so memory is
 * bounded by the pairs that carried traffic in the last minute. The proxy forwards bytes, not
 * requests: a connection is what it counts (a UDP flow for UDP ports).
 *
 * @module
 */

export const WINDOW_S = 60;

export interface TrafficRow {
  /** `namespace/name:portName`, the proxy's port key. */
  port: string;
  /** `ip:port` of the endpoint. */
  endpoint: string;
  connections: number;
}

interface Counter {
  buckets: Uint32Array;
  /** The second (epoch seconds) of the newest bucket written. */
  last: number;
}

export class TrafficCounter {
  readonly #pairs = new Map<string, Map<string, Counter>>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  count(port: string, endpoint: string): void {
    const sec = Math.floor(this.#now() / 1000);
    let byEndpoint = this.#pairs.get(port);
    if (!byEndpoint) {
      byEndpoint = new Map();
      this.#pairs.set(port, byEndpoint);
    }
    let c = byEndpoint.get(endpoint);
    if (!c) {
      c = { buckets: new Uint32Array(WINDOW_S), last: sec };
      byEndpoint.set(endpoint, c);
    }
    advance(c, sec);
    c.buckets[sec % WINDOW_S]!++;
  }

  recent(): TrafficRow[] {
    const sec = Math.floor(this.#now() / 1000);
    const out: TrafficRow[] = [];
    for (const [port, byEndpoint] of this.#pairs) {
      for (const [endpoint, c] of byEndpoint) {
        advance(c, sec);
        let connections = 0;
        for (const n of c.buckets) connections += n;
        if (connections === 0) byEndpoint.delete(endpoint);
        else out.push({ port, endpoint, connections });
      }
      if (byEndpoint.size === 0) this.#pairs.delete(port);
    }
    return out;
  }
}

/** Zeroes the buckets of the seconds between the counter's last write and `sec`. */
function advance(c: Counter, sec: number): void {
  if (sec <= c.last) return;
  if (sec - c.last >= WINDOW_S) c.buckets.fill(0);
  else for (let s = c.last + 1; s <= sec; s++) c.buckets[s % WINDOW_S] = 0;
  c.last = sec;
}
