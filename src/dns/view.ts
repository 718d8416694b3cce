/**
 * DnsView: the records the answerer reads, built from plain Kubernetes objects (Services,
 * EndpointSlices, Pods, Namespaces) as informers deliver them. Every lookup the answerer makes
 * is a map hit: services by namespace/name, endpoints by service and by hostname, services and
 * endpoints by IP (for PTR), pods by namespace+IP (for `pods verified`).
 *
 * Endpoints of a service are the union of all its EndpointSlices (label
 * `kubernetes.io/service-name`); an endpoint is published when `conditions.ready` is true or
 * unset (the EndpointSlice controller already folds `publishNotReadyAddresses` into `ready`).
 * FQDN slices are ignored, as CoreDNS does.
 *
 * Memory is what limits the view at scale (10,000 Services, 150,000 pods), so it keeps no copy it
 * can derive: an index entry with one value (almost all of them) holds it inline instead of in a
 * Set, a pod is one string (its `ns ip` key) and a reference count, and an endpoint's dashed
 * hostname is computed when asked, not stored.
 *
 * Every change notifies listeners with the cache tags it affects (`svc:<ns>/<name>`,
 * `ns:<ns>`, `pod:<ns>`, `ptr`, or `*` for everything), so an answer cache can drop exactly
 * what became stale before the next query is answered.
 *
 * @module
 */
