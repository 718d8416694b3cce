/**
 * Answerer options: the public knobs with their defaults (in one place), and the resolved form
 * with the reverse zones computed once per options object. Also which zone a name belongs to
 * and which cache tags an answer for it depends on.
 *
 * @module
 */
import { DEFAULT_PLAN } from "../api/addressplan.ts";
import type { ResourceRecord } from "./wire/message.ts";
import { lowerName } from "./wire/name.ts";
import { parseRequest, relativeTo, reverseZones } from "./zones.ts";

export type PodsMode = "disabled" | "insecure" | "verified";

/** Looks a name up outside the cluster (ExternalName targets); rejects on failure. */
export type ExternalResolver = (name: string, type: number) => Promise<ResourceRecord[]>;

export interface AnswerOptions {
  /** The cluster domain, e.g. "cluster.local": the zone answered from the view. */
  clusterDomain: string;
  /** TTL of every record, 0–3600; default 5. */
  ttl?: number;
  /** Default "insecure", as kubeadm's Corefile. */
  podsMode?: PodsMode;
  /** CIDRs whose reverse zones are answered here; default the address plan's service and pod
   *  CIDRs of a lone cluster. */
  reverseCIDRs?: string[];
  /** The DNS service's own IP (for `ns.dns.<zone>`); default the lone cluster's kube-dns IP. */
  dnsServiceIP?: string;
  /** UDP payload size advertised in our OPT; default 1232. */
  ednsUdpSize?: number;
  resolve?: ExternalResolver;
}

export const DEFAULT_REVERSE_CIDRS: readonly string[] = [
  DEFAULT_PLAN.serviceCidr,
  DEFAULT_PLAN.podCidr,
];
export const DEFAULT_DNS_SERVICE_IP = DEFAULT_PLAN.dnsServiceIP;
export const DEFAULT_TTL = 5;
export const DEFAULT_EDNS_UDP_SIZE = 1232;
export const SCHEMA_VERSION = "1.1.0";

/** Options with defaults filled in and zones precomputed; build once, reuse per query. */
export interface ResolvedOptions {
  zone: string;
  ttl: number;
  podsMode: PodsMode;
  reverse: string[];
  dnsServiceIP: string;
  ednsUdpSize: number;
  resolve: ExternalResolver | undefined;
}

const resolvedCache = new WeakMap<AnswerOptions, ResolvedOptions>();

export function resolveOptions(options: AnswerOptions): ResolvedOptions {
  const hit = resolvedCache.get(options);
  if (hit) return hit;
  const ttl = options.ttl ?? DEFAULT_TTL;
  if (!(Number.isInteger(ttl) && ttl >= 0 && ttl <= 3600))
    throw new RangeError("ttl must be 0–3600");
  const r: ResolvedOptions = {
    zone: lowerName(options.clusterDomain.replace(/\.$/, "")),
    ttl,
    podsMode: options.podsMode ?? "insecure",
    reverse: (options.reverseCIDRs ?? DEFAULT_REVERSE_CIDRS).flatMap(reverseZones),
    dnsServiceIP: options.dnsServiceIP ?? DEFAULT_DNS_SERVICE_IP,
    ednsUdpSize: options.ednsUdpSize ?? DEFAULT_EDNS_UDP_SIZE,
    resolve: options.resolve,
  };
  resolvedCache.set(options, r);
  return r;
}

/** The authoritative zone `name` (lower-case) falls in: the cluster zone or a reverse zone. */
export function zoneOf(name: string, o: ResolvedOptions): string | null {
  if (relativeTo(name, o.zone) !== null) return o.zone;
  let best: string | null = null;
  for (const z of o.reverse) {
    if (relativeTo(name, z) !== null && (best === null || z.length > best.length)) best = z;
  }
  return best;
}

export function isClusterName(name: string, options: AnswerOptions): boolean {
  return zoneOf(lowerName(name), resolveOptions(options)) !== null;
}

/**
 * Cache tags an answer for `name` depends on (see DnsView change tags); null for names that
 * are not answered from the view.
 */
export function cacheTags(name: string, options: AnswerOptions): string[] | null {
  const o = resolveOptions(options);
  const qn = lowerName(name);
  const zone = zoneOf(qn, o);
  if (zone === null) return null;
  if (zone !== o.zone) return ["ptr"];
  const r = parseRequest(relativeTo(qn, zone)!);
  if (!r || r.podOrSvc === "" || r.namespace === "") return ["static"];
  if (r.podOrSvc === "pod") return [`ns:${r.namespace}`, `pod:${r.namespace}`];
  if (r.service === "") return [`ns:${r.namespace}`];
  return [`ns:${r.namespace}`, `svc:${r.namespace}/${r.service}`];
}
