import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ep, slice } from "./_fixtures.ts";
import { DnsView, dashedIP } from "./view.ts";

describe("DnsView", () => {
  const dashed: Array<[string, string]> = [
    ["10.11.12.13", "10-11-12-13"],
    ["2001:db8::", "2001-db8--0"],
    ["5678:abcd::1", "5678-abcd--1"],
    ["::1", "0--1"],
  ];
  for (const [ip, want] of dashed) {
    it(`dashes ${ip} as ${want}`, () => assert.equal(dashedIP(ip), want));
  }

  it("reports the tags each change affects", () => {
    const v = new DnsView();
    const seen: string[][] = [];
    v.onChange((t) => seen.push([...t]));
    v.upsertNamespace({ metadata: { name: "a" } });
    v.upsertService({
      metadata: { name: "s", namespace: "a" },
      spec: { clusterIP: "127.96.0.9", ports: [{ port: 1 }] },
    });
    v.upsertEndpointSlice(slice("s", "s-1", [ep("127.244.0.9")], { namespace: "a" }));
    v.upsertPod({ metadata: { name: "p", namespace: "a" }, status: { podIP: "127.244.0.9" } });
    v.setSynced(true);
    assert.deepEqual(seen, [["ns:a"], ["svc:a/s", "ptr"], ["ptr", "svc:a/s"], ["pod:a"], ["*"]]);
  });

  it("moves endpoints when a slice is relabelled to another service", () => {
    const v = new DnsView();
    v.upsertEndpointSlice(slice("one", "x", [ep("127.244.0.1")]));
    assert.equal(v.subsets("testns", "one")[0]?.addresses.length, 1);
    const tags: string[][] = [];
    v.onChange((t) => tags.push([...t]));
    v.upsertEndpointSlice(slice("two", "x", [ep("127.244.0.1")]));
    assert.equal(v.subsets("testns", "one").length, 0);
    assert.equal(v.subsets("testns", "two")[0]?.addresses.length, 1);
    assert.deepEqual(tags, [["ptr", "svc:testns/one", "svc:testns/two"]]);
    assert.deepEqual(v.endpointsByIP("127.244.0.1"), [
      { namespace: "testns", service: "two", hostname: "127-244-0-1" },
    ]);
  });

  it("ignores FQDN slices and slices without the service-name label", () => {
    const v = new DnsView();
    v.upsertEndpointSlice(slice("one", "f", [ep("example.com")], { addressType: "FQDN" }));
    v.upsertEndpointSlice({
      metadata: { name: "nolabel", namespace: "testns" },
      addressType: "IPv4",
      endpoints: [ep("127.244.0.2")],
    });
    assert.equal(v.subsets("testns", "one").length, 0);
    assert.deepEqual(v.endpointsByIP("127.244.0.2"), []);
  });

  it("indexes endpoints by hostname, ClusterIPs and pod IPs, and forgets them on delete", () => {
    const v = new DnsView();
    const s = {
      metadata: { name: "s", namespace: "testns" },
      spec: { clusterIP: "127.96.0.9", clusterIPs: ["127.96.0.9", "fd00::9"] },
    };
    v.upsertService(s);
    assert.equal(v.servicesByIP("fd00::9")[0]?.name, "s");
    assert.equal(v.servicesByIP("127.96.0.9")[0]?.kind, "ClusterIP");
    v.deleteService(s);
    assert.deepEqual(v.servicesByIP("127.96.0.9"), []);
    const sl = slice("s", "s-1", [
      ep("127.244.0.3", { hostname: "Web-0" }),
      ep("127.244.0.4", { conditions: { ready: false } }),
    ]);
    v.upsertEndpointSlice(sl);
    assert.deepEqual(
      v.endpointsByHostname("testns", "s", "web-0").map((a) => a.ip),
      ["127.244.0.3"],
    );
    assert.deepEqual(v.endpointsByIP("127.244.0.4"), [], "unready endpoints are not published");
    v.deleteEndpointSlice(sl);
    assert.deepEqual(v.endpointsByHostname("testns", "s", "web-0"), []);
    const pod = {
      metadata: { name: "p", namespace: "testns" },
      status: { podIPs: [{ ip: "127.244.0.7" }, { ip: "fd00::7" }] },
    };
    v.upsertPod(pod);
    assert.equal(v.podExists("testns", "127.244.0.7"), true);
    assert.equal(v.podExists("testns", "fd00::7"), true);
    assert.equal(v.podExists("other", "127.244.0.7"), false);
    v.upsertPod({ ...pod, status: { podIP: "127.244.0.8" } });
    assert.equal(v.podExists("testns", "127.244.0.7"), false, "an IP change replaces the old IP");
    v.deletePod(pod);
    assert.equal(v.podExists("testns", "127.244.0.8"), false);
  });

  it("keeps an IP indexed while any of the services, slices or pods sharing it remains", () => {
    const v = new DnsView();
    const svc = (name: string) => ({
      metadata: { name, namespace: "testns" },
      spec: { clusterIP: "127.96.0.9" },
    });
    v.upsertService(svc("a"));
    v.upsertService(svc("b"));
    v.upsertService(svc("c"));
    assert.deepEqual(
      v.servicesByIP("127.96.0.9").map((s) => s.name),
      ["a", "b", "c"],
    );
    v.deleteService(svc("b"));
    v.deleteService(svc("a"));
    assert.deepEqual(
      v.servicesByIP("127.96.0.9").map((s) => s.name),
      ["c"],
    );
    v.deleteService(svc("c"));
    assert.deepEqual(v.servicesByIP("127.96.0.9"), []);

    const one = slice("s", "s-1", [ep("127.244.0.5")]);
    const two = slice("t", "t-1", [ep("127.244.0.5", { hostname: "Peer" })]);
    v.upsertEndpointSlice(one);
    v.upsertEndpointSlice(two);
    v.upsertEndpointSlice(one); // an update must not add the slice twice
    assert.deepEqual(
      v
        .endpointsByIP("127.244.0.5")
        .map((e) => `${e.hostname}.${e.service}`)
        .sort(),
      ["127-244-0-5.s", "peer.t"],
    );
    v.deleteEndpointSlice(one);
    assert.deepEqual(
      v.endpointsByIP("127.244.0.5").map((e) => e.hostname),
      ["peer"],
    );
    v.deleteEndpointSlice(two);
    assert.deepEqual(v.endpointsByIP("127.244.0.5"), []);

    const pod = (name: string) => ({
      metadata: { name, namespace: "testns" },
      status: { podIP: "127.244.0.6", podIPs: [{ ip: "127.244.0.6" }] },
    });
    v.upsertPod(pod("p"));
    v.upsertPod(pod("q"));
    v.upsertPod(pod("q"));
    v.deletePod(pod("p"));
    assert.equal(v.podExists("testns", "127.244.0.6"), true, "q still has the IP");
    v.deletePod(pod("q"));
    assert.equal(v.podExists("testns", "127.244.0.6"), false);
  });

  it("raises the SOA serial on every change, even within one second", () => {
    const v = new DnsView({ now: () => 1_700_000_000_000 });
    const s0 = v.serial;
    v.upsertNamespace({ metadata: { name: "a" } });
    v.upsertNamespace({ metadata: { name: "b" } });
    assert.equal(v.serial, s0 + 2);
  });
});

