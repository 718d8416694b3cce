/**
 * Where the node agent plugs into the cluster: the one function the composition root calls to
 * run pods on this machine. It starts `src/kubelet/` over the cluster's client and shared
 * informers (it resolves once the Node is registered and its informers synced) and registers the
 * `pods/log`, `pods/exec`, `pods/attach` and `pods/portforward` subresources on the API server
 * (the last three are upgraded connections; a request without `Upgrade` gets kube's 400 "Upgrade
 * request required"), and has it serve `metrics.k8s.io` from the agent's measurements (kubectl
 * top). Containers without `workingDir` start in this process's working directory: the host is
 * the image (`examples/quickstart` relies on it).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import type { AddressPlan } from "../api/addressplan.ts";
import type { ApiVerbs } from "../api/verbs.ts";
import type { InformerFactory } from "../client/factory.ts";
import {
  createAttachHandler,
  createExecHandler,
  createLogHandler,
  createPortForwardHandler,
  describeSupport,
  type ImageEnsurer,
  type ImageSource,
  type Kubelet,
  logRotation,
  startKubelet,
} from "../kubelet/index.ts";
import { ClusterError } from "./errors.ts";
import type { LogLevel, RuntimeKind } from "./options.ts";

export interface NodeAgentContext {
  client: ApiVerbs;
  informers: InformerFactory;
  nodeName: string;
  /** How many (simulated) nodes the agent registers and serves; see ClusterOptions.nodes. */
  nodes: number;
  /** Pods per node (kubelet's --max-pods); undefined: the kubelet's default. */
  maxPods?: number | undefined;
  /** The kubelet's log rotation (see ClusterOptions); undefined: its defaults. */
  containerLogMaxSize?: string | number | undefined;
  containerLogMaxFiles?: number | undefined;
  runtime: RuntimeKind;
  /** Where the `oci` runtime's images come from (see ClusterOptions.images). */
  images?: ImageSource;
  /** The image store the pull step of `oci` pods uses (absent with `images`). */
  imageStore?: ImageEnsurer;
  /** Where pods' networks live (see ClusterOptions.podNetwork); undefined: `auto`. */
  podNetwork?: "netns" | "host" | "auto";
  /** The DNS server's host address (rootless pod networks relay kube-dns queries to it). */
  dns?: { host: string; port: number };
  /** Hands a pod's ClusterIP connection to the service proxy (rootless pod networks). */
  serviceConnection?: (ip: string, port: number, client: Socket) => boolean;
  /** The cluster's data dir; the agent keeps pod IPs, logs and volumes under it. */
  dataDir: string;
  /** The cluster's address plan: pod range, node IP, kube-dns IP and cluster domain. */
  plan: AddressPlan;
  /** Registers a streaming subresource such as `pods/log` on the API server. */
  handleSubresource(
    key: string,
    handler: (
      req: IncomingMessage,
      res: ServerResponse,
      target: { namespace: string; name: string; query: URLSearchParams },
    ) => void | Promise<void>,
  ): void;
  /** Has the API server serve `metrics.k8s.io` from these figures (undefined: stop). */
  serveMetrics?(provider: { collect: Kubelet["collectMetrics"] } | undefined): void;
  /** Registers the handler of an upgraded (WebSocket) subresource such as `pods/exec`. */
  handleUpgrade?(
    key: string,
    handler: (
      req: IncomingMessage,
      socket: Duplex,
      head: Buffer,
      target: { namespace: string; name: string; query: URLSearchParams },
    ) => void | Promise<void>,
  ): void;
  log: (level: LogLevel, message: string) => void;
}

const upgradeRequired = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(400, { "content-type": "application/json" });
  res.end(
    JSON.stringify({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "Upgrade request required",
      reason: "BadRequest",
      code: 400,
    }),
  );
};

