/**
 * loopkube's ingress controller: serves the Ingresses of its IngressClasses on one loopback
 * address (HTTP and HTTPS), routing each request to an endpoint of the backend Service.
 *
 * Contract:
 * - It is fed plain objects (Ingresses, IngressClasses, Services, EndpointSlices, Secrets); it
 *   never reads the API. An Ingress is served when its class (`spec.ingressClassName`, else the
 *   legacy `kubernetes.io/ingress.class` annotation) names an IngressClass whose
 *   `spec.controller` is this controller's name; an Ingress of another class, or of none, is
 *   left to others.
 * - Routing follows `routes.ts`, certificates `certs.ts`, forwarding `forward.ts`. Endpoints are
 *   chosen as the service proxy chooses them (`choose.ts`: ready ones, else serving and
 *   terminating ones; round robin), straight to the pods, as ingress controllers do.
 * - Answers of its own, worded as Traefik (k3s's ingress controller) words them: 404 `404 page
 *   not found` when no rule and no default backend matches; 503 `no available server` when the
 *   backend's Service, port or endpoints are missing (or the backend is a resource, which
 *   loopkube does not serve).
 * - Listeners open at construction on `ip` (in 127.0.0.0/8, else it throws), HTTP on the first
 *   free of `httpPorts`, HTTPS of `httpsPorts`. Once open, every served Ingress gets
 *   `status.loadBalancer.ingress: [{ip}]` through `onStatus`, with `ports` when they are not 80
 *   (and 443 for Ingresses with TLS); an Ingress that stops being served has the address it got
 *   from here removed again. A status write that fails is retried every `retryIntervalMs`.
 * - Events, as ingress controllers emit them: Normal `Sync` ("Scheduled for sync") when a served
 *   Ingress appears or its spec changes; Warnings for what cannot be served as written (TLS
 *   Secrets, resource backends), once per distinct set of problems.
 *
 * @module
 */
