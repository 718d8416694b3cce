/**
 * The API server: the registry over a store, served over HTTPS to kubectl and any Kubernetes
 * client, and in-process to loopkube's own components. `startApiServer` wires strategies,
 * admission (Service address allocation), patches, OpenAPI and protobuf decoding, creates the
 * system namespaces, and listens.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Server } from "node:https";
import { arch, platform } from "node:os";
import type { Duplex } from "node:stream";
import { DEFAULT_PLAN } from "../api/addressplan.ts";
import type { StatusError } from "../api/errors.ts";
import { convertObject, strategyFor } from "../api/kinds/index.ts";
import type { GroupVersionKind, KubeObject } from "../api/types.ts";
import { VERSION } from "../api/version.ts";
import type { CelSchema } from "../cel/index.ts";
import type { Store } from "../store/types.ts";
import { defaultIngressClassAdmission } from "./admission/ingressclass.ts";
import { limitRangerAdmission } from "./admission/limitranger.ts";
import { resourceQuotaAdmission } from "./admission/resourcequota.ts";
import { schedulingAdmission } from "./admission/scheduling.ts";
import { serviceAccountAdmission } from "./admission/serviceaccount.ts";
import { ServiceAllocator } from "./admission/services.ts";
import { defaultStorageClassAdmission } from "./admission/storageclass.ts";
import {
  admissionStrategy,
  ValidatingPolicies,
  webhookConditions,
  withPolicies,
} from "./admissionpolicy/index.ts";
import { Aggregator, type FrontProxy } from "./aggregator/index.ts";
import { createAuthenticator, requestUser, staticTokens, type UserInfo } from "./authn.ts";
import { ensureSystemNamespaces, ensureSystemPriorityClasses } from "./bootstrap.ts";
import { CRD_GROUP, CustomResources, crdStrategy, withCustomResources } from "./crd/index.ts";
import { DEFAULT_EVENT_TTL_MS, startEventTtl } from "./eventttl.ts";
import { BodyPool } from "./http/bodypool.ts";
import { createHandler, type SubresourceHandler } from "./http/handler.ts";
import type { HealthCheck } from "./http/health.ts";
import type { InFlightLimits } from "./http/inflight.ts";
import { instrumentRequests, instrumentUpgrades, RequestMetrics } from "./http/instrument.ts";
import { sendError } from "./http/respond.ts";
import { createUpgradeHandler, type UpgradeHandler } from "./http/upgrade.ts";
import { METRICS_GROUP, METRICS_VERSION, type MetricsProvider } from "./metrics.ts";
import { createOpenApi, inlineSchemaOf } from "./openapi/index.ts";
import { patchers } from "./patchers.ts";
import { decodeKubeProtobuf } from "./protobuf/index.ts";
import {
  type Attributes,
  createRbac,
  ensureBootstrapPolicy,
  type Rbac,
  requestingUser,
  serveReview,
  startAggregation,
} from "./rbac/index.ts";
import {
  type Admission,
  evictPod,
  genericStrategy,
  Registry,
  type WatchTuning,
} from "./registry/index.ts";
import {
  findResource,
  RESOURCES,
  type ResourceInfo,
  servedGroups,
  storePrefix,
} from "./resources.ts";
import { listen, type TlsMaterial } from "./server.ts";
import {
  createIssuer,
  type IssuerOptions,
  issuerDiscovery,
  legacyServiceAccountTokens,
  type ServiceAccountIssuer,
  serviceAccountTokens,
  tokenCreator,
} from "./serviceaccount/index.ts";
import { renderApiMetrics } from "./telemetry.ts";
import { Webhooks } from "./webhooks/index.ts";

export { ServiceAllocator } from "./admission/services.ts";
export { requestUser, type UserInfo } from "./authn.ts";
export type { SubresourceHandler } from "./http/handler.ts";
export type { HealthCheck } from "./http/health.ts";
export type { UpgradeHandler } from "./http/upgrade.ts";
export {
  type CallUser,
  callAttributes,
  createInProcessClient,
  type InProcessIdentity,
} from "./inprocess.ts";
export type { MetricsProvider, MetricsSnapshot } from "./metrics.ts";
export {
  type Attributes,
  INGRESS_CONTROLLER_ACCOUNT,
  INGRESS_CONTROLLER_ROLE,
  MASTERS_GROUP,
  NODE_LEASE_NAMESPACE,
  NODES_GROUP,
  nodeOf,
} from "./rbac/index.ts";
export { Registry } from "./registry/index.ts";
export { findResource, RESOURCES, type ResourceInfo } from "./resources.ts";
export { legacyTokenSigner } from "./serviceaccount/index.ts";

/** The Kubernetes version loopkube speaks (what `kubectl version` shows as the server's). */
export const KUBERNETES_VERSION = { major: "1", minor: "32", patch: "0" };

