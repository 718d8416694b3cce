import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { waitFor } from "../_testing/index.ts";
import {
  type ContainerLog,
  HIGH_WATER_BYTES,
  type LogFileSystem,
  nodeLogFileSystem,
  openContainerLog,
  removeOldRestartLogs,
  rotatedFiles,
  rotationStamp,
} from "./logfile.ts";

const root = mkdtempSync(join(tmpdir(), "loopkube-logfile-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => {
  const d = join(root, String(n++));
  mkdirSync(d);
  return d;
};

const fault = (code: string) =>
  Object.assign(new Error(`${code}: injected fault`), { code }) as NodeJS.ErrnoException;

/** The real file system with faults injected where asked. */
function faulty(faults: {
  open?: string;
  /** Which write (counted from 1) fails, and with what. */
  write?: (count: number) => string | undefined;
  rename?: string;
  slowWrites?: () => Promise<void>;
}): LogFileSystem {
  let writes = 0;
  return {
    ...nodeLogFileSystem,
    open: async (path) => {
      if (faults.open) throw fault(faults.open);
      const h = await nodeLogFileSystem.open(path);
      return {
        size: h.size,
        close: () => h.close(),
        write: async (data) => {
          await faults.slowWrites?.();
          const code = faults.write?.(++writes);
          if (code) throw fault(code);
          await h.write(data);
        },
      };
    },
    rename: async (from, to) => {
      if (faults.rename) throw fault(faults.rename);
      await nodeLogFileSystem.rename(from, to);
    },
  };
}

const line = (i: number, width = 0) =>
  `2026-01-01T00:00:00.000000000Z stdout F line ${i}${"x".repeat(width)}\n`;

/** Appends lines the way the process runtime does: waiting whenever the log asks to. */
async function feed(log: ContainerLog, lines: string[]): Promise<void> {
  for (const l of lines) if (!log.append(l)) await log.drained();
}

const cannotOpen: [string, (dir: string) => { path: string; fs?: LogFileSystem }, RegExp][] = [
  ["EROFS (injected)", (d) => ({ path: join(d, "0.log"), fs: faulty({ open: "EROFS" }) }), /EROFS/],
  [
    "EMFILE (injected)",
    (d) => ({ path: join(d, "0.log"), fs: faulty({ open: "EMFILE" }) }),
    /EMFILE/,
  ],
  [
    "ENOTDIR (real: the directory is a file)",
    (d) => {
      writeFileSync(join(d, "c"), "");
      return { path: join(d, "c", "0.log") };
    },
    /EEXIST|ENOTDIR/,
  ],
  [
    "EISDIR (real: the log is a directory)",
    (d) => {
      mkdirSync(join(d, "0.log"));
      return { path: join(d, "0.log") };
    },
    /EISDIR/,
  ],
];
for (const [what, setUp, error] of cannotOpen) {
  test(`openContainerLog rejects when the log cannot be created: ${what}`, async () => {
    const { path, fs } = setUp(freshDir());
    await assert.rejects(openContainerLog(path, fs ? { fs } : {}), error);
  });
}

const failingWrites: [string, (dir: string) => { path: string; fs?: LogFileSystem }][] = [
  [
    "ENOSPC (injected, writes 2 and 3)",
    (d) => ({
      path: join(d, "0.log"),
      fs: faulty({ write: (i) => (i === 2 || i === 3 ? "ENOSPC" : undefined) }),
    }),
  ],
  [
    "EIO (injected, write 2)",
    (d) => ({
      path: join(d, "0.log"),
      fs: faulty({ write: (i) => (i === 2 ? "EIO" : undefined) }),
    }),
  ],
];
for (const [what, setUp] of failingWrites) {
  test(`a log whose writes fail drops those lines, reports once and writes again later: ${what}`, async () => {
    const { path, fs } = setUp(freshDir());
    let clock = 0;
    const errors: string[] = [];
    const log = await openContainerLog(path, {
      ...(fs ? { fs } : {}),
      now: () => new Date(clock),
      onError: (e, where) => errors.push(`${where} ${e.code}`),
    });
    const text = () => readFileSync(path, "utf8");
    log.append(line(1));
    await log.drained();
    await waitFor(() => text() === line(1), { what: "line 1 written" });
    log.append(line(2)); // fails
    await waitFor(() => errors.length > 0, { what: "the failure of line 2 reported" });
    log.append(line(3)); // dropped without a try: within a second of the failure
    assert.equal(log.dropped, 2);
    clock += 1500;
    log.append(line(4)); // tried again (the third write fails for ENOSPC, not for EIO)
    await waitFor(() => log.dropped === 3 || text().endsWith(line(4)), {
      what: "the write of line 4 to fail or succeed",
    });
    clock += 1500;
    log.append(line(5));
    await log.close();
    const written = text();
    assert.ok(written.startsWith(line(1)));
    assert.ok(written.endsWith(line(5)));
    assert.ok(!written.includes("line 2") && !written.includes("line 3"));
    assert.deepEqual(errors, [what.startsWith("ENOSPC") ? "write ENOSPC" : "write EIO"]);
    assert.ok(log.dropped >= 2);
  });
}

test("a log on a full device (real ENOSPC: /dev/full) drops every line and never throws", {
  skip: existsSync("/dev/full") ? false : "no /dev/full here",
}, async () => {
  const dir = freshDir();
  symlinkSync("/dev/full", join(dir, "0.log"));
  const errors: string[] = [];
  const log = await openContainerLog(join(dir, "0.log"), {
    onError: (e, where) => errors.push(`${where} ${e.code}`),
  });
  await feed(log, [line(1), line(2), line(3)]);
  await log.close();
  assert.deepEqual(errors, ["write ENOSPC"]);
  assert.equal(log.dropped, 3);
});

test("append asks the caller to wait past the high-water mark, and drained() resolves once written", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const path = join(freshDir(), "0.log");
  const log = await openContainerLog(path, { fs: faulty({ slowWrites: () => gate }) });
  const big = "y".repeat(64 * 1024);
  let accepted = 0;
  while (log.append(`${big}\n`)) accepted++;
  assert.ok(accepted * big.length < HIGH_WATER_BYTES + big.length);
  let drained = false;
  const waiting = log.drained().then(() => {
    drained = true;
  });
  // The one write is held at the gate and the rest is I/O-free: a turn would let a wrong
  // resolve through.
  await new Promise((r) => setImmediate(r));
  assert.equal(drained, false);
  release();
  await waiting;
  await log.close();
  assert.equal(readFileSync(path, "utf8").length, (accepted + 1) * (big.length + 1));
});

