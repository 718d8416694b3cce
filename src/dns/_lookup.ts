/**
 * The candidate list for a name, as CoreDNS's `Services()` builds it: addresses with their port
 * and the DNS name they live at (for SRV targets), or an ExternalName target; `nx` when the name
 * does not exist. Everything above (A/AAAA/SRV/PTR assembly) is built from this one list, which
 * is what keeps NODATA and NXDOMAIN consistent across query types.
 *
 * @module
 */
import type { ResolvedOptions } from "./options.ts";
import type { DnsView, EndpointAddress, PortEntry } from "./view.ts";
import { canonicalIP } from "./wire/ip.ts";
import { parseRequest, type RecordRequest, relativeTo } from "./zones.ts";

/** One backend item: an address (with port) or an ExternalName target, and its DNS name. */
export interface Candidate {
  readonly host: string;
  readonly family: 0 | 4 | 6;
  readonly port: number;
  /** Name the item lives at: SRV target and additional owner (lower-case). */
  readonly domain: string;
}

/** An endpoint's candidate: its name is built only when asked (SRV, PTR), not for A answers. */
class EndpointCandidate implements Candidate {
  readonly host: string;
  readonly family: 4 | 6;
  constructor(
    private readonly address: EndpointAddress,
    readonly port: number,
    private readonly base: string,
  ) {
    this.host = address.ip;
    this.family = address.family;
  }

  get domain(): string {
    return `${this.address.hostname}.${this.base}`;
  }
}

export type Lookup = { items: Candidate[]; nx: boolean };
const NX: Lookup = { items: [], nx: true };
const EMPTY: Lookup = { items: [], nx: false };

function matchPort(r: RecordRequest, p: PortEntry): boolean {
  return (
    (r.port === "" || r.port === p.name.toLowerCase()) &&
    (r.protocol === "" || r.protocol === p.protocol.toLowerCase())
  );
}

/** `zone` as the name spells it (CoreDNS keeps the query's case for the zone part). */
export function zoneAsWritten(name: string, zone: string): string {
  return zone === "" ? "" : name.slice(name.length - zone.length);
}

export function records(
  view: DnsView,
  qn: string,
  zone: string,
  o: ResolvedOptions,
  zoneText = zone,
): Lookup {
  if (zone === o.zone && qn === `ns.dns.${zone}`) {
    const c = canonicalIP(o.dnsServiceIP);
    return c
      ? { items: [{ host: c.text, family: c.family, port: 0, domain: qn }], nx: false }
      : EMPTY;
  }
  const r = parseRequest(relativeTo(qn, zone)!);
  if (!r) return NX;
  if (r.podOrSvc === "") return EMPTY;
  if (!view.hasNamespace(r.namespace)) return NX;
  return r.podOrSvc === "pod" ? findPods(view, r, zoneText, o) : findServices(view, r, zoneText);
}

function findPods(view: DnsView, r: RecordRequest, zone: string, o: ResolvedOptions): Lookup {
  if (o.podsMode === "disabled") return NX;
  const podname = r.service;
  if (podname === "") return EMPTY;
  const dashes = podname.split("-").length - 1;
  const text =
    dashes === 3 && !podname.includes("--")
      ? podname.replaceAll("-", ".")
      : podname.replaceAll("-", ":");
  const ip = canonicalIP(text);
  if (!ip) return NX;
  if (o.podsMode === "verified" && !view.podExists(r.namespace, ip.text)) return NX;
  return {
    items: [
      {
        host: ip.text,
        family: ip.family,
        port: 0,
        domain: `${podname}.${r.namespace}.pod.${zone}`,
      },
    ],
    nx: false,
  };
}

function findServices(view: DnsView, r: RecordRequest, zone: string): Lookup {
  if (r.service === "") return EMPTY;
  const svc = view.service(r.namespace, r.service);
  if (!svc) return NX;
  const base = `${svc.name}.${svc.namespace}.svc.${zone}`;
  if (svc.kind === "ExternalName") {
    if (r.endpoint !== "" || svc.externalName === "" || canonicalIP(svc.externalName)) return NX;
    return {
      items: [{ host: svc.externalName.replace(/\.$/, ""), family: 0, port: 0, domain: base }],
      nx: false,
    };
  }
  if (svc.kind === "Headless" || r.endpoint !== "") {
    const items: Candidate[] = [];
    const add = (a: EndpointAddress, ports: readonly PortEntry[]) => {
      for (const p of ports) {
        if (!matchPort(r, p)) continue;
        items.push(new EndpointCandidate(a, p.port, base));
      }
    };
    for (const sub of view.subsets(r.namespace, r.service)) {
      for (const a of sub.addresses) {
        if (r.endpoint === "" || a.hostname === r.endpoint) add(a, sub.ports);
      }
    }
    return items.length > 0 ? { items, nx: false } : NX;
  }
  const items: Candidate[] = [];
  let matched = false;
  for (const p of svc.ports) {
    if (!matchPort(r, p)) continue;
    matched = true;
    for (const ip of svc.clusterIPs) {
      items.push({ host: ip, family: ip.includes(":") ? 6 : 4, port: p.port, domain: base });
    }
  }
  return matched ? { items, nx: false } : NX;
}
