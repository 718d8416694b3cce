import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Balancer, categorize } from "./choose.ts";
import type { EndpointInfo } from "./state.ts";

type Flags = "R" | "ST" | "NS" | "RL" | "STL" | "NL";
/** R ready, ST serving+terminating, NS not serving; a trailing L marks a local endpoint. */
function ep(n: number, flags: Flags): EndpointInfo {
  const local = flags.endsWith("L");
  const f = local ? flags.slice(0, -1) : flags;
  return {
    ip: `127.244.0.${n}`,
    port: 8080,
    ready: f === "R",
    serving: f === "R" || f === "ST",
    terminating: f === "ST",
    isLocal: local,
  };
}
const ids = (list: readonly EndpointInfo[]) => list.map((e) => Number(e.ip.split(".")[3]));

describe("categorize", () => {
  const cases: {
    name: string;
    eps: EndpointInfo[];
    local: boolean;
    usable: number[];
    hasAny: boolean;
  }[] = [
    { name: "no endpoints: nothing, reject", eps: [], local: false, usable: [], hasAny: false },
    {
      name: "ready endpoints only",
      eps: [ep(1, "R"), ep(2, "ST"), ep(3, "NS")],
      local: false,
      usable: [1],
      hasAny: true,
    },
    {
      name: "none ready: serving+terminating",
      eps: [ep(2, "ST"), ep(3, "NS")],
      local: false,
      usable: [2],
      hasAny: true,
    },
    {
      name: "none ready nor serving: nothing, reject",
      eps: [ep(3, "NS")],
      local: false,
      usable: [],
      hasAny: false,
    },
    {
      name: "Local: local ready only",
      eps: [ep(1, "R"), ep(2, "RL"), ep(3, "STL")],
      local: true,
      usable: [2],
      hasAny: true,
    },
    {
      name: "Local: local serving+terminating when no local ready",
      eps: [ep(1, "R"), ep(3, "STL")],
      local: true,
      usable: [3],
      hasAny: true,
    },
    {
      name: "Local: remote only is dropped, not rejected",
      eps: [ep(1, "R")],
      local: true,
      usable: [],
      hasAny: true,
    },
    {
      name: "Local: unready local is not used",
      eps: [ep(1, "NL")],
      local: true,
      usable: [],
      hasAny: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = categorize(c.eps, { local: c.local });
      assert.deepEqual([ids(got.usable), got.hasAny], [c.usable, c.hasAny]);
    });
  }
});

const identity = <T>(items: readonly T[]): T[] => [...items];

describe("Balancer", () => {
  it("goes round robin over the endpoints", () => {
    const b = new Balancer({ shuffle: identity });
    b.update([ep(1, "R"), ep(2, "R"), ep(3, "R")]);
    assert.deepEqual(
      Array.from({ length: 7 }, () => ids([b.next("127.0.0.1") as EndpointInfo])[0]),
      [1, 2, 3, 1, 2, 3, 1],
    );
  });

  it("returns nothing when there are no endpoints", () => {
    const b = new Balancer();
    b.update([]);
    assert.equal(b.next("127.0.0.1"), undefined);
  });

  it("shuffles and restarts at the first endpoint when membership changes, not when conditions do", () => {
    let shuffles = 0;
    const b = new Balancer({
      shuffle: (items) => {
        shuffles++;
        return [...items].reverse();
      },
    });
    b.update([ep(1, "R"), ep(2, "R")]);
    assert.equal(b.next("c")?.ip, "127.244.0.2");
    b.update([ep(1, "R"), ep(2, "ST")]);
    assert.equal(shuffles, 1);
    assert.equal(b.next("c")?.ip, "127.244.0.1");
    assert.equal(b.endpoints[0]?.terminating, true);
    b.update([ep(1, "R"), ep(2, "R"), ep(3, "R")]);
    assert.equal(shuffles, 2);
    assert.equal(b.next("c")?.ip, "127.244.0.3");
  });

  it("pins a client under ClientIP affinity and lets others rotate", () => {
    const b = new Balancer({ shuffle: identity, now: () => 0 });
    b.update([ep(1, "R"), ep(2, "R"), ep(3, "R")], 10800);
    const first = b.next("127.244.1.1")?.ip;
    for (let i = 0; i < 5; i++) assert.equal(b.next("127.244.1.1")?.ip, first);
    assert.notEqual(b.next("127.244.1.2")?.ip, first);
  });

  it("forgets an affinity after the timeout and keeps it while refreshed", () => {
    let t = 0;
    const b = new Balancer({ shuffle: identity, now: () => t });
    b.update([ep(1, "R"), ep(2, "R")], 10);
    assert.equal(b.next("c")?.ip, "127.244.0.1");
    t = 9_999;
    assert.equal(b.next("c")?.ip, "127.244.0.1"); // refreshed at 9.999 s
    t = 19_998;
    assert.equal(b.next("c")?.ip, "127.244.0.1");
    t = 29_998;
    assert.equal(b.next("c")?.ip, "127.244.0.2"); // expired: next in the rotation
  });

  it("drops an affinity whose endpoint left, and on reset after a failed connect", () => {
    const b = new Balancer({ shuffle: identity, now: () => 0 });
    b.update([ep(1, "R"), ep(2, "R"), ep(3, "R")], 100);
    assert.equal(b.next("c")?.ip, "127.244.0.1");
    assert.equal(b.next("c", { resetAffinity: true })?.ip, "127.244.0.2");
    assert.equal(b.next("c")?.ip, "127.244.0.2");
    b.update([ep(1, "R"), ep(3, "R")], 100);
    assert.notEqual(b.next("c")?.ip, "127.244.0.2");
  });

  it("skips the endpoints a retrying connection already tried while another is left", () => {
    const b = new Balancer({ shuffle: identity, now: () => 0 });
    b.update([ep(1, "R"), ep(2, "R"), ep(3, "R")]);
    const avoid = new Set(["127.244.0.1:8080", "127.244.0.2:8080"]);
    assert.equal(b.next("c", { avoid })?.ip, "127.244.0.3");
    assert.equal(b.next("c")?.ip, "127.244.0.1"); // the rotation goes on after the pick
    avoid.add("127.244.0.3:8080");
    assert.equal(b.next("c", { avoid })?.ip, "127.244.0.2"); // all tried: plain rotation
  });

  it("does not follow an affinity to an endpoint the connection already tried", () => {
    const b = new Balancer({ shuffle: identity, now: () => 0 });
    b.update([ep(1, "R"), ep(2, "R")], 100);
    assert.equal(b.next("c")?.ip, "127.244.0.1");
    assert.equal(b.next("c", { avoid: new Set(["127.244.0.1:8080"]) })?.ip, "127.244.0.2");
  });

  it("keeps rotating without affinity when the timeout is removed", () => {
    const b = new Balancer({ shuffle: identity, now: () => 0 });
    b.update([ep(1, "R"), ep(2, "R")], 100);
    assert.equal(b.next("c")?.ip, "127.244.0.1");
    b.update([ep(1, "R"), ep(2, "R")]);
    assert.equal(b.next("c")?.ip, "127.244.0.2");
    assert.equal(b.next("c")?.ip, "127.244.0.1");
  });
});
