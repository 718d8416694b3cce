import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { leaseTestPlan } from "../../../test/_kubelet.ts";
import { openPodNetworks, podNetNames } from "./podnet.ts";
import { ipBatchProtocol, nsConfigProtocol, openPodNetHelpers } from "./podnet_fast.ts";
import { HelperDied, HelperUnavailable } from "./podnet_longlived.ts";
import { DEFAULT_OWNER_DIR } from "./podnet_owner.ts";

describe("ipBatchProtocol", () => {
  test("numbers each request's lines and follows them with a line that always fails", () => {
    const s = ipBatchProtocol.fresh();
    const a = ipBatchProtocol.write(["netns add x", "link set y up"], s);
    assert.equal(a.text, "netns add x\nlink set y up\nloopkube-sync\n");
    assert.deepEqual(a.tag, {
      first: 1,
      sentinel: 3,
      lines: ["netns add x", "link set y up"],
      errors: [],
    });
    const b = ipBatchProtocol.write([], s);
    assert.deepEqual(b.tag, { first: 4, sentinel: 4, lines: [], errors: [] });
  });
  test("settles a request at its sentinel's failure, with the errors of its own lines", () => {
    const s = ipBatchProtocol.fresh();
    const { tag } = ipBatchProtocol.write(["netns add x", "link set y up"], s);
    const read = (l: string) => ipBatchProtocol.read(l, tag, s);
    assert.equal(read('Device "y" does not exist.'), undefined);
    assert.equal(read("Command failed -:2"), undefined);
    assert.equal(read('Object "loopkube-sync" is unknown, try "ip help".'), undefined);
    assert.deepEqual(read("Command failed -:3"), {
      error: 'link set y up: Device "y" does not exist.',
    });
  });
  test("settles a request without failures as done", () => {
    const s = ipBatchProtocol.fresh();
    const { tag } = ipBatchProtocol.write(["netns add x"], s);
    assert.deepEqual(ipBatchProtocol.read("Command failed -:2", tag, s), {});
  });
  test("refuses a line that is not one command", () => {
    assert.throws(() => ipBatchProtocol.write(["a\nb"], ipBatchProtocol.fresh()), /not one ip/);
  });
});

describe("nsConfigProtocol", () => {
  test("writes one tab-separated line per request and reads its answer by id", () => {
    const s = nsConfigProtocol.fresh();
    const a = nsConfigProtocol.write({ path: "/run/netns/x", lines: ["link set lo up"] }, s);
    assert.equal(a.text, "1\t/run/netns/x\tlink set lo up\n");
    assert.equal(nsConfigProtocol.read("2 ok", a.tag, s), undefined);
    assert.deepEqual(nsConfigProtocol.read("1 ok", a.tag, s), {});
    assert.deepEqual(nsConfigProtocol.read("1 err x: No such file", a.tag, s), {
      error: "x: No such file",
    });
  });
});

const SKIP =
  process.platform !== "linux" || process.getuid?.() !== 0
    ? "needs root on Linux"
    : openPodNetHelpers() === "perl is not installed"
      ? "needs perl"
      : undefined;
if (SKIP) console.log(`# podnet_fast.test.ts live part skipped: ${SKIP}`);

const sh = (cmd: string) => execFileSync("sh", ["-c", cmd], { encoding: "utf8" });
/** A tag-free name of this test run's own (namespaces and links are machine-wide). */
const id = `${process.pid.toString(16).slice(-4)}`;

