/**
 * Endpoint choice, as kube-proxy makes it.
 *
 * {@link categorize} is kube-proxy's CategorizeEndpoints reduced to one node and no topology
 * hints: usable endpoints are the ready ones, or, when none is ready, the serving and terminating
 * ones; a `Local` traffic policy keeps only this node's endpoints (falling back the same way
 * among them). `hasAny` tells "no endpoints anywhere" (kube-proxy rejects) from "none usable
 * here" (kube-proxy drops).
 *
 * {@link Balancer} is the userspace proxier's round robin: the usable list is shuffled and the
 * index reset whenever its membership changes; ClientIP affinity maps a client address to the
 * endpoint it last got, honoured while younger than the timeout and refreshed on each use, and
 * forgotten when the endpoint leaves the list or the caller asks for a reset (after a failed
 * connect). A connection retrying after failed connects names the endpoints it already tried
 * (`avoid`): the rotation skips them while another is left, since retries of concurrent
 * connections interleave on the one index and could otherwise draw the failing endpoint on
 * every attempt. The clock and the shuffle are injected.
 *
 * @module
 */
import { type EndpointInfo, endpointKey } from "./state.ts";

export interface Categorized {
  usable: EndpointInfo[];
  hasAny: boolean;
}

function isUsableFallback(e: EndpointInfo): boolean {
  return e.serving && e.terminating;
}

export function categorize(
  endpoints: readonly EndpointInfo[],
  options: { local: boolean },
): Categorized {
  const ready = endpoints.filter((e) => e.ready);
  const fallback = ready.length > 0 ? [] : endpoints.filter(isUsableFallback);
  const cluster = ready.length > 0 ? ready : fallback;
  if (!options.local) return { usable: cluster, hasAny: cluster.length > 0 };
  const localReady = ready.filter((e) => e.isLocal);
  const usable =
    localReady.length > 0 ? localReady : endpoints.filter((e) => e.isLocal && isUsableFallback(e));
  return { usable, hasAny: cluster.length > 0 };
}

export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export interface BalancerOptions {
  /** Milliseconds since an arbitrary origin. */
  now?: () => number;
  shuffle?: <T>(items: readonly T[]) => T[];
}

interface Affinity {
  endpoint: string;
  lastUsed: number;
}

/** Sweep expired affinities once per this many picks, so the map stays bounded by live clients. */
const SWEEP_EVERY = 1024;

export class Balancer {
  readonly #now: () => number;
  readonly #shuffle: <T>(items: readonly T[]) => T[];
  #endpoints: EndpointInfo[] = [];
  #membership = "";
  #index = 0;
  #affinityMs: number | undefined;
  readonly #affinity = new Map<string, Affinity>();
  #picks = 0;

  constructor(options: BalancerOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#shuffle = options.shuffle ?? shuffled;
  }

  /** The current order (after shuffling), for tests and diagnostics. */
  get endpoints(): readonly EndpointInfo[] {
    return this.#endpoints;
  }

  /**
   * Installs the usable endpoints and the affinity timeout. Membership is compared by address:
   * a change of conditions alone keeps order, index and affinities.
   */
  update(usable: readonly EndpointInfo[], affinityTimeoutSeconds?: number): void {
    const affinityMs =
      affinityTimeoutSeconds === undefined ? undefined : affinityTimeoutSeconds * 1000;
    if (affinityMs !== this.#affinityMs) {
      this.#affinity.clear();
      this.#affinityMs = affinityMs;
    }
    const membership = usable.map(endpointKey).sort().join(",");
    if (membership === this.#membership) {
      // Same members; refresh the objects so conditions are current, keeping order.
      const byKey = new Map(usable.map((e) => [endpointKey(e), e]));
      this.#endpoints = this.#endpoints.map((e) => byKey.get(endpointKey(e)) ?? e);
      return;
    }
    this.#membership = membership;
    this.#endpoints = this.#shuffle(usable);
    this.#index = 0;
    const live = new Set(usable.map(endpointKey));
    for (const [client, a] of this.#affinity)
      if (!live.has(a.endpoint)) this.#affinity.delete(client);
  }

  /**
   * The endpoint for a new connection from `clientIp`, or undefined when there is none.
   * `avoid`: keys (`ip:port`) of endpoints this connection already failed to reach; skipped
   * while any other is usable.
   */
  next(
    clientIp: string,
    options: { resetAffinity?: boolean; avoid?: ReadonlySet<string> } = {},
  ): EndpointInfo | undefined {
    const n = this.#endpoints.length;
    if (n === 0) return undefined;
    const now = this.#now();
    if (++this.#picks % SWEEP_EVERY === 0) this.#sweep(now);
    const ttl = this.#affinityMs;
    const avoid = options.avoid;
    if (ttl !== undefined && !options.resetAffinity) {
      const a = this.#affinity.get(clientIp);
      if (a !== undefined && now - a.lastUsed < ttl && !avoid?.has(a.endpoint)) {
        const e = this.#endpoints.find((x) => endpointKey(x) === a.endpoint);
        if (e !== undefined) {
          a.lastUsed = now;
          return e;
        }
      }
    }
    let at = this.#index % n;
    if (avoid !== undefined && avoid.size > 0) {
      for (let i = 0; i < n; i++) {
        const k = (this.#index + i) % n;
        if (!avoid.has(endpointKey(this.#endpoints[k] as EndpointInfo))) {
          at = k;
          break;
        }
      }
    }
    const e = this.#endpoints[at] as EndpointInfo;
    this.#index = (at + 1) % n;
    if (ttl !== undefined)
      this.#affinity.set(clientIp, { endpoint: endpointKey(e), lastUsed: now });
    return e;
  }

  #sweep(now: number): void {
    const ttl = this.#affinityMs;
    if (ttl === undefined) return;
    for (const [client, a] of this.#affinity)
      if (now - a.lastUsed >= ttl) this.#affinity.delete(client);
  }
}
