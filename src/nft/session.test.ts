import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { keepNftState, leaseNft, nftSession, oneLine } from "./index.ts";

const nftHere = process.getuid?.() === 0 && spawnSync("nft", ["--version"]).status === 0;
const skip = nftHere ? false : "needs root and nft";
/** A table name no one else on the machine uses (other clusters and tests run beside us). */
const tableName = () => `lknfttest-${randomBytes(4).toString("hex")}`;
const list = (table: string) =>
  spawnSync("nft", ["list", "table", "ip", table], { encoding: "utf8" });
const drop = (table: string) => spawnSync("nft", ["delete", "table", "ip", table]);
const base = (table: string) =>
  `table ip ${table} {\n  set s {\n    type ipv4_addr;\n    elements = { 127.9.0.1,\n      127.9.0.2 }\n  }\n  chain c {\n  }\n}\n`;

describe("oneLine", () => {
  test("joins statements with `;`, blocks and lists with a space, and drops comments outside quotes", () => {
    assert.equal(
      oneLine('# head\ntable ip t {\n  chain c {\n    counter comment "a # b"  # tail\n  }\n}\n'),
      'table ip t { chain c { counter comment "a # b" ; } ; }',
    );
    assert.equal(oneLine("add element ip t s { 1,\n 2 }\n\n"), "add element ip t s { 1, 2 }");
  });
});

describe("nftSession", { skip }, () => {
  test("runs transactions in one process: a failing one rejects with nft's error and leaves the table as before", async () => {
    const t = tableName();
    const s = nftSession({ log: (m) => assert.fail(m) });
    try {
      await s.run(base(t));
      const pid = s.pid();
      assert.ok(pid);
      const before = list(t).stdout;
      assert.match(before, /127\.9\.0\.2/);
      await assert.rejects(
        s.run(
          `add element ip ${t} s { 127.9.0.3 }\nadd rule ip ${t} c counter\ndelete element ip ${t} s { 127.9.0.9 }\n`,
        ),
        (e: Error) => {
          assert.match(e.message, /^Error: Could not process rule: No such file or directory/);
          // The failing statement, not the whole line, is echoed.
          assert.match(e.message, /\ndelete element ip lknfttest-\w+ s \{ 127\.9\.0\.9 \}\n\s+\^+/);
          return true;
        },
      );
      assert.equal(list(t).stdout, before, "a failed transaction changes nothing");
      await s.run(`add element ip ${t} s { 127.9.0.3 }\n`);
      assert.match(list(t).stdout, /127\.9\.0\.3/);
      assert.equal(s.pid(), pid, "the same process ran all three");
      assert.equal(s.mode(), "session");
    } finally {
      await s.close();
      drop(t);
    }
  });

  test("a process that dies mid-run fails that run, and the next run starts a new one", async () => {
    const t = tableName();
    const s = nftSession({ log: (m) => assert.fail(m) });
    try {
      await s.run(base(t));
      const pid = s.pid();
      assert.ok(pid);
      // A big transaction, so that the kill lands while nft is reading or committing it.
      const els = Array.from({ length: 20000 }, (_, i) => `127.8.${i >> 8}.${i & 255}`);
      const big = s.run(`add element ip ${t} s { ${els.join(", ")} }\n`);
      process.kill(pid, "SIGKILL");
      await assert.rejects(big, /nft -i exited with SIGKILL/);
      await s.run(`add element ip ${t} s { 127.9.0.4 }\n`);
      assert.notEqual(s.pid(), undefined);
      assert.notEqual(s.pid(), pid, "a new process");
      assert.match(list(t).stdout, /127\.9\.0\.4/);
    } finally {
      await s.close();
      drop(t);
    }
  });

  test("where `nft -i` cannot run, runs fork `nft -f -`, said once", async () => {
    const t = tableName();
    const said: string[] = [];
    const s = nftSession({ log: (m) => said.push(m), command: ["false"] });
    try {
      await s.run(base(t));
      await s.run(`add element ip ${t} s { 127.9.0.5 }\n`);
      assert.match(list(t).stdout, /127\.9\.0\.5/);
      assert.equal(s.mode(), "fork");
      assert.equal(said.length, 1);
      assert.match(
        said[0] ?? "",
        /nft -i did not answer \(nft -i exited with 1\): one nft process per change/,
      );
      await assert.rejects(s.run(`delete element ip ${t} s { 127.9.0.9 }\n`), /No such file/);
    } finally {
      await s.close();
      drop(t);
    }
  });

  test("the process is replaced once it has read recycleBytes", async () => {
    const t = tableName();
    const s = nftSession({ log: (m) => assert.fail(m), recycleBytes: 1 });
    try {
      await s.run(base(t));
      assert.equal(s.pid(), undefined, "replaced after the run");
      await s.run(`add element ip ${t} s { 127.9.0.6 }\n`);
      assert.match(list(t).stdout, /127\.9\.0\.6/);
    } finally {
      await s.close();
      drop(t);
    }
  });
});

