import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type AddressRanges, rangeOverlaps, rangeSlot } from "../api/addressplan.ts";
import {
  type LeaseHolder,
  type LeaseRequest,
  leaseRanges,
  listLeases,
  processStartTime,
  readRecordedRanges,
  recordRanges,
  registryDir,
} from "./ranges.ts";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "loopkube-ranges-test-"));
  dirs.push(d);
  return d;
}

/** A registry with these leases already in it; pids above 1000 are dead ones. */
function registry(existing: Omit<LeaseHolder, "startTime">[]): {
  dir: string;
  isAlive: (h: { pid: number }) => boolean;
} {
  const dir = tempDir();
  existing.forEach((h, i) => {
    writeFileSync(join(dir, `${h.name}-${h.pid}-${i}.json`), JSON.stringify(h));
  });
  return { dir, isAlive: (h) => h.pid < 1000 };
}

const holder = (
  name: string,
  pid: number,
  ranges: Partial<AddressRanges>,
  dataDir = `/data/${name}`,
): Omit<LeaseHolder, "startTime"> => ({
  name,
  pid,
  dataDir,
  ranges: { ...rangeSlot(59), ...ranges },
});

const cases: {
  name: string;
  existing: Omit<LeaseHolder, "startTime">[];
  request?: Partial<LeaseRequest>;
  want?: { ranges: AddressRanges; slot: number | undefined };
  error?: RegExp;
}[] = [
  {
    name: "a lone cluster gets slot 0, the defaults",
    existing: [],
    want: { ranges: rangeSlot(0), slot: 0 },
  },
  {
    name: "the next cluster gets the next free slot",
    existing: [holder("a", 10, rangeSlot(0))],
    want: { ranges: rangeSlot(1), slot: 1 },
  },
  {
    name: "a gap left by a stopped cluster is filled first",
    existing: [holder("a", 10, rangeSlot(0)), holder("c", 12, rangeSlot(2))],
    want: { ranges: rangeSlot(1), slot: 1 },
  },
  {
    name: "a dead cluster's lease is taken over",
    existing: [holder("crashed", 4242, rangeSlot(0))],
    want: { ranges: rangeSlot(0), slot: 0 },
  },
  {
    name: "another cluster's explicit ranges count: half of a slot's pod range makes it busy",
    existing: [holder("a", 10, { podCidr: "127.244.128.0/17", serviceCidr: "127.70.0.0/16" })],
    want: { ranges: rangeSlot(1), slot: 1 },
  },
  {
    name: "an explicit pod range is used as given, the rest from the first free slot",
    existing: [holder("a", 10, rangeSlot(0))],
    request: { explicit: { podCidr: "127.230.0.0/16" } },
    want: { ranges: { ...rangeSlot(1), podCidr: "127.230.0.0/16" }, slot: 1 },
  },
  {
    name: "a slot whose service range meets the explicit pod range is passed over",
    existing: [holder("a", 10, rangeSlot(0))],
    request: { explicit: { podCidr: "127.97.0.0/16" } },
    want: { ranges: { ...rangeSlot(2), podCidr: "127.97.0.0/16" }, slot: 2 },
  },
  {
    name: "an explicit range over a running cluster's is refused with one sentence naming it",
    existing: [holder("a", 10, rangeSlot(0), "/data/first")],
    request: { explicit: { serviceCidr: "127.96.128.0/17" } },
    error:
      /^the service CIDR 127\.96\.128\.0\/17 overlaps the service CIDR 127\.96\.0\.0\/16 of cluster "a" \(pid 10, data dir \/data\/first\), which is running; choose another with --service-cidr or leave it out to get a free one$/,
  },
  {
    name: "an explicit range over a dead cluster's is fine",
    existing: [holder("gone", 5000, rangeSlot(0))],
    request: { explicit: { serviceCidr: "127.96.0.0/16" } },
    want: { ranges: rangeSlot(0), slot: 0 },
  },
  {
    name: "a data dir keeps the ranges it recorded",
    existing: [],
    request: { recorded: rangeSlot(7) },
    want: { ranges: rangeSlot(7), slot: undefined },
  },
  {
    name: "recorded ranges now held by another cluster are refused with one sentence naming it",
    existing: [holder("b", 11, rangeSlot(7), "/data/b")],
    request: { recorded: rangeSlot(7) },
    error:
      /^the pod CIDR 127\.251\.0\.0\/16 this data dir used before is now held by cluster "b" \(pid 11, data dir \/data\/b\); stop that cluster, or give this one other ranges with --pod-cidr and --service-cidr \(its pods' IPs then change\)$/,
  },
  {
    name: "explicit ranges replace recorded ones",
    existing: [],
    request: { recorded: rangeSlot(7), explicit: { podCidr: "127.230.0.0/16" } },
    want: { ranges: { ...rangeSlot(7), podCidr: "127.230.0.0/16" }, slot: undefined },
  },
  {
    name: "an ephemeral cluster never reuses recorded ranges",
    existing: [],
    request: { recorded: rangeSlot(7), ephemeral: true },
    want: { ranges: rangeSlot(0), slot: 0 },
  },
  {
    name: "a data dir in use by a running cluster is refused",
    existing: [holder("me", 13, rangeSlot(3), "/data/me")],
    request: { dataDir: "/data/me", recorded: rangeSlot(3) },
    error:
      /^data dir \/data\/me is in use by a running cluster \(pid 13\); stop it with `loopkube down`$/,
  },
  {
    name: "after a kill -9 the same data dir takes its ranges back",
    existing: [holder("me", 6000, rangeSlot(3), "/data/me")],
    request: { dataDir: "/data/me", recorded: rangeSlot(3) },
    want: { ranges: rangeSlot(3), slot: undefined },
  },
  {
    name: "when every slot is held the message says how to go on",
    existing: Array.from({ length: 60 }, (_, i) => holder(`c${i}`, 100 + i, rangeSlot(i))),
    error:
      /^all 60 address slots are held by running clusters \(60 of them\); stop one, or give --pod-cidr and --service-cidr ranges of your own$/,
  },
];

describe("leaseRanges", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const r = registry(c.existing);
      const request: LeaseRequest = { name: "me", dataDir: "/data/new", ...c.request };
      const taking = leaseRanges(request, { ...r, pid: 20, startTime: "77" });
      if (c.error) {
        await assert.rejects(taking, { name: "ClusterError", message: c.error });
        return;
      }
      const lease = await taking;
      assert.deepEqual({ ranges: lease.ranges, slot: lease.slot }, c.want);
      const live = listLeases(r);
      assert.equal(live.filter((h) => h.pid >= 1000).length, 0, "dead leases are removed");
      const mine = live.find((h) => h.pid === 20);
      assert.deepEqual(mine, {
        pid: 20,
        startTime: "77",
        name: "me",
        dataDir: request.dataDir,
        ranges: c.want?.ranges,
      });
      lease.release();
      assert.equal(
        listLeases(r).find((h) => h.pid === 20),
        undefined,
      );
    });
  }

  it("release leaves a lease file alone once it is no longer this lease's", async () => {
    const r = registry([]);
    const lease = await leaseRanges({ name: "me", dataDir: "" }, { ...r, pid: 20, startTime: "1" });
    const [file] = readdirSync(r.dir);
    const path = join(r.dir, file ?? "");
    const theirs = { ...JSON.parse(readFileSync(path, "utf8")), pid: 21 };
    writeFileSync(path, JSON.stringify(theirs));
    lease.release();
    assert.deepEqual(readdirSync(r.dir), [file]);
  });

  it("a pid reused by another process does not keep a lease alive", async () => {
    const r = registry([]);
    const self = processStartTime("self");
    assert.ok(self, "/proc/self/stat is readable");
    // This process's pid, with another start time: a crashed cluster whose pid came back.
    writeFileSync(
      join(r.dir, "old.json"),
      JSON.stringify({ ...holder("old", process.pid, rangeSlot(0)), startTime: "1" }),
    );
    const lease = await leaseRanges({ name: "me", dataDir: "" }, { dir: r.dir });
    assert.equal(lease.slot, 0);
    lease.release();
  });

  it("twenty clusters started at once in one process all get disjoint ranges", async () => {
    const dir = tempDir();
    const leases = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        leaseRanges(
          { name: `c${i}`, dataDir: "" },
          { dir, pid: 30 + i, startTime: undefined, isAlive: () => true },
        ),
      ),
    );
    assertDisjoint(leases.map((l) => l.ranges));
    for (const l of leases) l.release();
    assert.deepEqual(readdirSync(dir), []);
  });

  it("four processes started at the same moment all get disjoint ranges", async () => {
    const dir = tempDir();
    const script = join(import.meta.dirname, "_lease-child.ts");
    const children = Array.from({ length: 4 }, () =>
      spawn(process.execPath, ["--import", "tsx", script, dir], {
        stdio: ["pipe", "pipe", "inherit"],
      }),
    );
    try {
      const ranges = await Promise.all(
        children.map(
          (child) =>
            new Promise<AddressRanges>((resolve, reject) => {
              let out = "";
              child.stdout.setEncoding("utf8");
              child.stdout.on("data", (c: string) => {
                out += c;
                if (out.includes("\n")) resolve(JSON.parse(out) as AddressRanges);
              });
              child.once("exit", (code) => reject(new Error(`child exited ${code}: ${out}`)));
            }),
        ),
      );
      assertDisjoint(ranges);
      assert.equal(listLeases({ dir }).length, 4);
    } finally {
      await Promise.all(
        children.map((c) => {
          const exited = new Promise((r) => c.once("exit", r));
          c.stdin.end();
          return exited;
        }),
      );
    }
    assert.deepEqual(readdirSync(dir), []);
  });
});

