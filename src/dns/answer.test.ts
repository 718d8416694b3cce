import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fixtureView, query, sortedText } from "./_fixtures.ts";
import { type AnswerOptions, answer } from "./answer.ts";
import type { DnsView } from "./view.ts";
import { Rcode, RRClass, RRType } from "./wire/constants.ts";
import type { Message } from "./wire/message.ts";

const Z = "cluster.local";
const T = RRType;

interface Case {
  name: string;
  qname: string;
  qtype: number;
  rcode: number;
  answer?: string[];
  /** Authority: "soa" for the cluster SOA, or explicit lines. */
  ns?: "soa" | "soa-rev96" | string[];
  extra?: string[];
  options?: Partial<AnswerOptions>;
}

const soa = (view: DnsView, zone = Z) =>
  `${zone}. 5 IN SOA ns.dns.${zone}. hostmaster.${zone}. ${view.serial} 7200 1800 86400 5`;

const cases: Case[] = [
  // ClusterIP services
  {
    name: "ClusterIP A",
    qname: "svc1.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 0,
    answer: ["svc1.testns.svc.cluster.local. 5 IN A 127.96.0.1"],
  },
  {
    name: "query case is kept in the owner name",
    qname: "SVC1.TestNS.svc.Cluster.Local",
    qtype: T.A,
    rcode: 0,
    answer: ["SVC1.TestNS.svc.Cluster.Local. 5 IN A 127.96.0.1"],
  },
  {
    name: "ClusterIP without endpoints still answers",
    qname: "svcempty.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 0,
    answer: ["svcempty.testns.svc.cluster.local. 5 IN A 127.96.0.2"],
  },
  {
    name: "ClusterIP bare SRV",
    qname: "svc1.testns.svc.cluster.local",
    qtype: T.SRV,
    rcode: 0,
    answer: ["svc1.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc1.testns.svc.cluster.local."],
    extra: ["svc1.testns.svc.cluster.local. 5 IN A 127.96.0.1"],
  },
  {
    name: "named port SRV",
    qname: "_http._tcp.svc1.testns.svc.cluster.local",
    qtype: T.SRV,
    rcode: 0,
    answer: [
      "_http._tcp.svc1.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc1.testns.svc.cluster.local.",
    ],
    extra: ["svc1.testns.svc.cluster.local. 5 IN A 127.96.0.1"],
  },
  {
    name: "negative answer keeps the zone as the query spells it",
    qname: "not-a-service.testns.svc.ClUsTeR.lOcAl",
    qtype: T.A,
    rcode: 3,
    ns: [
      "ClUsTeR.lOcAl. 5 IN SOA ns.dns.ClUsTeR.lOcAl. hostmaster.ClUsTeR.lOcAl. SERIAL 7200 1800 86400 5",
    ],
  },
  {
    name: "SRV target: Kubernetes names lower-case, zone as queried",
    qname: "_HtTp._TcP.sVc1.TeStNs.SvC.cLuStEr.LoCaL",
    qtype: T.SRV,
    rcode: 0,
    answer: [
      "_HtTp._TcP.sVc1.TeStNs.SvC.cLuStEr.LoCaL. 5 IN SRV 0 100 80 svc1.testns.svc.cLuStEr.LoCaL.",
    ],
    extra: ["svc1.testns.svc.cLuStEr.LoCaL. 5 IN A 127.96.0.1"],
  },
  {
    name: "apex SOA keeps the query's case",
    qname: "Cluster.local",
    qtype: T.SOA,
    rcode: 0,
    answer: [
      "Cluster.local. 5 IN SOA ns.dns.Cluster.local. hostmaster.Cluster.local. SERIAL 7200 1800 86400 5",
    ],
  },
  {
    name: "SRV target is lower-case whatever the query case",
    qname: "_HTTP._TCP.Svc1.testns.svc.cluster.local",
    qtype: T.SRV,
    rcode: 0,
    answer: [
      "_HTTP._TCP.Svc1.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc1.testns.svc.cluster.local.",
    ],
    extra: ["svc1.testns.svc.cluster.local. 5 IN A 127.96.0.1"],
  },
  {
    name: "SRV for a port the service lacks",
    qname: "_https._tcp.svc1.testns.svc.cluster.local",
    qtype: T.SRV,
    rcode: 3,
    ns: "soa",
  },
  {
    name: "SRV with the wrong protocol",
    qname: "_http._udp.svc1.testns.svc.cluster.local",
    qtype: T.SRV,
    rcode: 3,
    ns: "soa",
  },
  {
    name: "unnamed ports get no named SRV",
    qname: "_http._tcp.svc-unnamed.testns.svc.cluster.local",
    qtype: T.SRV,
    rcode: 3,
    ns: "soa",
  },
  {
    name: "bare SRV lists every port, weight 100/n",
    qname: "multi.testns.svc.cluster.local",
    qtype: T.SRV,
    rcode: 0,
    answer: [
      "multi.testns.svc.cluster.local. 5 IN SRV 0 33 80 multi.testns.svc.cluster.local.",
      "multi.testns.svc.cluster.local. 5 IN SRV 0 33 443 multi.testns.svc.cluster.local.",
      "multi.testns.svc.cluster.local. 5 IN SRV 0 33 9090 multi.testns.svc.cluster.local.",
    ],
    extra: ["multi.testns.svc.cluster.local. 5 IN A 127.96.0.5"],
  },
  {
    name: "AAAA of an IPv4 service is NODATA",
    qname: "svc1.testns.svc.cluster.local",
    qtype: T.AAAA,
    rcode: 0,
    ns: "soa",
  },
  {
    name: "IPv6 service AAAA",
    qname: "svc6.testns.svc.cluster.local",
    qtype: T.AAAA,
    rcode: 0,
    answer: ["svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::1"],
  },
  {
    name: "IPv6 service SRV carries AAAA",
    qname: "_http._tcp.svc6.testns.svc.cluster.local",
    qtype: T.SRV,
    rcode: 0,
    answer: [
      "_http._tcp.svc6.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc6.testns.svc.cluster.local.",
    ],
    extra: ["svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::1"],
  },
  {
    name: "dual-stack A",
    qname: "svc-dual-stack.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 0,
    answer: ["svc-dual-stack.testns.svc.cluster.local. 5 IN A 127.96.0.3"],
  },
  {
    name: "dual-stack AAAA",
    qname: "svc-dual-stack.testns.svc.cluster.local",
    qtype: T.AAAA,
    rcode: 0,
    answer: ["svc-dual-stack.testns.svc.cluster.local. 5 IN AAAA 10::3"],
  },
  {
    name: "dual-stack SRV weight counts both families",
    qname: "svc-dual-stack.testns.svc.cluster.local",
    qtype: T.SRV,
    rcode: 0,
    answer: [
      "svc-dual-stack.testns.svc.cluster.local. 5 IN SRV 0 50 80 svc-dual-stack.testns.svc.cluster.local.",
    ],
    extra: [
      "svc-dual-stack.testns.svc.cluster.local. 5 IN A 127.96.0.3",
      "svc-dual-stack.testns.svc.cluster.local. 5 IN AAAA 10::3",
    ],
  },
  // Headless services
  {
    name: "headless A: one record per ready IPv4 endpoint",
    qname: "hdls1.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 0,
    answer: [
      "hdls1.testns.svc.cluster.local. 5 IN A 127.244.0.2",
      "hdls1.testns.svc.cluster.local. 5 IN A 127.244.0.3",
      "hdls1.testns.svc.cluster.local. 5 IN A 127.244.0.4",
      "hdls1.testns.svc.cluster.local. 5 IN A 127.244.0.5",
    ],
  },
  {
    name: "headless AAAA",
    qname: "hdls1.testns.svc.cluster.local",
    qtype: T.AAAA,
    rcode: 0,
    answer: [
      "hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1",
      "hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2",
    ],
  },
  {
    name: "headless SRV: endpoint × port, dashed names, weight from all candidates",
    qname: "_http._tcp.hdls1.testns.svc.cluster.local",
    qtype: T.SRV,
    rcode: 0,
    answer: [
      "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 127-244-0-2.hdls1.testns.svc.cluster.local.",
      "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 127-244-0-3.hdls1.testns.svc.cluster.local.",
      "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 5678-abcd--1.hdls1.testns.svc.cluster.local.",
      "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 5678-abcd--2.hdls1.testns.svc.cluster.local.",
      "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 dup-name.hdls1.testns.svc.cluster.local.",
    ],
    extra: [
      "127-244-0-2.hdls1.testns.svc.cluster.local. 5 IN A 127.244.0.2",
      "127-244-0-3.hdls1.testns.svc.cluster.local. 5 IN A 127.244.0.3",
      "5678-abcd--1.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1",
      "5678-abcd--2.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2",
      "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 127.244.0.4",
      "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 127.244.0.5",
    ],
  },
  {
    name: "endpoint by dashed IP",
    qname: "127-244-0-2.hdls1.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 0,
    answer: ["127-244-0-2.hdls1.testns.svc.cluster.local. 5 IN A 127.244.0.2"],
  },
  {
    name: "endpoint by dashed IPv6",
    qname: "5678-abcd--2.hdls1.testns.svc.cluster.local",
    qtype: T.AAAA,
    rcode: 0,
    answer: ["5678-abcd--2.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2"],
  },
  {
    name: "endpoints sharing a hostname",
    qname: "dup-name.hdls1.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 0,
    answer: [
      "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 127.244.0.4",
      "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 127.244.0.5",
    ],
  },
  {
    name: "unknown endpoint",
    qname: "bogusendpoint.hdls1.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 3,
    ns: "soa",
  },
  {
    name: "endpoint of a missing service",
    qname: "bogusendpoint.svc0.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 3,
    ns: "soa",
  },
  {
    name: "StatefulSet pod name",
    qname: "web-0.web.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 0,
    answer: ["web-0.web.testns.svc.cluster.local. 5 IN A 127.244.2.1"],
  },
  {
    name: "StatefulSet SRV targets the hostnames",
    qname: "_http._tcp.web.testns.svc.cluster.local",
    qtype: T.SRV,
    rcode: 0,
    answer: [
      "_http._tcp.web.testns.svc.cluster.local. 5 IN SRV 0 50 80 web-0.web.testns.svc.cluster.local.",
      "_http._tcp.web.testns.svc.cluster.local. 5 IN SRV 0 50 80 web-1.web.testns.svc.cluster.local.",
    ],
    extra: [
      "web-0.web.testns.svc.cluster.local. 5 IN A 127.244.2.1",
      "web-1.web.testns.svc.cluster.local. 5 IN A 127.244.2.2",
    ],
  },
  {
    name: "port-less headless A",
    qname: "hdlsprtls.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 0,
    answer: ["hdlsprtls.testns.svc.cluster.local. 5 IN A 127.244.0.20"],
  },
  {
    name: "port-less headless endpoint",
    qname: "127-244-0-20.hdlsprtls.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 0,
    answer: ["127-244-0-20.hdlsprtls.testns.svc.cluster.local. 5 IN A 127.244.0.20"],
  },
  {
    name: "port-less headless SRV is NODATA",
    qname: "hdlsprtls.testns.svc.cluster.local",
    qtype: T.SRV,
    rcode: 0,
    ns: "soa",
  },
  {
    name: "headless without ready endpoints is NXDOMAIN",
    qname: "hdls-empty.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 3,
    ns: "soa",
  },
  {
    name: "ready unset counts as ready, ready false does not",
    qname: "hdls-notready.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 0,
    answer: [
      "hdls-notready.testns.svc.cluster.local. 5 IN A 127.244.1.1",
      "hdls-notready.testns.svc.cluster.local. 5 IN A 127.244.1.3",
    ],
  },
  // ExternalName
  {
    name: "ExternalName CNAME",
    qname: "external.testns.svc.cluster.local",
    qtype: T.CNAME,
    rcode: 0,
    answer: ["external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test."],
  },
  {
    name: "ExternalName A without a resolver gives the CNAME",
    qname: "external.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 0,
    answer: ["external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test."],
  },
  {
    name: "ExternalName A follows the target through the resolver",
    qname: "external.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 0,
    answer: [
      "external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test.",
      "ext.interwebs.test. 60 IN A 1.2.3.4",
    ],
    options: {
      resolve: async (name, type) => {
        assert.equal(name, "ext.interwebs.test");
        assert.equal(type, 1);
        return [{ name, type: 1, class: 1, ttl: 60, address: "1.2.3.4" }];
      },
    },
  },
  {
    name: "ExternalName A with a failing resolver is NODATA",
    qname: "external.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 0,
    ns: "soa",
    options: { resolve: async () => Promise.reject(new Error("down")) },
  },
  {
    name: "ExternalName to a cluster service is followed in-cluster",
    qname: "external-to-service.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 0,
    answer: [
      "external-to-service.testns.svc.cluster.local. 5 IN CNAME svc1.testns.svc.cluster.local.",
      "svc1.testns.svc.cluster.local. 5 IN A 127.96.0.1",
    ],
  },
  {
    name: "below an ExternalName is NXDOMAIN",
    qname: "endpoint.external.testns.svc.cluster.local",
    qtype: T.CNAME,
    rcode: 3,
    ns: "soa",
  },
  {
    name: "ExternalName SRV is NODATA",
    qname: "external.testns.svc.cluster.local",
    qtype: T.SRV,
    rcode: 0,
    ns: "soa",
  },
  {
    name: "CNAME of a ClusterIP service is NODATA",
    qname: "svc1.testns.svc.cluster.local",
    qtype: T.CNAME,
    rcode: 0,
    ns: "soa",
  },
  // Negative answers and name shapes
  {
    name: "missing service",
    qname: "svc0.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 3,
    ns: "soa",
  },
  {
    name: "missing service AAAA",
    qname: "svc0.testns.svc.cluster.local",
    qtype: T.AAAA,
    rcode: 3,
    ns: "soa",
  },
  {
    name: "missing namespace",
    qname: "svc1.nsnoexist.svc.cluster.local",
    qtype: T.A,
    rcode: 3,
    ns: "soa",
  },
  {
    name: "existing namespace is NODATA",
    qname: "testns.svc.cluster.local",
    qtype: T.A,
    rcode: 0,
    ns: "soa",
  },
  {
    name: "missing namespace is NXDOMAIN",
    qname: "nsnoexist.svc.cluster.local",
    qtype: T.A,
    rcode: 3,
    ns: "soa",
  },
  { name: "svc.<zone> is NODATA", qname: "svc.cluster.local", qtype: T.A, rcode: 0, ns: "soa" },
  { name: "pod.<zone> is NODATA", qname: "pod.cluster.local", qtype: T.A, rcode: 0, ns: "soa" },
  { name: "apex A is NODATA", qname: "cluster.local", qtype: T.A, rcode: 0, ns: "soa" },
  {
    name: "other label instead of svc/pod",
    qname: "foo.cluster.local",
    qtype: T.A,
    rcode: 3,
    ns: "soa",
  },
  {
    name: "too many labels",
    qname: "a.b.c.svc1.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 3,
    ns: "soa",
  },
  {
    name: "wildcards are ordinary labels",
    qname: "*.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 3,
    ns: "soa",
  },
  {
    name: "unhandled type on an existing name is NODATA",
    qname: "svc1.testns.svc.cluster.local",
    qtype: T.HINFO,
    rcode: 0,
    ns: "soa",
  },
  {
    name: "unhandled type on a missing name is NXDOMAIN",
    qname: "svc0.testns.svc.cluster.local",
    qtype: T.HINFO,
    rcode: 3,
    ns: "soa",
  },
  {
    name: "MX of a service is NODATA",
    qname: "svc1.testns.svc.cluster.local",
    qtype: T.MX,
    rcode: 0,
    ns: "soa",
  },
  // Apex and schema
  {
    name: "dns-version TXT",
    qname: "dns-version.cluster.local",
    qtype: T.TXT,
    rcode: 0,
    answer: ['dns-version.cluster.local. 28800 IN TXT "1.1.0"'],
  },
  {
    name: "dns-version A is NXDOMAIN",
    qname: "dns-version.cluster.local",
    qtype: T.A,
    rcode: 3,
    ns: "soa",
  },
  {
    name: "TXT of a service is NODATA",
    qname: "svc1.testns.svc.cluster.local",
    qtype: T.TXT,
    rcode: 0,
    ns: "soa",
  },
  { name: "apex SOA", qname: "cluster.local", qtype: T.SOA, rcode: 0, answer: ["soa"] },
  {
    name: "SOA below the apex is NODATA",
    qname: "svc1.testns.svc.cluster.local",
    qtype: T.SOA,
    rcode: 0,
    ns: "soa",
  },
  {
    name: "apex NS with the server address",
    qname: "cluster.local",
    qtype: T.NS,
    rcode: 0,
    answer: ["cluster.local. 5 IN NS ns.dns.cluster.local."],
    extra: ["ns.dns.cluster.local. 5 IN A 127.96.0.10"],
  },
  {
    name: "NS below the apex, existing",
    qname: "svc.cluster.local",
    qtype: T.NS,
    rcode: 0,
    ns: "soa",
  },
  {
    name: "NS below the apex, missing",
    qname: "foo.svc.cluster.local",
    qtype: T.NS,
    rcode: 3,
    ns: "soa",
  },
  {
    name: "ns.dns.<zone> A",
    qname: "ns.dns.cluster.local",
    qtype: T.A,
    rcode: 0,
    answer: ["ns.dns.cluster.local. 5 IN A 127.96.0.10"],
  },
  {
    name: "DNS service IP is an option",
    qname: "ns.dns.cluster.local",
    qtype: T.A,
    rcode: 0,
    answer: ["ns.dns.cluster.local. 5 IN A 127.96.0.53"],
    options: { dnsServiceIP: "127.96.0.53" },
  },
  {
    name: "TTL is an option",
    qname: "svc1.testns.svc.cluster.local",
    qtype: T.A,
    rcode: 0,
    answer: ["svc1.testns.svc.cluster.local. 30 IN A 127.96.0.1"],
    options: { ttl: 30 },
  },
  // Reverse
  {
    name: "PTR of a ClusterIP",
    qname: "1.0.96.127.in-addr.arpa",
    qtype: T.PTR,
    rcode: 0,
    answer: ["1.0.96.127.in-addr.arpa. 5 IN PTR svc1.testns.svc.cluster.local."],
  },
  {
    name: "PTR of a headless endpoint",
    qname: "2.0.244.127.in-addr.arpa",
    qtype: T.PTR,
    rcode: 0,
    answer: ["2.0.244.127.in-addr.arpa. 5 IN PTR 127-244-0-2.hdls1.testns.svc.cluster.local."],
  },
  {
    name: "PTR of a named endpoint",
    qname: "1.2.244.127.in-addr.arpa",
    qtype: T.PTR,
    rcode: 0,
    answer: ["1.2.244.127.in-addr.arpa. 5 IN PTR web-0.web.testns.svc.cluster.local."],
  },
  {
    name: "PTR of an unknown address",
    qname: "9.9.96.127.in-addr.arpa",
    qtype: T.PTR,
    rcode: 3,
    ns: "soa-rev96",
  },
  {
    name: "PTR of an unready endpoint",
    qname: "2.1.244.127.in-addr.arpa",
    qtype: T.PTR,
    rcode: 3,
    ns: [
      "244.127.in-addr.arpa. 5 IN SOA ns.dns.244.127.in-addr.arpa. hostmaster.244.127.in-addr.arpa. SERIAL 7200 1800 86400 5",
    ],
  },
  {
    name: "partial reverse name",
    qname: "0.96.127.in-addr.arpa",
    qtype: T.PTR,
    rcode: 3,
    ns: "soa-rev96",
  },
  {
    name: "reverse apex SOA",
    qname: "96.127.in-addr.arpa",
    qtype: T.SOA,
    rcode: 0,
    answer: ["soa-rev96"],
  },
  {
    name: "PTR in the forward zone is NODATA",
    qname: "svc1.testns.svc.cluster.local",
    qtype: T.PTR,
    rcode: 0,
    ns: "soa",
  },
  // Pods
  {
    name: "pod A, insecure",
    qname: "127-244-9-9.testns.pod.cluster.local",
    qtype: T.A,
    rcode: 0,
    answer: ["127-244-9-9.testns.pod.cluster.local. 5 IN A 127.244.9.9"],
  },
  {
    name: "pod AAAA of an IPv4 pod name",
    qname: "127-244-9-9.testns.pod.cluster.local",
    qtype: T.AAAA,
    rcode: 0,
    ns: "soa",
  },
  {
    name: "pod IPv6 name",
    qname: "fd00--1.testns.pod.cluster.local",
    qtype: T.AAAA,
    rcode: 0,
    answer: ["fd00--1.testns.pod.cluster.local. 5 IN AAAA fd00::1"],
  },
  {
    name: "pod in a missing namespace",
    qname: "127-244-9-9.nsnoexist.pod.cluster.local",
    qtype: T.A,
    rcode: 3,
    ns: "soa",
  },
  {
    name: "pod name that is not an IP",
    qname: "not-an-ip.testns.pod.cluster.local",
    qtype: T.A,
    rcode: 3,
    ns: "soa",
  },
  {
    name: "pods disabled",
    qname: "127-244-9-9.testns.pod.cluster.local",
    qtype: T.A,
    rcode: 3,
    ns: "soa",
    options: { podsMode: "disabled" },
  },
  {
    name: "pods verified, pod exists",
    qname: "127-244-0-50.testns.pod.cluster.local",
    qtype: T.A,
    rcode: 0,
    answer: ["127-244-0-50.testns.pod.cluster.local. 5 IN A 127.244.0.50"],
    options: { podsMode: "verified" },
  },
  {
    name: "pods verified, no such pod",
    qname: "127-244-9-9.testns.pod.cluster.local",
    qtype: T.A,
    rcode: 3,
    ns: "soa",
    options: { podsMode: "verified" },
  },
  // Protocol-level refusals
  { name: "zone transfer AXFR", qname: "cluster.local", qtype: T.AXFR, rcode: Rcode.REFUSED },
  { name: "zone transfer IXFR", qname: "cluster.local", qtype: T.IXFR, rcode: Rcode.REFUSED },
];

