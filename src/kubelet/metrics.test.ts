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
