/**
 * API aggregation, as kube-apiserver's aggregator does it (issue #15):
 *
 * - Local APIServices: one per group-version the API server serves itself (built in, CRDs,
 *   loopkube's `metrics.k8s.io`), created at start and kept in step with the CRDs
 *   (`_local.ts`), Available `Local`.
 * - Service-backed APIServices: an availability check (Service, Endpoints, then a discovery
 *   probe `GET /apis/<group>/<version>` with the front-proxy certificate) sets the Available
 *   condition with kube's reasons (`_availability.ts`), when an APIService, its Service or its
 *   Endpoints change, every 30 s, and after a proxied request failed to reach the backend.
 * - Requests for `/apis/<group>/<version>[/...]` of a service-backed APIService are proxied to its
 *   Service (`_proxy.ts`), or answered 503 `service unavailable` while it is not Available.
 *   Discovery (`/apis`, `/apis/<group>`, aggregated discovery) lists an aggregated group-version
 *   once it is Available, with the resources its probe returned.
 * - A user's service-backed APIService for a group-version loopkube serves itself replaces the
 *   local one, as on kube-apiserver: installing the real metrics-server's `v1beta1.metrics.k8s.io`
 *   sends `metrics.k8s.io` requests to metrics-server; deleting it brings the local one back.
 * - The `extension-apiserver-authentication` ConfigMap in `kube-system` tells aggregated servers
 *   which CA signs client certificates and which front-proxy headers and CA to trust.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { request } from "node:https";
import type { Duplex } from "node:stream";
import { isStatusError } from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";
import type { Store, StoreWatch } from "../../store/types.ts";
import type { UserInfo } from "../authn.ts";
import { type Registry, rfc3339 } from "../registry/index.ts";
import { findResource, type ResourceInfo, storeKey, storePrefix } from "../resources.ts";
import { goError, resolveService } from "../webhooks/index.ts";
import {
  type Condition,
  type ProbeOutcome,
  precheck,
  probeCondition,
  type ServiceReference,
  withCondition,
} from "./_availability.ts";
import { type GroupVersion, type LocalKind, localApiService, planLocal } from "./_local.ts";
import { type Backend, BackendDialer, proxyRequest, proxyUpgrade } from "./_proxy.ts";
import { resourcesOf } from "./_resources.ts";

export { AUTOMANAGED_LABEL } from "./_local.ts";

const APISERVICES = findResource("apiregistration.k8s.io", "apiservices")!;
const SERVICES = findResource("", "services")!;
const ENDPOINTS = findResource("", "endpoints")!;
const REF = { group: "apiregistration.k8s.io", version: "v1", resource: "apiservices" };
const CONFIGMAPS = { group: "", version: "v1", resource: "configmaps" };
const DEFAULT_CHECK_MS = 30_000;
const PROBE_TIMEOUT_MS = 5_000;

export interface FrontProxy {
  /** The CA that signs the front-proxy client certificate (`requestheader-client-ca-file`). */
  caCert: string;
  clientCert: string;
  clientKey: string;
}

export interface AggregatorOptions {
  store: Store;
  registry: Registry;
  now: () => Date;
  /** The cluster CA (the `client-ca-file` aggregated servers trust for client certificates). */
  clientCa: string;
  frontProxy?: FrontProxy;
  /** The group-versions served locally, re-read on {@link Aggregator.refreshLocal}. */
  local: () => Array<GroupVersion & { kind: LocalKind }>;
  /** How often every service-backed APIService is checked again (default 30 s). */
  checkIntervalMs?: number;
}

interface ApiServiceSpec {
  group?: string;
  version?: string;
  service?: { namespace?: string; name?: string; port?: number };
  caBundle?: string;
  insecureSkipTLSVerify?: boolean;
}

const specOf = (o: KubeObject) => (o.spec ?? {}) as ApiServiceSpec;

function serviceRef(o: KubeObject): ServiceReference | undefined {
  const s = specOf(o).service;
  if (!s) return undefined;
  return { namespace: s.namespace ?? "", name: s.name ?? "", port: s.port ?? 443 };
}

