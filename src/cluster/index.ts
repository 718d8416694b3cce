/**
 * The composition root: `startCluster` takes address ranges of its own (ranges.ts), derives the
 * address plan once and passes it down, then starts store → PKI → API server → kubeconfig →
 * shared informers → controllers → DNS → proxy → node agent, in that order; `stop()` stops the
 * controllers first, then the rest in reverse, and gives the ranges back last. Each step is
 * reported with its duration through `onStep`.
 *
 * Invariants: `<dataDir>/kubeconfig` is written before any component but the API server starts;
 * `/readyz` answers ok only once every component is ready, and a listener that cannot bind is
 * never reported ok; a start that fails part-way stops what it had started and leaves the data
 * dir as it found it (ephemeral ones are removed). The range registry and the SQLite store's
 * exclusive lock both refuse a second cluster on the same dir with a sentence naming the running
 * one's pid. Everything is per instance, so several clusters run side by side in one process and
 * on one machine (free ports, ranges of their own).
 *
 * @module
 */
import type { Socket as UdpSocket } from "node:dgram";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AddressPlan, type AddressRanges, addressPlan } from "../api/addressplan.ts";
import { isStatusError } from "../api/errors.ts";
import { defaultIssuer } from "../api/serviceaccount.ts";
import type { KubeObject } from "../api/types.ts";
import type { ApiVerbs } from "../api/verbs.ts";
import {
  type CallUser,
  createInProcessClient,
  type HealthCheck,
  legacyTokenSigner,
  type MetricsProvider,
  startApiServer,
  type UserInfo,
} from "../apiserver/index.ts";
import {
  buildKubeconfig,
  mergeKubeconfigContext,
  removeKubeconfigContext,
} from "../apiserver/kubeconfig.ts";
import { ensurePki } from "../apiserver/pki.ts";
import { createInformerFactory } from "../client/factory.ts";
import { startControllers } from "../controllers/index.ts";
import { openImageStore } from "../images/index.ts";
import { nodeNames } from "../kubelet/index.ts";
import { openStore, type Store, type StoreTuning } from "../store/index.ts";
import { startWebView } from "../ui/index.ts";
import { ensureBootstrapServices } from "./bootstrap.ts";
import { isCrd } from "./crds.ts";
import { startClusterDns } from "./dns.ts";
import { ClusterError, listenError } from "./errors.ts";
import {
  clientAs,
  controllerIdentities,
  DNS_ACCOUNT,
  ensureComponentAccounts,
  ensureDefaultStorageClass,
  INGRESS_CONTROLLER,
  informersAs,
  KUBE_CONTROLLER_MANAGER,
  KUBE_PROXY,
  nodeAgentUser,
  patchOrUpdate,
  SERVICE_CONTROLLER_ACCOUNT,
  serviceAccountUser,
} from "./identities.ts";
import { startClusterIngress } from "./ingress.ts";
import { startNodeAgent } from "./kubelet.ts";
import { applyManifests, type Manifest, readCrds, readManifests } from "./manifests.ts";
import {
  CLUSTER_DEFAULTS,
  type ClusterOptions,
  checkClusterName,
  checkNodes,
  checkPort,
  contextName,
  defaultDataDir,
  defaultUserKubeconfig,
  logAtLevel,
} from "./options.ts";
import { choosePort, whoHolds } from "./ports.ts";
import { startClusterProxy, startKernelServices } from "./proxy.ts";
import { leaseRanges, readRecordedRanges, recordRanges } from "./ranges.ts";
import { type RunInfo, readRunInfo, removeRunInfo, writeRunInfo } from "./runinfo.ts";
import { ensureRuntimeClasses } from "./runtimeclasses.ts";
import { type UserSpec, userKubeconfig } from "./users.ts";
import { type WaitOptions, waitReady as waitObjectsReady } from "./wait.ts";

