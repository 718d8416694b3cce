/**
 * Where the node agent plugs into the cluster: the one function the composition root calls to
 * run pods on this machine.
 *
 * LEAD: when `src/kubelet/` lands on main, replace the body of {@link startNodeAgent} with the
 * block below (it matches the kubelet branch's `startKubelet(options: KubeletOptions)`):
 *
 * ```ts
 * import { createLogHandler, startKubelet } from "../kubelet/index.ts";
 * …
 * const kubelet = await startKubelet({
 *   client: ctx.client,
 *   informers: ctx.informers,
 *   nodeName: ctx.nodeName,
 *   dataDir: join(ctx.dataDir, "kubelet"),
 *   podCidr: ctx.podCidr,
 *   runtime: ctx.runtime,
 *   clusterDns: { ip: ctx.clusterDns, domain: ctx.clusterDomain },
 *   onError: (err) => ctx.log("debug", `kubelet: ${err instanceof Error ? err.message : String(err)}`),
 * });
 * ctx.handleSubresource("pods/log", createLogHandler({ client: ctx.client, dataDir: join(ctx.dataDir, "kubelet") }));
 * return { ready: () => true, stop: () => kubelet.stop() };
 * ```
 *
 * Containers without `workingDir` must start in this process's working directory (the host is
 * the image; `examples/quickstart` relies on it): the kubelet branch uses `/`, so either give it
 * a `workingDir: process.cwd()` default option or change its `spec.workingDir || "/"` fallbacks.
 *
 * `startKubelet` resolves once the Node is registered and its informers synced, so `ready` is
 * simply true afterwards. Until then this returns `undefined`: the cluster runs without a node
 * agent, says so in its status and in `loopkube up`'s output, and pods stay Pending (nothing
 * fakes them).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ApiVerbs } from "../api/verbs.ts";
import type { InformerFactory } from "../client/factory.ts";
import type { LogLevel, RuntimeKind } from "./options.ts";

export interface NodeAgentContext {
  client: ApiVerbs;
  informers: InformerFactory;
  nodeName: string;
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

export async function startNodeAgent(_ctx: NodeAgentContext): Promise<NodeAgent | undefined> {
  return undefined;
}