describe("recorded ranges", () => {
  it("read back what was recorded, and nothing from a new data dir", () => {
    const dir = tempDir();
    assert.equal(readRecordedRanges(dir), undefined);
    recordRanges(dir, rangeSlot(4));
    assert.deepEqual(readRecordedRanges(dir), rangeSlot(4));
  });
});

describe("registryDir", () => {
  it("is under XDG_RUNTIME_DIR when it exists, else under /tmp per user, whatever TMPDIR says", () => {
    const xdg = tempDir();
    assert.equal(registryDir({ XDG_RUNTIME_DIR: xdg }), join(xdg, "loopkube", "ranges"));
    assert.equal(
      registryDir({ XDG_RUNTIME_DIR: join(xdg, "missing"), TMPDIR: xdg }),
      join("/tmp", `loopkube-${process.getuid?.()}`, "ranges"),
    );
  });
});

function assertDisjoint(all: AddressRanges[]): void {
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      assert.deepEqual(rangeOverlaps(all[i]!, all[j]!), [], `leases ${i} and ${j}`);
    }
  }
}

describe("reservations of stopped clusters", () => {
  /** A data dir that exists and records `ranges`, as one whose cluster ran and stopped. */
  function stoppedDataDir(ranges: AddressRanges): string {
    const dataDir = tempDir();
    recordRanges(dataDir, ranges);
    return dataDir;
  }
  const opts = (dir: string, pid: number) => ({
    dir,
    pid,
    startTime: undefined,
    isAlive: () => true,
  });

  it("a stopped cluster's ranges are passed over while its data dir exists, and given out once it is deleted", async () => {
    const dir = tempDir();
    const dataDir = tempDir();
    const first = await leaseRanges({ name: "a", dataDir }, opts(dir, 40));
    recordRanges(dataDir, first.ranges);
    first.release();
    assert.deepEqual(listLeases({ dir }), [], "no live lease is left");

    const other = await leaseRanges({ name: "b", dataDir: "" }, opts(dir, 41));
    assert.equal(other.slot, (first.slot ?? 0) + 1, "the stopped cluster's slot is kept for it");
    const again = await leaseRanges({ name: "a", dataDir, recorded: first.ranges }, opts(dir, 42));
    assert.deepEqual(again.ranges, first.ranges, "its data dir gets its ranges back");
    again.release();
    other.release();

    rmSync(dataDir, { recursive: true, force: true });
    const third = await leaseRanges({ name: "c", dataDir: "" }, opts(dir, 43));
    assert.equal(third.slot, first.slot, "a deleted data dir keeps nothing");
    third.release();
  });

  it("a first start's data dir, made after its ranges were taken, keeps them once reserve() is called", async () => {
    const dir = tempDir();
    const dataDir = join(tempDir(), "new-cluster");
    let alive = true;
    const first = await leaseRanges(
      { name: "a", dataDir },
      { ...opts(dir, 50), isAlive: (h) => h.pid !== 50 || alive },
    );
    mkdirSync(dataDir);
    first.reserve();
    alive = false; // killed with SIGKILL: the lease is never released
    const other = await leaseRanges({ name: "b", dataDir: "" }, opts(dir, 51));
    assert.notDeepEqual(other.ranges, first.ranges, "the killed cluster's ranges are kept for it");
    other.release();
  });

  it("a reserved slot is given out when every other slot is held", async () => {
    const dir = tempDir();
    const reservedDir = stoppedDataDir(rangeSlot(5));
    const owner = await leaseRanges(
      { name: "kept", dataDir: reservedDir, recorded: rangeSlot(5) },
      opts(dir, 50),
    );
    owner.release();
    const others = [];
    for (let i = 0; i < 59; i++) {
      others.push(await leaseRanges({ name: `c${i}`, dataDir: "" }, opts(dir, 100 + i)));
    }
    assert.ok(!others.some((l) => l.slot === 5), "slot 5 passed over while others were free");
    const last = await leaseRanges({ name: "last", dataDir: "" }, opts(dir, 200));
    assert.equal(last.slot, 5);
    for (const l of [...others, last]) l.release();
  });

  it("a data dir started since with other ranges keeps no reservation of the old ones", async () => {
    const dir = tempDir();
    const dataDir = tempDir();
    const first = await leaseRanges(
      { name: "a", dataDir, explicit: { podCidr: "127.230.0.0/16" } },
      opts(dir, 60),
    );
    first.release();
    recordRanges(dataDir, rangeSlot(9)); // its last run chose other ranges
    const next = await leaseRanges({ name: "b", dataDir: "" }, opts(dir, 61));
    assert.equal(next.slot, 0, "slot 0's service range is free again");
    next.release();
  });
});
