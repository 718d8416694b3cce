/**
 * The service proxy as the cluster runs it: fed by the shared informers, its Warning events
 * (`ListenFailed`, …) recorded as kube-proxy's, and its readiness telling the truth.
 *
 * Contract:
 * - `startClusterProxy` opens the listeners of the bootstrap Services (`kubernetes`, and
 *   `kube-dns` unless the DNS server listens on its address itself) before it resolves, and
 *   rejects with one sentence when one of them cannot be bound because something else holds
 *   the address (another cluster on the same service range, say): those addresses are the
 *   cluster's own, a cluster without them is broken.
 * - A listener that lacks privileges (a port below 1024 without root or CAP_NET_BIND_SERVICE)
 *   is no collision: the cluster runs without it, and a warning says which Services' ClusterIPs
 *   are not served.
 * - The proxy is ready when the informers have synced and no listener has failed for another
 *   reason than privileges; otherwise `/readyz` says which addresses failed and why.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import type { Socket } from "node:net";
import type { Service } from "kubernetes-types/core/v1.js";
import type { AddressPlan } from "../api/addressplan.ts";
import type { KubeObject } from "../api/types.ts";
import type { ApiVerbs } from "../api/verbs.ts";
import type { InformerFactory } from "../client/factory.ts";
import { createEventRecorder } from "../client/index.ts";
import {
  type EndpointDialer,
  ingressAddress,
  type KernelProxy,
  type ListenerStatus,
  startKernelProxy,
  type TrafficCounter,
  type UdpDialer,
} from "../proxy/index.ts";
import { startInformerProxy } from "../proxy/informers.ts";
import { ClusterError } from "./errors.ts";
import type { LogLevel } from "./options.ts";
import { whoHolds } from "./ports.ts";

export interface ClusterProxyContext {
  client: ApiVerbs;
  /** Writes load balancers' addresses in Services' status (kube's service controller's job);
   *  default `client`. */
  statusClient?: ApiVerbs;
  informers: InformerFactory;
  nodeName: string;
  plan: AddressPlan;
  /** The bootstrap Services as stored (see bootstrap.ts). */
  bootstrap: readonly KubeObject[];
  /** The DNS server itself listens on kube-dns's address:53: the proxy must not. */
  dnsOnClusterIP: boolean;
  /** How endpoints the host cannot reach directly (rootless pod networks) are dialled. */
  dial?: EndpointDialer;
  /** How UDP endpoints the host cannot reach directly (rootless pod networks) are dialled. */
  dialUdp?: UdpDialer;
  log: (level: LogLevel, message: string) => void;
}

export interface ClusterProxy {
  /** The proxy's readiness: informers synced and no listener failed but for privileges. */
  status(informersSynced: boolean): { name: string; ready: boolean; detail?: string };
  /** Connections sent to each endpoint over the last minute, per Service port. */
  traffic: TrafficCounter;
  /** Proxies a TCP connection accepted elsewhere for a ClusterIP:port (rootless pod networks). */
  accept(ip: string, port: number, client: Socket): boolean;
  stop(): Promise<void>;
}

