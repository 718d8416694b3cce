/**
 * The node agent (kubelet): registers the Node and keeps its Lease, and runs the pods bound to
 * it, each on its own IP from the pod CIDR, through a runtime: `process` (containers are host
 * processes, see runtimes/) or `simulated` (no process, like kwok). A pod picks its runtime with
 * `spec.runtimeClassName` (a RuntimeClass whose handler is `process` or `simulated`) or the
 * annotation `loopkube.dev/runtime`.
 *
 * The agent sees the cluster only through `ApiVerbs` and shared informers, so it runs as well
 * against a real API server. State it keeps itself lives in `dataDir`: `pod-ips.log` (so a
 * restarted agent gives each pod its IP back) and `pods/<ns>_<name>_<uid>/<container>/<n>.log`.
 *
 * Wiring: call after `informers.start()` (the agent waits for the pods and services informers
 * to sync). The composition root registers `createLogHandler` for `pods/log`, and the upgrade
 * handlers `createExecHandler` (over `Kubelet.containerProcess`) and `createPortForwardHandler`
 * for `pods/exec` and `pods/portforward`, on the API server.
 *
 * Deletion: a pod with a deletionTimestamp is stopped (preStop, SIGTERM, SIGKILL at the grace
 * deadline), then deleted with gracePeriodSeconds 0 and its IP released. `stop()` stops every
 * pod gracefully (capped by `shutdownGraceMs`, pods already terminating too) and leaves the pod
 * objects in place, but for pods being deleted: their deletion is finished. Every await of the
 * stop is bounded: the grace cap for the containers, then `STOP_API_BUDGET_MS` for API calls.
 *
 * @module
 */

import type { Socket as UdpSocket } from "node:dgram";
import type { Socket } from "node:net";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import type { Container, Pod, Service } from "kubernetes-types/core/v1.js";
import { DEFAULT_PLAN } from "../api/addressplan.ts";
import { cidrContains, parseCidr } from "../api/cidr.ts";
import { isStatusError } from "../api/errors.ts";
import { parseQuantity } from "../api/quantity.ts";
import { REFS } from "../api/refs.ts";
import type { KubeObject } from "../api/types.ts";
import type { ApiVerbs } from "../api/verbs.ts";
import type { InformerFactory } from "../client/factory.ts";
import { createEventRecorder } from "../client/index.ts";
import { type BackoffPolicy, DEFAULT_BACKOFF } from "./backoff.ts";
import {
  type ImageEnsurer,
  ImagePuller,
  nodeImages,
  type PullEmit,
  pullSecretCredentials,
} from "./imagepull.ts";
import {
  DEFAULT_LOG_ROTATION,
  type LogFileSystem,
  type LogRotation,
  nodeLogFileSystem,
  openContainerLog,
} from "./logfile.ts";
import { type KubeletMetrics, startMetricsCollector } from "./metrics.ts";
import { startNodeAgent } from "./node.ts";
import { DEFAULT_MAX_PODS, nodeNames, nodePodCidrs } from "./nodes.ts";
import {
  detectOci,
  type ImageSource,
  OciRuntime,
  type OciSupport,
  type RuntimeName,
  runtimeFor,
} from "./runtimes/index.ts";
import {
  DEFAULT_OWNER_DIR,
  entriesByCidr,
  gatewayOf,
  type Ipam,
  type NodeListener,
  nftTableOf,
  openIpam,
  openIpJournal,
  openPodNetworks,
  openRootlessPodNetworks,
  type PodNetwork,
  type PodNetworks,
  podNetworkUnsupported,
  type RootlessPodNetworks,
  reachableOf,
  rootlessSandboxSupported,
  rootlessUnsupported,
  sandboxPrefix,
  sandboxSupported,
  startHostReach,
  startPolicyEnforcer,
} from "./sandbox/index.ts";
import { createTokenManager, requestTokenOf } from "./tokens.ts";
import { which } from "./which.ts";
import { PodWorker, RUNTIME_ANNOTATION } from "./worker.ts";

export type { ImageConfig, PreparedImage } from "../images/index.ts";
export { type ImageEnsurer, nodeImages } from "./imagepull.ts";
export {
  DEFAULT_LOG_ROTATION,
  type LogFileSystem,
  type LogRotation,
  nodeLogFileSystem,
} from "./logfile.ts";
export { createLogHandler, type LogHandlerOptions } from "./logs.ts";
export type { KubeletMetrics } from "./metrics.ts";
export { KUBELET_VERSION } from "./node.ts";
export { DEFAULT_MAX_PODS, NodesError, nodeNames, nodePodCidrs } from "./nodes.ts";
export {
  describeSupport,
  type ImageSource,
  NO_COMMAND_MESSAGE,
  type OciSupport,
  type RuntimeName,
} from "./runtimes/index.ts";
export { routeDevice } from "./sandbox/index.ts";
export {
  type AttachHandlerOptions,
  createAttachHandler,
  createExecHandler,
  createPortForwardHandler,
  type ExecHandlerOptions,
  type PortForwardHandlerOptions,
} from "./streaming/index.ts";
export { RUNTIME_ANNOTATION } from "./worker.ts";