/** Available True; for a service-backed one, not the `Local` mark left from before it had a service. */
function isAvailable(o: KubeObject): boolean {
  const conditions = (o.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
  const backed = serviceRef(o) !== undefined;
  return conditions.some(
    (c) => c.type === "Available" && c.status === "True" && !(backed && c.reason === "Local"),
  );
}

/** `/apis/<group>/<version>` and everything under it: the group-version a path belongs to. */
function groupVersionOf(pathname: string): GroupVersion | undefined {
  const m = /^\/apis\/([^/]+)\/([^/]+)(\/|$)/.exec(pathname);
  return m ? { group: m[1] ?? "", version: m[2] ?? "" } : undefined;
}

export class Aggregator {
  private readonly options: AggregatorOptions;
  private readonly dialer: BackendDialer;
  private readonly apiServices = new Map<string, KubeObject>();
  /** Resources each available APIService's last probe listed. */
  private readonly discovered = new Map<string, ResourceInfo[]>();
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();
  private watches: StoreWatch[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(options: AggregatorOptions) {
    this.options = options;
    this.dialer = new BackendDialer(
      options.frontProxy
        ? { cert: options.frontProxy.clientCert, key: options.frontProxy.clientKey }
        : undefined,
    );
  }

  start(): void {
    this.publishAuthentication();
    this.refreshLocal();
    this.follow(storePrefix(APISERVICES, ""), (type, obj) => this.apiServiceChanged(type, obj));
    for (const info of [SERVICES, ENDPOINTS]) {
      this.follow(storePrefix(info, ""), (_type, obj) => this.backendChanged(obj));
    }
    this.timer = setInterval(
      () => this.checkAll(),
      this.options.checkIntervalMs ?? DEFAULT_CHECK_MS,
    );
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const w of this.watches) w.stop();
    this.watches = [];
    this.dialer.close();
  }

  /** Creates, restores or removes the local APIServices to match what is served now. */
  refreshLocal(): void {
    if (this.stopped) return;
    const wanted = this.options.local().map((gv) => localApiService(gv, gv.kind));
    const stored = this.options.store.list(storePrefix(APISERVICES, "")).items;
    const { registry } = this.options;
    for (const action of planLocal(wanted, stored)) {
      try {
        if (action.op === "create") registry.createSync(REF, "", action.obj);
        else if (action.op === "update") registry.updateSync(REF, "", action.obj);
        else registry.deleteSync(REF, "", action.name);
      } catch (e) {
        // A concurrent writer got there first; the next refresh settles it.
        if (!isStatusError(e, "AlreadyExists") && !isStatusError(e, "Conflict")) {
          if (!isStatusError(e, "NotFound")) throw e;
        }
      }
    }
  }

  /** The service-backed APIService a request path belongs to, if any. */
  private owner(url: string): KubeObject | undefined {
    // Most requests are not aggregated: no URL parse for them.
    if (!url.startsWith("/apis/")) return undefined;
    const gv = groupVersionOf(new URL(url, "http://localhost").pathname);
    if (!gv) return undefined;
    const obj = this.apiServices.get(`${gv.version}.${gv.group}`);
    return obj && serviceRef(obj) ? obj : undefined;
  }

  /** Whether a service-backed APIService owns this group-version (its local serving steps aside). */
  delegated(group: string, version: string): boolean {
    const obj = this.apiServices.get(`${version}.${group}`);
    return obj !== undefined && serviceRef(obj) !== undefined;
  }

  /** The resources of every available aggregated group-version, for discovery. */
  resources(): ResourceInfo[] {
    const out: ResourceInfo[] = [];
    for (const [name, obj] of this.apiServices) {
      if (!serviceRef(obj) || !isAvailable(obj)) continue;
      out.push(...(this.discovered.get(name) ?? []));
    }
    return out;
  }

  /** Proxies a request that belongs to an aggregated group-version; false when it does not. */
  serve(req: IncomingMessage, res: ServerResponse, user: UserInfo): boolean {
    const obj = this.owner(req.url ?? "/");
    if (!obj) return false;
    const backend = this.backend(obj);
    if (!backend) {
      req.resume();
      unavailableText(res, "service unavailable");
      return true;
    }
    proxyRequest(this.dialer, backend, user, req, res, (err) => {
      this.schedule(obj.metadata.name ?? "");
      unavailableText(
        res,
        `Error trying to reach service: ${goError(err, backend.address.host, backend.address.port)}`,
      );
    });
    return true;
  }

  /** Splices an upgrade request of an aggregated group-version; false when it is not one. */
  serveUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, user: UserInfo): boolean {
    const obj = this.owner(req.url ?? "/");
    if (!obj) return false;
    const backend = this.backend(obj);
    const refuse = (text: string) =>
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
      );
    if (!backend) {
      refuse("service unavailable\n");
      return true;
    }
    proxyUpgrade(this.dialer, backend, user, req, socket, head, (err) => {
      this.schedule(obj.metadata.name ?? "");
      refuse(
        `Error trying to reach service: ${goError(err, backend.address.host, backend.address.port)}\n`,
      );
    });
    return true;
  }

  /** Where an available APIService's requests go; undefined while it is not available. */
  private backend(obj: KubeObject): Backend | undefined {
    if (!isAvailable(obj)) return undefined;
    return this.resolve(obj);
  }

  private resolve(obj: KubeObject): Backend | undefined {
    const ref = serviceRef(obj);
    if (!ref) return undefined;
    const spec = specOf(obj);
    let address: { host: string; port: number };
    try {
      address = resolveService(this.options.store, ref);
    } catch {
      return undefined;
    }
    return {
      address,
      serverName: `${ref.name}.${ref.namespace}.svc`,
      ...(spec.caBundle ? { ca: Buffer.from(spec.caBundle, "base64").toString("utf8") } : {}),
      insecure: spec.insecureSkipTLSVerify === true,
    };
  }

  private follow(prefix: string, onChange: (type: string, obj: KubeObject) => void): void {
    if (this.stopped) return;
    const listed = this.options.store.list(prefix);
    for (const obj of listed.items) onChange("ADDED", obj);
    const watch = this.options.store.watch(prefix, {
      fromRevision: listed.revision,
      onEvent: (e) => onChange(e.type, e.object),
      onClose: () => {
        this.watches = this.watches.filter((w) => w !== watch);
        this.follow(prefix, onChange);
      },
    });
    this.watches.push(watch);
  }

  private apiServiceChanged(type: string, obj: KubeObject): void {
    const name = obj.metadata.name ?? "";
    const before = this.apiServices.get(name);
    if (type === "DELETED") {
      this.apiServices.delete(name);
      this.discovered.delete(name);
      // A user's APIService gone: the local one it replaced comes back.
      if (before && serviceRef(before)) queueMicrotask(() => this.refreshLocal());
      return;
    }
    this.apiServices.set(name, obj);
    if (!serviceRef(obj)) {
      this.discovered.delete(name);
      // Marked available on create; one restored from an older state gets it here.
      if (!isAvailable(obj)) this.setCondition(obj, localCondition());
      return;
    }
    if (!before || JSON.stringify(before.spec) !== JSON.stringify(obj.spec) || !hasCondition(obj))
      this.schedule(name);
  }

  private backendChanged(obj: KubeObject): void {
    const namespace = obj.metadata.namespace ?? "";
    const name = obj.metadata.name ?? "";
    for (const [key, apiService] of this.apiServices) {
      const ref = serviceRef(apiService);
      if (ref && ref.namespace === namespace && ref.name === name) this.schedule(key);
    }
  }

  private checkAll(): void {
    for (const [name, obj] of this.apiServices) if (serviceRef(obj)) this.schedule(name);
  }

  /** Runs one check of an APIService; one at a time per name, re-run once if asked meanwhile. */
  private schedule(name: string): void {
    if (this.stopped) return;
    if (this.running.has(name)) {
      this.again.add(name);
      return;
    }
    this.running.add(name);
    void this.check(name)
      .catch(() => undefined)
      .finally(() => {
        this.running.delete(name);
        if (this.again.delete(name)) this.schedule(name);
      });
  }

  private async check(name: string): Promise<void> {
    const obj = this.apiServices.get(name);
    const ref = obj && serviceRef(obj);
    if (!obj || !ref) return;
    const { store } = this.options;
    let condition = precheck(ref, {
      service: () => store.get(storeKey(SERVICES, ref.namespace, ref.name)),
      endpoints: () => store.get(storeKey(ENDPOINTS, ref.namespace, ref.name)),
    });
    if (!condition) {
      const backend = this.resolve(obj);
      const spec = specOf(obj);
      const path = `/apis/${spec.group ?? ""}/${spec.version ?? ""}`;
      if (!backend) {
        condition = probeCondition(`https://${ref.name}.${ref.namespace}.svc:${ref.port}${path}`, {
          error: `no endpoints available for service "${ref.name}"`,
        });
      } else {
        const url = `https://${backend.address.host}:${backend.address.port}${path}`;
        const answer = await this.probe(backend, path);
        condition = probeCondition(url, answer.outcome);
        if ("ok" in answer.outcome) {
          this.discovered.set(name, resourcesOf(spec.group ?? "", spec.version ?? "", answer.body));
        }
      }
    }
    if (condition.status !== "True") this.discovered.delete(name);
    const current = this.apiServices.get(name);
    if (current) this.setCondition(current, condition);
  }

  /** `GET /apis/<group>/<version>` on the backend, as the aggregator's discovery check. */
  private probe(backend: Backend, path: string): Promise<{ outcome: ProbeOutcome; body: unknown }> {
    return new Promise((resolve) => {
      let settled = false;
      const done = (outcome: ProbeOutcome, body?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ outcome, body });
      };
      const req = request(
        {
          host: backend.address.host,
          port: backend.address.port,
          path,
          method: "GET",
          agent: this.dialer.agent(backend),
          ...this.dialer.tls(backend),
          headers: {
            host: backend.serverName,
            accept: "application/json",
            "x-remote-user": "system:kube-aggregator",
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (e) =>
            done({ error: goError(e, backend.address.host, backend.address.port) }),
          );
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            if (status < 200 || status > 299) return done({ status });
            let body: unknown;
            try {
              body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            } catch {
              body = undefined;
            }
            done({ ok: true }, body);
          });
        },
      );
      const timer = setTimeout(() => {
        done({
          error: "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
        });
        req.destroy();
      }, PROBE_TIMEOUT_MS);
      req.on("error", (e: NodeJS.ErrnoException) =>
        done({ error: goError(e, backend.address.host, backend.address.port) }),
      );
      req.end();
    });
  }

  private setCondition(obj: KubeObject, condition: Condition): void {
    if (this.stopped) return;
    const conditions = (obj.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
    const next = withCondition(conditions, condition, rfc3339(this.options.now()));
    if (!next) return;
    try {
      this.options.registry.updateSync({ ...REF, subresource: "status" }, "", {
        ...obj,
        status: { ...(obj.status as object | undefined), conditions: next },
      });
    } catch (e) {
      // Changed meanwhile: its watch event schedules the next check.
      if (!isStatusError(e, "Conflict") && !isStatusError(e, "NotFound")) throw e;
    }
  }

  /** kube-apiserver's `extension-apiserver-authentication` ConfigMap in kube-system. */
  private publishAuthentication(): void {
    const fp = this.options.frontProxy;
    const data: Record<string, string> = { "client-ca-file": this.options.clientCa };
    if (fp) {
      Object.assign(data, {
        "requestheader-allowed-names": '["front-proxy-client"]',
        "requestheader-client-ca-file": fp.caCert,
        "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]',
        "requestheader-group-headers": '["X-Remote-Group"]',
        "requestheader-username-headers": '["X-Remote-User"]',
      });
    }
    const name = "extension-apiserver-authentication";
    const { registry } = this.options;
    const obj: KubeObject = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: "kube-system" },
      data,
    };
    try {
      const have = registry.getSync(CONFIGMAPS, "kube-system", name);
      if (JSON.stringify(have.data) !== JSON.stringify(data)) {
        registry.updateSync(CONFIGMAPS, "kube-system", { ...have, data });
      }
    } catch (e) {
      if (!isStatusError(e, "NotFound")) throw e;
      registry.createSync(CONFIGMAPS, "kube-system", obj);
    }
  }
}

function localCondition(): Condition {
  return {
    type: "Available",
    status: "True",
    reason: "Local",
    message: "Local APIServices are always available",
  };
}

function hasCondition(obj: KubeObject): boolean {
  const conditions = (obj.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
  return conditions.some((c) => c.type === "Available");
}

/** Go's `http.Error`: a plain-text 503, which kubectl shows as kube's ServiceUnavailable. */
function unavailableText(res: ServerResponse, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(503, {
    "content-type": "text/plain; charset=utf-8",
    "x-content-type-options": "nosniff",
  });
  res.end(`${text}\n`);
}