import type { Namespace, Pod, Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import { canonicalIP } from "./wire/ip.ts";

export type ServiceKind = "ClusterIP" | "Headless" | "ExternalName";

export interface PortEntry {
  /** Port name, "" when unnamed. */
  name: string;
  /** Protocol as Kubernetes spells it (TCP/UDP/SCTP), "" when unset. */
  protocol: string;
  /** -1 marks a slice without ports: addresses still resolve, no SRV is made. */
  port: number;
}

export interface ServiceEntry {
  namespace: string;
  name: string;
  kind: ServiceKind;
  /** Canonical text of each ClusterIP (empty for headless and ExternalName). */
  clusterIPs: string[];
  externalName: string;
  ports: PortEntry[];
}

export interface EndpointAddress {
  readonly ip: string;
  readonly family: 4 | 6;
  /** Endpoint hostname, else the dashed IP (CoreDNS's rule), lower-case. */
  readonly hostname: string;
}

/** An endpoint address whose dashed-IP hostname is derived on read, not kept. */
class Endpoint implements EndpointAddress {
  constructor(
    readonly ip: string,
    readonly family: 4 | 6,
    /** The endpoint's own hostname (lower-case), or undefined for the dashed IP. */
    private readonly host: string | undefined,
  ) {}

  get hostname(): string {
    return this.host ?? dashedIP(this.ip);
  }
}

/** One slice's ready addresses × its ports (the Cartesian product is the endpoint set). */
export interface EndpointSubset {
  addresses: EndpointAddress[];
  ports: PortEntry[];
}

interface SliceEntry {
  namespace: string;
  service: string;
  subset: EndpointSubset;
}

export type ChangeListener = (tags: readonly string[]) => void;

export interface DnsViewOptions {
  /** Clock in milliseconds, for the SOA serial (CoreDNS: time of the last change). */
  now?: () => number;
}

const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

/** `10.1.2.3` → `10-1-2-3`; IPv6 `:` → `-`, a leading or trailing `-` padded with `0`. */
export function dashedIP(ip: string): string {
  if (ip.includes(".")) return ip.replaceAll(".", "-");
  let s = ip.replaceAll(":", "-");
  if (s.endsWith("-")) s += "0";
  if (s.startsWith("-")) s = `0${s}`;
  return s;
}

export class DnsView {
  private readonly services = new Map<string, ServiceEntry>();
  private readonly slices = new Map<string, SliceEntry>();
  /** ns/svc → slice keys. */
  private readonly slicesByService: Index = new Map();
  /** ns/svc → the subsets of its slices in slice-name order, rebuilt when one of them changes. */
  private readonly merged = new Map<string, EndpointSubset[]>();
  private readonly namespaces = new Set<string>();
  /** ip → ns/svc keys whose ClusterIPs include it. */
  private readonly serviceIPs: Index = new Map();
  /** ip → slice keys that publish it. */
  private readonly endpointIPs: Index = new Map();
  /** pod key → its `ns ip` key(s); `ns ip` → how many pods have it. */
  private readonly pods = new Map<string, string | string[]>();
  private readonly podIPs = new Map<string, number>();
  private readonly listeners = new Set<ChangeListener>();
  private readonly now: () => number;
  private syncedFlag = false;
  private serialValue: number;

  constructor(options: DnsViewOptions = {}) {
    this.now = options.now ?? Date.now;
    this.serialValue = Math.floor(this.now() / 1000) >>> 0;
  }

  get synced(): boolean {
    return this.syncedFlag;
  }

  /** SOA serial: Unix seconds of the last change, strictly increasing across changes. */
  get serial(): number {
    return this.serialValue;
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setSynced(synced: boolean): void {
    if (this.syncedFlag === synced) return;
    this.syncedFlag = synced;
    this.changed(["*"]);
  }

  // ---- reads -------------------------------------------------------------------------------

  hasNamespace(ns: string): boolean {
    return this.namespaces.has(ns);
  }

  service(ns: string, name: string): ServiceEntry | undefined {
    return this.services.get(`${ns}/${name}`);
  }

  subsets(ns: string, name: string): readonly EndpointSubset[] {
    return this.merged.get(`${ns}/${name}`) ?? [];
  }

  /** A scan of the service's endpoints: answers are cached, so an index would only cost memory. */
  endpointsByHostname(ns: string, name: string, hostname: string): readonly EndpointAddress[] {
    const out: EndpointAddress[] = [];
    for (const sub of this.subsets(ns, name)) {
      for (const a of sub.addresses) if (a.hostname === hostname) out.push(a);
    }
    return out;
  }

  /** Services whose ClusterIPs include `ip` (canonical text), in insertion order. */
  servicesByIP(ip: string): ServiceEntry[] {
    const out: ServiceEntry[] = [];
    for (const k of values(this.serviceIPs, ip)) {
      const s = this.services.get(k);
      if (s) out.push(s);
    }
    return out;
  }

  /** Ready endpoints publishing `ip`: the owning service and the endpoint hostname. */
  endpointsByIP(ip: string): Array<{ namespace: string; service: string; hostname: string }> {
    const out: Array<{ namespace: string; service: string; hostname: string }> = [];
    for (const k of values(this.endpointIPs, ip)) {
      const sl = this.slices.get(k);
      if (!sl) continue;
      for (const a of sl.subset.addresses) {
        if (a.ip === ip)
          out.push({ namespace: sl.namespace, service: sl.service, hostname: a.hostname });
      }
    }
    return out;
  }

  podExists(ns: string, ip: string): boolean {
    return (this.podIPs.get(`${ns} ${ip}`) ?? 0) > 0;
  }

  // ---- writes ------------------------------------------------------------------------------

  upsertNamespace(ns: Namespace): void {
    const name = ns.metadata?.name;
    if (!name) return;
    if (this.namespaces.has(name)) return;
    this.namespaces.add(name);
    this.changed([`ns:${name}`]);
  }

  deleteNamespace(ns: Namespace): void {
    const name = ns.metadata?.name;
    if (!name || !this.namespaces.delete(name)) return;
    this.changed([`ns:${name}`]);
  }

  upsertService(svc: Service): void {
    const ns = svc.metadata?.namespace ?? "default";
    const name = svc.metadata?.name;
    if (!name) return;
    const key = flat(`${ns}/${name}`);
    const old = this.services.get(key);
    if (old) this.unindexServiceIPs(key, old);
    const entry = toServiceEntry(ns, name, svc);
    this.services.set(key, entry);
    for (const ip of entry.clusterIPs) addTo(this.serviceIPs, ip, key);
    this.changed([`svc:${key}`, "ptr"]);
  }

  deleteService(svc: Service): void {
    const key = `${svc.metadata?.namespace ?? "default"}/${svc.metadata?.name ?? ""}`;
    const old = this.services.get(key);
    if (!old) return;
    this.unindexServiceIPs(key, old);
    this.services.delete(key);
    this.changed([`svc:${key}`, "ptr"]);
  }

  upsertEndpointSlice(slice: EndpointSlice): void {
    const ns = slice.metadata?.namespace ?? "default";
    const name = slice.metadata?.name;
    if (!name) return;
    const key = flat(`${ns}/${name}`);
    const tags = ["ptr"];
    const old = this.removeSlice(key);
    if (old) tags.push(`svc:${ns}/${old.service}`);
    const service = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (service && slice.addressType !== "FQDN") {
      const entry: SliceEntry = { namespace: ns, service, subset: toSubset(slice) };
      this.slices.set(key, entry);
      addTo(this.slicesByService, `${ns}/${service}`, key);
      for (const a of entry.subset.addresses) addTo(this.endpointIPs, a.ip, key);
      this.remerge(`${ns}/${service}`);
      tags.push(`svc:${ns}/${service}`);
    }
    this.changed(tags);
  }

  deleteEndpointSlice(slice: EndpointSlice): void {
    const ns = slice.metadata?.namespace ?? "default";
    const old = this.removeSlice(`${ns}/${slice.metadata?.name ?? ""}`);
    if (old) this.changed([`svc:${ns}/${old.service}`, "ptr"]);
  }

  upsertPod(pod: Pod): void {
    const ns = pod.metadata?.namespace ?? "default";
    const name = pod.metadata?.name;
    if (!name) return;
    const key = flat(`${ns}/${name}`);
    this.removePod(key);
    const ips = new Set<string>();
    for (const p of pod.status?.podIPs ?? []) if (p.ip) ips.add(p.ip);
    if (pod.status?.podIP) ips.add(pod.status.podIP);
    const ipKeys: string[] = [];
    for (const ip of ips) {
      const c = canonicalIP(ip);
      if (!c) continue;
      const k = flat(`${ns} ${c.text}`);
      if (ipKeys.includes(k)) continue;
      ipKeys.push(k);
      this.podIPs.set(k, (this.podIPs.get(k) ?? 0) + 1);
    }
    this.pods.set(key, ipKeys.length === 1 ? ipKeys[0]! : ipKeys);
    this.changed([`pod:${ns}`]);
  }

  deletePod(pod: Pod): void {
    const ns = pod.metadata?.namespace ?? "default";
    if (this.removePod(`${ns}/${pod.metadata?.name ?? ""}`)) this.changed([`pod:${ns}`]);
  }

  // ---- internals ---------------------------------------------------------------------------

  private changed(tags: readonly string[]): void {
    const s = Math.floor(this.now() / 1000) >>> 0;
    this.serialValue = s > this.serialValue ? s : (this.serialValue + 1) >>> 0;
    for (const l of this.listeners) l(tags);
  }

  private unindexServiceIPs(key: string, entry: ServiceEntry): void {
    for (const ip of entry.clusterIPs) removeFrom(this.serviceIPs, ip, key);
  }

  private removeSlice(key: string): SliceEntry | undefined {
    const old = this.slices.get(key);
    if (!old) return undefined;
    this.slices.delete(key);
    const svcKey = `${old.namespace}/${old.service}`;
    removeFrom(this.slicesByService, svcKey, key);
    for (const a of old.subset.addresses) removeFrom(this.endpointIPs, a.ip, key);
    this.remerge(svcKey);
    return old;
  }

  private remerge(svcKey: string): void {
    if (!this.slicesByService.has(svcKey)) {
      this.merged.delete(svcKey);
      return;
    }
    const subsets: EndpointSubset[] = [];
    // Slice order by name keeps answers stable whatever order the informer delivered them in.
    for (const k of [...values(this.slicesByService, svcKey)].sort()) {
      const sl = this.slices.get(k);
      if (sl) subsets.push(sl.subset);
    }
    this.merged.set(svcKey, subsets);
  }

  private removePod(key: string): boolean {
    const old = this.pods.get(key);
    if (old === undefined) return false;
    this.pods.delete(key);
    for (const k of typeof old === "string" ? [old] : old) {
      const n = (this.podIPs.get(k) ?? 1) - 1;
      if (n > 0) this.podIPs.set(k, n);
      else this.podIPs.delete(k);
    }
    return true;
  }
}

/**
 * A string built by concatenation is a rope in V8 (a node per `+`, holding its parts); reading a
 * character flattens it, and the collector then drops the rope, so a long-lived map key costs
 * its characters only (about half the memory per pod at 150,000 pods).
 */
function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}

/** key → its values: one held inline (the common case, no Set), more in a Set. */
type Index = Map<string, string | Set<string>>;

function values(map: Index, key: string): Iterable<string> {
  const v = map.get(key);
  return v === undefined ? [] : typeof v === "string" ? [v] : v;
}

function addTo(map: Index, key: string, value: string): void {
  const v = map.get(key);
  if (v === undefined) map.set(key, value);
  else if (typeof v !== "string") v.add(value);
  else if (v !== value) map.set(key, new Set([v, value]));
}

function removeFrom(map: Index, key: string, value: string): void {
  const v = map.get(key);
  if (v === undefined) return;
  if (typeof v === "string") {
    if (v === value) map.delete(key);
    return;
  }
  v.delete(value);
  if (v.size === 1) map.set(key, v.values().next().value as string);
  else if (v.size === 0) map.delete(key);
}

function toServiceEntry(ns: string, name: string, svc: Service): ServiceEntry {
  const spec = svc.spec ?? {};
  const ports: PortEntry[] = (spec.ports ?? []).map((p) => ({
    name: p.name ?? "",
    protocol: p.protocol ?? "TCP",
    port: p.port,
  }));
  if (spec.type === "ExternalName") {
    return {
      namespace: ns,
      name,
      kind: "ExternalName",
      clusterIPs: [],
      externalName: spec.externalName ?? "",
      ports,
    };
  }
  const raw =
    spec.clusterIPs && spec.clusterIPs.length > 0
      ? spec.clusterIPs
      : spec.clusterIP
        ? [spec.clusterIP]
        : [];
  if (raw[0] === "None") {
    return { namespace: ns, name, kind: "Headless", clusterIPs: [], externalName: "", ports };
  }
  const clusterIPs: string[] = [];
  for (const ip of raw) {
    const c = canonicalIP(ip);
    if (c && !clusterIPs.includes(c.text)) clusterIPs.push(c.text);
  }
  return { namespace: ns, name, kind: "ClusterIP", clusterIPs, externalName: "", ports };
}

function toSubset(slice: EndpointSlice): EndpointSubset {
  const ports: PortEntry[] = (slice.ports ?? []).map((p) => ({
    name: p.name ?? "",
    protocol: p.protocol ?? "",
    port: p.port ?? -1,
  }));
  if (ports.length === 0) ports.push({ name: "", protocol: "", port: -1 });
  const addresses: EndpointAddress[] = [];
  for (const ep of slice.endpoints ?? []) {
    if (ep.conditions?.ready === false) continue;
    for (const raw of ep.addresses ?? []) {
      const c = canonicalIP(raw);
      if (!c) continue;
      addresses.push(
        new Endpoint(c.text, c.family, ep.hostname ? ep.hostname.toLowerCase() : undefined),
      );
    }
  }
  return { addresses, ports };
}