export type { AddressPlan, AddressRanges } from "../api/addressplan.ts";
export { KUBERNETES_VERSION } from "../apiserver/index.ts";
export {
  type ClusterRecord,
  type ClusterState,
  clustersBaseDir,
  collectClusters,
  leasedClusters,
  readClusterRecord,
} from "./clusters.ts";
export { ClusterError, isClusterError } from "./errors.ts";
export { parseManifests, readManifests } from "./manifests.ts";
export {
  CLUSTER_DEFAULTS,
  type ClusterOptions,
  contextName,
  defaultDataDir,
  defaultUserKubeconfig,
  isLogLevel,
  type LogLevel,
  type RuntimeKind,
} from "./options.ts";
export {
  describeHolder,
  type LeaseHolder,
  type LeaseRequest,
  leaseRanges,
  listLeases,
  type RangeLease,
  registryDir,
} from "./ranges.ts";
export { countObjects, forgetUserContext, probeReadyz } from "./remote.ts";
export { isProcessAlive, type RunInfo, readRunInfo, runInfoPaths } from "./runinfo.ts";
export {
  describeRanges,
  describeServices,
  formatServiceTable,
  type ServiceRow,
  suggestedCommands,
} from "./summary.ts";
export { type UserSpec, userKubeconfig } from "./users.ts";
export { isReady, type WaitOptions } from "./wait.ts";

export interface ComponentStatus {
  name: string;
  ready: boolean;
  detail?: string;
  /** Shown on `/readyz?verbose` even when ready (what a component found on this machine). */
  info?: string;
}

/**
 * A running cluster. `await using cluster = await startCluster(…)` stops it when the scope ends
 * (`Symbol.asyncDispose` is `stop()`).
 */
export interface Cluster extends AsyncDisposable {
  name: string;
  dataDir: string;
  ephemeral: boolean;
  kubeconfig: string;
  kubeconfigPath: string;
  apiUrl: string;
  dnsAddress: { host: string; port: number };
  /**
   * The cluster's address plan: pod and service ranges, the `kubernetes` and `kube-dns`
   * Service IPs, NodePort range, cluster domain, load balancer range and node IP.
   */
  addresses: AddressPlan;
  /** The DNS server's Prometheus metrics (`http://127.0.0.1:<port>/metrics`, as CoreDNS's :9153). */
  dnsMetricsUrl: string;
  /** The web view's address with its access token, when it is served (`options.ui`). */
  uiUrl?: string;
  /** An in-process client with the API server's full behaviour (no HTTP round trip). */
  client: ApiVerbs;
  /** False until `src/kubelet` is wired in: pods are then never started. */
  hasNodeAgent: boolean;
  /** Create or update, as `kubectl apply --server-side`: files, folders or objects. */
  apply(pathsOrObjects: string | readonly string[] | readonly KubeObject[]): Promise<KubeObject[]>;
  /** Deployments/StatefulSets available, Pods ready; throws after `timeoutMs` (default 120 s). */
  waitReady(objects: readonly KubeObject[], options?: WaitOptions): Promise<void>;
  status(): ComponentStatus[];
  /**
   * A kubeconfig for a user in groups (a client certificate signed by the cluster CA, envtest's
   * `AddUser`); what the user may do is up to RBAC bindings.
   */
  addUser(user: UserSpec): Promise<string>;
  stop(): Promise<void>;
}

type Stopper = () => Promise<void> | void;

