/**
 * NetworkPolicy enforcement: watches NetworkPolicies, Pods, Namespaces, Services and
 * EndpointSlices and keeps this cluster's nftables table `ip loopkube-<tag>` (netpol.ts builds
 * it) equal to what they say, replacing it whole in one nft transaction (sent to the
 * cluster's long-lived `nft -i`, shared with the kernel proxy: src/nft) after each burst of
 * changes (changes within one turn of the event loop, or while a run is going, are one
 * run). A pod a policy selects that has no network namespace of its own (hostNetwork, the
 * simulated runtime, pods sharing the host's namespace) gets one Warning event per policy:
 * its traffic cannot be policed.
 *
 * Only this table is ever written or deleted; `stop()` deletes it, and a crashed cluster's is
 * removed with its other pod network names at the next start (podnet.ts).
 *
 * @module
 */

import type { Namespace, Pod, Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import { REFS } from "../../api/refs.ts";
import type { KubeObject } from "../../api/types.ts";
import type { InformerFactory } from "../../client/factory.ts";
import type { EventRecorder } from "../../client/index.ts";
import { keepNftTable } from "../../nft/index.ts";
import {
  type NetworkPolicy,
  type PolicyInputs,
  type PolicyPod,
  type PolicyServicePort,
  rulesetOf,
  unpoliceable,
} from "./netpol.ts";

const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

export interface PolicyEnforcerOptions {
  /**
   * The table's name, `loopkube-<tag>`; undefined where no pod has a network namespace of its
   * own (or nft is missing): nothing is enforced, every selected pod is warned about.
   */
  table: string | undefined;
  /** Why pods without a namespace of their own have none (for the Warning event). */
  sharedReason: string;
  informers: InformerFactory;
  recorder: EventRecorder;
  /** The node's addresses (node IP, gateways): always reachable from pods. */
  nodeIPs: string[];
  dnsIP: string;
  /** The host end of a pod's veth and its IP, when the pod has its own network namespace now. */
  linkOf(pod: Pod): { link: string; ip: string } | undefined;
  onError(e: unknown): void;
}

export interface PolicyEnforcer {
  /** Something the rules depend on changed outside the informers (a pod's network is up). */
  changed(): void;
  /** Resolves once every change seen so far is in the kernel. */
  settled(): Promise<void>;
  /** Deletes the table. */
  stop(): Promise<void>;
}

const terminal = (p: Pod) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";

export async function startPolicyEnforcer(o: PolicyEnforcerOptions): Promise<PolicyEnforcer> {
  const policies = o.informers.get<NetworkPolicy & KubeObject>(REFS.networkpolicies);
  const namespaces = o.informers.get<Namespace & KubeObject>(REFS.namespaces);
  const pods = o.informers.get<Pod & KubeObject>(REFS.pods);
  const services = o.informers.get<Service & KubeObject>(REFS.services);
  const slices = o.informers.get<EndpointSlice & KubeObject>(REFS.endpointslices);
  const all = [policies, namespaces, pods, services, slices];
  await Promise.all(all.map((i) => i.waitForSync()));

  const servicePorts = (): PolicyServicePort[] => {
    const out: PolicyServicePort[] = [];
    for (const svc of services.list()) {
      const ip = svc.spec?.clusterIP;
      if (!ip || ip === "None") continue;
      const ns = svc.metadata?.namespace ?? "";
      const own = slices
        .list(ns)
        .filter((s) => s.metadata?.labels?.[SERVICE_NAME_LABEL] === svc.metadata?.name);
      for (const sp of svc.spec?.ports ?? []) {
        const protocol = sp.protocol ?? "TCP";
        const endpoints: { ip: string; port: number }[] = [];
        for (const s of own) {
          const port = s.ports?.find(
            (p) => (p.name ?? "") === (sp.name ?? "") && (p.protocol ?? "TCP") === protocol,
          )?.port;
          if (port === undefined || port === null) continue;
          for (const e of s.endpoints ?? []) {
            if (e.conditions?.ready === false) continue;
            for (const a of e.addresses ?? []) endpoints.push({ ip: a, port });
          }
        }
        out.push({ ip, port: sp.port, protocol, endpoints });
      }
    }
    return out;
  };

  const inputs = (): PolicyInputs => {
    const policyPods: PolicyPod[] = [];
    for (const p of pods.list()) {
      const own = o.linkOf(p);
      const ip = own?.ip ?? p.status?.podIP;
      if (terminal(p) || !ip) continue;
      policyPods.push({
        namespace: p.metadata?.namespace ?? "",
        name: p.metadata?.name ?? "",
        labels: p.metadata?.labels ?? {},
        ip,
        ports: (p.spec?.containers ?? []).flatMap((c) =>
          (c.ports ?? [])
            .filter((cp) => cp.name)
            .map((cp) => ({
              name: cp.name ?? "",
              port: cp.containerPort,
              protocol: cp.protocol ?? "TCP",
            })),
        ),
        ...(own ? { link: own.link } : {}),
      });
    }
    return {
      policies: policies.list(),
      pods: policyPods,
      namespaces: new Map(
        namespaces.list().map((n) => [n.metadata?.name ?? "", n.metadata?.labels ?? {}]),
      ),
      services: servicePorts(),
      nodeIPs: o.nodeIPs,
      dnsIP: o.dnsIP,
    };
  };

  /** `<pod uid>/<policy uid>` pairs already told of. */
  const warned = new Set<string>();
  const warn = (i: PolicyInputs) => {
    for (const { pod, policy } of unpoliceable(i)) {
      const obj = pods.get(pod.namespace, pod.name);
      const key = `${obj?.metadata?.uid}/${policy.metadata?.uid}`;
      if (!obj || warned.has(key)) continue;
      warned.add(key);
      const why = obj.spec?.hostNetwork
        ? "it uses the host's network (hostNetwork)"
        : o.sharedReason;
      o.recorder.event(
        obj,
        "Warning",
        "NetworkPolicyNotApplied",
        `NetworkPolicy ${policy.metadata?.name} selects this pod but cannot apply to it: ${why}`,
      );
    }
  };

  const table = keepNftTable({
    table: o.table ?? "",
    script: (written) => {
      const i = inputs();
      warn(i);
      // No table until a policy exists: a cluster without policies costs no nft run.
      if (!o.table || (!written && i.policies.length === 0)) return undefined;
      return rulesetOf(o.table, i, { linkPrefix: o.table.replace(/^loopkube-/, "lk") });
    },
    onError: o.onError,
  });
  const changed = () => table.changed();
  const removers = all.map((i) =>
    (i as typeof pods).addHandlers({
      onAdd: changed,
      onUpdate: changed,
      onDelete: changed,
    }),
  );
  changed();
  return {
    changed,
    settled: () => table.settled(),
    async stop() {
      for (const r of removers) r();
      await table.stop();
    },
  };
}