describe("applyWatchEvent", () => {
  it("upserts on ADDED and MODIFIED, deletes on DELETED, ignores BOOKMARK", async () => {
    const { applyWatchEvent } = await import("./feed.ts");
    const v = new DnsView();
    const ns = { metadata: { name: "a" } };
    applyWatchEvent(v, "namespaces", { type: "ADDED", object: ns });
    assert.equal(v.hasNamespace("a"), true);
    applyWatchEvent(v, "namespaces", {
      type: "BOOKMARK",
      object: { metadata: { resourceVersion: "9" } },
    });
    assert.equal(v.hasNamespace("a"), true);
    const svc = { metadata: { name: "s", namespace: "a" }, spec: { clusterIP: "127.96.0.9" } };
    applyWatchEvent(v, "services", { type: "ADDED", object: svc });
    applyWatchEvent(v, "services", {
      type: "MODIFIED",
      object: { ...svc, spec: { clusterIP: "127.96.0.8" } },
    });
    assert.deepEqual(v.service("a", "s")?.clusterIPs, ["127.96.0.8"]);
    const sl = slice("s", "s-1", [ep("127.244.0.1")], { namespace: "a" });
    applyWatchEvent(v, "endpointslices", { type: "ADDED", object: sl });
    assert.equal(v.subsets("a", "s").length, 1);
    applyWatchEvent(v, "endpointslices", { type: "DELETED", object: sl });
    assert.equal(v.subsets("a", "s").length, 0);
    const pod = { metadata: { name: "p", namespace: "a" }, status: { podIP: "127.244.0.1" } };
    applyWatchEvent(v, "pods", { type: "ADDED", object: pod });
    assert.equal(v.podExists("a", "127.244.0.1"), true);
    applyWatchEvent(v, "pods", { type: "DELETED", object: pod });
    assert.equal(v.podExists("a", "127.244.0.1"), false);
    applyWatchEvent(v, "namespaces", { type: "DELETED", object: ns });
    assert.equal(v.hasNamespace("a"), false);
  });
});