export interface ApiServerOptions {
  store: Store;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  tls: TlsMaterial;
  /** Bearer tokens that authenticate (e.g. the admin token). */
  tokens?: string[];
  /** The address plan's service range and NodePort range (defaults: its lone-cluster values). */
  serviceCidr?: string;
  nodePortRange?: { min: number; max: number };
  now?: () => Date;
  random?: () => number;
  /** Named checks behind `/readyz` (after the API server's own `ping` and `etcd`, the store's
   *  writability); all must pass. */
  readiness?: () => HealthCheck[];
  watchTuning?: WatchTuning;
  /** Serves `metrics.k8s.io/v1beta1` from these figures (see also `ApiServer.serveMetrics`). */
  metrics?: MetricsProvider;
  /** Max HTTP requests in flight, read-only and mutating (kube's defaults: 400 and 200). */
  maxInFlight?: InFlightLimits;
  /** Events are deleted this long after their last write (kube-apiserver's `--event-ttl`,
   *  default 1 h); 0 keeps them forever. */
  eventTtlMs?: number;
  /**
   * Service-account tokens: the signing key (PEM; a fresh one per start when absent), the issuer
   * (default `https://kubernetes.default.svc.cluster.local`) and the API audiences.
   */
  serviceAccounts?: IssuerOptions;
  /**
   * kube's ServiceAccount admission on pods (default account, existence check, token volume).
   * Off unless asked: it needs the controller that keeps a `default` account in each namespace,
   * which an API server alone (as in envtest, which turns the plugin off too) does not run.
   */
  serviceAccountAdmission?: boolean;
  /** Worker threads that parse and check request bodies over 64 KiB off the event loop
   *  (default: one less than the cores, 1 to 2); 0 parses every body on the event loop. */
  bodyWorkers?: number;
  /**
   * kube-apiserver's `--authorization-mode`: `RBAC` (the default; anonymous requests allowed to
   * what the bootstrap policy gives `system:unauthenticated`) or `AlwaysAllow` (every
   * authenticated client may do everything; no anonymous access beyond health and version).
   */
  authorization?: "RBAC" | "AlwaysAllow";
  /**
   * The front-proxy CA and client certificate (kube-apiserver's `--requestheader-client-ca-file`
   * and `--proxy-client-cert-file`): the API server authenticates with it to aggregated API
   * servers, which learn the CA from the `extension-apiserver-authentication` ConfigMap.
   */
  frontProxy?: FrontProxy;
  /** How often service-backed APIServices are checked again (default 30 s, as kube). */
  apiServiceCheckMs?: number;
}

export interface ApiServer {
  registry: Registry;
  services: ServiceAllocator;
  url: string;
  host: string;
  port: number;
  /** Registers a streaming subresource handler such as `pods/log`. */
  handleSubresource(key: string, handler: SubresourceHandler): void;
  /** Serves (or, with undefined, stops serving) `metrics.k8s.io` from a provider. */
  serveMetrics(provider: MetricsProvider | undefined): void;
  /** Registers the handler of upgraded (WebSocket/SPDY) requests such as `pods/exec`. */
  handleUpgrade(key: string, handler: UpgradeHandler): void;
  addToken(token: string): void;
  /**
   * Authorizes an in-process call as HTTP requests are (Node, RBAC): kube's 403, or undefined
   * when allowed (always, with `authorization: "AlwaysAllow"`). See `createInProcessClient`.
   */
  authorizeCall(user: UserInfo, attributes: Attributes): StatusError | undefined;
  /** The service-account token issuer (its key, issuer URL, audiences). */
  serviceAccountIssuer: ServiceAccountIssuer;
  /** Cuts every open connection (watches included); clients reconnect. For tests and shutdown. */
  dropConnections(): void;
  close(): Promise<void>;
}