async function run(
  view: DnsView,
  q: Message,
  options: Partial<AnswerOptions> = {},
): Promise<Message> {
  return await answer(q, view, { clusterDomain: Z, ...options });
}

describe("answer", () => {
  const view = fixtureView();
  for (const c of cases) {
    it(`answers ${c.name} (${c.qname} type ${c.qtype})`, async () => {
      const r = await run(view, query(c.qname, c.qtype), c.options);
      assert.equal(r.header.rcode, c.rcode, "rcode");
      assert.equal(r.header.qr, true);
      assert.equal(r.header.id, 0x1234);
      assert.equal(r.header.rd, true);
      assert.equal(r.header.ra, false, "RA clear, as CoreDNS's kubernetes plugin");
      if (c.rcode === Rcode.NOERROR || c.rcode === Rcode.NXDOMAIN)
        assert.equal(r.header.aa, true, "AA");
      const expand = (lines: string[]) =>
        lines
          .map((l) =>
            l === "soa" ? soa(view) : l === "soa-rev96" ? soa(view, "96.127.in-addr.arpa") : l,
          )
          .map((l) => l.replace("SERIAL", String(view.serial)))
          .sort();
      assert.deepEqual(sortedText(r.answers), expand(c.answer ?? []), "answer");
      const ns = c.ns === undefined ? [] : typeof c.ns === "string" ? [c.ns] : c.ns;
      assert.deepEqual(sortedText(r.authorities), expand(ns), "authority");
      assert.deepEqual(sortedText(r.additionals), expand(c.extra ?? []), "additional");
      assert.deepEqual(r.questions, [{ name: c.qname, type: c.qtype, class: RRClass.IN }]);
    });
  }

  it("answers PTR in an IPv6 reverse zone when its CIDR is configured", async () => {
    const v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa";
    const r = await run(view, query(v6, T.PTR), {
      reverseCIDRs: ["127.96.0.0/16", "1234:abcd::/32"],
    });
    assert.deepEqual(sortedText(r.answers), [`${v6}. 5 IN PTR svc6.testns.svc.cluster.local.`]);
  });

  it("answers CNAME before its target in the ExternalName chain", async () => {
    const r = await run(view, query("external-to-service.testns.svc.cluster.local", T.A));
    assert.deepEqual(
      r.answers.map((rr) => rr.type),
      [T.CNAME, T.A],
    );
  });

  it("answers REFUSED for a class other than IN, as CoreDNS does", async () => {
    const r = await run(view, query("svc1.testns.svc.cluster.local", T.A, { klass: RRClass.CH }));
    assert.equal(r.header.rcode, Rcode.REFUSED);
  });

  it("answers FORMERR to a query with two questions", async () => {
    const q = query("x", T.A, {
      questions: [
        { name: "svc1.testns.svc.cluster.local", type: T.A, class: 1 },
        { name: "svc6.testns.svc.cluster.local", type: T.A, class: 1 },
      ],
    });
    assert.equal((await run(view, q)).header.rcode, Rcode.FORMERR);
  });

  it("answers NOTIMP to an opcode other than QUERY", async () => {
    const q = query("svc1.testns.svc.cluster.local", T.A);
    q.header.opcode = 2;
    assert.equal((await run(view, q)).header.rcode, Rcode.NOTIMP);
  });

  it("answers BADVERS to EDNS version 1", async () => {
    const q = query("svc1.testns.svc.cluster.local", T.A, {
      edns: { udpSize: 1232, version: 1, dnssecOk: false, options: [] },
    });
    const r = await run(view, q);
    assert.equal(r.header.rcode, Rcode.BADVERS);
    assert.ok(r.edns);
  });

  it("answers SERVFAIL for missing names before the view has synced, data otherwise", async () => {
    const unsynced = fixtureView({ synced: false });
    const fail = await run(unsynced, query("svc0.testns.svc.cluster.local", T.A));
    assert.equal(fail.header.rcode, Rcode.SERVFAIL);
    assert.deepEqual(
      sortedText(fail.authorities),
      [soa(unsynced)],
      "SOA, as CoreDNS's BackendError",
    );
    const hit = await run(unsynced, query("svc1.testns.svc.cluster.local", T.A));
    assert.equal(hit.header.rcode, Rcode.NOERROR);
    assert.equal(hit.answers.length, 1);
  });

  it("answers with the view as it is now, after each change", async () => {
    const v = fixtureView();
    const q = query("new.testns.svc.cluster.local", T.A);
    assert.equal((await run(v, q)).header.rcode, Rcode.NXDOMAIN);
    const s = {
      metadata: { name: "new", namespace: "testns" },
      spec: { clusterIP: "127.96.0.77", ports: [{ port: 80 }] },
    };
    v.upsertService(s);
    assert.deepEqual(sortedText((await run(v, q)).answers), [
      "new.testns.svc.cluster.local. 5 IN A 127.96.0.77",
    ]);
    v.deleteService(s);
    assert.equal((await run(v, q)).header.rcode, Rcode.NXDOMAIN);
  });

  it("merges every EndpointSlice of a service and forgets a deleted one", async () => {
    const v = fixtureView();
    const q = query("web.testns.svc.cluster.local", T.A);
    const extra = {
      metadata: {
        name: "web-b",
        namespace: "testns",
        labels: { "kubernetes.io/service-name": "web" },
      },
      addressType: "IPv4",
      endpoints: [{ addresses: ["127.244.2.3"], hostname: "web-2" }],
    };
    v.upsertEndpointSlice(extra);
    assert.equal((await run(v, q)).answers.length, 3);
    assert.deepEqual(sortedText((await run(v, query("3.2.244.127.in-addr.arpa", T.PTR))).answers), [
      "3.2.244.127.in-addr.arpa. 5 IN PTR web-2.web.testns.svc.cluster.local.",
    ]);
    v.deleteEndpointSlice(extra);
    assert.equal((await run(v, q)).answers.length, 2);
  });

  it("answers the advertised EDNS size when the query had OPT", async () => {
    const q = query("svc1.testns.svc.cluster.local", T.A, {
      edns: { udpSize: 4096, version: 0, dnssecOk: true, options: [] },
    });
    const r = await run(view, q);
    assert.deepEqual(r.edns, { udpSize: 1232, version: 0, dnssecOk: true, options: [] });
  });
});
