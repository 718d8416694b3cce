/**
 * The proxier: keeps listeners, balancers and live connections in line with {@link ProxyState}.
 *
 * Contract:
 * - Every change is applied synchronously to the balancers (new connections see it at once);
 *   listeners are opened and closed asynchronously, {@link Proxier.settled} waits for that.
 * - Reconciliation is per Service: a change to one Service or its slices touches only its own
 *   frontends. A frontend that cannot be bound (or is held by another Service) is reported
 *   (event + status, once per distinct error) and retried when its Service changes, when any
 *   listener closes, and every `retryIntervalMs`; it never stops the others. A LoadBalancer
 *   Service left without an ingress IP is retried the same way.
 * - A connection (or UDP flow) is closed when its endpoint leaves its service port's endpoint
 *   list (deleted), not when it becomes unready or terminating; a UDP flow also when its
 *   endpoint stops serving while another serves (kube-proxy's UDP conntrack cleanup). Removing
 *   a Service closes its listeners and, with its endpoints gone, its connections.
 * - Problems of a Service (unsupported protocol, …) are reported when they change, not on every
 *   endpoint update.
 * - A LoadBalancer Service with `externalTrafficPolicy: Local` and a `healthCheckNodePort` gets
 *   kube-proxy's health check on <nodeIP>:<that port>, its count kept current like the rest.
 *
 * @module
 */