export const API_DEFAULTS = {
  host: "127.0.0.1",
  port: 6443,
  serviceCidr: DEFAULT_PLAN.serviceCidr,
  nodePortRange: DEFAULT_PLAN.nodePortRange,
};

export function versionInfo(): object {
  const v = KUBERNETES_VERSION;
  return {
    major: v.major,
    minor: v.minor,
    gitVersion: `v${v.major}.${v.minor}.${v.patch}+loopkube-${VERSION}`,
    gitCommit: "loopkube",
    gitTreeState: "clean",
    buildDate: "2026-01-01T00:00:00Z",
    goVersion: `node${process.versions.node}`,
    compiler: "loopkube",
    platform: `${platform()}/${arch() === "x64" ? "amd64" : arch()}`,
  };
}

/** Builds the registry over a store (without HTTP), with Service allocation restored from it. */
export function createRegistry(
  store: Store,
  options: Pick<
    ApiServerOptions,
    | "serviceCidr"
    | "nodePortRange"
    | "now"
    | "random"
    | "watchTuning"
    | "serviceAccounts"
    | "serviceAccountAdmission"
  > = {},
): {
  registry: Registry;
  services: ServiceAllocator;
  openapi: ReturnType<typeof createOpenApi>;
  issuer: ServiceAccountIssuer;
  custom: CustomResources;
  webhooks: Webhooks;
  policies: ValidatingPolicies;
  rbac: Rbac;
} {
  const services = new ServiceAllocator({
    serviceCidr: options.serviceCidr ?? API_DEFAULTS.serviceCidr,
    nodePortRange: options.nodePortRange ?? API_DEFAULTS.nodePortRange,
    ...(options.random ? { random: options.random } : {}),
  });
  const svcInfo = findResource("", "services")!;
  for (const svc of store.list(storePrefix(svcInfo, "")).items) services.restore(svc);
  const openapi = createOpenApi(
    RESOURCES.map((r) => ({ ...r, subresources: r.subresources.map((s) => s.name) })),
  );
  const admission: Admission[] = [
    services.admission(),
    defaultStorageClassAdmission(store),
    defaultIngressClassAdmission(store),
  ];
  if (options.serviceAccountAdmission) {
    admission.push(
      serviceAccountAdmission(store, options.random ? { random: options.random } : {}),
    );
  }
  const issuer = createIssuer({
    ...(options.now ? { now: options.now } : {}),
    ...options.serviceAccounts,
  });
  // Pods' scheduling fields (issue #15): Priority, DefaultTolerationSeconds, RuntimeClass.
  admission.push(...schedulingAdmission(store));
  // kube's order: LimitRanger defaults, then ResourceQuota charges last (RuntimeClass overhead too).
  admission.push(
    limitRangerAdmission(store),
    resourceQuotaAdmission(store, options.now ?? (() => new Date())),
  );
  // RBAC (issue #16): escalation checks on role and binding writes made over HTTP.
  const rbac = createRbac(store);
  admission.push(...rbac.admission);
  // CustomResourceDefinitions (issue #16): the served set follows the CRDs in the store.
  const custom = new CustomResources(options.now ? { now: options.now } : {});
  const convert = (obj: KubeObject, to: GroupVersionKind) =>
    custom.convert(obj, to) ?? convertObject(obj, to);
  // Admission webhooks (issue #16), called on the asynchronous write paths.
  const versionsOf = (info: ResourceInfo) =>
    [...RESOURCES, ...custom.resources()].filter(
      (r) => r.group === info.group && r.resource === info.resource,
    );
  const webhooks = new Webhooks(store, {
    versionsOf,
    convert,
    matchConditions: webhookConditions(rbac.authorizer),
  });
  // ValidatingAdmissionPolicies (issue #16), between the mutating and validating webhooks.
  const policies = new ValidatingPolicies(store, {
    versionsOf,
    convert,
    resources: () => [...RESOURCES, ...custom.resources()],
    authorizer: rbac.authorizer,
    schemaOf: (gvk) => inlineSchemaOf(gvk) as CelSchema | undefined,
  });
  custom.setConversionCaller((clientConfig, timeoutSeconds, review) =>
    webhooks.post(clientConfig, timeoutSeconds, review),
  );
  const registry = new Registry(
    {
      store,
      now: options.now ?? (() => new Date()),
      random: options.random ?? Math.random,
      uid: randomUUID,
      strategy: (info) =>
        (info.custom ? custom.strategy(info) : undefined) ??
        admissionStrategy(info, strategyFor(info.group, info.resource)) ??
        strategyFor(info.group, info.resource) ??
        (info.group === CRD_GROUP ? crdStrategy : undefined) ??
        genericStrategy(info),
      custom,
      admission,
      patchers,
      decoder: (gvk) => openapi.decoder(gvk) ?? custom.decoder(gvk),
      creators: new Map([
        ["serviceaccounts/token", tokenCreator(issuer)],
        ["pods/eviction", evictPod],
      ]),
      convert,
      webhooks: withPolicies(webhooks, policies),
    },
    options.watchTuning,
  );
  ensureSystemNamespaces(registry);
  ensureSystemPriorityClasses(registry);
  ensureBootstrapPolicy(registry);
  custom.start(store, registry);
  webhooks.start();
  policies.start();
  policies.setStatusWriter((policy) =>
    registry.update(
      {
        group: "admissionregistration.k8s.io",
        version: "v1",
        resource: "validatingadmissionpolicies",
        subresource: "status",
      },
      "",
      policy,
    ),
  );
  return { registry, services, openapi, issuer, custom, webhooks, policies, rbac };
}

