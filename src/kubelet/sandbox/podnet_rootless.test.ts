import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import {
  nodeSetUpScript,
  openRootlessPodNetworks,
  rootlessSetUpPlan,
  rootlessUnsupported,
} from "./podnet_rootless.ts";

describe("nodeSetUpScript", () => {
  const script = nodeSetUpScript("127.244.0.0/16");
  for (const step of [
    "mount -t tmpfs loopkube /run",
    "ip link add lkbr type bridge",
    "echo 1 > /proc/sys/net/ipv4/conf/lkbr/route_localnet",
    "ip route add 127.244.0.0/16 dev lkbr table local",
  ]) {
    test(`sets the node namespace up with \`${step}\``, () => assert.ok(script.includes(step)));
  }
  test("ends by becoming the helper, each step only after the last one worked", () => {
    assert.match(script, /&& exec "\$0" -e "\$1"$/);
    assert.doesNotMatch(script, /;/);
  });
  test("adds no default route and no address outside 127.0.0.0/8", () => {
    assert.doesNotMatch(script, /default|\b(?!127\.)\d+\.\d+\.\d+\.\d+\//);
  });
});

describe("rootlessSetUpPlan", () => {
  for (const addGateway of [true, false]) {
    const plan = rootlessSetUpPlan(
      "loopkube-3fa2-127.244.0.5",
      "lk3fa2f40005",
      "127.244.0.5",
      "127.244.0.1",
      {
        podBatchPath: "/run/.127.244.0.5.batch",
        addGateway,
      },
    );
    test(`puts the pod's veth on the bridge${addGateway ? ", the gateway first" : ""}`, () => {
      const lines = plan.batch.trim().split("\n");
      assert.equal(lines[0] === "addr add 127.244.0.1/32 dev lkbr", addGateway);
      assert.ok(lines.includes("netns add loopkube-3fa2-127.244.0.5"));
      assert.ok(
        lines.includes(
          "link add lk3fa2f40005 type veth peer name eth0 netns loopkube-3fa2-127.244.0.5",
        ),
      );
      assert.ok(lines.includes("link set lk3fa2f40005 master lkbr up"));
      assert.match(
        lines.at(-1) ?? "",
        /^netns exec loopkube-3fa2-127\.244\.0\.5 sh -c ".*exec ip -batch \/run\/\.127\.244\.0\.5\.batch"$/,
      );
    });
  }
  test("gives the pod its IP, its own lo and all of 127.0.0.0/8 through the gateway", () => {
    const { podBatch } = rootlessSetUpPlan("n", "l", "127.244.0.5", "127.244.0.1", {
      podBatchPath: "/run/.b",
      addGateway: false,
    });
    assert.deepEqual(podBatch.trim().split("\n"), [
      "link set lo up",
      "link set eth0 up",
      "addr add 127.244.0.5/32 dev eth0 scope global",
      "route del local 127.0.0.0/8 dev lo table local",
      "route add 127.244.0.1 dev eth0 scope link src 127.244.0.5",
      "route add 127.0.0.0/8 via 127.244.0.1 dev eth0 src 127.244.0.5",
    ]);
  });
});

// The live part needs an unprivileged user who may make user namespaces; as root (CI) the end-to-end
// test test/pod-network-rootless.test.ts runs it as another user instead.
const LIVE =
  process.getuid?.() === 0
    ? "runs as an unprivileged user only (as root: test/pod-network-rootless.test.ts)"
    : rootlessUnsupported();
if (LIVE) console.log(`# podnet_rootless.test.ts live part skipped: ${LIVE}`);

describe("openRootlessPodNetworks", { skip: LIVE }, () => {
  test("builds a pod's namespace, dials in it, and leaves no helper after stop", async () => {
    const nets = await openRootlessPodNetworks({ podCidr: "127.244.0.0/16", onError: () => {} });
    const net = nets.setUp("127.244.0.2", "127.244.0.1");
    const enter = await net.ready;
    const shown = spawnSync(enter[0] ?? "", [...enter.slice(1), "ip", "-o", "-4", "addr"]);
    assert.match(String(shown.stdout), /eth0\s+inet 127\.244\.0\.2\/32/);
    await assert.rejects(nets.dial("127.244.0.2", 9), { code: "ECONNREFUSED" });
    const helper = Number(enter[2]);
    await nets.stop();
    assert.throws(() => process.kill(helper, 0), { code: "ESRCH" });
  });
});