/** Node 20 has `Symbol.asyncDispose`; its 18.18 polyfill used this registered symbol. */
const asyncDispose: typeof Symbol.asyncDispose =
  Symbol.asyncDispose ?? (Symbol.for("nodejs.asyncDispose") as typeof Symbol.asyncDispose);

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const name = options.name ?? CLUSTER_DEFAULTS.name;
  checkClusterName(name);
  if (options.apiPort !== undefined) checkPort("API port", options.apiPort);
  if (options.dnsPort !== undefined) checkPort("DNS port", options.dnsPort);
  const dnsMetricsPort = options.dnsMetricsPort ?? 0;
  checkPort("DNS metrics port", dnsMetricsPort);
  const runtime = options.runtime ?? CLUSTER_DEFAULTS.runtime;
  const nodes = options.nodes ?? CLUSTER_DEFAULTS.nodes;
  checkNodes(nodes, runtime);
  const crds = crdManifests(options);
  const ephemeral = options.ephemeral === true;
  const explicit = {
    ...(options.podCidr !== undefined ? { podCidr: options.podCidr } : {}),
    ...(options.serviceCidr !== undefined ? { serviceCidr: options.serviceCidr } : {}),
  };
  const log = options.log ?? logAtLevel(options.logLevel ?? CLUSTER_DEFAULTS.logLevel);
  const onStep = options.onStep ?? (() => {});
  // Where the API server and the DNS server listen for the host (the plan's addresses are for
  // the cluster's own Services and pods).
  const host = "127.0.0.1";

  const dataDir = ephemeral
    ? mkdtempSync(join(tmpdir(), `loopkube-${name}-`))
    : (options.dataDir ?? defaultDataDir(name));
  const stack: Stopper[] = [];
  if (ephemeral) stack.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const components = new Map<string, () => ComponentStatus>();
  let started = false;

  const step = async <T>(label: string, fn: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    const out = await fn();
    onStep(label, performance.now() - t0);
    return out;
  };
  const unwind = async () => {
    for (const stop of stack.splice(0).reverse()) {
      try {
        await stop();
      } catch (err) {
        log("warn", `stopping: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };

  try {
    // 0. Address ranges of our own on this machine, held until stop (see ranges.ts).
    const lease = await step("address ranges", () =>
      leaseRanges({
        name,
        dataDir,
        ephemeral,
        explicit,
        recorded: ephemeral ? undefined : readRecordedRanges(dataDir),
      }),
    );
    stack.push(() => lease.release());
    const plan = planOf(lease.ranges, options.clusterDomain);
    const kubernetesIP = plan.kubernetesServiceIP;
    const dnsIP = plan.dnsServiceIP;
    log(
      "info",
      `address ranges: pods ${plan.podCidr}, services ${plan.serviceCidr}, load balancers ${plan.loadBalancerCidr}, node ${plan.nodeIP}${lease.slot === undefined ? "" : ` (slot ${lease.slot})`}`,
    );

    // 1. Store.
    const store: Store = await step(ephemeral ? "store (memory)" : "store (sqlite)", async () => {
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      lease.reserve();
      // The test suite freezes stored objects, so that code mutating a shared one fails there.
      const tuning = { freeze: process.env.LOOPKUBE_FREEZE_OBJECTS === "1" };
      return ephemeral ? openStore({ backend: "memory" }, tuning) : openSqlite(dataDir, tuning);
    });
    stack.push(() => store.close());
    if (!ephemeral) stack.push(() => removeRunInfo(dataDir, process.pid));

    // 2. PKI.
    const pki = await step("pki", () =>
      ensurePki(join(dataDir, "pki"), {
        clusterName: name,
        hosts: [
          "localhost",
          host,
          kubernetesIP,
          "kubernetes",
          "kubernetes.default",
          "kubernetes.default.svc",
          `kubernetes.default.svc.${plan.clusterDomain}`,
        ],
      }),
    );

    // 3. API server; /readyz waits for every component.
    const readiness = (): HealthCheck[] => [
      ...[...components.values()].map((c) => {
        const s = c();
        return s.ready
          ? { name: s.name, ok: true, ...(s.info ? { info: s.info } : {}) }
          : { name: s.name, ok: false, reason: s.detail ?? "not ready" };
      }),
      started
        ? { name: "startup", ok: true }
        : { name: "startup", ok: false, reason: "still starting" },
    ];
    const api = await step("api server", async () => {
      const port = await choosePort(
        "API",
        "tcp",
        host,
        options.apiPort,
        CLUSTER_DEFAULTS.apiPort,
        (m) => log("info", m),
      );
      try {
        return await startApiServer({
          store,
          host,
          port,
          tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert },
          tokens: [pki.token],
          serviceCidr: plan.serviceCidr,
          nodePortRange: plan.nodePortRange,
          readiness,
          serviceAccounts: {
            signingKey: pki.serviceAccountKey,
            issuer: defaultIssuer(plan.clusterDomain),
          },
          serviceAccountAdmission: true,
          frontProxy: {
            caCert: pki.frontProxyCaCert,
            clientCert: pki.frontProxyClientCert,
            clientKey: pki.frontProxyClientKey,
          },
          ...(options.apiBodyWorkers !== undefined ? { bodyWorkers: options.apiBodyWorkers } : {}),
        });
      } catch (err) {
        throw listenError(err, "API", host, port, {
          flag: "--api-port",
          holder: port === 0 ? undefined : whoHolds("tcp", host, port),
        });
      }
    });
    stack.push(() => api.close());
    components.set("apiserver", () => ({ name: "apiserver", ready: true, detail: api.url }));

    // 4. kubeconfig.
    const ctxName = contextName(name);
    const kubeconfig = buildKubeconfig({
      name: ctxName,
      server: api.url,
      caCert: pki.caCert,
      clientCert: pki.adminCert,
      clientKey: pki.adminKey,
    });
    const kubeconfigPath = join(dataDir, "kubeconfig");
    await step("kubeconfig", async () => {
      await writeFile(kubeconfigPath, kubeconfig, { mode: 0o600 });
      if (options.updateKubeconfig) {
        const path = options.userKubeconfig ?? defaultUserKubeconfig();
        await mergeKubeconfigContext(path, { contextName: ctxName, kubeconfigText: kubeconfig });
        // An ephemeral cluster leaves nothing behind: its context goes with it.
        if (ephemeral) stack.push(() => removeKubeconfigContext(path, ctxName));
      }
    });

    // 5. Shared informers and controllers. `client` is the cluster's own (bootstrap objects,
    // `apply`); each component gets one of its own identity (identities.ts).
    const client = createInProcessClient(api.registry);
    const identities = options.componentIdentities ?? true;
    const authorize = api.authorizeCall;
    const as = (user: UserInfo | CallUser) =>
      identities ? clientAs(api.registry, user, authorize) : client;
    // Informers cache the store's own objects (no copy per object and per event), read as
    // kube-controller-manager's shared informers read.
    const informers = createInformerFactory(
      createInProcessClient(api.registry, {
        shareReads: true,
        ...(identities ? { identity: { user: KUBE_CONTROLLER_MANAGER, authorize } } : {}),
      }),
      {
        onError: (err, phase) => log("debug", `informer ${phase}: ${describe(err)}`),
      },
    );
    stack.push(() => informers.stop());
    const informersOf = (user: UserInfo) =>
      identities ? informersAs(informers, user, authorize) : informers;
    if (identities) {
      await step("component accounts", async () => {
        await ensureComponentAccounts(client);
        await ensureDefaultStorageClass(client);
      });
    }
    // The node agent, started later, serves pod usage; the HPA controller reads the same figures.
    let metrics: MetricsProvider | undefined;
    const controllers = await step("controllers", () => {
      const manager = startControllers({
        client,
        informers,
        ...(identities ? { as: controllerIdentities(api.registry, authorize, informers) } : {}),
        dataDir,
        rootCA: pki.caCert,
        signLegacyToken: legacyTokenSigner(api.serviceAccountIssuer),
        now: () => new Date(),
        ...(options.scheduleClock ? { scheduleClock: options.scheduleClock } : {}),
        ...(options.hpa ? { hpa: options.hpa } : {}),
        resourceMetrics: () => {
          if (!metrics) {
            throw new Error(
              "the server could not find the requested resource (get pods.metrics.k8s.io)",
            );
          }
          return metrics.collect();
        },
        // A refusal is worth seeing (kube logs every sync error; the rest are retried quietly).
        onError: (err, c) =>
          log(
            c.terminal || isStatusError(err, "Forbidden") ? "warn" : "debug",
            `${c.controller} ${c.key}: ${describe(err)}`,
          ),
      });
      informers.start();
      return manager;
    });
    stack.push(() => controllers.stop());
    let informersSynced = false;
    // Rejects only when the informers stop before syncing (a start that failed): nothing to do.
    informers.waitForSync().then(
      () => {
        informersSynced = true;
      },
      () => {},
    );
    components.set("controllers", () => ({
      name: "controllers",
      ready: informersSynced,
      detail: controllers.controllers.map((c) => c.name).join(","),
    }));

    // 6. DNS, for the host on 127.0.0.1 and on its own kube-dns ClusterIP:53 (see dns.ts).
    const clusterDns = await step("dns", () =>
      startClusterDns({
        informers: informersOf(serviceAccountUser("kube-system", DNS_ACCOUNT)),
        plan,
        host,
        port: options.dnsPort,
        metricsPort: dnsMetricsPort,
        log,
      }),
    );
    stack.push(() => clusterDns.stop());
    const { address: dns, onClusterIP, metricsUrl } = clusterDns;
    components.set("dns", () => ({
      name: "dns",
      ready: clusterDns.ready(),
      detail: `${dns.host}:${dns.port}`,
    }));

    // 7. Bootstrap Services (need the API and DNS addresses), then the proxy.
    const bootstrap = await step("bootstrap services", () =>
      ensureBootstrapServices(client, {
        kubernetesServiceIP: kubernetesIP,
        dnsServiceIP: dnsIP,
        api: { host, port: api.port },
        dns,
      }),
    );
    await step("runtime classes", () => ensureRuntimeClasses(client));
    let dialPod: ((ip: string, port: number) => Promise<Socket> | undefined) | undefined;
    let dialPodUdp: ((ip: string, port: number) => Promise<UdpSocket> | undefined) | undefined;
    const proxy = await step("proxy", () =>
      startClusterProxy({
        client: as(KUBE_PROXY),
        statusClient: as(serviceAccountUser("kube-system", SERVICE_CONTROLLER_ACCOUNT)),
        informers: informersOf(KUBE_PROXY),
        nodeName: name,
        plan,
        bootstrap,
        dnsOnClusterIP: onClusterIP,
        // Pods the host cannot reach directly (rootless) are dialled through the node agent,
        // which starts after the proxy.
        dial: (ip, port) => dialPod?.(ip, port),
        dialUdp: (ip, port) => dialPodUdp?.(ip, port),
        log,
      }),
    );
    stack.push(() => proxy.stop());
    components.set("proxy", () => proxy.status(informersSynced));
    // The ingress controller, on the load balancer range's last address (see ingress.ts).
    const ingress = await step("ingress", () =>
      startClusterIngress({
        // Its status writes are patches where ingress-nginx's role grants `update`.
        client: identities
          ? clientAs(api.registry, INGRESS_CONTROLLER, patchOrUpdate(authorize))
          : client,
        installer: client,
        informers: informersOf(INGRESS_CONTROLLER),
        plan,
        log,
        dial: (ip, port) => dialPod?.(ip, port),
      }),
    );
    if (ingress) {
      stack.push(() => ingress.stop());
      components.set("ingress", () => ingress.status());
    }

    // 8. Node agent (absent until src/kubelet is wired in; see kubelet.ts).
    const agent = await step("node agent", () =>
      startNodeAgent({
        client: as(nodeAgentUser(nodeNames(name, nodes), api.registry, authorize)),
        informers,
        nodeName: name,
        nodes,
        maxPods: options.maxPods,
        containerLogMaxSize: options.containerLogMaxSize,
        containerLogMaxFiles: options.containerLogMaxFiles,
        runtime,
        ...(options.podNetwork ? { podNetwork: options.podNetwork } : {}),
        dns,
        serviceConnection: (ip, port, client) => proxy.accept(ip, port, client),
        ...(options.images
          ? { images: options.images }
          : {
              imageStore: openImageStore({
                ...(options.imageStore ? { root: options.imageStore } : {}),
                ...(options.insecureRegistries
                  ? { insecureRegistries: options.insecureRegistries }
                  : {}),
              }),
            }),
        dataDir,
        plan,
        handleSubresource: (key, handler) => api.handleSubresource(key, handler),
        serveMetrics: (provider) => {
          metrics = provider;
          api.serveMetrics(provider);
        },
        handleUpgrade: (key, handler) => api.handleUpgrade(key, handler),
        log,
      }),
    );
    dialPod = agent?.dialPod;
    dialPodUdp = agent?.dialPodUdp;
    if (agent) {
      stack.push(() => agent.stop());
      components.set("node-agent", () => ({ name: "node-agent", ready: agent.ready() }));
      components.set("oci-runtime", () => ({ name: "oci-runtime", ready: true, info: agent.oci }));
    }
    if ((options.proxyMode ?? "auto") !== "userspace") {
      const kernel = await step("kernel services", () =>
        startKernelServices({
          informers: informersOf(KUBE_PROXY),
          nodeName: name,
          plan,
          podNetwork: agent?.podNetwork,
          dnsOnClusterIP: onClusterIP,
          auto: options.proxyMode !== "nftables",
          log,
        }),
      );
      if (kernel) stack.push(() => kernel.stop());
    }

    // 9. The web view, reading the informers, the DNS query log and the proxy's counters.
    let uiUrl: string | undefined;
    if (options.ui) {
      const uiPort = options.ui.port ?? 0;
      checkPort("web view port", uiPort);
      const view = await step("web view", async () => {
        try {
          return await startWebView({
            informers,
            clusterDomain: plan.clusterDomain,
            dns,
            queryLog: clusterDns.queryLog,
            traffic: proxy.traffic,
            host,
            port: uiPort,
            bearerTokens: [pki.token],
          });
        } catch (err) {
          throw listenError(err, "web view", host, uiPort, {
            flag: "--ui-port",
            holder: uiPort === 0 ? undefined : whoHolds("tcp", host, uiPort),
          });
        }
      });
      stack.push(() => view.stop());
      uiUrl = view.url;
      if (!ephemeral) {
        const path = join(dataDir, UI_URL_FILE);
        await writeFile(path, `${uiUrl}\n`, { mode: 0o600 });
        stack.push(() => rm(path, { force: true }));
      }
    }

    await informers.waitForSync();
    // envtest's CRDInstallOptions: installed and Established before start returns.
    if (crds.length > 0) await step("crds", () => applyManifests(client, crds));
    started = true;
    const info: RunInfo = {
      pid: process.pid,
      name,
      apiUrl: api.url,
      kubeconfigPath,
      dns,
      dnsMetricsUrl: metricsUrl,
      nodeAgent: agent !== undefined,
      podCidr: plan.podCidr,
      serviceCidr: plan.serviceCidr,
      nodeIP: plan.nodeIP,
      loadBalancerCidr: plan.loadBalancerCidr,
    };
    if (!ephemeral) {
      recordRanges(dataDir, plan);
      await writeRunInfo(dataDir, info);
    }

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        started = false;
        // Controllers first: while the node agent stops every pod they would react to each
        // one (slices, endpoints, replica counts), work that the stop throws away.
        await controllers.stop().catch((err: unknown) => log("warn", `stopping: ${describe(err)}`));
        await unwind();
      })();
      return stopping;
    };
    return {
      name,
      dataDir,
      ephemeral,
      kubeconfig,
      kubeconfigPath,
      apiUrl: api.url,
      dnsAddress: dns,
      addresses: plan,
      dnsMetricsUrl: metricsUrl,
      ...(uiUrl ? { uiUrl } : {}),
      client,
      hasNodeAgent: agent !== undefined,
      async apply(input) {
        const manifests: Manifest[] =
          typeof input === "string"
            ? readManifests([input])
            : isStrings(input)
              ? readManifests(input)
              : input.map((object) => ({ object, source: "<inline>" }));
        return applyManifests(client, manifests);
      },
      waitReady: (objects, waitOptions) => waitObjectsReady(client, objects, waitOptions),
      addUser: (user) => userKubeconfig(dataDir, user),
      status: () => {
        const out = [...components.values()].map((c) => c());
        if (!agent) out.push({ name: "node-agent", ready: false, detail: "not running" });
        return out;
      },
      stop,
      [asyncDispose]: stop,
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}

/** `options.crds` and the CRDs under `options.crdPaths`, read before anything starts. */
function crdManifests(options: ClusterOptions): Manifest[] {
  const out: Manifest[] = [];
  for (const object of options.crds ?? []) {
    if (!isCrd(object)) {
      throw new ClusterError(
        `crds: ${object.kind} "${object.metadata?.name ?? ""}" is not an apiextensions.k8s.io/v1 CustomResourceDefinition`,
      );
    }
    out.push({ object, source: "<crds>" });
  }
  out.push(...readCrds(options.crdPaths ?? []));
  return out;
}

/** The plan of these ranges; a bad range or domain is the user's to fix (one sentence). */
function planOf(ranges: AddressRanges, clusterDomain: string | undefined): AddressPlan {
  try {
    return addressPlan(ranges, { clusterDomain });
  } catch (err) {
    throw new ClusterError(describe(err));
  }
}

function isStrings(input: readonly string[] | readonly KubeObject[]): input is readonly string[] {
  return input.every((x) => typeof x === "string");
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function openSqlite(dataDir: string, tuning: StoreTuning): Store {
  try {
    return openStore({ backend: "sqlite", path: join(dataDir, "state.db") }, tuning);
  } catch (err) {
    // The store reports its exclusive lock as an error whose cause is SQLITE_BUSY.
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === "SQLITE_BUSY" || /in use by another/.test(describe(err))) {
      const pid = readRunInfo(dataDir)?.pid;
      throw new ClusterError(
        `data dir ${dataDir} is in use by a running cluster${pid ? ` (pid ${pid})` : ""}; stop it with \`loopkube down\``,
      );
    }
    throw err;
  }
}

/** Where a running cluster keeps its web view's URL (with the token: readable by its owner only). */
const UI_URL_FILE = "ui-url";

/** The web view's URL of a running cluster on `dataDir`, if it serves one. */
export function readUiUrl(dataDir: string): string | undefined {
  try {
    return readFileSync(join(dataDir, UI_URL_FILE), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Removes a data dir and everything in it (the CLI's `delete`). */
export async function removeDataDir(dataDir: string): Promise<void> {
  await rm(dataDir, { recursive: true, force: true });
}

/** The kubeconfig a running or stopped (non-ephemeral) cluster wrote in its data dir. */
export function readClusterKubeconfig(dataDir: string): string | undefined {
  try {
    return readFileSync(join(dataDir, "kubeconfig"), "utf8");
  } catch {
    return undefined;
  }
}
