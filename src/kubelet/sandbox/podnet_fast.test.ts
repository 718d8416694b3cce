import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { openPodNetworks } from "./podnet.ts";
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
    const dir = mkdtempSync(join(tmpdir(), "podnet-fast-"));
    const warnings: string[] = [];
    const errors: unknown[] = [];
    const nets = await openPodNetworks({
      podCidr: "127.251.0.0/24",
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
      const a = nets.setUp("127.251.0.2", "127.251.0.1");
      await a.ready;
      assert.match(
        sh(`ip -n loopkube-${tag}-127.251.0.2 -br addr show dev eth0`),
        /127\.251\.0\.2\/32/,
      );
      assert.equal(sh("ip -o route get 127.251.0.2").includes(`dev lk${tag}fb0002`), true);
      assert.deepEqual(nets.helperPids(), pids, "no new process for a pod");
      // Killed between pods, each helper is started again.
      for (const pid of pids) process.kill(pid, "SIGKILL");
      const b = nets.setUp("127.251.0.3", "127.251.0.1");
      await b.ready;
      assert.equal(nets.helperPids().length, 2);
      assert.ok(nets.helperPids().every((p) => !pids.includes(p)));
      // A set-up the kernel refuses (a source address that is not the host's, from TEST-NET-1,
      // never routed): its error, no fallback.
      const bad = nets.setUp("127.251.0.4", "192.0.2.1");
      await assert.rejects(bad.ready, /route add 127\.251\.0\.4\/32 .*: .*(prefsrc|Invalid)/i);
      await bad.release();
      await a.release();
      // While the helpers run, a released pod's namespace goes, and its veth pair with it (a
      // helper holding the namespace open would keep them).
      const link = `lk${tag}fb0002`;
      for (let i = 0; i < 1000 && sh("ip -br link").includes(link); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.doesNotMatch(sh("ip -br link"), new RegExp(link));
      assert.deepEqual(nets.helperPids().length, 2);
      assert.deepEqual(warnings, []);
    } finally {
      await nets.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(mine(), []);
    assert.deepEqual(errors, []);
  });

  test("openPodNetworks falls back to one process per pod, saying why, when a helper keeps dying", async () => {
    const dir = mkdtempSync(join(tmpdir(), "podnet-fast-"));
    const warnings: string[] = [];
    const nets = await openPodNetworks({
      podCidr: "127.252.0.0/24",
      dataDir: dir,
      // The machine-wide registry: with another, a cluster starting meanwhile would take these
      // names for a dead cluster's and remove them.
      registry: { dir: DEFAULT_OWNER_DIR },
      onError: (e) => assert.fail(String(e)),
      warn: (m) => warnings.push(m),
    });
    try {
      for (let i = 0; i < 3; i++) {
        const [pid] = nets.helperPids();
        if (pid) process.kill(pid, "SIGKILL");
        const n = nets.setUp(`127.252.0.${i + 2}`, "127.252.0.1");
        await n.ready;
      }
      assert.equal(warnings.length, 1);
      assert.match(warnings[0] ?? "", /one `ip -batch` process per pod: ip helper died 3 times/);
      assert.deepEqual(nets.helperPids(), []);
      const n = nets.setUp("127.252.0.9", "127.252.0.1");
      await n.ready;
      assert.match(
        sh(`ip -n loopkube-${nets.tag}-127.252.0.9 -br addr show dev eth0`),
        /127\.252\.0\.9/,
      );
    } finally {
      await nets.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test("HelperUnavailable and HelperDied are told apart", () => {
  assert.ok(!(new HelperDied("x") instanceof HelperUnavailable));
});
