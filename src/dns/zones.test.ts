import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { addressFromReverse, parseRequest, relativeTo, reverseZones } from "./zones.ts";

describe("zones", () => {
  const shapes: Array<[string, ReturnType<typeof parseRequest>]> = [
    ["", { port: "", protocol: "", endpoint: "", service: "", namespace: "", podOrSvc: "" }],
    ["svc", { port: "", protocol: "", endpoint: "", service: "", namespace: "", podOrSvc: "" }],
    [
      "ns.svc",
      { port: "", protocol: "", endpoint: "", service: "", namespace: "ns", podOrSvc: "svc" },
    ],
    [
      "s.ns.svc",
      { port: "", protocol: "", endpoint: "", service: "s", namespace: "ns", podOrSvc: "svc" },
    ],
    [
      "web-0.s.ns.svc",
      { port: "", protocol: "", endpoint: "web-0", service: "s", namespace: "ns", podOrSvc: "svc" },
    ],
    [
      "_http._tcp.s.ns.svc",
      {
        port: "http",
        protocol: "tcp",
        endpoint: "",
        service: "s",
        namespace: "ns",
        podOrSvc: "svc",
      },
    ],
    [
      "1-2-3-4.ns.pod",
      {
        port: "",
        protocol: "",
        endpoint: "",
        service: "1-2-3-4",
        namespace: "ns",
        podOrSvc: "pod",
      },
    ],
    ["a.b.c.s.ns.svc", null],
    ["s.ns.other", null],
    ["foo", null],
  ];
  for (const [base, want] of shapes) {
    it(`parses ${JSON.stringify(base)} as CoreDNS does`, () =>
      assert.deepEqual(parseRequest(base), want));
  }

  it("finds names relative to a zone only on a label boundary", () => {
    assert.equal(relativeTo("a.cluster.local", "cluster.local"), "a");
    assert.equal(relativeTo("cluster.local", "cluster.local"), "");
    assert.equal(relativeTo("xcluster.local", "cluster.local"), null);
  });

  it("covers a CIDR with reverse zones on octet and nibble boundaries", () => {
    assert.deepEqual(reverseZones("127.96.0.0/16"), ["96.127.in-addr.arpa"]);
    assert.deepEqual(reverseZones("10.96.0.0/12").length, 16);
    assert.equal(reverseZones("10.96.0.0/12")[0], "96.10.in-addr.arpa");
    assert.equal(reverseZones("10.96.0.0/12")[15], "111.10.in-addr.arpa");
    assert.deepEqual(reverseZones("fd00::/8"), ["d.f.ip6.arpa"]);
    assert.deepEqual(reverseZones("fd00::/7"), ["c.f.ip6.arpa", "d.f.ip6.arpa"]);
  });

  it("reads addresses back from full reverse names only", () => {
    assert.equal(addressFromReverse("1.0.96.127.in-addr.arpa"), "127.96.0.1");
    assert.equal(addressFromReverse("0.96.127.in-addr.arpa"), null);
    const v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa";
    assert.equal(addressFromReverse(v6), "1234:abcd::1");
    assert.equal(addressFromReverse("x.0.96.127.in-addr.arpa"), null);
  });
});