/**
 * How pods naming no runtime (no RuntimeClass, no annotation) run: a runtime, or `auto` (the
 * default): `oci` where the image runtime can run here (an OCI runtime found, root, an image
 * store), else `process` (said once in a warning). An `auto` pod in `oci` whose containers all
 * name a command runs them from the host when a registry of its images cannot be reached (see
 * `ImagePuller.unreachable`), so manifests of official images with their code in a ConfigMap
 * work offline too.
 */
export type RuntimeChoice = RuntimeName | "auto";

/**
 * Where pods' networks live: `netns`, a network namespace per pod (as root: sandbox/podnet.ts;
 * without root, inside a per-cluster user+network namespace: sandbox/podnet_rootless.ts);
 * `host`, the host's namespace shared by every pod (each binds its own 127.x pod IP); `auto`
 * (the default): `netns` where it can be used (root with the sandbox, or unprivileged user
 * namespaces), else `host`.
 */
export type PodNetworkMode = "netns" | "host" | "auto";

export interface KubeletOptions {
  client: ApiVerbs;
  informers: InformerFactory;
  nodeName: string;
  /**
   * How many nodes this agent registers and serves (default 1): `nodeName`, `<nodeName>-2`, …
   * each with its Lease, 110 pods and its own block of the pod CIDR (see nodes.ts). Node `i > 1`
   * keeps its pod IPs under `<dataDir>/nodes/<name>/`.
   */
  nodes?: number;
  /** Pods each node takes (kubelet's `--max-pods`, default 110), its `pods` allocatable. */
  maxPods?: number;
  dataDir: string;
  /** The pod range (default: the address plan's, for a lone cluster). */
  podCidr?: string;
  /** The node's address: its InternalIP and hostNetwork pods' IP (default: the plan's). */
  nodeIP?: string;
  /** How pods naming no runtime run (see {@link RuntimeChoice}); default `auto`. */
  runtime?: RuntimeChoice;
  /** The kube-dns Service IP, for the pods' resolv.conf (sandbox); kubelet's `--cluster-dns`.
   *  Default: the address plan's. */
  clusterDns?: string;
  /** kubelet's `--cluster-domain`; default: the address plan's. */
  clusterDomain?: string;
  now?: () => Date;
  onError?: (error: unknown) => void;
  /** What an operator should hear of: a container whose log cannot be written, and why. */
  onWarning?: (message: string) => void;
  /** What is worth a line but needs no action (a rootless pod port the host cannot bind). */
  onInfo?: (message: string) => void;
  /**
   * The kubelet's `containerLogMaxSize`: a container's log is rotated once it holds this much
   * (a quantity such as `10Mi`, or bytes; negative: never). Default 10Mi.
   */
  containerLogMaxSize?: string | number;
  /** The kubelet's `containerLogMaxFiles`: log files kept per container (at least 2); default 5. */
  containerLogMaxFiles?: number;
  /** The file system container logs are written to (tests inject faults here). */
  logFileSystem?: LogFileSystem;
  /** Crash-loop back-off; default 10 s doubling to 300 s, reset after 10 min. */
  backoff?: Partial<BackoffPolicy>;
  /** Delay before a simulated container runs; default 0. */
  simulatedDelayMs?: number;
  leaseRenewMs?: number;
  statusReportMs?: number;
  /** How often ConfigMap/Secret/downward API volume files are rewritten; default 10 s. */
  volumeRefreshMs?: number;
  /**
   * Cap on each pod's grace period when the agent stops, also of a pod already terminating with a
   * longer one (as graceful node shutdown's `shutdownGracePeriod`); default 30 s.
   */
  shutdownGraceMs?: number;
  /** Run pods in mount+UTS namespaces when possible (root and `unshare`); default true. */
  sandbox?: boolean;
  /** Pods' networks (see {@link PodNetworkMode}); default `auto`. Needs the sandbox. */
  podNetwork?: PodNetworkMode;
  /**
   * The cluster DNS server's host address: in rootless pod networks, what pods' queries to the
   * kube-dns ClusterIP are relayed to (sandbox/podnet_rootless.ts). Default: that ClusterIP's
   * port 53.
   */
  dnsUpstream?: { host: string; port: number };
  /**
   * Rootless pod networks: hands a pod's connection to a ClusterIP:port to the service proxy (as
   * if its listener had accepted it, also on ports it cannot bind); false: not one it serves.
   * Absent or false: the connection goes to the same address on the host.
   */
  serviceConnection?: (ip: string, port: number, client: Socket) => boolean;
  /**
   * Where pod network tags are claimed (sandbox/podnet_owner.ts);
   * default `/run/loopkube-podnet`.
   */
  podNetworkRegistry?: string;
  /**
   * false: root pod networks start processes per pod instead of long-lived helpers; "steps":
   * the helpers, one request per step of a pod's set-up (benches' "before").
   */
  podNetworkHelpers?: boolean | "steps";
  /**
   * Where a container without `workingDir` starts. An image's default is its WORKDIR; here the
   * host is the image, so the default is the directory loopkube was started in.
   */
  workingDir?: string;
  /** How often resource usage is sampled for `metrics.k8s.io`; default 10 s. */
  metricsIntervalMs?: number;
  /** Where the `oci` runtime's images come from (the image store; tests give their own roots). */
  images?: ImageSource;
  /** Look for an OCI runtime (crun, runc) at start; default true. */
  oci?: boolean;
  /**
   * Image pulls before each container start (imagepull.ts), for the pods of the runtimes named
   * here (an image runtime turns it on; `process` and `simulated` containers use no image).
   */
  imagePulls?: { store: ImageEnsurer; runtimes: readonly string[] };
}