import type net from "node:net";
import type { LoadBalancerIngress, Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import { Balancer, categorize } from "./choose.ts";
import { type HealthCheckServer, listenHealthCheck } from "./healthcheck.ts";
import { sourceAllowed } from "./source-ranges.ts";
import {
  type EndpointInfo,
  endpointKey,
  type Frontend,
  frontendKey,
  keyOf,
  ProxyState,
  type ServicePortState,
  type ServiceView,
} from "./state.ts";
import { type EndpointDialer, listenTcp, type TcpFrontend, tcpConnectionHandler } from "./tcp.ts";
import { TrafficCounter } from "./traffic.ts";
import { listenUdp, type UdpDialer, type UdpFrontend } from "./udp.ts";

export type EventType = "Normal" | "Warning";
export type EventSink = (svc: Service, type: EventType, reason: string, message: string) => void;

export interface ProxierOptions {
  nodeName: string;
  /** The node's address: NodePorts and health checks listen there. */
  nodeIP: string;
  loadBalancerCidr?: string | undefined;
  /** Addresses of the load balancer range no Service gets (the ingress controller's). */
  reservedLoadBalancerIPs?: readonly string[] | undefined;
  onEvent?: EventSink | undefined;
  /** Called when a LoadBalancer Service's ingress changes (empty when it loses its IP). */
  onLoadBalancerIngress?: ((svc: Service, ingress: LoadBalancerIngress[]) => void) | undefined;
  /** Diagnostics about single connections (failed dials, rejections). Quiet by default. */
  log?: ((message: string) => void) | undefined;
  now?: (() => number) | undefined;
  dialTimeoutsMs?: readonly number[] | undefined;
  udpIdleTimeoutMs?: number | undefined;
  preserveSourceIp?: boolean | undefined;
  /** How TCP endpoints the host cannot reach directly are dialled (see tcp.ts). */
  dial?: EndpointDialer | undefined;
  /** How UDP flows to endpoints the host cannot reach directly get their socket (udp.ts). */
  dialUdp?: UdpDialer | undefined;
  /** How often frontends that could not be opened are tried again (default 10 s). */
  retryIntervalMs?: number | undefined;
}

export interface ListenerStatus {
  frontend: Frontend;
  service: string;
  state: "opening" | "open" | "failed";
  error?: string;
  /** The bind error's code when it failed (`EADDRINUSE`, `EACCES`, …). */
  code?: string;
  /** UDP frontends: the flows (client address:port → endpoint) tracked now. */
  flows?: number;
}

interface ListenerRecord {
  frontend: Frontend;
  serviceKey: string;
  portKey: string;
  state: "opening" | "open" | "failed";
  error?: string;
  code?: string;
  handle?: TcpFrontend | UdpFrontend;
  /** TCP: handles a connection accepted elsewhere for this frontend (see `accept`). */
  accept?: (client: net.Socket) => void;
  opening?: Promise<void>;
  removed: boolean;
}

interface HealthRecord {
  port: number;
  state: "opening" | "open" | "failed";
  count: number;
  handle?: HealthCheckServer;
  opening?: Promise<void>;
  removed: boolean;
}

type ObjectRef = { metadata?: { namespace?: string; name?: string } | undefined };

/**
 * The balancer a frontend uses: ClusterIP frontends follow internalTrafficPolicy, the others
 * externalTrafficPolicy. Frontends whose policy resolves alike share one balancer, so ClientIP
 * affinity holds across a Service's cluster IP and node port as it does in kube-proxy (one
 * service chain for both).
 */
function balancerKey(port: ServicePortState, kind: Frontend["kind"]): string {
  const local = kind === "ClusterIP" ? port.internalLocal : port.externalLocal;
  return `${port.key}|${local ? "local" : "cluster"}`;
}

export class Proxier {
  readonly #state: ProxyState;
  readonly #options: ProxierOptions;
  readonly #listeners = new Map<string, ListenerRecord>();
  readonly #listenersByService = new Map<string, Set<string>>();
  readonly #health = new Map<string, HealthRecord>();
  readonly #balancers = new Map<string, Balancer>();
  readonly #ports = new Map<string, ServicePortState>();
  readonly #portsByService = new Map<string, Set<string>>();
  /** portKey → endpointKey → close functions of live connections. */
  readonly #conns = new Map<string, Map<string, Set<() => void>>>();
  readonly #reported = new Map<string, string>();
  readonly #ingress = new Map<string, string | undefined>();
  /** Services with a frontend not open (bind failure or conflict), to try again. */
  readonly #retry = new Set<string>();
  /** Last failure reported per frontend, so a retry that fails alike stays quiet. */
  readonly #lastFailure = new Map<string, string>();
  readonly #retryTimer: NodeJS.Timeout;
  #retryScheduled = false;
  readonly #closing = new Set<Promise<void>>();
  #closed = false;
  /** Connections sent to each endpoint over the last minute, per Service port. */
  readonly traffic: TrafficCounter;

  constructor(options: ProxierOptions) {
    this.#options = options;
    this.traffic = new TrafficCounter(options.now);
    this.#retryTimer = setInterval(() => this.#retryNow(), options.retryIntervalMs ?? 10_000);
    this.#retryTimer.unref();
    this.#state = new ProxyState({
      nodeName: options.nodeName,
      nodeIP: options.nodeIP,
      loadBalancerCidr: options.loadBalancerCidr,
      reservedLoadBalancerIPs: options.reservedLoadBalancerIPs,
    });
  }

  upsertService(svc: Service): void {
    this.#sync(this.#state.upsertService(svc), true);
  }

  deleteService(ref: ObjectRef): void {
    this.#sync(this.#state.deleteService(ref), false);
  }

  upsertEndpointSlice(slice: EndpointSlice): void {
    for (const key of this.#state.upsertEndpointSlice(slice)) this.#sync(key, false);
  }

  deleteEndpointSlice(ref: ObjectRef): void {
    for (const key of this.#state.deleteEndpointSlice(ref)) this.#sync(key, false);
  }

  /** The `status.loadBalancer.ingress` this node gives the Service (empty when none). */
  loadBalancerIngressFor(svc: ObjectRef | string): LoadBalancerIngress[] {
    const key = typeof svc === "string" ? svc : keyOf(svc);
    const ip = this.#state.view(key)?.loadBalancerIp;
    return ip === undefined ? [] : [{ ip, ipMode: "VIP" }];
  }

  /**
   * Proxies a TCP connection accepted elsewhere for ip:port as if this proxy's listener there had
   * accepted it (also where that listener could not be bound, e.g. a port below 1024 without
   * privileges): rootless pod networks hand over pods' ClusterIP connections. False when no
   * Service has that frontend.
   */
  accept(ip: string, port: number, client: net.Socket): boolean {
    const record = this.#listeners.get(frontendKey({ ip, port, protocol: "TCP" }));
    if (!record?.accept || record.removed) return false;
    record.accept(client);
    return true;
  }

  listeners(): ListenerStatus[] {
    return [...this.#listeners.values()].map((r) => ({
      frontend: r.frontend,
      service: r.serviceKey,
      state: r.state,
      ...(r.error === undefined ? {} : { error: r.error }),
      ...(r.code === undefined ? {} : { code: r.code }),
      ...(r.handle !== undefined && "flowCount" in r.handle ? { flows: r.handle.flowCount } : {}),
    }));
  }

  /** Resolves once every listener being opened or closed has finished. */
  async settled(): Promise<void> {
    for (;;) {
      const pending = [...this.#listeners.values(), ...this.#health.values()].flatMap((r) =>
        r.opening ? [r.opening] : [],
      );
      pending.push(...this.#closing);
      if (pending.length === 0) return;
      await Promise.all(pending);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#retryTimer);
    await this.settled();
    const closing = [...this.#listeners.values()].map((r) => this.#closeListener(r));
    for (const r of this.#health.values()) closing.push(this.#closeHealth(r));
    this.#health.clear();
    this.#listeners.clear();
    this.#listenersByService.clear();
    for (const byEndpoint of this.#conns.values()) {
      for (const set of byEndpoint.values()) for (const close of [...set]) close();
    }
    this.#conns.clear();
    await Promise.all(closing);
  }

  #sync(serviceKey: string, serviceChanged: boolean): void {
    if (this.#closed) return;
    const view = this.#state.view(serviceKey);
    const ports = view?.ports ?? [];

    // Balancers and ports first: connections accepted from now on see the new endpoints.
    const portKeys = new Set(ports.map((p) => p.key));
    for (const old of this.#portsByService.get(serviceKey) ?? []) {
      if (!portKeys.has(old)) this.#dropPort(old);
    }
    for (const port of ports) this.#syncPort(port);
    if (portKeys.size > 0) this.#portsByService.set(serviceKey, portKeys);
    else this.#portsByService.delete(serviceKey);

    this.#syncListeners(serviceKey, ports, serviceChanged);
    this.#syncHealthCheck(serviceKey, view, serviceChanged);
    if (view !== undefined) {
      if (view.problems.some((p) => p.reason === "LoadBalancerIPExhausted")) {
        this.#retry.add(serviceKey);
      }
      this.#report(serviceKey, view.service, view.problems);
      this.#publishIngress(serviceKey, view.service, view.loadBalancerIp);
    } else {
      this.#reported.delete(serviceKey);
      this.#ingress.delete(serviceKey);
      this.#retry.delete(serviceKey);
      for (const k of this.#lastFailure.keys()) {
        if (k.startsWith(`${serviceKey}|`)) this.#lastFailure.delete(k);
      }
    }
  }

  #syncPort(port: ServicePortState): void {
    this.#ports.set(port.key, port);
    for (const mode of ["cluster", "local"] as const) {
      const key = `${port.key}|${mode}`;
      let balancer = this.#balancers.get(key);
      if (balancer === undefined) {
        balancer = new Balancer(this.#options.now ? { now: this.#options.now } : {});
        this.#balancers.set(key, balancer);
      }
      const usable = categorize(port.endpoints, { local: mode === "local" }).usable;
      balancer.update(usable, port.affinityTimeoutSeconds);
    }
    // TCP connections end only with their endpoint. UDP flows also end when their endpoint stops
    // serving while another serves, as kube-proxy clears such UDP conntrack entries.
    const serving = port.endpoints.filter((e) => e.serving);
    const keep = port.protocol === "UDP" && serving.length > 0 ? serving : port.endpoints;
    const live = new Set(keep.map(endpointKey));
    const byEndpoint = this.#conns.get(port.key);
    for (const [ep, set] of byEndpoint ?? []) {
      if (!live.has(ep)) for (const close of [...set]) close();
    }
  }

  #dropPort(portKey: string): void {
    this.#ports.delete(portKey);
    this.#balancers.delete(`${portKey}|cluster`);
    this.#balancers.delete(`${portKey}|local`);
    for (const set of this.#conns.get(portKey)?.values() ?? [])
      for (const close of [...set]) close();
  }

  #syncListeners(serviceKey: string, ports: ServicePortState[], retry: boolean): void {
    const desired = new Map<string, { frontend: Frontend; portKey: string }>();
    for (const port of ports) {
      for (const f of port.frontends)
        desired.set(frontendKey(f), { frontend: f, portKey: port.key });
    }
    const mine = this.#listenersByService.get(serviceKey) ?? new Set<string>();
    for (const fk of [...mine]) {
      const record = this.#listeners.get(fk);
      const want = desired.get(fk);
      if (record === undefined) {
        mine.delete(fk);
      } else if (want === undefined || (record.state === "failed" && retry)) {
        mine.delete(fk);
        this.#listeners.delete(fk);
        record.removed = true;
        if (record.state !== "failed") this.#track(this.#closeListener(record));
      } else {
        // Same address, possibly another port name or kind: later connections follow it.
        record.portKey = want.portKey;
        record.frontend = want.frontend;
      }
    }
    for (const [fk, want] of desired) {
      if (mine.has(fk)) continue;
      const other = this.#listeners.get(fk);
      if (other !== undefined) {
        this.#retry.add(serviceKey);
        if (this.#lastFailure.get(`${serviceKey}|${fk}`) === `conflict ${other.serviceKey}`)
          continue;
        this.#lastFailure.set(`${serviceKey}|${fk}`, `conflict ${other.serviceKey}`);
        this.#emit(
          serviceKey,
          "Warning",
          "FrontendConflict",
          `${fk} is already served for ${other.serviceKey}`,
        );
        continue;
      }
      mine.add(fk);
      this.#open(fk, serviceKey, want.frontend, want.portKey);
    }
    if (mine.size > 0) this.#listenersByService.set(serviceKey, mine);
    else this.#listenersByService.delete(serviceKey);
  }

  #open(fk: string, serviceKey: string, frontend: Frontend, portKey: string): void {
    const record: ListenerRecord = {
      frontend,
      serviceKey,
      portKey,
      state: "opening",
      removed: false,
    };
    this.#listeners.set(fk, record);
    const hooks = {
      pick: (
        clientIp: string,
        choice: { resetAffinity: boolean; avoid?: ReadonlySet<string> },
      ): EndpointInfo | undefined => {
        const port = this.#ports.get(record.portKey);
        const b = port && this.#balancers.get(balancerKey(port, record.frontend.kind));
        const e = b?.next(clientIp, choice);
        if (e === undefined)
          this.#options.log?.(`${fk}: no usable endpoint for ${serviceKey}, rejected`);
        return e;
      },
      admit: (clientIp: string) =>
        record.frontend.kind !== "LoadBalancer" ||
        sourceAllowed(this.#ports.get(record.portKey)?.sourceRanges, clientIp, record.frontend.ip),
      track: (endpoint: EndpointInfo, close: () => void) =>
        this.#trackConn(record.portKey, endpoint, close),
      ...(this.#options.log ? { onWarning: this.#options.log } : {}),
    };
    const common = {
      ...hooks,
      ...(this.#options.preserveSourceIp === undefined
        ? {}
        : { preserveSourceIp: this.#options.preserveSourceIp }),
    };
    const bind = { ip: frontend.ip, port: frontend.port };
    if (frontend.protocol === "TCP") {
      record.accept = tcpConnectionHandler(bind, {
        ...common,
        ...(this.#options.dialTimeoutsMs ? { dialTimeoutsMs: this.#options.dialTimeoutsMs } : {}),
        ...(this.#options.dial ? { dial: this.#options.dial } : {}),
      });
    }
    const opening: Promise<TcpFrontend | UdpFrontend> =
      frontend.protocol === "TCP"
        ? listenTcp(bind, {
            ...common,
            ...(this.#options.dialTimeoutsMs
              ? { dialTimeoutsMs: this.#options.dialTimeoutsMs }
              : {}),
            ...(this.#options.dial ? { dial: this.#options.dial } : {}),
          })
        : listenUdp(bind, {
            ...common,
            ...(this.#options.udpIdleTimeoutMs
              ? { idleTimeoutMs: this.#options.udpIdleTimeoutMs }
              : {}),
            ...(this.#options.dialUdp ? { dial: this.#options.dialUdp } : {}),
          });
    record.opening = opening.then(
      (handle) => {
        delete record.opening;
        record.handle = handle;
        record.state = "open";
        this.#lastFailure.delete(`${serviceKey}|${fk}`);
        if (record.removed || this.#closed) this.#track(handle.close());
      },
      (err: unknown) => {
        delete record.opening;
        record.state = "failed";
        record.error = (err as Error).message;
        const code = (err as { code?: unknown }).code;
        if (typeof code === "string") record.code = code;
        if (record.removed) return;
        this.#retry.add(serviceKey);
        if (this.#lastFailure.get(`${serviceKey}|${fk}`) === record.error) return;
        this.#lastFailure.set(`${serviceKey}|${fk}`, record.error);
        this.#emit(serviceKey, "Warning", "ListenFailed", record.error);
      },
    );
  }

  #syncHealthCheck(serviceKey: string, view: ServiceView | undefined, retry: boolean): void {
    const want = view?.healthCheckNodePort;
    const had = this.#health.get(serviceKey);
    if (had !== undefined && (had.port !== want || (had.state === "failed" && retry))) {
      this.#health.delete(serviceKey);
      had.removed = true;
      if (had.state !== "failed") this.#track(this.#closeHealth(had));
    }
    if (view === undefined || want === undefined) return;
    let record = this.#health.get(serviceKey);
    if (record === undefined) {
      const rec: HealthRecord = { port: want, state: "opening", count: 0, removed: false };
      const ns = view.service.metadata?.namespace ?? "";
      const name = view.service.metadata?.name ?? "";
      rec.opening = listenHealthCheck(
        { ip: this.#options.nodeIP, port: want },
        { namespace: ns, name },
      ).then(
        (handle) => {
          delete rec.opening;
          rec.handle = handle;
          rec.state = "open";
          handle.setLocalEndpoints(rec.count);
          this.#lastFailure.delete(`${serviceKey}|health`);
          if (rec.removed || this.#closed) this.#track(handle.close());
        },
        (err: unknown) => {
          delete rec.opening;
          rec.state = "failed";
          if (rec.removed) return;
          this.#retry.add(serviceKey);
          const message = `node ${this.#options.nodeName} failed to start healthcheck "${serviceKey}" on port ${want}: ${(err as Error).message}`;
          if (this.#lastFailure.get(`${serviceKey}|health`) === message) return;
          this.#lastFailure.set(`${serviceKey}|health`, message);
          this.#emit(serviceKey, "Warning", "FailedToStartServiceHealthcheck", message);
        },
      );
      this.#health.set(serviceKey, rec);
      record = rec;
    }
    record.count = view.localReadyEndpoints;
    record.handle?.setLocalEndpoints(record.count);
  }

  async #closeHealth(record: HealthRecord): Promise<void> {
    record.removed = true;
    await record.opening;
    await record.handle?.close();
  }

  #trackConn(portKey: string, endpoint: EndpointInfo, close: () => void): () => void {
    const ek = endpointKey(endpoint);
    this.traffic.count(portKey, ek);
    let byEndpoint = this.#conns.get(portKey);
    if (byEndpoint === undefined) {
      byEndpoint = new Map();
      this.#conns.set(portKey, byEndpoint);
    }
    let set = byEndpoint.get(ek);
    if (set === undefined) {
      set = new Set();
      byEndpoint.set(ek, set);
    }
    set.add(close);
    return () => {
      set.delete(close);
      if (set.size === 0 && byEndpoint.get(ek) === set) byEndpoint.delete(ek);
      if (byEndpoint.size === 0 && this.#conns.get(portKey) === byEndpoint)
        this.#conns.delete(portKey);
    };
  }

  async #closeListener(record: ListenerRecord): Promise<void> {
    record.removed = true;
    // An open listener releases its address synchronously inside close(), before this call
    // returns, so a Service taking the same address in the same tick can bind it.
    const closing = record.handle?.close();
    await record.opening;
    await (closing ?? record.handle?.close());
    // The address is free now: a Service that wanted it may get it.
    if (this.#retry.size > 0 && !this.#retryScheduled && !this.#closed) {
      this.#retryScheduled = true;
      setImmediate(() => {
        this.#retryScheduled = false;
        this.#retryNow();
      });
    }
  }

  #retryNow(): void {
    if (this.#closed) return;
    const keys = [...this.#retry];
    this.#retry.clear();
    for (const key of keys) {
      this.#state.refresh(key);
      this.#sync(key, true);
    }
  }

  /** Keeps a listener's closing visible to {@link settled}; its failure is only logged. */
  #track(p: Promise<void>): void {
    const done = p
      .catch((err: unknown) => this.#options.log?.(`closing a listener: ${(err as Error).message}`))
      .finally(() => this.#closing.delete(done));
    this.#closing.add(done);
  }

  #report(serviceKey: string, svc: Service, problems: { reason: string; message: string }[]): void {
    const digest = JSON.stringify(problems);
    if (this.#reported.get(serviceKey) === digest) return;
    this.#reported.set(serviceKey, digest);
    for (const p of problems) this.#options.onEvent?.(svc, "Warning", p.reason, p.message);
  }

  #publishIngress(serviceKey: string, svc: Service, ip: string | undefined): void {
    if (this.#ingress.has(serviceKey) && this.#ingress.get(serviceKey) === ip) return;
    const had = this.#ingress.get(serviceKey);
    this.#ingress.set(serviceKey, ip);
    if (ip === undefined && had === undefined) return;
    if (ip !== undefined) {
      this.#options.onEvent?.(
        svc,
        "Normal",
        "EnsuredLoadBalancer",
        `Ensured load balancer at ${ip}`,
      );
    }
    this.#options.onLoadBalancerIngress?.(svc, ip === undefined ? [] : [{ ip, ipMode: "VIP" }]);
  }

  #emit(serviceKey: string, type: EventType, reason: string, message: string): void {
    const svc = this.#state.view(serviceKey)?.service;
    if (svc !== undefined) this.#options.onEvent?.(svc, type, reason, message);
  }
}