/**
 * kube-apiserver's `etcd` check (the name monitors and kube users know; k3s keeps it over
 * SQLite too), over loopkube's store: failing while the store cannot write (full disk, I/O
 * error), with the store's reason, and passing again once a write succeeds.
 */
function storageCheck(store: Store): HealthCheck {
  const health = store.health();
  return health.writable
    ? { name: "etcd", ok: true }
    : { name: "etcd", ok: false, reason: health.reason ?? "the store cannot write" };
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { registry, services, openapi, issuer, custom, webhooks, policies, rbac } = createRegistry(
    options.store,
    options,
  );
  const useRbac = (options.authorization ?? "RBAC") === "RBAC";
  const stopAggregation = startAggregation(options.store, registry);
  let metrics = options.metrics;
  // API aggregation (issue #15): local APIServices, availability, the proxy.
  const aggregator = new Aggregator({
    store: options.store,
    registry,
    now: options.now ?? (() => new Date()),
    clientCa: options.tls.ca,
    ...(options.frontProxy ? { frontProxy: options.frontProxy } : {}),
    ...(options.apiServiceCheckMs ? { checkIntervalMs: options.apiServiceCheckMs } : {}),
    local: () =>
      [
        ...servedGroups().map((g) => ({
          group: g.group,
          version: g.version,
          kind: "onstart" as const,
        })),
        ...(metrics
          ? [{ group: METRICS_GROUP, version: METRICS_VERSION, kind: "onstart" as const }]
          : []),
        ...custom
          .resources()
          .map((r) => ({ group: r.group, version: r.version, kind: "true" as const })),
      ].filter(
        (gv, i, all) =>
          all.findIndex((o) => o.group === gv.group && o.version === gv.version) === i,
      ),
  });
  aggregator.start();
  const stopFollowingCrds = custom.onChange(() => aggregator.refreshLocal());
  const eventTtl = startEventTtl(registry, {
    ttlMs: options.eventTtlMs ?? DEFAULT_EVENT_TTL_MS,
    now: () => (options.now ?? (() => new Date()))().getTime(),
  });
  const tokens = new Set(options.tokens ?? []);
  const subresources = new Map<string, SubresourceHandler>();
  const upgrades = new Map<string, UpgradeHandler>();
  const host = options.host ?? API_DEFAULTS.host;
  let port = options.port ?? API_DEFAULTS.port;
  const bodies =
    options.bodyWorkers === 0
      ? undefined
      : new BodyPool(options.bodyWorkers ? { workers: options.bodyWorkers } : {});
  const handler = createHandler({
    registry,
    version: versionInfo(),
    serverAddress: () => `${host}:${port}`,
    now: () => Date.now(),
    readiness: () => [storageCheck(options.store), ...(options.readiness?.() ?? [])],
    openapi: withCustomResources(openapi, custom),
    protobuf: decodeKubeProtobuf,
    subresources,
    metrics: () => metrics,
    custom: () => custom.resources(),
    aggregation: aggregator,
    ...(bodies ? { bodies } : {}),
  });
  const serverUrl = () => `https://${host}:${port}`;
  // Service account issuer discovery sits beside the API paths, as kube-apiserver's mux has it.
  const tokenAuthenticators = [
    staticTokens(() => tokens),
    serviceAccountTokens(issuer, options.store),
    legacyServiceAccountTokens(issuer, options.store),
  ];
  const reviewToken = (token: string) => {
    for (const authenticate of tokenAuthenticators) {
      const answer = authenticate(token);
      if (answer) return answer;
    }
    return undefined;
  };
  const serveAs = async (req: IncomingMessage, res: ServerResponse, user: UserInfo | undefined) => {
    const answer = issuerDiscovery(issuer, (req.url ?? "/").split("?")[0] ?? "/", serverUrl);
    if (answer) {
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
      return;
    }
    if (user && aggregator.serve(req, res, user)) return;
    if (user) {
      try {
        const reviewOptions = { user, authorizer: rbac.authorizer, tokens: reviewToken };
        if (await serveReview(req, res, reviewOptions)) return;
      } catch (e) {
        sendError(res, e);
        return;
      }
    }
    return handler(req, res);
  };
  // The request's user travels with it (AsyncLocalStorage) to the escalation checks of RBAC writes.
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const user = requestUser(req);
    return user && useRbac
      ? requestingUser.run(user, () => serveAs(req, res, user))
      : serveAs(req, res, user);
  };
  const authenticate = createAuthenticator(tokenAuthenticators, { anonymous: useRbac });
  // Every request after authentication passes here: counted, timed, and `/metrics` served.
  const requestMetrics = new RequestMetrics();
  let server: Server;
  try {
    server = await listen(
      {
        host,
        port,
        tls: options.tls,
        authenticate,
        ...(useRbac ? { authorize: rbac.authorizeRequest } : {}),
        ...(options.maxInFlight ? { maxInFlight: options.maxInFlight } : {}),
      },
      instrumentRequests(serve, requestMetrics, () =>
        renderApiMetrics(requestMetrics, options.store),
      ),
      instrumentUpgrades(
        aggregatedUpgrades(aggregator, createUpgradeHandler({ registry, upgrades })),
        requestMetrics,
      ),
    );
  } catch (err) {
    // A port in use: nothing of this server may outlive the failed start.
    eventTtl.stop();
    custom.stop();
    webhooks.stop();
    policies.stop();
    rbac.stop();
    stopAggregation();
    stopFollowingCrds();
    aggregator.stop();
    throw err;
  }
  // Every raw socket, including those still in the TLS handshake (closeAllConnections only sees
  // sockets that reached HTTP), so that close() never waits on a half-open connection.
  const sockets = new Set<import("node:net").Socket>();
  server.on("connection", (socket: import("node:net").Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const dropAll = () => {
    server.closeAllConnections();
    for (const s of sockets) s.destroy();
  };
  const address = server.address();
  if (address && typeof address === "object") port = address.port;
  return {
    registry,
    services,
    url: `https://${host}:${port}`,
    host,
    port,
    handleSubresource: (key, h) => subresources.set(key, h),
    serveMetrics: (p) => {
      metrics = p;
      aggregator.refreshLocal();
    },
    handleUpgrade: (key, h) => upgrades.set(key, h),
    addToken: (t) => tokens.add(t),
    authorizeCall: useRbac ? rbac.authorizeCall : () => undefined,
    serviceAccountIssuer: issuer,
    dropConnections: dropAll,
    close: async () => {
      eventTtl.stop();
      custom.stop();
      webhooks.stop();
      policies.stop();
      rbac.stop();
      stopAggregation();
      stopFollowingCrds();
      aggregator.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      dropAll();
      await Promise.all([closed, bodies?.close()]);
    },
  };
}

/** Upgrade requests of aggregated group-versions go to their servers, the rest to ours. */
function aggregatedUpgrades(
  aggregator: Aggregator,
  local: (req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void>,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void> {
  return async (req, socket, head) => {
    const user = requestUser(req);
    if (user && aggregator.serveUpgrade(req, socket, head, user)) return;
    await local(req, socket, head);
  };
}
