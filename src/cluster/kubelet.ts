/**
 * Where the node agent plugs into the cluster: the one function the composition root calls to
 * run pods on this machine. It starts `src/kubelet/` over the cluster's client and shared
 * informers (it resolves once the Node is registered and its informers synced) and registers the
 * `pods/log` subresource on the API server. Containers without `workingDir` start in this
 * process's working directory: the host is the image (`examples/quickstart` relies on it).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { ApiVerbs } from "../api/verbs.ts";
import type { InformerFactory } from "../client/factory.ts";
import { createLogHandler, startKubelet } from "../kubelet/index.ts";
import type { LogLevel, RuntimeKind } from "./options.ts";

export interface NodeAgentContext {
  client: ApiVerbs;
  informers: InformerFactory;
  nodeName: string;
  /** How many (simulated) nodes the agent registers and serves; see ClusterOptions.nodes. */
  nodes: number;
  runtime: RuntimeKind;
  /** The cluster's data dir; the agent keeps pod IPs, logs and volumes under it. */
  dataDir: string;
  /** The kube-dns Service IP, written into each pod's resolv.conf. */
  clusterDns: string;
  clusterDomain: string;
  podCidr: string;
  /** Registers a streaming subresource such as `pods/log` on the API server. */
  handleSubresource(
    key: string,
    handler: (
      req: IncomingMessage,
      res: ServerResponse,
      target: { namespace: string; name: string; query: URLSearchParams },
    ) => void | Promise<void>,
  ): void;
  log: (level: LogLevel, message: string) => void;
}

export interface NodeAgent {
  /** True once the node is registered and the agent is syncing pods. */
  ready(): boolean;
  /** Stops every pod gracefully (SIGTERM, grace period, SIGKILL), then the agent. */
  stop(): Promise<void>;
}

export async function startNodeAgent(ctx: NodeAgentContext): Promise<NodeAgent | undefined> {
  const dataDir = join(ctx.dataDir, "kubelet");
  const kubelet = await startKubelet({
    client: ctx.client,
    informers: ctx.informers,
    nodeName: ctx.nodeName,
    nodes: ctx.nodes,
    dataDir,
    podCidr: ctx.podCidr,
    runtime: ctx.runtime,
    clusterDns: { ip: ctx.clusterDns, domain: ctx.clusterDomain },
    workingDir: process.cwd(),
    onError: (err) =>
      ctx.log("debug", `kubelet: ${err instanceof Error ? err.message : String(err)}`),
  });
  ctx.handleSubresource("pods/log", createLogHandler({ client: ctx.client, dataDir }));
  return { ready: () => true, stop: () => kubelet.stop() };
}
