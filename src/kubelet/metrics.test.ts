import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { type MetricsTarget, pageSize, startMetricsCollector } from "./metrics.ts";

/** A fake /proc: host files plus one stat file per process, rewritten as the test's clock moves. */
function fakeProc() {
  const root = mkdtempSync(join(tmpdir(), "loopkube-metrics-"));
  const write = (path: string, text: string) => {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  return {
    root,
    host(o: { uptimeS: number; busy: number; idle: number }) {
      write("uptime", `${o.uptimeS} 0\n`);
      write("stat", `cpu  ${o.busy} 0 0 ${o.idle} 0 0 0 0 0 0\n`);
      write("meminfo", "MemTotal: 8000 kB\nMemFree: 2000 kB\nInactive(file): 1000 kB\n");
    },
    proc(o: {
      pid: number;
      ppid?: number;
      session: number;
      ticks: number;
      start: number;
      rss: number;
    }) {
      write(
        `${o.pid}/stat`,
        `${o.pid} (p) S ${o.ppid ?? 1} ${o.session} ${o.session} 0 -1 0 0 0 0 0 ${o.ticks} 0 0 0 20 0 1 0 ${o.start} 0 ${o.rss} 0\n`,
      );
    },
    gone(pid: number) {
      rmSync(join(root, String(pid)), { recursive: true, force: true });
    },
  };
}

describe("startMetricsCollector", () => {
  const fake = fakeProc();
  after(() => rmSync(fake.root, { recursive: true, force: true }));
  let t = 1_000_000;
  let targets: MetricsTarget[] = [];
  const start = async () =>
    startMetricsCollector({
      nodeName: "n1",
      targets: () => targets,
      procRoot: fake.root,
      now: () => t,
      intervalMs: 10_000,
      pageSize: 4096,
    });

  test("measures a new container from its own start, so the first answer comes at once", async () => {
    // Boot was 100 s ago; the container's first process started at 98 s (9800 ticks).
    fake.host({ uptimeS: 100, busy: 1000, idle: 9000 });
    fake.proc({ pid: 10, session: 10, ticks: 50, start: 9800, rss: 100 });
    fake.proc({ pid: 11, ppid: 10, session: 10, ticks: 30, start: 9810, rss: 50 });
    targets = [{ namespace: "default", name: "web", containers: [{ name: "app", pid: 10 }] }];
    const c = await start();
    try {
      const m = await c.collect();
      const pod = m.pods.get("default/web");
      assert.ok(pod);
      assert.equal(pod.windowMs, 2000);
      // 80 ticks = 0.8 s of CPU over 2 s.
      assert.deepEqual(pod.containers, [
        { name: "app", cpuNanoCores: 400_000_000, memoryBytes: 150 * 4096 },
      ]);
      const node = m.nodes.get("n1");
      assert.equal(node?.memoryBytes, 5000 * 1024);
    } finally {
      c.stop();
    }
  });

  test("measures CPU between a kept sample at least half an interval old and now", async () => {
    fake.host({ uptimeS: 100, busy: 1000, idle: 9000 });
    fake.proc({ pid: 10, session: 10, ticks: 50, start: 9800, rss: 100 });
    fake.proc({ pid: 11, ppid: 10, session: 10, ticks: 30, start: 9810, rss: 50 });
    targets = [{ namespace: "default", name: "web", containers: [{ name: "app", pid: 10 }] }];
    const c = await start(); // kept sample at t
    try {
      t += 6000;
      fake.host({ uptimeS: 106, busy: 1600, idle: 9600 });
      fake.proc({ pid: 10, session: 10, ticks: 200, start: 9800, rss: 100 });
      fake.proc({ pid: 11, ppid: 10, session: 10, ticks: 180, start: 9810, rss: 50 });
      const m = await c.collect();
      // (380 - 80) ticks = 3 s of CPU over 6 s; the host was busy 600 ticks = 6 s over 6 s.
      assert.equal(m.pods.get("default/web")?.windowMs, 6000);
      assert.equal(m.pods.get("default/web")?.containers[0]?.cpuNanoCores, 500_000_000);
      assert.equal(m.nodes.get("n1")?.windowMs, 6000);
      assert.equal(m.nodes.get("n1")?.cpuNanoCores, 1_000_000_000);
    } finally {
      c.stop();
    }
  });

  test("does not take a reused pid for the same container", async () => {
    fake.host({ uptimeS: 100, busy: 1000, idle: 9000 });
    fake.proc({ pid: 10, session: 10, ticks: 500, start: 9000, rss: 100 });
    fake.gone(11);
    targets = [{ namespace: "default", name: "web", containers: [{ name: "app", pid: 10 }] }];
    const c = await start();
    try {
      t += 6000;
      // pid 10 is now another process, started 1 s ago with 20 ticks.
      fake.host({ uptimeS: 106, busy: 1600, idle: 9600 });
      fake.proc({ pid: 10, session: 10, ticks: 20, start: 10500, rss: 10 });
      const m = await c.collect();
      assert.equal(m.pods.get("default/web")?.windowMs, 1000);
      assert.equal(m.pods.get("default/web")?.containers[0]?.cpuNanoCores, 200_000_000);
    } finally {
      c.stop();
    }
  });

  test("reports zero for simulated containers and leaves out pods whose processes are gone", async () => {
    fake.host({ uptimeS: 100, busy: 1000, idle: 9000 });
    fake.gone(10);
    targets = [
      { namespace: "a", name: "sim", containers: [{ name: "c" }] },
      { namespace: "a", name: "dead", containers: [{ name: "c", pid: 10 }] },
    ];
    const c = await start();
    try {
      const m = await c.collect();
      assert.deepEqual(m.pods.get("a/sim")?.containers, [
        { name: "c", cpuNanoCores: 0, memoryBytes: 0 },
      ]);
      assert.equal(m.pods.has("a/dead"), false);
    } finally {
      c.stop();
    }
  });
});

describe("startMetricsCollector with cgroups", () => {
  const cases: Array<{ version: 1 | 2; mountinfo: (at: string) => string }> = [
    {
      version: 1,
      mountinfo: (at) =>
        `31 30 0:28 / ${at}/cpuacct rw - cgroup cgroup rw,cpuacct\n34 30 0:31 / ${at}/memory rw - cgroup cgroup rw,memory\n40 30 0:37 / ${at}/unified rw - cgroup2 cgroup2 rw\n`,
    },
    { version: 2, mountinfo: (at) => `29 23 0:26 / ${at} rw shared:4 - cgroup2 cgroup2 rw\n` },
  ];
  for (const { version, mountinfo } of cases) {
    test(`takes an oci container's figures from its own cgroup (v${version}), a process pod's from /proc`, async () => {
      const fake = fakeProc();
      const cg = join(fake.root, "cg");
      const write = (path: string, text: string) => {
        mkdirSync(join(path, ".."), { recursive: true });
        writeFileSync(path, text);
      };
      const counters = (usageNs: number, memory: number, inactive: number) => {
        if (version === 1) {
          write(join(cg, "cpuacct/loopkube-ab/c1/cpuacct.usage"), `${usageNs}\n`);
          write(join(cg, "memory/loopkube-ab/c1/memory.usage_in_bytes"), `${memory}\n`);
          write(
            join(cg, "memory/loopkube-ab/c1/memory.stat"),
            `cache 0\ninactive_file 1\ntotal_inactive_file ${inactive}\n`,
          );
        } else {
          write(join(cg, "loopkube-ab/c1/cpu.stat"), `usage_usec ${usageNs / 1000}\nuser_usec 0\n`);
          write(join(cg, "loopkube-ab/c1/memory.current"), `${memory}\n`);
          write(join(cg, "loopkube-ab/c1/memory.stat"), `anon 0\ninactive_file ${inactive}\n`);
        }
      };
      const own =
        version === 1
          ? "4:memory:/loopkube-ab/c1\n2:cpuacct:/loopkube-ab/c1\n0::/\n"
          : "0::/loopkube-ab/c1\n";
      const agent = version === 1 ? "4:memory:/agent\n2:cpuacct:/\n0::/\n" : "0::/agent\n";
      write(join(fake.root, "self/mountinfo"), mountinfo(cg));
      write(join(fake.root, "self/cgroup"), agent);
      write(join(fake.root, "10/cgroup"), own);
      write(join(fake.root, "20/cgroup"), agent);
      let t = 1_000_000;
      fake.host({ uptimeS: 100, busy: 1000, idle: 9000 });
      fake.proc({ pid: 10, session: 10, ticks: 5, start: 9000, rss: 1 });
      fake.proc({ pid: 20, session: 20, ticks: 5, start: 9000, rss: 7 });
      counters(2e9, 50_000_000, 10_000_000);
      const c = await startMetricsCollector({
        nodeName: "n1",
        targets: () => [
          { namespace: "d", name: "oci", containers: [{ name: "c", pid: 10 }] },
          { namespace: "d", name: "proc", containers: [{ name: "c", pid: 20 }] },
        ],
        procRoot: fake.root,
        now: () => t,
        intervalMs: 10_000,
        pageSize: 4096,
      });
      try {
        t += 8000;
        fake.host({ uptimeS: 108, busy: 1600, idle: 9600 });
        counters(6e9, 60_000_000, 70_000_000);
        const m = await c.collect();
        const oci = m.pods.get("d/oci");
        assert.equal(oci?.windowMs, 8000);
        // 4 s of CPU over 8 s; usage below the inactive cache floors at zero.
        assert.deepEqual(oci?.containers, [
          { name: "c", cpuNanoCores: 500_000_000, memoryBytes: 0 },
        ]);
        counters(6e9, 60_000_000, 15_000_000);
        const again = await c.collect();
        assert.equal(again.pods.get("d/oci")?.containers[0]?.memoryBytes, 45_000_000);
        assert.equal(again.pods.get("d/proc")?.containers[0]?.memoryBytes, 7 * 4096);
      } finally {
        c.stop();
        rmSync(fake.root, { recursive: true, force: true });
      }
    });
  }
});

test("pageSize is a power of two of at least 4 KiB on this machine", async () => {
  const p = await pageSize();
  assert.ok(p >= 4096 && (p & (p - 1)) === 0, String(p));
});

test("the collector measures this very process from the real /proc", async () => {
  const c = await startMetricsCollector({
    nodeName: "n",
    targets: () => [{ namespace: "x", name: "me", containers: [{ name: "c", pid: process.pid }] }],
  });
  try {
    const end = Date.now() + 200;
    while (Date.now() < end); // burn some CPU so the rate is above zero
    const m = await c.collect();
    const me = m.pods.get("x/me")?.containers[0];
    assert.ok(me && me.memoryBytes > 1024 * 1024, "resident memory above 1 MiB");
    assert.ok(me.cpuNanoCores > 0);
    assert.ok((m.nodes.get("n")?.memoryBytes ?? 0) > 0);
  } finally {
    c.stop();
  }
});