describe("the pod network helpers, live", { skip: SKIP }, () => {
  test("ip's helper reports a failing command's error and goes on; killed, it is started again", async () => {
    const h = openPodNetHelpers();
    assert.ok(typeof h !== "string");
    const ns = `lkft-${id}-a`;
    try {
      await h.host.run([`netns add ${ns}`]);
      await assert.rejects(
        h.host.run([`netns add ${ns}`, "link set lkft-none up"]),
        /^Error: netns add lkft-\w+-a: Cannot create namespace file .*File exists; link set lkft-none up: .*"lkft-none"/,
      );
      const pid = h.host.pid();
      assert.ok(pid);
      // `monitor` never ends: the request is surely in flight when the helper is killed.
      const inFlight = h.host.run(["monitor link"]);
      process.kill(pid, "SIGKILL");
      await assert.rejects(inFlight, HelperDied);
      await h.host.run([`netns del ${ns}`]);
      assert.notEqual(h.host.pid(), pid);
      assert.doesNotMatch(sh("ip netns list"), new RegExp(ns));
    } finally {
      sh(`ip netns del ${ns} 2>/dev/null || true`);
      await h.close();
    }
    assert.equal(h.host.pid(), undefined);
  });

  test("the configurer sets a namespace's sysctls, addresses and routes from inside it, and refuses other lines", async () => {
    const h = openPodNetHelpers();
    assert.ok(typeof h !== "string");
    const ns = `lkft-${id}-b`;
    try {
      const hostBefore = sh("cat /proc/sys/net/ipv4/conf/all/route_localnet");
      sh(`ip netns add ${ns}`);
      await h.inNetns.run({
        path: `/run/netns/${ns}`,
        lines: [
          `link add eth0 type veth peer name lkft${id}b netns host`,
          "sysctl /proc/sys/net/ipv4/conf/eth0/route_localnet 1",
          "link set lo up",
          "link set eth0 up",
          "addr add 127.250.0.5/32 dev eth0 scope global",
          "route del local 127.0.0.0/8 dev lo table local",
          "route add 127.250.0.1 dev eth0 scope link src 127.250.0.5",
          "route add 127.0.0.0/8 via 127.250.0.1 dev eth0 src 127.250.0.5",
        ],
      });
      sh(`ip link set lkft${id}b up`);
      const inside = (cmd: string) => sh(`ip netns exec ${ns} ${cmd}`);
      assert.equal(inside("cat /proc/sys/net/ipv4/conf/eth0/route_localnet").trim(), "1");
      assert.equal(sh("cat /proc/sys/net/ipv4/conf/all/route_localnet"), hostBefore);
      assert.match(inside("ip -br link show dev lo"), /UNKNOWN|UP/);
      assert.match(inside("ip -br addr show dev eth0"), /127\.250\.0\.5\/32/);
      assert.equal(
        inside("ip route show table main").trim(),
        "127.0.0.0/8 via 127.250.0.1 dev eth0 src 127.250.0.5 \n127.250.0.1 dev eth0 scope link src 127.250.0.5".trim(),
      );
      assert.doesNotMatch(inside("ip route show table local"), /127\.0\.0\.0\/8/);
      await assert.rejects(
        h.inNetns.run({ path: `/run/netns/${ns}`, lines: ["link set lo up", "link del eth0"] }),
        /^Error: link del eth0: not understood$/,
      );
      await assert.rejects(
        h.inNetns.run({ path: `/run/netns/${ns}`, lines: ["addr add 127.250.0.5/32 dev eth0"] }),
        /RTNETLINK answers: File exists/,
      );
      await assert.rejects(
        h.inNetns.run({ path: `/run/netns/${ns}-none`, lines: [] }),
        /No such file or directory/,
      );
      // Its own namespace is the host's again after each request.
      const pid = h.inNetns.pid();
      assert.equal(sh(`readlink /proc/${pid}/ns/net`), sh("readlink /proc/self/ns/net"));
    } finally {
      sh(`ip netns del ${ns} 2>/dev/null || true`);
      await h.close();
    }
  });

  test("openPodNetworks builds pods through the helpers, survives their death, reports a failing set-up, and leaves nothing after stop", async () => {
    // Addresses of this test's own: another cluster on the machine may hold any fixed range.
    const { plan, release } = await leaseTestPlan("podnet-fast");
    const net = plan.podCidr.split(".").slice(0, 3).join(".");
    const at = (n: number) => `${net}.${n}`;
    const dir = mkdtempSync(join(tmpdir(), "podnet-fast-"));
    const warnings: string[] = [];
    const errors: unknown[] = [];
    const nets = await openPodNetworks({
      podCidr: `${at(0)}/24`,
      dataDir: dir,
      // The machine-wide registry: with another, a cluster starting meanwhile would take these
      // names for a dead cluster's and remove them.
      registry: { dir: DEFAULT_OWNER_DIR },
      onError: (e) => errors.push(e),
      warn: (m) => warnings.push(m),
    });
    const { tag } = nets;
    const mine = () =>
      `${sh("ip netns list")}\n${sh("ip -br link")}`
        .split("\n")
        .filter((l) => l.includes(`loopkube-${tag}-`) || l.startsWith(`lk${tag}`));
    try {
      const pids = nets.helperPids();
      assert.equal(pids.length, 2, "both helpers started at open");
      const a = nets.setUp(at(2), at(1));
      await a.ready;
      assert.match(
        sh(`ip -n loopkube-${tag}-${at(2)} -br addr show dev eth0`),
        new RegExp(`${at(2).replaceAll(".", "\\.")}/32`),
      );
      assert.equal(
        sh(`ip -o route get ${at(2)}`).includes(`dev ${podNetNames(tag, at(2)).hostLink}`),
        true,
      );
      assert.deepEqual(nets.helperPids(), pids, "no new process for a pod");
      // Killed between pods, each helper is started again at its next request (a pod's whole
      // set-up is one configurer request; \`ip\`'s next is the release below).
      for (const pid of pids) process.kill(pid, "SIGKILL");
      const b = nets.setUp(at(3), at(1));
      await b.ready;
      // A set-up the kernel refuses (a source address that is not the host's, from TEST-NET-1,
      // never routed): its error, no fallback.
      const bad = nets.setUp(at(4), "192.0.2.1");
      await assert.rejects(
        bad.ready,
        new RegExp(`route add ${at(4).replaceAll(".", "\\.")}/32 .*: .*(prefsrc|Invalid)`, "i"),
      );
      await bad.release();
      await a.release();
      assert.equal(nets.helperPids().length, 2);
      assert.ok(nets.helperPids().every((p) => !pids.includes(p)));
      // While the helpers run, a released pod's namespace goes, and its veth pair with it (a
      // helper holding the namespace open would keep them).
      const link = podNetNames(tag, at(2)).hostLink;
      for (let i = 0; i < 1000 && sh("ip -br link").includes(link); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.doesNotMatch(sh("ip -br link"), new RegExp(link));
      assert.deepEqual(nets.helperPids().length, 2);
      assert.deepEqual(warnings, []);
    } finally {
      await nets.stop();
      release();
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(mine(), []);
    assert.deepEqual(errors, []);
  });

  test("openPodNetworks falls back to one process per pod, saying why, when a helper keeps dying", async () => {
    const { plan, release } = await leaseTestPlan("podnet-fast-fallback");
    const net = plan.podCidr.split(".").slice(0, 3).join(".");
    const at = (n: number) => `${net}.${n}`;
    const dir = mkdtempSync(join(tmpdir(), "podnet-fast-"));
    const warnings: string[] = [];
    const nets = await openPodNetworks({
      podCidr: `${at(0)}/24`,
      dataDir: dir,
      // The machine-wide registry: with another, a cluster starting meanwhile would take these
      // names for a dead cluster's and remove them.
      registry: { dir: DEFAULT_OWNER_DIR },
      onError: (e) => assert.fail(String(e)),
      warn: (m) => warnings.push(m),
    });
    try {
      for (let i = 0; i < 3; i++) {
        // The configurer: a pod's set-up is its request.
        const pid = nets.helperPids().at(-1);
        if (pid) process.kill(pid, "SIGKILL");
        const n = nets.setUp(at(i + 2), at(1));
        await n.ready;
      }
      assert.equal(warnings.length, 1);
      assert.match(warnings[0] ?? "", /one `ip -batch` process per pod: perl helper died 3 times/);
      assert.deepEqual(nets.helperPids(), []);
      const n = nets.setUp(at(9), at(1));
      await n.ready;
      assert.match(
        sh(`ip -n loopkube-${nets.tag}-${at(9)} -br addr show dev eth0`),
        new RegExp(at(9).replaceAll(".", "\\.")),
      );
    } finally {
      await nets.stop();
      release();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test("HelperUnavailable and HelperDied are told apart", () => {
  assert.ok(!(new HelperDied("x") instanceof HelperUnavailable));
});