export interface NodeAgent {
  /** True once the node is registered and the agent is syncing pods. */
  ready(): boolean;
  /** What the `oci` runtime found at start (for `/readyz?verbose`). */
  oci: string;
  /** The pod networks' tag and nodes, when pods have network namespaces (see Kubelet). */
  podNetwork: Kubelet["podNetwork"];
  /** How the host reaches pod IPs it cannot connect to directly (see Kubelet). */
  dialPod: Kubelet["dialPod"];
  dialPodUdp: Kubelet["dialPodUdp"];
  /** Stops every pod gracefully (SIGTERM, grace period, SIGKILL), then the agent; the cluster
   *  goes down with it, so no status or event is written per pod. */
  stop(): Promise<void>;
}

export async function startNodeAgent(ctx: NodeAgentContext): Promise<NodeAgent | undefined> {
  const dataDir = join(ctx.dataDir, "kubelet");
  const rotation = {
    ...(ctx.containerLogMaxSize !== undefined
      ? { containerLogMaxSize: ctx.containerLogMaxSize }
      : {}),
    ...(ctx.containerLogMaxFiles !== undefined
      ? { containerLogMaxFiles: ctx.containerLogMaxFiles }
      : {}),
  };
  try {
    logRotation(rotation); // checked here, so that a bad value is the user's error to fix
  } catch (e) {
    throw new ClusterError(e instanceof Error ? e.message : String(e));
  }
  const kubelet = await startKubelet({
    client: ctx.client,
    informers: ctx.informers,
    nodeName: ctx.nodeName,
    nodes: ctx.nodes,
    ...(ctx.maxPods !== undefined ? { maxPods: ctx.maxPods } : {}),
    ...rotation,
    dataDir,
    podCidr: ctx.plan.podCidr,
    nodeIP: ctx.plan.nodeIP,
    runtime: ctx.runtime,
    ...(ctx.podNetwork ? { podNetwork: ctx.podNetwork } : {}),
    ...(ctx.dns ? { dnsUpstream: ctx.dns } : {}),
    ...(ctx.serviceConnection ? { serviceConnection: ctx.serviceConnection } : {}),
    ...(ctx.images ? { images: ctx.images } : {}),
    ...(ctx.imageStore ? { imagePulls: { store: ctx.imageStore, runtimes: ["oci"] } } : {}),
    clusterDns: ctx.plan.dnsServiceIP,
    clusterDomain: ctx.plan.clusterDomain,
    workingDir: process.cwd(),
    onError: (err) =>
      ctx.log("debug", `kubelet: ${err instanceof Error ? err.message : String(err)}`),
    onWarning: (message) => ctx.log("warn", `kubelet: ${message}`),
    onInfo: (message) => ctx.log("info", `kubelet: ${message}`),
  });
  ctx.handleSubresource("pods/log", createLogHandler({ client: ctx.client, dataDir }));
  const locate = (ns: string, name: string, container: string) =>
    kubelet.containerProcess(ns, name, container);
  const onError = (err: unknown) =>
    ctx.log("debug", `exec: ${err instanceof Error ? err.message : String(err)}`);
  for (const key of ["pods/exec", "pods/attach", "pods/portforward"]) {
    ctx.handleSubresource(key, upgradeRequired);
  }
  ctx.handleUpgrade?.("pods/exec", createExecHandler({ client: ctx.client, locate, onError }));
  ctx.handleUpgrade?.(
    "pods/attach",
    createAttachHandler({
      client: ctx.client,
      locate,
      dataDir,
      stdinOf: (ns, name, container) => kubelet.containerStdin(ns, name, container),
    }),
  );
  ctx.handleUpgrade?.(
    "pods/portforward",
    createPortForwardHandler({
      client: ctx.client,
      onError,
      podNetns: (ns, name) => kubelet.podNetns(ns, name),
    }),
  );
  ctx.serveMetrics?.({ collect: () => kubelet.collectMetrics() });
  return {
    ready: () => true,
    oci: describeSupport(kubelet.ociSupport),
    podNetwork: kubelet.podNetwork,
    dialPod: kubelet.dialPod,
    dialPodUdp: kubelet.dialPodUdp,
    stop: () => {
      ctx.serveMetrics?.(undefined);
      // The agent stops with the whole cluster: no status write or event per pod.
      return kubelet.stop({ silent: true });
    },
  };
}
