/**
 * Where the node agent plugs into the cluster. This is the one function the composition root
 * calls to run pods on this machine.
 *
 * LEAD: when `src/kubelet/` lands, replace the body of {@link startNodeAgent} with
 * `startKubelet({ client, informers, nodeName, runtime, dataDir, clusterDns, ... })` and adapt
 * its handle to {@link NodeAgent}. Until then it returns `undefined`: the cluster runs without a
 * node agent, says so in its status, and pods stay Pending (nothing fakes them).
 *
 * @module
 */
import type { ApiVerbs } from "../api/verbs.ts";
import type { InformerFactory } from "../client/factory.ts";
import type { LogLevel, RuntimeKind } from "./options.ts";

export interface NodeAgentContext {
  client: ApiVerbs;
  informers: InformerFactory;
  nodeName: string;
  runtime: RuntimeKind;
  /** `<dataDir>/` — the agent keeps pod logs and volumes under it. */
  dataDir: string;
  /** The kube-dns Service IP, written into each pod's resolv.conf. */
  clusterDns: string;
  clusterDomain: string;
  podCidr: string;
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