import {
  Agent,
  createServer,
  type Agent as HttpAgent,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import type { Secret, Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import type {
  Ingress,
  IngressClass,
  IngressLoadBalancerIngress,
} from "kubernetes-types/networking/v1.js";
import { Balancer, categorize } from "../choose.ts";
import { isLoopbackV4 } from "../lb-ips.ts";
import { keyOf, ProxyState } from "../state.ts";
import type { EndpointDialer } from "../tcp.ts";
import { Certificates, type PemPair } from "./certs.ts";
import { forwardRequest, forwardUpgrade, sendError } from "./forward.ts";
import { listenFirst } from "./listen.ts";
import { type Backend, ingressKey, normalizeHost, normalizePath, RouteTable } from "./routes.ts";

/** The legacy annotation naming an Ingress's class (before `spec.ingressClassName`). */
const CLASS_ANNOTATION = "kubernetes.io/ingress.class";

export type IngressEventType = "Normal" | "Warning";

export interface IngressControllerOptions {
  /** The `spec.controller` value of the IngressClasses this controller serves. */
  controllerName: string;
  /** The loopback address both listeners bind. */
  ip: string;
  /** Ports to try for HTTP, in order; 0 means any free port. Default 80, 8080, 0. */
  httpPorts?: readonly number[];
  /** Ports to try for HTTPS, in order. Default 443, 8443, 0. */
  httpsPorts?: readonly number[];
  /** Served to clients whose SNI name no Ingress names (ingress-nginx's "fake certificate"). */
  defaultCertificate?: PemPair | undefined;
  onEvent?: (ingress: Ingress, type: IngressEventType, reason: string, message: string) => void;
  /** Writes `status.loadBalancer.ingress` (`[]`: remove it). A rejection is retried later. */
  onStatus?: (ingress: Ingress, points: IngressLoadBalancerIngress[]) => Promise<unknown>;
  /** Diagnostics about single requests. Quiet by default. */
  log?: (message: string) => void;
  connectTimeoutMs?: number;
  retryIntervalMs?: number;
  /**
   * How backends the host cannot reach directly (rootless pod networks) are dialled, for plain
   * and Upgrade requests.
   */
  dial?: EndpointDialer | undefined;
}

export interface IngressListener {
  scheme: "http" | "https";
  state: "opening" | "open" | "failed";
  port?: number;
  error?: string;
}

type ObjectRef = { metadata?: { namespace?: string; name?: string } | undefined };

const NOT_FOUND = "404 page not found\n";
const UNAVAILABLE = "no available server\n";

export class IngressController {
  readonly #options: IngressControllerOptions;
  readonly #ingresses = new Map<string, Ingress>();
  readonly #classes = new Map<string, IngressClass>();
  readonly #state: ProxyState;
  readonly #balancers = new Map<string, Balancer>();
  readonly #portsByService = new Map<string, Set<string>>();
  readonly #certs: Certificates;
  #routes = RouteTable.build([]);
  #served = new Set<string>();
  /** Generation last announced with a Sync event, per served Ingress. */
  readonly #synced = new Map<string, number>();
  readonly #reported = new Map<string, string>();
  /** Status last asked for per Ingress, so a write in flight is not asked again. */
  readonly #requested = new Map<string, string>();
  readonly #retry = new Set<string>();
  readonly #retryTimer: NodeJS.Timeout;
  readonly #agent: HttpAgent;
  readonly #http: Server;
  readonly #https: HttpsServer;
  readonly #listeners: { http: IngressListener; https: IngressListener };
  readonly #opening: Promise<void>;
  readonly #tunnels = new Set<() => void>();
  #fallbackPem: PemPair | undefined;
  #closed = false;

  constructor(options: IngressControllerOptions) {
    // Network safety: every address loopkube listens on lies in 127.0.0.0/8, never routed off
    // the machine.
    if (!isLoopbackV4(options.ip)) {
      throw new Error(`the ingress address ${options.ip} is not in 127.0.0.0/8`);
    }
    this.#options = options;
    this.#state = new ProxyState({ nodeName: "", nodeIP: options.ip });
    this.#certs = new Certificates(options.defaultCertificate);
    this.#agent = dialingAgent(options.dial);
    this.#retryTimer = setInterval(() => this.#retryStatus(), options.retryIntervalMs ?? 5000);
    this.#retryTimer.unref();
    this.#listeners = {
      http: { scheme: "http", state: "opening" },
      https: { scheme: "https", state: "opening" },
    };
    this.#http = createServer((req, res) => this.#serve(req, res, "http"));
    this.#fallbackPem = this.#certs.fallbackPem();
    this.#https = createHttpsServer(
      {
        ...(this.#fallbackPem ?? {}),
        SNICallback: (name, done) => done(null, this.#certs.contextFor(name)),
      },
      (req, res) => this.#serve(req, res, "https"),
    );
    for (const [server, scheme] of [
      [this.#http, "http"],
      [this.#https, "https"],
    ] as const) {
      server.keepAliveTimeout = 75_000;
      server.on("upgrade", (req, socket: Duplex, head: Buffer) =>
        this.#upgrade(req, socket, head, scheme),
      );
    }
    this.#opening = Promise.all([
      this.#open(this.#http, this.#listeners.http, options.httpPorts ?? [80, 8080, 0]),
      this.#open(this.#https, this.#listeners.https, options.httpsPorts ?? [443, 8443, 0]),
    ]).then(() => this.#publishAll());
  }

  upsertIngress(ingress: Ingress): void {
    this.#ingresses.set(ingressKey(ingress), ingress);
    this.#rebuild();
  }

  deleteIngress(ref: ObjectRef): void {
    const key = keyOf(ref);
    this.#ingresses.delete(key);
    this.#synced.delete(key);
    this.#reported.delete(key);
    this.#requested.delete(key);
    this.#retry.delete(key);
    this.#rebuild();
  }

  upsertIngressClass(cls: IngressClass): void {
    this.#classes.set(cls.metadata?.name ?? "", cls);
    this.#rebuild();
  }

  deleteIngressClass(ref: ObjectRef): void {
    this.#classes.delete(ref.metadata?.name ?? "");
    this.#rebuild();
  }

  upsertService(svc: Service): void {
    this.#syncService(this.#state.upsertService(svc));
  }

  deleteService(ref: ObjectRef): void {
    this.#syncService(this.#state.deleteService(ref));
  }

  upsertEndpointSlice(slice: EndpointSlice): void {
    for (const key of this.#state.upsertEndpointSlice(slice)) this.#syncService(key);
  }

  deleteEndpointSlice(ref: ObjectRef): void {
    for (const key of this.#state.deleteEndpointSlice(ref)) this.#syncService(key);
  }

  upsertSecret(secret: Secret): void {
    if (this.#certs.upsertSecret(secret)) this.#rebuild();
  }

  deleteSecret(ref: ObjectRef): void {
    if (this.#certs.deleteSecret(ref)) this.#rebuild();
  }

  /** `namespace/name` of every Ingress served here, sorted. */
  served(): string[] {
    return [...this.#served].sort();
  }

  listeners(): IngressListener[] {
    return [{ ...this.#listeners.http }, { ...this.#listeners.https }];
  }

  /** Resolves once both listeners have opened or failed. */
  async settled(): Promise<void> {
    await this.#opening;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#retryTimer);
    await this.#opening;
    for (const close of this.#tunnels) close();
    this.#tunnels.clear();
    const closing = [this.#http, this.#https].map(
      (s) =>
        new Promise<void>((resolve) => {
          if (!s.listening) return resolve();
          s.close(() => resolve());
          s.closeAllConnections();
        }),
    );
    this.#agent.destroy();
    await Promise.all(closing);
  }

  async #open(server: Server, listener: IngressListener, ports: readonly number[]): Promise<void> {
    try {
      listener.port = await listenFirst(server, this.#options.ip, ports);
      listener.state = "open";
      if (this.#closed) server.close();
    } catch (err) {
      listener.state = "failed";
      listener.error = `cannot listen on ${this.#options.ip} (${listener.scheme}): ${(err as Error).message}`;
    }
  }

  #isServed(ing: Ingress): boolean {
    const name = ing.spec?.ingressClassName ?? ing.metadata?.annotations?.[CLASS_ANNOTATION];
    if (!name) return false;
    return this.#classes.get(name)?.spec?.controller === this.#options.controllerName;
  }

  #rebuild(): void {
    if (this.#closed) return;
    const served = [...this.#ingresses.values()].filter((i) => this.#isServed(i));
    this.#served = new Set(served.map(ingressKey));
    this.#routes = RouteTable.build(served);
    const problems = new Map<string, { ingress: Ingress; lines: string[] }>();
    const note = (ingress: Ingress, reason: string, message: string) => {
      const key = ingressKey(ingress);
      let entry = problems.get(key);
      if (entry === undefined) {
        entry = { ingress, lines: [] };
        problems.set(key, entry);
      }
      entry.lines.push(`${reason}\n${message}`);
    };
    for (const p of this.#certs.build(served)) note(p.ingress, p.reason, p.message);
    const fallback = this.#certs.fallbackPem();
    if (fallback !== this.#fallbackPem && fallback !== undefined) {
      this.#fallbackPem = fallback;
      this.#https.setSecureContext({ ...fallback });
    }
    for (const ing of served) {
      const key = ingressKey(ing);
      const generation = ing.metadata?.generation ?? 0;
      if (this.#synced.get(key) !== generation) {
        this.#synced.set(key, generation);
        this.#options.onEvent?.(ing, "Normal", "Sync", "Scheduled for sync");
      }
      for (const ref of resourceBackends(ing)) {
        note(
          ing,
          "UnsupportedBackend",
          `resource backend ${ref} is not served by loopkube's ingress controller; its requests get 503`,
        );
      }
      this.#report(key, ing, problems.get(key)?.lines ?? []);
    }
    for (const key of [...this.#synced.keys()]) {
      if (!this.#served.has(key)) {
        this.#synced.delete(key);
        this.#reported.delete(key);
      }
    }
    this.#publishAll();
  }

  #report(key: string, ing: Ingress, lines: string[]): void {
    const digest = lines.join("\n\n");
    if ((this.#reported.get(key) ?? "") === digest) return;
    this.#reported.set(key, digest);
    for (const line of lines) {
      const [reason = "", message = ""] = line.split("\n");
      this.#options.onEvent?.(ing, "Warning", reason, message);
    }
  }

  #syncService(serviceKey: string): void {
    const view = this.#state.view(serviceKey);
    const keys = new Set<string>();
    for (const port of view?.ports ?? []) {
      if (port.protocol !== "TCP") continue;
      keys.add(port.key);
      let balancer = this.#balancers.get(port.key);
      if (balancer === undefined) {
        balancer = new Balancer();
        this.#balancers.set(port.key, balancer);
      }
      balancer.update(categorize(port.endpoints, { local: false }).usable);
    }
    for (const old of this.#portsByService.get(serviceKey) ?? [])
      if (!keys.has(old)) this.#balancers.delete(old);
    if (keys.size > 0) this.#portsByService.set(serviceKey, keys);
    else this.#portsByService.delete(serviceKey);
  }

  /** The balancer of a service backend's port, or undefined when the request cannot be served. */
  #balancerFor(backend: Backend): Balancer | undefined {
    if (backend.kind !== "service") return undefined;
    const view = this.#state.view(`${backend.namespace}/${backend.name}`);
    if (view === undefined || view.service.spec?.type === "ExternalName") return undefined;
    const port = (view.service.spec?.ports ?? []).find(
      (p) =>
        (p.protocol ?? "TCP") === "TCP" &&
        (typeof backend.port === "number" ? p.port === backend.port : p.name === backend.port),
    );
    if (port === undefined) return undefined;
    return this.#balancers.get(`${backend.namespace}/${backend.name}:${port.name ?? ""}`);
  }

  #route(host: string | undefined, url: string | undefined) {
    const match = this.#routes.match(normalizeHost(host ?? ""), normalizePath(url ?? "/"));
    if (match === undefined) return undefined;
    return { match, balancer: this.#balancerFor(match.backend) };
  }

  #serve(req: IncomingMessage, res: ServerResponse, scheme: "http" | "https"): void {
    const routed = this.#route(req.headers.host, req.url);
    if (routed === undefined) {
      sendError(res, 404, NOT_FOUND);
      return;
    }
    const balancer = routed.balancer;
    if (balancer === undefined) {
      sendError(res, 503, UNAVAILABLE);
      return;
    }
    const client = req.socket.remoteAddress ?? "";
    forwardRequest(req, res, {
      scheme,
      localPort: req.socket.localPort ?? 0,
      pick: (avoid) => balancer.next(client, { avoid }),
      agent: this.#agent,
      connectTimeoutMs: this.#options.connectTimeoutMs ?? 5000,
      log: this.#options.log,
    });
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, scheme: "http" | "https"): void {
    const routed = this.#route(req.headers.host, req.url);
    const balancer = routed?.balancer;
    if (balancer === undefined) {
      const [status, reason, body] =
        routed === undefined
          ? [404, "Not Found", NOT_FOUND]
          : [503, "Service Unavailable", UNAVAILABLE];
      socket.end(
        `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      return;
    }
    const client = req.socket.remoteAddress ?? "";
    const close = forwardUpgrade(req, socket, head, {
      scheme,
      localPort: req.socket.localPort ?? 0,
      pick: (avoid) => balancer.next(client, { avoid }),
      agent: this.#agent,
      connectTimeoutMs: this.#options.connectTimeoutMs ?? 5000,
      log: this.#options.log,
      dial: this.#options.dial,
    });
    this.#tunnels.add(close);
    socket.once("close", () => this.#tunnels.delete(close));
  }

  /** What `status.loadBalancer.ingress` should say for a served Ingress (undefined: not yet). */
  #points(ing: Ingress): IngressLoadBalancerIngress[] | undefined {
    const { http, https } = this.#listeners;
    if (http.state !== "open" || http.port === undefined) return undefined;
    const tls = (ing.spec?.tls ?? []).length > 0 && https.state === "open";
    const standard = http.port === 80 && (!tls || https.port === 443);
    if (standard) return [{ ip: this.#options.ip }];
    const ports = [{ port: http.port, protocol: "TCP" }];
    if (tls && https.port !== undefined) ports.push({ port: https.port, protocol: "TCP" });
    return [{ ip: this.#options.ip, ports }];
  }

  #publishAll(): void {
    if (this.#closed || this.#options.onStatus === undefined) return;
    for (const [key, ing] of this.#ingresses) this.#publish(key, ing);
  }

  #publish(key: string, ing: Ingress): void {
    const current = ing.status?.loadBalancer?.ingress ?? [];
    let want: IngressLoadBalancerIngress[] | undefined;
    if (this.#served.has(key)) want = this.#points(ing);
    else if (current.some((p) => p.ip === this.#options.ip))
      want = current.filter((p) => p.ip !== this.#options.ip);
    if (want === undefined) return;
    const digest = JSON.stringify(want);
    if (JSON.stringify(current.map(comparable)) === JSON.stringify(want.map(comparable))) {
      this.#requested.delete(key);
      return;
    }
    if (this.#requested.get(key) === digest) return;
    this.#requested.set(key, digest);
    this.#options.onStatus?.(ing, want).catch((err: unknown) => {
      this.#options.log?.(`ingress ${key}: status: ${(err as Error).message}`);
      if (this.#requested.get(key) === digest) this.#requested.delete(key);
      this.#retry.add(key);
    });
  }

  #retryStatus(): void {
    if (this.#retry.size === 0) return;
    const keys = [...this.#retry];
    this.#retry.clear();
    for (const key of keys) {
      const ing = this.#ingresses.get(key);
      if (ing !== undefined) this.#publish(key, ing);
    }
  }
}

/** A status point in a form that compares equal however its fields were ordered. */
function comparable(p: IngressLoadBalancerIngress): string {
  const ports = (p.ports ?? []).map(
    (x) => `${x.port}/${x.protocol}${x.error ? `:${x.error}` : ""}`,
  );
  return `${p.ip ?? ""}|${p.hostname ?? ""}|${ports.join(",")}`;
}

function resourceBackends(ing: Ingress): string[] {
  const out: string[] = [];
  const add = (r: { apiGroup?: string; kind: string; name: string } | undefined) => {
    if (r !== undefined) out.push(`${r.kind}${r.apiGroup ? `.${r.apiGroup}` : ""}/${r.name}`);
  };
  add(ing.spec?.defaultBackend?.resource);
  for (const rule of ing.spec?.rules ?? [])
    for (const p of rule.http?.paths ?? []) add(p.backend.resource);
  return [...new Set(out)];
}

/** The backends' keep-alive agent; its connections go through `dial` where it takes them. */
function dialingAgent(dial: EndpointDialer | undefined): HttpAgent {
  const agent = new Agent({ keepAlive: true, maxFreeSockets: 256, scheduling: "lifo" });
  if (!dial) return agent;
  const direct = agent.createConnection.bind(agent);
  // Node's Agent takes a socket from `createConnection` or, when it returns none, from its
  // callback later.
  agent.createConnection = ((opts: { host?: string; port?: number }, done: Done) => {
    const dialling = dial(opts.host ?? "", Number(opts.port));
    if (!dialling) return direct(opts, done);
    dialling.then(
      (s) => done(null, s),
      (e: Error) => done(e, undefined as unknown as Duplex),
    );
    return undefined;
  }) as typeof agent.createConnection;
  return agent;
}
type Done = (err: Error | null, socket: Duplex) => void;