test("rotation keeps maxFiles files: the current one, the newest rotated one plain, the older ones gzipped", async () => {
  const dir = freshDir();
  const path = join(dir, "0.log");
  let clock = new Date(2026, 0, 2, 3, 4, 5).getTime();
  const log = await openContainerLog(path, {
    rotation: { maxSize: 1000, maxFiles: 4 },
    now: () => new Date(clock),
  });
  // 60 lines of ~100 bytes: a rotation every ~10 lines, two of them within one second.
  for (let i = 0; i < 60; i++) {
    await feed(log, [line(i, 50)]);
    // A fixed pause, so that the clock's steps fall between writes: an idle writer gives no signal.
    await new Promise((r) => setTimeout(r, 1));
    if (i % 10 === 9 && i !== 19) clock += 1000;
  }
  await log.close();
  // Tidying runs after the rotation, in the background.
  const files = await waitFor(
    () => {
      const now = readdirSync(dir).sort();
      assert.equal(now.length, 4, now.join(" "));
      assert.ok(!now.some((f) => f.endsWith(".tmp")), now.join(" "));
      // The compression of the one before the newest may not have started yet.
      const older = rotatedFiles("0.log", now).inUse.slice(0, -1);
      assert.ok(
        older.every((f) => f.endsWith(".gz")),
        now.join(" "),
      );
      return now;
    },
    { what: "the rotated files tidied and compressed", retryErrors: true },
  );
  const rotated = rotatedFiles("0.log", files).inUse;
  assert.ok(files.includes("0.log"));
  assert.equal(rotated.length, 3);
  assert.ok(
    rotated.slice(0, 2).every((f) => f.endsWith(".gz")),
    rotated.join(" "),
  );
  assert.match(rotated[2] ?? "", /^0\.log\.\d{8}-\d{6}(-\d+)?$/);
  // Oldest to newest, the files hold consecutive lines up to the last one written.
  const text = [
    ...rotated.map((f) => {
      const bytes = readFileSync(join(dir, f));
      return f.endsWith(".gz") ? gunzipSync(bytes).toString() : bytes.toString();
    }),
    readFileSync(path, "utf8"),
  ].join("");
  const numbers = [...text.matchAll(/line (\d+)/g)].map((m) => Number(m[1]));
  assert.equal(numbers.at(-1), 59);
  const first = numbers[0] ?? 0;
  assert.deepEqual(
    numbers,
    numbers.map((_, i) => first + i),
  );
  assert.ok(readFileSync(path).length < 1000 + 200);
});

test("a rotation that fails is reported, and the log goes on in the same file", async () => {
  const dir = freshDir();
  const path = join(dir, "0.log");
  const errors: string[] = [];
  const log = await openContainerLog(path, {
    rotation: { maxSize: 100, maxFiles: 2 },
    fs: faulty({ rename: "EROFS" }),
    onError: (e, where) => errors.push(`${where} ${e.code}`),
  });
  await feed(log, [line(1, 100), line(2, 100)]);
  await log.close();
  assert.deepEqual(errors, ["rotate EROFS"]);
  assert.deepEqual(readdirSync(dir), ["0.log"]);
  assert.equal(readFileSync(path, "utf8"), line(1, 100) + line(2, 100));
});

test("rotatedFiles orders a log's rotated files oldest first and names the leftovers", () => {
  const names = [
    "0.log",
    "0.log.20260101-000001-1.gz",
    "0.log.20260101-000001.gz",
    "0.log.20260101-000002",
    "0.log.20260101-000001-2",
    "0.log.20260101-000001-2.gz.tmp",
    "0.log.20260101-000000",
    "0.log.20260101-000000.gz",
    "1.log.20260101-000000",
    "0.log.other",
  ];
  assert.deepEqual(rotatedFiles("0.log", names), {
    inUse: [
      "0.log.20260101-000000.gz",
      "0.log.20260101-000001.gz",
      "0.log.20260101-000001-1.gz",
      "0.log.20260101-000001-2",
      "0.log.20260101-000002",
    ],
    unused: ["0.log.20260101-000001-2.gz.tmp", "0.log.20260101-000000"],
  });
});

test("rotationStamp formats the local time as the kubelet's 20060102-150405", () => {
  assert.equal(rotationStamp(new Date(2026, 0, 2, 3, 4, 5)), "20260102-030405");
});

test("removeOldRestartLogs keeps the current and the previous restart's logs only", async () => {
  const dir = freshDir();
  for (const f of ["0.log", "0.log.20260101-000000.gz", "1.log", "2.log", "10.log", "x.log"])
    writeFileSync(join(dir, f), "");
  await removeOldRestartLogs(dir, 3);
  assert.deepEqual(readdirSync(dir).sort(), ["10.log", "2.log", "x.log"]);
  await removeOldRestartLogs(join(dir, "missing"), 3, {
    onError: () => assert.fail("a missing directory is nothing to report"),
  });
});
