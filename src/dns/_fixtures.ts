/**
 * Test fixtures shared by the answerer, handler and server tests: a view shaped like CoreDNS's
 * handler_test fixtures (ClusterIP, empty, IPv6, dual-stack, headless with and without
 * hostnames, port-less headless, ExternalName, StatefulSet-like), plus helpers to build
 * queries and print records as zone-file lines for sorted comparison.
 *
 * @module
 */
import type { Service } from "kubernetes-types/core/v1.js";
import type { Endpoint, EndpointPort, EndpointSlice } from "kubernetes-types/discovery/v1.js";
import { DnsView } from "./view.ts";
import { RRClass } from "./wire/constants.ts";
import { emptyHeader, type Message, type ResourceRecord } from "./wire/message.ts";

export const NOW = 1_700_000_000_000;

const http: EndpointPort[] = [{ name: "http", port: 80, protocol: "TCP" }];

function svc(name: string, spec: NonNullable<Service["spec"]>): Service {
  return { metadata: { name, namespace: "testns" }, spec };
}

export function slice(
  service: string,
  name: string,
  endpoints: Endpoint[],
  options: { ports?: EndpointPort[]; addressType?: string; namespace?: string } = {},
): EndpointSlice {
  return {
    metadata: {
      name,
      namespace: options.namespace ?? "testns",
      labels: { "kubernetes.io/service-name": service },
    },
    addressType: options.addressType ?? "IPv4",
    ports: options.ports ?? http,
    endpoints,
  };
}

export function ep(ip: string, extra: Partial<Endpoint> = {}): Endpoint {
  return { addresses: [ip], ...extra };
}

export function fixtureView(options: { synced?: boolean } = {}): DnsView {
  const view = new DnsView({ now: () => NOW });
  view.upsertNamespace({ metadata: { name: "testns" } });
  const httpPort = [{ name: "http", port: 80, protocol: "TCP" as const }];
  view.upsertService(
    svc("svc1", { clusterIP: "127.96.0.1", clusterIPs: ["127.96.0.1"], ports: httpPort }),
  );
  view.upsertService(svc("svcempty", { clusterIP: "127.96.0.2", ports: httpPort }));
  view.upsertService(
    svc("svc6", { clusterIP: "1234:abcd::1", clusterIPs: ["1234:abcd::1"], ports: httpPort }),
  );
  view.upsertService(
    svc("svc-dual-stack", {
      clusterIP: "127.96.0.3",
      clusterIPs: ["127.96.0.3", "10::3"],
      ports: httpPort,
    }),
  );
  view.upsertService(
    svc("svc-unnamed", { clusterIP: "127.96.0.4", ports: [{ port: 80, protocol: "TCP" }] }),
  );
  view.upsertService(
    svc("multi", {
      clusterIP: "127.96.0.5",
      ports: [
        { name: "http", port: 80, protocol: "TCP" },
        { name: "https", port: 443, protocol: "TCP" },
        { port: 9090, protocol: "TCP" },
      ],
    }),
  );
  view.upsertService(svc("hdls1", { clusterIP: "None", ports: httpPort }));
  view.upsertEndpointSlice(
    slice("hdls1", "hdls1-v4", [
      ep("127.244.0.2"),
      ep("127.244.0.3"),
      ep("127.244.0.4", { hostname: "dup-name" }),
      ep("127.244.0.5", { hostname: "dup-name" }),
    ]),
  );
  view.upsertEndpointSlice(
    slice("hdls1", "hdls1-v6", [ep("5678:abcd::1"), ep("5678:abcd::2")], { addressType: "IPv6" }),
  );
  view.upsertService(svc("hdlsprtls", { clusterIP: "None" }));
  view.upsertEndpointSlice(slice("hdlsprtls", "hdlsprtls-x", [ep("127.244.0.20")], { ports: [] }));
  view.upsertService(svc("hdls-empty", { clusterIP: "None", ports: httpPort }));
  view.upsertEndpointSlice(
    slice("hdls-empty", "hdls-empty-x", [ep("127.244.0.30", { conditions: { ready: false } })]),
  );
  view.upsertService(svc("hdls-notready", { clusterIP: "None", ports: httpPort }));
  view.upsertEndpointSlice(
    slice("hdls-notready", "hdls-notready-x", [
      ep("127.244.1.1"),
      ep("127.244.1.2", { conditions: { ready: false, serving: true } }),
      ep("127.244.1.3", { conditions: { ready: true, serving: true, terminating: false } }),
    ]),
  );
  view.upsertService(svc("web", { clusterIP: "None", ports: httpPort }));
  view.upsertEndpointSlice(
    slice("web", "web-a", [
      ep("127.244.2.1", { hostname: "web-0" }),
      ep("127.244.2.2", { hostname: "web-1" }),
    ]),
  );
  view.upsertService(svc("external", { type: "ExternalName", externalName: "ext.interwebs.test" }));
  view.upsertService(
    svc("external-to-service", {
      type: "ExternalName",
      externalName: "svc1.testns.svc.cluster.local",
    }),
  );
  view.upsertPod({
    metadata: { name: "p1", namespace: "testns" },
    status: { podIP: "127.244.0.50", podIPs: [{ ip: "127.244.0.50" }] },
  });
  if (options.synced ?? true) view.setSynced(true);
  return view;
}

export function query(
  name: string,
  type: number,
  options: Partial<Message> & { klass?: number } = {},
): Message {
  const header = { ...emptyHeader(0x1234), rd: true, ...options.header };
  const m: Message = {
    header,
    questions: options.questions ?? [{ name, type, class: options.klass ?? RRClass.IN }],
    answers: [],
    authorities: [],
    additionals: [],
  };
  if (options.edns) m.edns = options.edns;
  return m;
}

const TYPE_NAMES: Record<number, string> = {
  1: "A",
  2: "NS",
  5: "CNAME",
  6: "SOA",
  12: "PTR",
  16: "TXT",
  28: "AAAA",
  33: "SRV",
};

/** `owner ttl IN TYPE data`, names with a trailing dot, as dig prints them. */
export function rrText(rr: ResourceRecord): string {
  const fq = (n: string) => `${n}.`;
  const head = `${fq(rr.name)} ${rr.ttl} IN ${TYPE_NAMES[rr.type] ?? rr.type}`;
  switch (rr.type) {
    case 1:
    case 28:
      return `${head} ${rr.address}`;
    case 2:
    case 5:
    case 12:
      return `${head} ${fq(rr.target)}`;
    case 33:
      return `${head} ${rr.priority} ${rr.weight} ${rr.port} ${fq(rr.target)}`;
    case 16:
      return `${head} ${rr.texts.map((t) => JSON.stringify(t)).join(" ")}`;
    case 6:
      return `${head} ${fq(rr.mname)} ${fq(rr.rname)} ${rr.serial} ${rr.refresh} ${rr.retry} ${rr.expire} ${rr.minimum}`;
    default:
      return `${head} \\# ${rr.rdata.length}`;
  }
}

export function sortedText(rrs: readonly ResourceRecord[]): string[] {
  return rrs.map(rrText).sort();
}