export async function startClusterProxy(ctx: ClusterProxyContext): Promise<ClusterProxy> {
  const { plan, log } = ctx;
  const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));
  const recorder = createEventRecorder(ctx.client, {
    component: "kube-proxy",
    host: ctx.nodeName,
    onError: (err) => log("debug", `proxy events: ${describe(err)}`),
  });
  const isKubeDns = (svc: Service) =>
    svc.metadata?.namespace === "kube-system" && svc.metadata?.name === "kube-dns";
  const skip = (svc: Service) => ctx.dnsOnClusterIP && isKubeDns(svc);
  const proxy = startInformerProxy(ctx.statusClient ?? ctx.client, ctx.informers, {
    nodeName: ctx.nodeName,
    nodeIP: plan.nodeIP,
    loadBalancerCidr: plan.loadBalancerCidr,
    // The ingress controller's address (see ingress.ts) is never a Service's.
    reservedLoadBalancerIPs: [ingressAddress(plan.loadBalancerCidr) ?? ""].filter((ip) => ip),
    skip,
    ...(ctx.dial ? { dial: ctx.dial } : {}),
    ...(ctx.dialUdp ? { dialUdp: ctx.dialUdp } : {}),
    onEvent: (svc, type, reason, message) => {
      recorder.event(svc as unknown as KubeObject, type, reason, message);
      if (type === "Warning") log("debug", `proxy: ${reason}: ${message}`);
    },
    onError: (err) => log("debug", `proxy: ${describe(err)}`),
    log: (m) => log("debug", `proxy: ${m}`),
  });
  const stop = async () => {
    await proxy.stop();
    await recorder.flush();
  };

  try {
    for (const obj of ctx.bootstrap) {
      const svc = obj as unknown as Service;
      if (!skip(svc)) proxy.proxy.upsertService(svc);
    }
    await proxy.proxy.settled();
    const own = new Set(
      ctx.bootstrap.map((s) => `${s.metadata.namespace ?? ""}/${s.metadata.name ?? ""}`),
    );
    const failed = proxy.proxy
      .listeners()
      .filter((l) => l.state === "failed" && own.has(l.service) && l.frontend.kind === "ClusterIP");
    const collision = failed.find((l) => l.code !== "EACCES");
    if (collision) throw collisionError(collision, plan);
    if (failed.length > 0) {
      log(
        "warn",
        `the proxy cannot listen on ${failed.map(address).join(", ")} without privileges: those ClusterIPs are not served (run as root, or lower net.ipv4.ip_unprivileged_port_start)`,
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    status(informersSynced) {
      if (!informersSynced) return { name: "proxy", ready: false, detail: "informers not synced" };
      const listeners = proxy.proxy.listeners();
      const failed = listeners.filter((l) => l.state === "failed" && l.code !== "EACCES");
      if (failed.length === 0) {
        return { name: "proxy", ready: true, detail: `${listeners.length} listeners` };
      }
      const shown = failed.slice(0, 3).map((l) => `${l.service}: ${l.error ?? address(l)}`);
      const more = failed.length > 3 ? ` (and ${failed.length - 3} more)` : "";
      return { name: "proxy", ready: false, detail: `${shown.join("; ")}${more}` };
    },
    traffic: proxy.proxy.traffic,
    accept: (ip, port, client) => proxy.proxy.accept(ip, port, client),
    stop,
  };
}

function address(l: ListenerStatus): string {
  return `${l.frontend.ip}:${l.frontend.port}/${l.frontend.protocol}`;
}

function collisionError(l: ListenerStatus, plan: AddressPlan): ClusterError {
  const transport = l.frontend.protocol === "UDP" ? "udp" : "tcp";
  const holder = l.code === "EADDRINUSE" ? whoHolds(transport, l.frontend.ip, l.frontend.port) : "";
  const why =
    l.code === "EADDRINUSE"
      ? `is already in use${holder ? ` by ${holder}` : ""}`
      : `cannot be bound (${l.error ?? l.code})`;
  return new ClusterError(
    `the ${l.service} Service's address ${address(l)} ${why}; another cluster may be using the service range ${plan.serviceCidr}: stop it, or give this cluster another range with --service-cidr`,
  );
}

export interface KernelServicesContext {
  informers: InformerFactory;
  nodeName: string;
  plan: AddressPlan;
  /** The node agent's pod networks (tag, nodes); undefined when pods share the host's. */
  podNetwork: { tag: string; nodes: { cidr: string; gateway: string }[] } | undefined;
  dnsOnClusterIP: boolean;
  /** `--proxy-mode auto`: falling back to userspace is expected, not warned about. */
  auto?: boolean;
  log: (level: LogLevel, message: string) => void;
}

/**
 * `--proxy-mode nftables` (and `auto`): pods' connections to ClusterIPs DNATed in the kernel
 * (see src/proxy/nft.ts); undefined where that cannot work (the userspace proxy then serves pods
 * as it serves the host), with a warning for `nftables` and an info line for `auto`.
 */
export async function startKernelServices(
  ctx: KernelServicesContext,
): Promise<KernelProxy | undefined> {
  const why = !ctx.podNetwork
    ? "pods share the host's network namespace (pod network namespaces need root)"
    : spawnSync("nft", ["--version"]).status !== 0
      ? "nft (nftables) is not installed"
      : undefined;
  if (why || !ctx.podNetwork) {
    ctx.log(
      ctx.auto ? "info" : "warn",
      `proxy mode ${ctx.auto ? "auto" : "nftables"}: ${why}; the userspace proxy serves ClusterIPs`,
    );
    return undefined;
  }
  const { tag, nodes } = ctx.podNetwork;
  return startKernelProxy(ctx.informers, {
    table: `loopkube-${tag}-svc`,
    linkPrefix: `lk${tag}`,
    podCidr: ctx.plan.podCidr,
    nodes,
    nodeName: ctx.nodeName,
    nodeIP: ctx.plan.nodeIP,
    skip: (svc) =>
      ctx.dnsOnClusterIP &&
      svc.metadata?.namespace === "kube-system" &&
      svc.metadata?.name === "kube-dns",
    onError: (e) =>
      ctx.log("warn", `kernel services: ${e instanceof Error ? e.message : String(e)}`),
  });
}
