import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { gatewayOf, namesOnMachine, podNetNames, setUpPlan, tearDownBatch } from "./podnet.ts";
import { claimTag, deadTags, preferredTag, releaseTag } from "./podnet_owner.ts";

describe("podNetNames", () => {
  for (const [tag, ip, netns, link] of [
    ["3fa2", "127.244.0.2", "loopkube-3fa2-127.244.0.2", "lk3fa2f40002"],
    ["0001", "127.245.255.254", "loopkube-0001-127.245.255.254", "lk0001f5fffe"],
  ] as const) {
    test(`names ${ip} of tag ${tag} ${netns} and ${link}, a link name within 15 bytes`, () => {
      const n = podNetNames(tag, ip);
      assert.deepEqual(n, { netns, path: `/run/netns/${netns}`, hostLink: link });
      assert.ok(n.hostLink.length <= 15);
    });
  }
  test("refuses an address outside 127.0.0.0/8", () => {
    assert.throws(() => podNetNames("0000", "10.0.0.1"), /not in 127\.0\.0\.0\/8/);
  });
});

describe("gatewayOf", () => {
  for (const [cidr, gw] of [
    ["127.244.0.0/16", "127.244.0.1"],
    ["127.244.1.0/24", "127.244.1.1"],
    ["127.96.7.9/20", "127.96.0.1"],
  ] as const) {
    test(`is ${gw} for ${cidr}`, () => assert.equal(gatewayOf(cidr), gw));
  }
});

describe("setUpPlan", () => {
  const names = podNetNames("3fa2", "127.244.0.5");
  const plan = setUpPlan(names, "127.244.0.5", "127.244.0.1", {
    podBatchPath: "/tmp/x/127.244.0.5.batch",
    leftovers: { link: false, netns: false },
  });
  const all = `${plan.hostBatch}\n${plan.podBatch}`;
  test("sets route_localnet and forwarding on the pod's own host link only", () => {
    assert.deepEqual(plan.hostSysctls, [
      "/proc/sys/net/ipv4/conf/lk3fa2f40005/route_localnet",
      "/proc/sys/net/ipv4/conf/lk3fa2f40005/forwarding",
    ]);
    assert.doesNotMatch(all, /ip_forward|forwarding/);
  });
  test("routes the pod IP through its link in the local table, from the gateway", () => {
    assert.match(
      plan.hostBatch,
      /route add 127\.244\.0\.5\/32 dev lk3fa2f40005 src 127\.244\.0\.1 table local/,
    );
  });
  test("enters the pod's namespace last, there sets route_localnet and runs the pod's batch", () => {
    const lines = plan.hostBatch.trim().split("\n");
    assert.equal(
      lines.at(-1),
      'netns exec loopkube-3fa2-127.244.0.5 sh -c "echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet && echo 1 > /proc/sys/net/ipv4/conf/eth0/route_localnet && exec ip -batch /tmp/x/127.244.0.5.batch"',
    );
  });
  test("gives the helpers the same work: the namespace, the veth pair and pod side from inside it, then the host link's route", () => {
    const batch = plan.hostBatch.trim().split("\n");
    assert.deepEqual(plan.host, batch.slice(0, 1));
    assert.deepEqual(plan.hostAfter, batch.slice(2, -1));
    assert.deepEqual(plan.pod, [
      "link add eth0 type veth peer name lk3fa2f40005 netns host",
      "sysctl /proc/sys/net/ipv4/conf/all/route_localnet 1",
      "sysctl /proc/sys/net/ipv4/conf/eth0/route_localnet 1",
      ...plan.podBatch.trim().split("\n"),
    ]);
  });
  test("gives the pod 127.0.0.0/8 through the gateway and no default route", () => {
    assert.match(plan.podBatch, /route add 127\.0\.0\.0\/8 via 127\.244\.0\.1 dev eth0/);
    assert.match(plan.podBatch, /route del local 127\.0\.0\.0\/8 dev lo table local/);
    assert.doesNotMatch(all, /default|0\.0\.0\.0\/0/);
  });
  test("removes names of the same IP left by a dead run first, only when there are some", () => {
    assert.doesNotMatch(plan.hostBatch, /del/);
    const again = setUpPlan(names, "127.244.0.5", "127.244.0.1", {
      podBatchPath: "/p",
      leftovers: { link: true, netns: true },
    });
    assert.deepEqual(again.hostBatch.split("\n").slice(0, 3), [
      "link del lk3fa2f40005",
      "netns del loopkube-3fa2-127.244.0.5",
      "netns add loopkube-3fa2-127.244.0.5",
    ]);
  });
});

