import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type CgroupMounts,
  cgroupDir,
  cgroupFiles,
  parseCgroupMounts,
  parseFlatKeyed,
  parseProcCgroup,
  workingSet,
} from "./metrics_cgroup.ts";

const HYBRID_MOUNTINFO = [
  "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
  "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
  "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct",
  "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
  "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd",
  "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
].join("\n");
const V2_MOUNTINFO =
  "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate";

describe("parseCgroupMounts", () => {
  test("finds v1 controllers by their super options and the cgroup2 mount", () => {
    const m = parseCgroupMounts(HYBRID_MOUNTINFO);
    assert.deepEqual(m.v1.get("memory"), { at: "/sys/fs/cgroup/memory", root: "/" });
    assert.deepEqual(m.v1.get("cpuacct"), { at: "/sys/fs/cgroup/cpuacct", root: "/" });
    assert.equal(m.v1.has("name=systemd"), false);
    assert.deepEqual(m.v2, { at: "/sys/fs/cgroup/unified", root: "/" });
  });
  test("reads a combined cpu,cpuacct mount and optional fields before the separator", () => {
    const m = parseCgroupMounts(
      `25 20 0:22 / /sys/fs/cgroup/cpu,cpuacct rw shared:9 - cgroup cgroup rw,cpu,cpuacct\n${V2_MOUNTINFO}`,
    );
    assert.deepEqual(m.v1.get("cpuacct"), { at: "/sys/fs/cgroup/cpu,cpuacct", root: "/" });
    assert.deepEqual(m.v2, { at: "/sys/fs/cgroup", root: "/" });
  });
});

describe("parseProcCgroup", () => {
  test("splits controllers and keeps the v2 line apart", () => {
    const c = parseProcCgroup(
      "4:memory:/loopkube-ab/c1\n3:cpu,cpuacct:/loopkube-ab/c1\n0::/user\n",
    );
    assert.equal(c.v1.get("memory"), "/loopkube-ab/c1");
    assert.equal(c.v1.get("cpuacct"), "/loopkube-ab/c1");
    assert.equal(c.v1.get("cpu"), "/loopkube-ab/c1");
    assert.equal(c.v2, "/user");
  });
});

describe("cgroupDir", () => {
  const cases: Array<[string, string, string, string | undefined]> = [
    ["joins a path under a root mount", "/", "/loopkube-ab/c1", "/m/loopkube-ab/c1"],
    ["strips a mount's own root", "/outer", "/outer/loopkube-ab/c1", "/m/loopkube-ab/c1"],
    ["answers nothing for a path outside the mount", "/outer", "/other/c1", undefined],
  ];
  for (const [name, root, path, want] of cases) {
    test(name, () => assert.equal(cgroupDir({ at: "/m", root }, path), want));
  }
});

describe("cgroupFiles", () => {
  const hybrid = parseCgroupMounts(HYBRID_MOUNTINFO);
  const v2: CgroupMounts = parseCgroupMounts(V2_MOUNTINFO);
  const selfV1 = parseProcCgroup("4:memory:/agent\n2:cpuacct:/\n0::/\n");
  const selfV2 = parseProcCgroup("0::/user.slice/agent\n");
  test("uses the v1 controllers on a hybrid host, not the kubelet's v2 line", () => {
    const proc = parseProcCgroup("4:memory:/loopkube-ab/c1\n2:cpuacct:/loopkube-ab/c1\n0::/\n");
    assert.deepEqual(cgroupFiles(proc, selfV1, hybrid), {
      version: 1,
      cpuUsage: "/sys/fs/cgroup/cpuacct/loopkube-ab/c1/cpuacct.usage",
      memoryUsage: "/sys/fs/cgroup/memory/loopkube-ab/c1/memory.usage_in_bytes",
      memoryStat: "/sys/fs/cgroup/memory/loopkube-ab/c1/memory.stat",
    });
  });
  test("uses the v2 files on a pure cgroup2 host", () => {
    const proc = parseProcCgroup("0::/loopkube-ab/c1\n");
    assert.deepEqual(cgroupFiles(proc, selfV2, v2), {
      version: 2,
      cpuStat: "/sys/fs/cgroup/loopkube-ab/c1/cpu.stat",
      memoryCurrent: "/sys/fs/cgroup/loopkube-ab/c1/memory.current",
      memoryStat: "/sys/fs/cgroup/loopkube-ab/c1/memory.stat",
    });
  });
  const none: Array<[string, string, ReturnType<typeof parseProcCgroup>, CgroupMounts]> = [
    [
      "a process pod in the kubelet's cgroup (v1)",
      "4:memory:/agent\n2:cpuacct:/\n",
      selfV1,
      hybrid,
    ],
    ["a process pod in the kubelet's cgroup (v2)", "0::/user.slice/agent\n", selfV2, v2],
    ["a cgroup loopkube did not make", "0::/system.slice/other\n", selfV2, v2],
    ["the cluster's parent itself", "0::/loopkube-ab\n", selfV2, v2],
    ["no cgroup mounts", "0::/loopkube-ab/c1\n", selfV2, { v1: new Map() }],
  ];
  for (const [name, text, self, mounts] of none) {
    test(`answers nothing for ${name}`, () => {
      assert.equal(cgroupFiles(parseProcCgroup(text), self, mounts), undefined);
    });
  }
});

describe("workingSet", () => {
  const V1_STAT = "cache 8192\nrss 4096\ninactive_file 100\ntotal_inactive_file 3000\n";
  const V2_STAT = "anon 40960\nfile 8192\ninactive_file 2000\nactive_file 6192\n";
  const cases: Array<[string, 1 | 2, number, string, number]> = [
    ["v1 subtracts the subtree's inactive file cache", 1, 10_000, V1_STAT, 7000],
    ["v2 subtracts inactive_file", 2, 10_000, V2_STAT, 8000],
    ["floors at zero", 2, 1000, V2_STAT, 0],
    ["is the usage when the stat lacks the key", 1, 5000, "rss 5000\n", 5000],
  ];
  for (const [name, v, usage, stat, want] of cases) {
    test(name, () => assert.equal(workingSet(v, usage, parseFlatKeyed(stat)), want));
  }
});

describe("parseFlatKeyed", () => {
  test("reads cpu.stat's counters and skips malformed lines", () => {
    const m = parseFlatKeyed("usage_usec 123456\nuser_usec 100000\nbad line here\nx -1\n\n");
    assert.equal(m.get("usage_usec"), 123456);
    assert.equal(m.get("user_usec"), 100000);
    assert.equal(m.size, 2);
  });
});