export interface Kubelet {
  nodeName: string;
  /** The pod's IP on this node, if it has one. */
  podIP(namespace: string, name: string): string | undefined;
  /** Pids of the pod's live container processes (process runtime). */
  pids(namespace: string, name: string): number[];
  /**
   * A running container's process and whether it is in a pod sandbox (mount+UTS namespaces that
   * `nsenter -t <pid>` enters), for exec; undefined when the container is not running here.
   */
  containerProcess(
    namespace: string,
    name: string,
    container: string,
  ): { pid: number; sandboxed: boolean; enter?: (tty: boolean) => string[] } | undefined;
  /**
   * The pod's own network namespace, when it has one (port-forward dials in it): its path and the
   * command prefix that enters it.
   */
  podNetns(namespace: string, name: string): { path: string; enter: string[] } | undefined;
  /**
   * Connects to a pod's ip:port from the host where the host cannot reach pods directly (rootless
   * pod networks: through the node namespace's helper); undefined where a plain connect does.
   */
  dialPod: ((ip: string, port: number) => Promise<Socket> | undefined) | undefined;
  /** The same for UDP: a socket connected to a pod's ip:port (see dialPod). */
  dialPodUdp: ((ip: string, port: number) => Promise<UdpSocket> | undefined) | undefined;
  /** A running container's stdin when its spec keeps one open (`stdin: true`), for attach. */
  containerStdin(
    namespace: string,
    name: string,
    container: string,
  ): { stream: Writable; once: boolean } | undefined;
  /** The directory holding the pod's volumes and logs. */
  podDir(pod: Pod): string;
  /** What the `oci` runtime found at start (see runtimes/oci_detect.ts). */
  ociSupport: OciSupport;
  /**
   * The pod networks, when pods have namespaces of their own: the cluster's tag (its links are
   * `lk<tag>…`, its nftables tables `loopkube-<tag>…`) and each node's pod range and gateway.
   */
  podNetwork: { tag: string; nodes: { cidr: string; gateway: string }[] } | undefined;
  /** CPU and memory of the node and of each running pod, measured now (see metrics.ts). */
  collectMetrics(): Promise<KubeletMetrics>;
  /**
   * Stops every pod gracefully (capped by `shutdownGraceMs`) and leaves the pod objects in
   * place, with their terminated status; `silent` when the whole cluster goes down with the
   * agent: no status write or event per pod, which nobody would read.
   */
  stop(options?: { silent?: boolean }): Promise<void>;
}

