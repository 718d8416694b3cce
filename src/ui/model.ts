/**
 * The picture of one Service, built from cached objects: the DNS names the cluster DNS answers
 * for it (as the Kubernetes DNS specification defines them and `src/dns` answers them), its
 * endpoints with their conditions, and the pods behind it with their owners.
 *
 * Pure: objects in, a `ServiceView` out; the caller hands it the Service's EndpointSlices, the
 * pods its selector matches and a way to look owners up (the informers' caches).
 *
 * DNS, per the specification: a ClusterIP Service's name answers its virtual IP; a headless
 * one's answers every ready endpoint address (all of them with `publishNotReadyAddresses`), and
 * each such endpoint gets a name of its own, its hostname (StatefulSet pods: `web-0`) or its
 * dashed IP; a named port gets an SRV record, per endpoint for headless Services;
 * ExternalName Services answer a CNAME.
 *
 * @module
 */
import type { Pod, Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import type { DnsRecordView, EndpointView, PodView, PortView, ServiceView } from "./protocol.ts";

export interface OwnerRef {
  kind: string;
  name: string;
}

export interface ModelInputs {
  clusterDomain: string;
  slices: readonly EndpointSlice[];
  pods: readonly Pod[];
  /** The controller owner of `kind/namespace/name`, when known (ReplicaSet → Deployment). */
  ownerOf: (kind: string, namespace: string, name: string) => OwnerRef | undefined;
}

export function dashed(ip: string): string {
  return ip.includes(".") ? ip.replaceAll(".", "-") : ip.replaceAll(":", "-");
}

export function serviceView(svc: Service, inputs: ModelInputs): ServiceView {
  const namespace = svc.metadata?.namespace ?? "default";
  const name = svc.metadata?.name ?? "";
  const spec = svc.spec ?? {};
  const type = spec.type ?? "ClusterIP";
  const clusterIP = spec.clusterIP ?? "";
  const headless = clusterIP === "None";
  const ports: PortView[] = (spec.ports ?? []).map((p) => ({
    name: p.name ?? "",
    port: p.port,
    protocol: p.protocol ?? "TCP",
    ...(p.targetPort === undefined ? {} : { targetPort: p.targetPort }),
    ...(p.nodePort === undefined ? {} : { nodePort: p.nodePort }),
  }));
  const endpoints = endpointsOf(inputs.slices);
  const fqdn = `${name}.${namespace}.svc.${inputs.clusterDomain}`;
  const published = endpoints.filter(
    (e) => e.ready || (spec.publishNotReadyAddresses === true && !e.terminating),
  );
  const dns: DnsRecordView[] = [];
  const family = (ip: string) => (ip.includes(":") ? "AAAA" : "A");
  if (type === "ExternalName") {
    dns.push({ name: fqdn, type: "CNAME", data: [spec.externalName ?? ""] });
  } else if (!headless) {
    if (clusterIP) dns.push({ name: fqdn, type: family(clusterIP), data: [clusterIP] });
    for (const p of ports.filter((p) => p.name)) {
      dns.push({
        name: `_${p.name}._${p.protocol.toLowerCase()}.${fqdn}`,
        type: "SRV",
        data: [`0 100 ${p.port} ${fqdn}.`],
      });
    }
  } else {
    dns.push({ name: fqdn, type: "A", data: published.map((e) => e.ip) });
    for (const e of endpoints) {
      const host = `${e.hostname ?? dashed(e.ip)}.${fqdn}`;
      dns.push({ name: host, type: family(e.ip), data: [e.ip], ip: e.ip });
    }
    for (const p of ports.filter((p) => p.name)) {
      dns.push({
        name: `_${p.name}._${p.protocol.toLowerCase()}.${fqdn}`,
        type: "SRV",
        data: published.map(
          (e) =>
            `0 ${srvWeight(published.length)} ${targetPortOf(p, e, inputs.slices)} ${e.hostname ?? dashed(e.ip)}.${fqdn}.`,
        ),
      });
    }
  }
  const pods = inputs.pods.map((p) => podView(p, inputs.ownerOf)).sort(byName);
  return {
    key: `${namespace}/${name}`,
    namespace,
    name,
    type,
    clusterIP,
    headless,
    ...(spec.externalName ? { externalName: spec.externalName } : {}),
    ...(spec.sessionAffinity ? { sessionAffinity: spec.sessionAffinity } : {}),
    ports,
    dns,
    endpoints,
    pods,
  };
}

/** CoreDNS splits 100 evenly over a headless Service's SRV targets. */
function srvWeight(n: number): number {
  return n === 0 ? 0 : Math.floor(100 / n);
}

/** The endpoint's port for a Service port: the slices' port of the same name. */
function targetPortOf(p: PortView, _e: EndpointView, slices: readonly EndpointSlice[]): number {
  for (const s of slices) {
    for (const sp of s.ports ?? []) if ((sp.name ?? "") === p.name && sp.port) return sp.port;
  }
  return p.port;
}

function endpointsOf(slices: readonly EndpointSlice[]): EndpointView[] {
  const out: EndpointView[] = [];
  const seen = new Set<string>();
  for (const s of slices) {
    for (const e of s.endpoints ?? []) {
      const ip = e.addresses?.[0];
      if (!ip || seen.has(ip)) continue;
      seen.add(ip);
      const c = e.conditions ?? {};
      const ready = c.ready !== false;
      out.push({
        ip,
        ...(e.targetRef?.kind === "Pod" && e.targetRef.name ? { pod: e.targetRef.name } : {}),
        ...(e.hostname ? { hostname: e.hostname } : {}),
        ...(e.nodeName ? { node: e.nodeName } : {}),
        ready,
        serving: c.serving ?? ready,
        terminating: c.terminating === true,
      });
    }
  }
  return out.sort((a, b) => (a.pod ?? a.ip).localeCompare(b.pod ?? b.ip));
}

function podView(pod: Pod, ownerOf: ModelInputs["ownerOf"]): PodView {
  const namespace = pod.metadata?.namespace ?? "default";
  const name = pod.metadata?.name ?? "";
  const owners: string[] = [];
  const ref =
    pod.metadata?.ownerReferences?.find((o) => o.controller) ?? pod.metadata?.ownerReferences?.[0];
  let ordinal: number | undefined;
  if (ref) {
    owners.push(`${ref.kind}/${ref.name}`);
    let next = ownerOf(ref.kind, namespace, ref.name);
    for (let depth = 0; next && depth < 4; depth++) {
      owners.push(`${next.kind}/${next.name}`);
      next = ownerOf(next.kind, namespace, next.name);
    }
    if (ref.kind === "StatefulSet") {
      const m = /-(\d+)$/.exec(name);
      if (m && name.slice(0, m.index) === ref.name) ordinal = Number(m[1]);
    }
  }
  const claims = (pod.spec?.volumes ?? []).flatMap((v) =>
    v.persistentVolumeClaim?.claimName ? [v.persistentVolumeClaim.claimName] : [],
  );
  const ready =
    pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
  return {
    name,
    ...(pod.status?.podIP ? { ip: pod.status.podIP } : {}),
    phase: pod.status?.phase ?? "Pending",
    ready,
    terminating: pod.metadata?.deletionTimestamp !== undefined,
    owners,
    ...(ordinal === undefined ? {} : { ordinal }),
    ...(claims.length > 0 ? { claims } : {}),
  };
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name.localeCompare(b.name);
}
