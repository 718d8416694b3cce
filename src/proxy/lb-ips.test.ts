import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidRangeError, ingressAddress, LoadBalancerIpAllocator } from "./lb-ips.ts";

describe("LoadBalancerIpAllocator", () => {
  it("gives a key the IP its hash names, whatever the order keys arrive in, when hashes do not collide", () => {
    const a = new LoadBalancerIpAllocator("127.100.0.0/24");
    const b = new LoadBalancerIpAllocator("127.100.0.0/24");
    const keys = ["default/web", "default/api", "prod/db", "prod/cache"];
    const fromA = keys.map((k) => a.allocate(k));
    const fromB = [...keys].reverse().map((k) => b.allocate(k));
    assert.deepEqual(fromA, fromB.reverse());
    assert.equal(a.allocate("default/web"), fromA[0]);
  });

  it("never hands one IP to two keys and reports exhaustion", () => {
    const a = new LoadBalancerIpAllocator("127.100.0.0/29"); // 6 usable: .1–.6
    const got = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const ip = a.allocate(`ns/s${i}`);
      assert.ok(ip !== undefined && a.contains(ip));
      got.add(ip);
    }
    assert.equal(got.size, 6);
    assert.ok(!got.has("127.100.0.0") && !got.has("127.100.0.7"));
    assert.equal(a.allocate("ns/extra"), undefined);
    a.release("ns/s3");
    assert.ok(a.allocate("ns/extra") !== undefined);
  });

  it("honours a preferred IP when it is in range and free", () => {
    const a = new LoadBalancerIpAllocator("127.100.0.0/24");
    assert.equal(a.allocate("ns/a", { prefer: ["127.100.0.42"] }), "127.100.0.42");
    assert.notEqual(a.allocate("ns/b", { prefer: ["127.100.0.42"] }), "127.100.0.42");
    assert.notEqual(a.allocate("ns/c", { prefer: ["10.0.0.1"] }), "10.0.0.1");
  });

  it("rejects a malformed range", () => {
    for (const bad of ["127.100.0.0", "127.100.0/24", "::1/128", "127.100.0.0/33"]) {
      assert.throws(() => new LoadBalancerIpAllocator(bad), InvalidRangeError, bad);
    }
  });

  it("never hands out a reserved IP, even when asked for it", () => {
    const a = new LoadBalancerIpAllocator("127.100.0.0/30", { reserved: ["127.100.0.2"] });
    assert.equal(a.allocate("ns/a", { prefer: ["127.100.0.2"] }), "127.100.0.1");
    assert.equal(a.allocate("ns/b"), undefined);
  });
});

describe("ingressAddress", () => {
  it("is the last usable address of the range", () => {
    assert.equal(ingressAddress("127.100.0.0/24"), "127.100.0.254");
    assert.equal(ingressAddress("127.100.7.0/24"), "127.100.7.254");
    assert.equal(ingressAddress("127.101.7.0/30"), "127.101.7.2");
    assert.equal(ingressAddress("127.101.7.0/31"), undefined);
  });
});