/** The log rotation settings, checked as the kubelet checks its configuration. */
export function logRotation(
  options: Pick<KubeletOptions, "containerLogMaxSize" | "containerLogMaxFiles">,
): LogRotation {
  const size = options.containerLogMaxSize ?? DEFAULT_LOG_ROTATION.maxSize;
  let maxSize: number;
  try {
    maxSize = Math.floor(parseQuantity(size));
  } catch {
    maxSize = Number.NaN;
  }
  if (!Number.isFinite(maxSize)) {
    throw new Error(`containerLogMaxSize ${JSON.stringify(size)} is not a quantity such as 10Mi`);
  }
  const maxFiles = options.containerLogMaxFiles ?? DEFAULT_LOG_ROTATION.maxFiles;
  if (!Number.isInteger(maxFiles) || maxFiles < 2) {
    throw new Error(`containerLogMaxFiles ${maxFiles} must be a whole number of at least 2`);
  }
  return { maxSize, maxFiles };
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export async function startKubelet(options: KubeletOptions): Promise<Kubelet> {
  const { client, informers, nodeName, dataDir } = options;
  const now = options.now ?? (() => new Date());
  const onError = options.onError ?? (() => {});
  const warn = options.onWarning ?? (() => {});
  const rotation = logRotation(options);
  const logFs = options.logFileSystem ?? nodeLogFileSystem;
  const podCidr = options.podCidr ?? DEFAULT_PLAN.podCidr;
  const nodeIP = options.nodeIP ?? DEFAULT_PLAN.nodeIP;
  const clusterDns = options.clusterDns ?? DEFAULT_PLAN.dnsServiceIP;
  const clusterDomain = options.clusterDomain ?? DEFAULT_PLAN.clusterDomain;
  const workingDir = options.workingDir ?? process.cwd();
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  const names = nodeNames(nodeName, options.nodes ?? 1);
  const podRange = parseCidr(podCidr);
  const cidrs = nodePodCidrs(podCidr, names.length);
  /** node name → its IPAM, all recorded in one journal. */
  const journal = openIpJournal(dataDir, {
    onError: (e) =>
      warn(
        `recording pod IPs in ${dataDir} failed (${e.message}): they are kept in memory and written when the disk allows`,
      ),
  });
  const nodeCidrs = names.map((_, i) => cidrs[i] ?? podCidr);
  const saved = entriesByCidr(journal.entries(), nodeCidrs);
  const ipams = new Map<string, Ipam>(
    names.map((n, i) => {
      const cidr = nodeCidrs[i] ?? podCidr;
      return [n, openIpam(cidr, { journal, entries: saved.get(cidr) ?? [] })];
    }),
  );
  const recorder = createEventRecorder(client, { component: "kubelet", host: nodeName, onError });
  const puller = options.imagePulls
    ? new ImagePuller({
        store: options.imagePulls.store,
        now: () => now().getTime(),
        credentialsOf: (p) => pullSecretCredentials(client, p),
        holder: `cluster ${nodeName}`,
        onCollected: (r) =>
          warn(`image garbage collection removed ${r.images.length} images (${r.bytes} bytes)`),
        onError,
      })
    : undefined;
  const useSandbox = (options.sandbox ?? true) && sandboxSupported();
  const podnets = await openNetworks(options, useSandbox, { podCidr, dataDir, warn, onError });
  // Without root, pods with a rootless network get the sandbox inside its user namespace.
  const rootlessSandbox =
    !useSandbox &&
    podnets !== undefined &&
    "rootless" in podnets &&
    (options.sandbox ?? true) &&
    rootlessSandboxSupported();
  const ociSupport: OciSupport =
    options.oci === false
      ? { cgroups: "none", overlay: false, reason: "the oci runtime is turned off on this node" }
      : await detectOci(join(dataDir, "oci", "scratch"));
  const oci = ociSupport.binary
    ? new OciRuntime({ ...ociSupport, binary: ociSupport.binary }, dataDir, onError, {
        usernsPid: (podnets as Partial<RootlessPodNetworks> | undefined)?.helperPid,
      })
    : undefined;
  if (oci) {
    const left = await oci.reconcile();
    if (left > 0) warn(`removed ${left} containers or bundles left by an earlier run`);
  }
  const choice = options.runtime ?? "auto";
  const imagesHere = options.imagePulls !== undefined || options.images !== undefined;
  const imagesRun = oci !== undefined && imagesHere;
  const defaultRuntime: RuntimeName = choice !== "auto" ? choice : imagesRun ? "oci" : "process";
  const imagesNotRun =
    choice === "auto" && !imagesRun
      ? (ociSupport.reason ?? "the node has no image store")
      : undefined;
  if (imagesNotRun)
    warn(
      `pods run their command from the host (the process runtime), not their images: ${imagesNotRun}`,
    );

  const agents = names.map((name, i) =>
    startNodeAgent(client, {
      nodeName: name,
      podCidr: cidrs[i] ?? podCidr,
      nodeIP,
      dataDir,
      now,
      onError,
      maxPods: options.maxPods ?? DEFAULT_MAX_PODS,
      ...(options.leaseRenewMs ? { leaseRenewMs: options.leaseRenewMs } : {}),
      ...(options.statusReportMs ? { statusReportMs: options.statusReportMs } : {}),
      // The node lists images where its image runtime can run (else nothing would use them).
      ...(options.imagePulls &&
        oci && {
          images: async () =>
            nodeImages(await (options.imagePulls as { store: ImageEnsurer }).store.list()),
        }),
    }),
  );
  await Promise.all(agents.map((a) => a.ready));

  const services = informers.get<Service & KubeObject>(REFS.services);
  const pods = informers.get<Pod & KubeObject>(REFS.pods);
  await services.waitForSync();
  await pods.waitForSync();

  const tokens = createTokenManager({ request: requestTokenOf(client), onError });
  const workers = new Map<string, PodWorker>();
  /** Each worker's network namespace, removed once its containers have stopped. */
  const networks = new Map<PodWorker, PodNetwork>();
  const dropNetwork = async (w: PodWorker | undefined) => {
    const net = w && networks.get(w);
    if (!w || !net) return;
    reach?.remove(w);
    networks.delete(w);
    await net.release().catch(onError);
    policy.changed();
  };
  // NetworkPolicy: in nftables on the pods' veths where pods have namespaces and nft is here.
  const rootless = podnets && "rootless" in podnets ? (podnets as RootlessPodNetworks) : undefined;
  const nftHere =
    podnets !== undefined && !rootless && which("nft", process.env.PATH ?? "") !== undefined;
  const stopMirror = rootless
    ? mirrorServices(rootless, services, {
        dnsIP: clusterDns,
        dns: options.dnsUpstream ?? { host: clusterDns, port: 53 },
        nodeIP,
      })
    : () => {};
  // Rootless: pod IPs answer from the host through listeners on them that dial into the pod.
  const reach = rootless
    ? startHostReach({
        dial: (ip, port) => rootless.dial(ip, port),
        dialUdp: (ip, port) => rootless.dialUdp(ip, port),
        warn,
        info: options.onInfo ?? (() => {}),
      })
    : undefined;
  if (podnets && !rootless && !nftHere)
    warn("nft (nftables) is not installed: NetworkPolicies are not enforced");
  const policy = await startPolicyEnforcer({
    table: podnets && nftHere ? nftTableOf(podnets.tag) : undefined,
    sharedReason: rootless
      ? "pod networks without root have no NetworkPolicy enforcement yet"
      : podnets
        ? nftHere
          ? "it has no network namespace of its own"
          : "nftables is not installed on the node"
        : "pods share the host's network namespace on this node",
    informers,
    recorder,
    nodeIPs: [nodeIP, ...nodeCidrs.map(gatewayOf)],
    dnsIP: clusterDns,
    linkOf: (pod) => {
      const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
      const w = workers.get(key);
      const net = w && networks.get(w);
      const ip = ipams.get(pod.spec?.nodeName ?? "")?.get(key);
      return net?.built && ip ? { link: net.hostLink, ip } : undefined;
    },
    onError,
  });
  const finishing = new Set<Promise<void>>();
  let stopped = false;
  /** Aborted when the agent stops: wakes every back-off of a pod deletion in flight. */
  const stopping = new AbortController();

  const keyOf = (pod: Pod) => `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  const ipamOf = (pod: Pod) => ipams.get(pod.spec?.nodeName ?? "");
  const podDir = (pod: Pod) =>
    join(
      dataDir,
      "pods",
      `${pod.metadata?.namespace}_${pod.metadata?.name}_${pod.metadata?.uid ?? ""}`,
    );

  const getData = async (
    ref: typeof REFS.configmaps,
    ns: string,
    name: string,
    decode: boolean,
  ): Promise<Record<string, string> | undefined> => {
    try {
      const obj = await client.get(ref, ns, name);
      const data = (obj.data ?? {}) as Record<string, string>;
      if (!decode) return { ...data };
      return Object.fromEntries(
        Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
      );
    } catch (e) {
      if (isStatusError(e, "NotFound")) return undefined;
      throw e;
    }
  };

  const envSources = (pod: Pod) => {
    const ns = pod.metadata?.namespace ?? "default";
    const visible = services.list(ns);
    const master = services.get("default", "kubernetes");
    if (master && ns !== "default") visible.push(master);
    return {
      getConfigMap: (n: string, name: string) => getData(REFS.configmaps, n, name, false),
      getSecret: (n: string, name: string) => getData(REFS.secrets, n, name, true),
      services: visible,
      allocatable: { cpu: cpus().length || 1, memory: totalmem() },
      base: { PATH: process.env.PATH || DEFAULT_PATH, HOME: process.env.HOME || "/root" },
    };
  };

  // RuntimeClasses name runtimes by their handler (`process`, `simulated`); a class whose
  // handler is no runtime of ours, or not seen yet, leaves the choice to the annotation.
  const runtimeClasses = informers.get<KubeObject & { handler?: string }>(REFS.runtimeclasses);
  const namedRuntime = (pod: Pod): RuntimeName | undefined => {
    const className = pod.spec?.runtimeClassName;
    const handler = className ? runtimeClasses.get("", className)?.handler : undefined;
    if (handler === "simulated" || handler === "process" || handler === "oci") return handler;
    const a = pod.metadata?.annotations?.[RUNTIME_ANNOTATION];
    return a === "simulated" || a === "process" || a === "oci" ? a : undefined;
  };
  const runtimeOf = (pod: Pod): RuntimeName => namedRuntime(pod) ?? defaultRuntime;
  /** The `auto` fallback applies: an image pod by default whose containers all name a command. */
  const mayFallBack = (pod: Pod): boolean =>
    choice === "auto" &&
    defaultRuntime === "oci" &&
    namedRuntime(pod) === undefined &&
    [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].every(
      (c) => (c.command?.length ?? 0) > 0,
    );

  const track = (p: Promise<void>) => {
    const t = p.catch(onError).finally(() => finishing.delete(t));
    finishing.add(t);
  };

  const deletePod = (pod: Pod, w: PodWorker | undefined) => {
    const key = keyOf(pod);
    track(
      (async () => {
        if (w) {
          await w.terminate({ deleted: pod });
          await puller?.forget(w.uid);
          await dropNetwork(w);
          // The IP goes with the sandbox, before the pod object does (kube tears down the pod's
          // network in killPod). A failed status write is retried once the back-off allows.
          const release = () => {
            if (workers.get(key) === w) ipamOf(pod)?.release(key);
          };
          // Once the agent stops, one try is left: a pod it cannot finish stays Terminating, and
          // the agent's next start deletes it (as a node going down leaves its pods to the next).
          for (
            let wait = 200;
            !(await w.finishDeletion(release)) && !stopped;
            wait = Math.min(wait * 2, 10_000)
          )
            await abortableDelay(wait, stopping.signal);
        } else {
          const meta = pod.metadata ?? {};
          await client
            .delete(REFS.pods, meta.namespace ?? "", meta.name ?? "", {
              gracePeriodSeconds: 0,
              ...(meta.uid ? { preconditions: { uid: meta.uid } } : {}),
            })
            .catch((e) => {
              if (!isStatusError(e, "NotFound") && !isStatusError(e, "Conflict")) throw e;
            });
        }
        if (workers.get(key) === w) workers.delete(key);
        if (!workers.has(key)) ipamOf(pod)?.release(key);
      })(),
    );
  };

  const ociParts = {
    runtime: oci,
    unavailable: ociSupport.reason,
    images: options.images,
    clusterDns,
    clusterDomain,
  };
  /** A pod's runtime, made from the node's settings that concern it. */
  const runtimeNamed = (pod: Pod, name: RuntimeName) =>
    runtimeFor(name, {
      workingDir,
      simulatedDelayMs: options.simulatedDelayMs ?? 0,
      oci: ociParts,
      ...(imagesNotRun && namedRuntime(pod) === undefined ? { imagesNotRun } : {}),
    });

  const sync = (pod: Pod) => {
    const ipam = ipamOf(pod);
    if (stopped || !ipam) return;
    const key = keyOf(pod);
    const uid = pod.metadata?.uid ?? "";
    let w = workers.get(key);
    if (w && w.uid !== uid) {
      // Same name, new pod: the old one is gone; stop its containers at once.
      const old = w;
      workers.delete(key);
      track(
        old
          .terminate({ maxGraceMs: 0 })
          .then(() => puller?.forget(old.uid))
          .then(() => dropNetwork(old)),
      );
      w = undefined;
    }
    if (pod.metadata?.deletionTimestamp) {
      // A later delete may lower the grace period (never raise it): the worker cuts it short.
      if (w?.deleting) return void w.terminate({ deleted: pod });
      if (w) w.deleting = true;
      deletePod(pod, w);
      return;
    }
    if (w) {
      w.update(pod);
      return;
    }
    const phase = pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") return;
    // hostNetwork pods share the node's address, as on a real node.
    const podIP = pod.spec?.hostNetwork ? nodeIP : ipam.allocate(key, pod.status?.podIP);
    const runtime = runtimeNamed(pod, runtimeOf(pod));
    const ownNetwork = podnets && !pod.spec?.hostNetwork && runtime.runsPrograms;
    const gateway = gatewayOf(nodeCidrs[names.indexOf(pod.spec?.nodeName ?? "")] ?? podCidr);
    const net = ownNetwork ? podnets.setUp(podIP, gateway) : undefined;
    const worker = new PodWorker(pod, {
      // The containers start once the pod's NetworkPolicy rules are in the kernel too.
      ...(net
        ? {
            network: () =>
              net.ready.then(async (prefix) => {
                policy.changed();
                await policy.settled();
                return prefix;
              }),
            netnsPath: net.path,
            ...(rootless ? { dialPod: (ip: string, port: number) => rootless.dial(ip, port) } : {}),
          }
        : {}),
      workingDir,
      client,
      recorder,
      runtime,
      podIP,
      hostIP: nodeIP,
      podDirOf: podDir,
      envSources,
      volumeSources: (p: Pod) => ({
        ...envSources(p),
        client,
        podIP,
        hostIP: nodeIP,
        dataDir,
        tokens,
      }),
      ...(rootlessSandbox ? { rootlessSandbox } : {}),
      ...(useSandbox || rootlessSandbox
        ? {
            sandbox: (
              p: Pod,
              c: Container,
              volumes: Map<string, string>,
              onSkip: (m: string) => void,
            ) =>
              sandboxPrefix(p, c, {
                podDir: podDir(p),
                podIP,
                clusterDns,
                clusterDomain,
                volumes,
                onSkip,
                workingDir,
              }),
          }
        : {}),
      backoff,
      ...(options.volumeRefreshMs ? { volumeRefreshMs: options.volumeRefreshMs } : {}),
      now,
      onError,
      warn,
      openLog: (path, onLogError) =>
        openContainerLog(path, { rotation, fs: logFs, now, onError: onLogError }),
      logFs,
      ...(puller && options.imagePulls?.runtimes.includes(runtime.name)
        ? { pullImage: (p: Pod, c: Container, emit: PullEmit) => puller.pull(p, c, emit) }
        : {}),
      ...(puller && mayFallBack(pod)
        ? {
            fallback: {
              reason: (p: Pod) => puller.unreachable(p),
              runtime: runtimeNamed(pod, "process"),
            },
          }
        : {}),
    });
    workers.set(key, worker);
    if (net) networks.set(worker, net);
    if (net && reach)
      reach.add(
        worker,
        reachableOf(pod, { ip: podIP, netnsPath: net.path, pids: () => worker.pids() }),
      );
    worker.start();
  };

  const removeHandlers = pods.addHandlers({
    onAdd: sync,
    onUpdate: (_old, pod) => sync(pod),
    onDelete: (pod) => {
      const key = keyOf(pod);
      const w = workers.get(key);
      if (!w || w.uid !== pod.metadata?.uid) return;
      workers.delete(key);
      track(
        w
          .terminate({ maxGraceMs: 0 })
          .then(() => puller?.forget(w.uid))
          .then(() => dropNetwork(w))
          .then(() => ipamOf(pod)?.release(key)),
      );
    },
  });

  const metrics = await startMetricsCollector({
    nodeName,
    targets: () =>
      [...workers.entries()].map(([key, w]) => {
        const [namespace = "", name = ""] = key.split("/");
        return { namespace, name, containers: w.runningContainers() };
      }),
    ...(options.metricsIntervalMs ? { intervalMs: options.metricsIntervalMs } : {}),
    now: () => now().getTime(),
    onError,
  });

  // Addresses held for pods that no longer exist on this node (deleted while we were down).
  for (const [node, ipam] of ipams) {
    for (const key of ipam.entries().keys()) {
      const [ns = "", name = ""] = key.split("/");
      const p = pods.get(ns, name);
      if (!p || p.spec?.nodeName !== node) ipam.release(key);
    }
  }

  return {
    nodeName,
    podIP: (ns, name) => {
      for (const ipam of ipams.values()) {
        const ip = ipam.get(`${ns}/${name}`);
        if (ip) return ip;
      }
      return undefined;
    },
    pids: (ns, name) => workers.get(`${ns}/${name}`)?.pids() ?? [],
    containerProcess: (ns, name, container) => {
      const w = workers.get(`${ns}/${name}`);
      const pid = w?.containerPid(container);
      const enter = w?.containerEnter(container);
      if (!pid) return undefined;
      return enter ? { pid, sandboxed: true, enter } : { pid, sandboxed: useSandbox };
    },
    podNetns: (ns, name) => {
      const w = workers.get(`${ns}/${name}`);
      const net = w && networks.get(w);
      return net?.built ? { path: net.path, enter: net.enter } : undefined;
    },
    dialPod: rootless
      ? (ip, port) => (cidrContains(podRange, ip) ? rootless.dial(ip, port) : undefined)
      : undefined,
    dialPodUdp: rootless
      ? (ip, port) => (cidrContains(podRange, ip) ? rootless.dialUdp(ip, port) : undefined)
      : undefined,
    containerStdin: (ns, name, container) =>
      workers.get(`${ns}/${name}`)?.containerStdin(container),
    podDir,
    ociSupport,
    podNetwork:
      podnets && !rootless
        ? { tag: podnets.tag, nodes: nodeCidrs.map((cidr) => ({ cidr, gateway: gatewayOf(cidr) })) }
        : undefined,
    collectMetrics: () => metrics.collect(),
    async stop(stopOptions = {}) {
      stopped = true;
      stopping.abort();
      metrics.stop();
      removeHandlers();
      for (const a of agents) a.stop();
      const cap = options.shutdownGraceMs ?? 30_000;
      const silent = stopOptions.silent === true;
      // Every pod gets at most `cap`, pods already terminating too (their grace is cut to it).
      // A pod being deleted is not silenced: its terminal status and final delete still go out
      // (bounded below), so that a scaled-down pod does not come back as Terminating.
      await Promise.all(
        [...workers.values()].map((w) =>
          w.terminate({ maxGraceMs: cap, silent: silent && !w.deleting }),
        ),
      );
      // The containers are down. What is left is API calls (final deletes, events); they get a
      // bounded time, so that an API server that no longer answers cannot hold the stop.
      await settleWithin(Promise.all([...finishing]), STOP_API_BUDGET_MS, () =>
        warn(
          `${finishing.size} pod deletions were not finished at stop; the next start finishes them`,
        ),
      );
      await puller?.close().catch(onError);
      await Promise.all([...networks.keys()].map(dropNetwork));
      await policy.stop().catch(onError);
      stopMirror();
      await reach?.stop();
      await podnets?.stop().catch(onError);
      oci?.removeCgroups();
      journal.flush();
      await settleWithin(recorder.flush(), STOP_API_BUDGET_MS, () =>
        warn("events not sent at stop were dropped"),
      );
    },
  };
}

/** How long the agent's stop waits for its last API calls once every container is down. */
const STOP_API_BUDGET_MS = 5_000;

/** Resolves after `ms`, or at once when `signal` is aborted. */
function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Waits for `work` (its failure ignored: it reports its own), at most `ms`; `late` if cut off. */
async function settleWithin(work: Promise<unknown>, ms: number, late: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const cut = await Promise.race([
    work.then(
      () => false,
      () => false,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), ms);
    }),
  ]);
  clearTimeout(timer);
  if (cut) late();
}

/** Opens the pod networks when the mode asks for them and they can be used; else says why. */
async function openNetworks(
  options: KubeletOptions,
  sandbox: boolean,
  o: { podCidr: string; dataDir: string; warn(m: string): void; onError(e: unknown): void },
): Promise<PodNetworks | undefined> {
  const mode = options.podNetwork ?? "auto";
  if (mode === "host") return undefined;
  if (process.platform === "linux" && process.getuid?.() !== 0) {
    const why = rootlessUnsupported();
    if (why) {
      if (mode === "netns") o.warn(`${why}: pods share the host's network namespace`);
      return undefined;
    }
    try {
      return await openRootlessPodNetworks({
        podCidr: o.podCidr,
        onError: o.onError,
        ...(options.serviceConnection ? { deliver: options.serviceConnection } : {}),
      });
    } catch (e) {
      const m = e instanceof Error ? e.message : String(e);
      o.warn(
        `rootless pod networks cannot be used (${m}): pods share the host's network namespace`,
      );
      return undefined;
    }
  }
  const why = sandbox
    ? podNetworkUnsupported()
    : "pod network namespaces need the pod sandbox (root and util-linux)";
  if (why) {
    if (mode === "netns") o.warn(`${why}: pods share the host's network namespace`);
    return undefined;
  }
  try {
    return await openPodNetworks({
      podCidr: o.podCidr,
      dataDir: o.dataDir,
      registry: { dir: options.podNetworkRegistry ?? DEFAULT_OWNER_DIR },
      onError: o.onError,
      warn: o.warn,
      helpers: options.podNetworkHelpers ?? true,
    });
  } catch (e) {
    const m = e instanceof Error ? e.message : String(e);
    o.warn(`pod network namespaces cannot be used (${m}): pods share the host's network namespace`);
    return undefined;
  }
}

