import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  containerProcesses,
  hostWorkingSet,
  type ProcStat,
  parseHostCpu,
  parseMeminfo,
  parsePidStat,
  parseUptime,
  scanProcesses,
} from "./metrics_proc.ts";

// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
// cutime cstime priority nice threads itrealvalue starttime vsize rss …
const statLine = (pid: number, comm: string, rest: Partial<Record<string, number>> = {}) => {
  const v = {
    ppid: 1,
    pgrp: pid,
    session: pid,
    utime: 0,
    stime: 0,
    cutime: 0,
    cstime: 0,
    start: 1000,
    rss: 100,
    ...rest,
  };
  return `${pid} (${comm}) S ${v.ppid} ${v.pgrp} ${v.session} 0 -1 4194304 99 0 0 0 ${v.utime} ${v.stime} ${v.cutime} ${v.cstime} 20 0 1 0 ${v.start} 3133440 ${v.rss} 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0`;
};

describe("parsePidStat", () => {
  const cases: Array<[string, string, Partial<ProcStat> | undefined]> = [
    [
      "sums user, system and reaped children's time",
      statLine(42, "node", { utime: 10, stime: 5, cutime: 3, cstime: 2 }),
      { pid: 42, cpuTicks: 20, rssPages: 100, startTicks: 1000 },
    ],
    [
      "reads a command name with spaces and parentheses",
      statLine(7, "a) (b c", { ppid: 3, pgrp: 4, session: 5 }),
      { pid: 7, ppid: 3, pgrp: 4, session: 5 },
    ],
    ["rejects a truncated line", "12 (sh) S 1 12", undefined],
    ["rejects text that is not a stat line", "hello", undefined],
  ];
  for (const [name, text, want] of cases) {
    test(name, () => {
      const got = parsePidStat(text);
      if (want === undefined) assert.equal(got, undefined);
      else assert.deepEqual({ ...got, ...want }, got);
    });
  }
});

describe("parseHostCpu", () => {
  test("counts user, nice, system, irq, softirq and steal as busy", () => {
    const got = parseHostCpu("cpu  100 1 20 500 7 2 3 4 9 0\ncpu0 1 2 3 4\n");
    assert.deepEqual(got, { busyTicks: 130, totalTicks: 637 });
  });
  test("answers undefined without an aggregate cpu line", () => {
    assert.equal(parseHostCpu("cpu0 1 2 3 4\n"), undefined);
  });
});

describe("hostWorkingSet", () => {
  test("is total minus free minus the inactive file cache, in bytes", () => {
    const m = parseMeminfo(
      "MemTotal:       1000 kB\nMemFree:         200 kB\nInactive(file):  300 kB\nHugePages_Total:       0\n",
    );
    assert.equal(m.get("HugePages_Total"), 0);
    assert.equal(hostWorkingSet(m), 500 * 1024);
  });
  test("answers undefined when MemTotal is missing", () => {
    assert.equal(hostWorkingSet(parseMeminfo("MemFree: 1 kB\n")), undefined);
  });
});

test("parseUptime reads the seconds since boot", () => {
  assert.equal(parseUptime("9911.53 18712.94\n"), 9911.53);
  assert.equal(parseUptime(""), undefined);
});

describe("containerProcesses", () => {
  const procs = (list: string[]) =>
    new Map(list.map((l) => parsePidStat(l) as ProcStat).map((p) => [p.pid, p]));
  const all = procs([
    statLine(1, "init", { ppid: 0 }),
    statLine(10, "sh", { ppid: 5, pgrp: 10, session: 10 }),
    statLine(11, "node", { ppid: 10, pgrp: 10, session: 10 }),
    statLine(12, "worker", { ppid: 11, pgrp: 12, session: 12 }), // its own session: by parent
    statLine(13, "grandchild", { ppid: 12, pgrp: 12, session: 12 }),
    statLine(14, "daemon", { ppid: 1, pgrp: 10, session: 10 }), // reparented, still the group's
    statLine(20, "other", { ppid: 5, pgrp: 20, session: 20 }),
  ]);
  const cases: Array<[string, number, number[]]> = [
    ["takes the session, the group and every descendant", 10, [10, 11, 12, 13, 14]],
    ["takes nothing of another container", 20, [20]],
    ["answers nothing for a process that is gone", 99, []],
  ];
  for (const [name, root, want] of cases) {
    test(name, () => {
      const got = containerProcesses(root, all)
        .map((p) => p.pid)
        .sort((a, b) => a - b);
      assert.deepEqual(got, want);
    });
  }
});

test("scanProcesses reads this machine's /proc and finds this process", async () => {
  const all = await scanProcesses("/proc");
  const me = all.get(process.pid);
  assert.ok(me, "this process is listed");
  assert.ok(me.rssPages > 0);
});