describe("leaseNft", { skip }, () => {
  test("tables of one cluster share a process, two clusters each have their own, the last release ends it", async () => {
    const [a, b] = [tableName(), tableName()];
    const a1 = leaseNft(a, (m) => assert.fail(m));
    const a2 = leaseNft(a, (m) => assert.fail(m));
    const b1 = leaseNft(b, (m) => assert.fail(m));
    try {
      assert.equal(a1.runner, a2.runner);
      assert.notEqual(a1.runner, b1.runner);
      await Promise.all([a1.runner.run(base(a)), b1.runner.run(base(b))]);
      await a2.runner.run(`add table ip ${a}-svc\n`);
      const [pa, pb] = [a1.runner.pid(), b1.runner.pid()];
      assert.ok(pa && pb && pa !== pb, `${pa} vs ${pb}`);
      assert.equal(a2.runner.pid(), pa);
      await a1.release();
      assert.equal(a2.runner.pid(), pa, "still used by a2");
      await a2.release();
      assert.equal(a2.runner.pid(), undefined, "ended with its last lease");
      assert.equal(list(a).status, 0, "its tables stay");
    } finally {
      await Promise.all([a1.release(), a2.release(), b1.release()]);
      for (const x of [a, `${a}-svc`, b]) drop(x);
    }
  });
});

describe("keepNftState", { skip }, () => {
  test("an incremental run that fails is reported and followed by a full one; stop deletes the table and ends the process", async () => {
    const t = tableName();
    const errors: string[] = [];
    let want = ["127.9.1.1"];
    let fail = false;
    const full = (m: string[]) =>
      `table ip ${t}\ndelete table ip ${t}\ntable ip ${t} {\n set s {\n type ipv4_addr;\n elements = { ${m.join(", ")} }\n }\n}\n`;
    const keeper = keepNftState<string[]>({
      table: t,
      desired: () => [...want],
      script: (prev, next) =>
        prev === undefined
          ? full(next)
          : fail
            ? `add element ip ${t} s { ${next.at(-1)} }\ndelete element ip ${t} s { 127.9.9.9 }\n`
            : `add element ip ${t} s { ${next.at(-1)} }\n`,
      onError: (e) => errors.push(String(e)),
    });
    try {
      keeper.changed();
      await keeper.settled();
      want = [...want, "127.9.1.2"];
      keeper.changed();
      await keeper.settled();
      assert.match(list(t).stdout, /127\.9\.1\.1, 127\.9\.1\.2/);
      fail = true;
      want = [...want, "127.9.1.3"];
      keeper.changed();
      await keeper.settled();
      assert.equal(errors.length, 1);
      assert.match(errors[0] ?? "", /No such file or directory/);
      assert.match(list(t).stdout, /127\.9\.1\.3/, "the full run that followed wrote it");
    } finally {
      await keeper.stop();
    }
    assert.notEqual(list(t).status, 0, "stop deleted the table");
  });
});

describe("keepNftState's settled()", () => {
  test("waits for the changes seen when it is called, not for a stream of later ones", async () => {
    // Nothing to write (no nft run): only the bookkeeping of runs is under test.
    const keeper = keepNftState<string>({
      table: "loopkube-unused",
      desired: () => "same",
      script: () => undefined,
      onError: (e) => assert.fail(String(e)),
    });
    let settled = false;
    keeper.changed();
    const waited = keeper.settled().then(() => {
      settled = true;
    });
    // A change at every turn of the event loop, as the pod informer gives in a burst.
    let turns = 0;
    for (; !settled && turns < 200; turns++) {
      keeper.changed();
      await new Promise((r) => setImmediate(r));
    }
    await waited;
    assert.ok(turns < 200, `settled() waited through ${turns} later changes`);
    await keeper.stop();
  });
});