/**
 * Rootless pod networks: the node namespace listens on every ClusterIP:port (and kube-dns's), so
 * that pods reach Services; connections go to the same address on the host (the userspace
 * proxy's listeners), kube-dns's to the DNS server. NodePorts are listened on at every address
 * of the node namespace (pods reach the node at their gateway) and go to the host's NodePort
 * listeners on the node IP. Returns the function that stops following.
 */
function mirrorServices(
  podnets: RootlessPodNetworks,
  services: { list(): (Service & KubeObject)[]; addHandlers(h: object): () => void },
  o: { dnsIP: string; dns: { host: string; port: number }; nodeIP: string },
): () => void {
  let queued = false;
  const sync = () => {
    queued = false;
    const wanted: NodeListener[] = [];
    for (const svc of services.list()) {
      const ip = svc.spec?.clusterIP;
      if (!ip || ip === "None" || !ip.startsWith("127.")) continue;
      for (const p of svc.spec?.ports ?? []) {
        const proto = p.protocol === "UDP" ? "UDP" : p.protocol === "SCTP" ? undefined : "TCP";
        if (!proto) continue;
        const dns = ip === o.dnsIP && p.port === 53;
        const target = dns ? o.dns : { host: ip, port: p.port };
        wanted.push({ ip, port: p.port, proto, target, ...(dns ? {} : { proxied: true }) });
        if (p.nodePort) {
          const target = { host: o.nodeIP, port: p.nodePort };
          wanted.push({ ip: "0.0.0.0", port: p.nodePort, proto, target, proxied: true });
        }
      }
    }
    podnets.listen(wanted);
  };
  const later = () => {
    if (queued) return;
    queued = true;
    setImmediate(sync);
  };
  sync();
  return services.addHandlers({ onAdd: later, onUpdate: later, onDelete: later });
}