test("tearDownBatch deletes links, then namespaces", () => {
  assert.equal(
    tearDownBatch(["lkaaaa000002"], ["loopkube-aaaa-127.0.0.2"]),
    ["link del lkaaaa000002", "netns del loopkube-aaaa-127.0.0.2", ""].join("\n"),
  );
});

test("namesOnMachine groups loopkube names by tag and ignores everyone else's", () => {
  const byTag = namesOnMachine(
    ["loopkube-00aa-127.244.0.2", "other", "loopkube-x-1", "loopkube-00bb-127.245.0.9"],
    ["lo", "eth0", "lk00aaf40002", "lk00aa", "lkzzzz123456", "veth123"],
    [
      "table ip loopkube-00aa",
      "table inet loopkube-00cc",
      "table ip loopkube-00cc-x",
      "table ip filter",
      "table ip loopkube-00dd",
      "table ip loopkube-00dd-svc",
      "",
    ],
  );
  assert.deepEqual(Object.fromEntries(byTag), {
    "00aa": {
      netns: ["loopkube-00aa-127.244.0.2"],
      links: ["lk00aaf40002"],
      tables: ["loopkube-00aa"],
    },
    "00bb": { netns: ["loopkube-00bb-127.245.0.9"], links: [], tables: [] },
    "00dd": { netns: [], links: [], tables: ["loopkube-00dd", "loopkube-00dd-svc"] },
  });
});

describe("pod network tags", () => {
  const owner = (pid: number) => ({ pid, podCidr: "127.244.0.0/16", dataDir: "d" });
  const withDir = (fn: (dir: string) => void) => {
    const dir = mkdtempSync(join(tmpdir(), "podnet-"));
    try {
      fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  test("claimTag takes the pod range's preferred tag, and the next when it is held", () =>
    withDir((dir) => {
      const alive = () => true;
      const first = claimTag(owner(1), { dir, isAlive: alive });
      assert.equal(first, preferredTag("127.244.0.0/16"));
      const second = claimTag(owner(2), { dir, isAlive: alive });
      assert.equal(Number.parseInt(second, 16), (Number.parseInt(first, 16) + 1) % 0x10000);
      assert.equal(JSON.parse(readFileSync(join(dir, second), "utf8")).pid, 2);
      assert.deepEqual(readdirSync(dir).sort(), [first, second].sort(), "no temporary file left");
    }));

  test("deadTags names tags of dead owners and of names without an owner, never a live one's or our own", () =>
    withDir((dir) => {
      writeFileSync(join(dir, "0001"), JSON.stringify(owner(1)));
      writeFileSync(join(dir, "0002"), JSON.stringify(owner(2)));
      writeFileSync(join(dir, "0003"), "{"); // being written: taken as alive
      const isAlive = (o: { pid: number }) => o.pid === 2;
      assert.deepEqual(deadTags(["0004", "0002", "0005"], { dir, isAlive }, "0005"), [
        "0001",
        "0004",
      ]);
    }));

  test("releaseTag removes the owner file, and twice is harmless", () =>
    withDir((dir) => {
      const tag = claimTag(owner(1), { dir, isAlive: () => true });
      releaseTag(tag, { dir });
      releaseTag(tag, { dir });
      assert.deepEqual(readdirSync(dir), []);
    }));
});
