import assert from "node:assert/strict";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mock, test } from "node:test";
import { waitFor } from "../../_testing/index.ts";
import { FLUSH_MS, openIpJournal } from "./ipjournal.ts";

function withDir(fn: (dir: string) => void | Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "ipjournal-"));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const lines = (dir: string) =>
  readFileSync(join(dir, "pod-ips.log"), "utf8").split("\n").filter(Boolean);

test(
  "a burst of changes is appended once, FLUSH_MS later, and read back on open",
  withDir(async (dir) => {
    const j = openIpJournal(dir);
    for (let i = 0; i < 110; i++) j.set(`ns/p${i}`, `127.244.0.${i + 2}`);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(lines(dir), [], "nothing appended at once");
    // The burst is appended in one write: the first lines to appear are all of them.
    await waitFor(() => lines(dir).length > 0, { what: `the journal's flush (${FLUSH_MS} ms)` });
    assert.equal(lines(dir).length, 110);
    const again = openIpJournal(dir);
    assert.equal(again.entries().size, 110);
    assert.equal(again.entries().get("ns/p109"), "127.244.0.111");
  }),
);

test(
  "a release removes only the address it names",
  withDir((dir) => {
    const j = openIpJournal(dir);
    j.set("ns/web-0", "127.244.0.2");
    // The pod came back on another node before the first node released its old address.
    j.set("ns/web-0", "127.244.1.2");
    j.release("ns/web-0", "127.244.0.2");
    j.flush();
    assert.equal(openIpJournal(dir).entries().get("ns/web-0"), "127.244.1.2");
    const k = openIpJournal(dir);
    k.release("ns/web-0", "127.244.1.2");
    k.flush();
    assert.equal(openIpJournal(dir).entries().has("ns/web-0"), false);
  }),
);

test(
  "a partial last line (kill -9 mid-append) is ignored, whole lines are kept",
  withDir((dir) => {
    const j = openIpJournal(dir);
    j.set("ns/a", "127.244.0.2");
    j.flush();
    appendFileSync(join(dir, "pod-ips.log"), "+ ns/b 127.244.0.3\n+ ns/c 127.2");
    const back = openIpJournal(dir).entries();
    assert.deepEqual(
      [...back],
      [
        ["ns/a", "127.244.0.2"],
        ["ns/b", "127.244.0.3"],
      ],
    );
  }),
);

test(
  "the log is compacted on open and once it holds twice as many lines as live entries",
  withDir((dir) => {
    const j = openIpJournal(dir);
    for (let i = 0; i < 600; i++) {
      j.set(`ns/p${i}`, `127.244.${i >> 8}.${(i & 255) + 2}`);
      if (i >= 10) j.release(`ns/p${i}`, `127.244.${i >> 8}.${(i & 255) + 2}`);
    }
    j.flush();
    assert.equal(lines(dir).length, 10, "1,200 lines for 10 live entries: compacted");
    j.set("ns/x", "127.244.9.9");
    j.release("ns/x", "127.244.9.9");
    j.flush();
    assert.equal(lines(dir).length, 12);
    openIpJournal(dir);
    assert.equal(lines(dir).length, 10, "compacted on open");
  }),
);

test(
  "a data dir with the former pod-ips.json map is folded into the log",
  withDir((dir) => {
    writeFileSync(join(dir, "pod-ips.json"), JSON.stringify({ "ns/old": "127.244.0.7" }));
    const j = openIpJournal(dir);
    assert.equal(j.entries().get("ns/old"), "127.244.0.7");
    assert.equal(existsSync(join(dir, "pod-ips.json")), false);
    assert.equal(openIpJournal(dir).entries().get("ns/old"), "127.244.0.7");
  }),
);

test(
  "a journal whose file cannot be written (a full disk: /dev/full) keeps its entries, reports once, and writes them when it can",
  { skip: existsSync("/dev/full") ? false : "no /dev/full here" },
  withDir(async (dir) => {
    const errors: string[] = [];
    const j = openIpJournal(dir, { onError: (e) => errors.push(String(e.code)) });
    const file = join(dir, "pod-ips.log");
    rmSync(file);
    symlinkSync("/dev/full", file);
    // Mocked timers: the retry after the failed flush (which fails again, with ns/b) runs at
    // once, not a second later.
    mock.timers.enable({ apis: ["setTimeout"] });
    try {
      j.set("ns/a", "127.244.0.2");
      j.flush();
      j.set("ns/b", "127.244.0.3");
      mock.timers.tick(FLUSH_MS);
    } finally {
      mock.timers.reset();
    }
    assert.deepEqual(errors, ["ENOSPC"]);
    assert.equal(j.entries().get("ns/b"), "127.244.0.3");
    // The disk has room again: everything pending is written, in order.
    rmSync(file);
    writeFileSync(file, "");
    j.flush();
    assert.deepEqual(lines(dir), ["+ ns/a 127.244.0.2", "+ ns/b 127.244.0.3"]);
    assert.equal(openIpJournal(dir).entries().get("ns/b"), "127.244.0.3");
  }),
);

test(
  "a journal that cannot compact at open (the temporary file is a directory) opens all the same",
  withDir((dir) => {
    const j = openIpJournal(dir);
    j.set("ns/a", "127.244.0.2");
    j.flush();
    mkdirSync(join(dir, "pod-ips.log.tmp"));
    const errors: string[] = [];
    const again = openIpJournal(dir, { onError: (e) => errors.push(String(e.code)) });
    assert.equal(again.entries().get("ns/a"), "127.244.0.2");
    assert.deepEqual(errors, ["EISDIR"]);
  }),
);
