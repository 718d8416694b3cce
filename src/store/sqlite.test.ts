import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { SQL_DRIVERS, type SqlDriverName } from "./_sql.ts";
import { openSqlDriver, sqlDriverStatus } from "./_sql_open.ts";
import { SqliteStore } from "./sqlite.ts";
import { runStoreConformance } from "./store.conformance.ts";
import type { StoreEvent } from "./types.ts";

const root = mkdtempSync(join(tmpdir(), "loopkube-store-"));
after(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;
const freshPath = () => join(root, `db${++seq}`, "store.db");
const repo = fileURLToPath(new URL("../..", import.meta.url));
const testing = (file: string) => fileURLToPath(new URL(`./_testing/${file}`, import.meta.url));

const obj = (name: string) => ({ metadata: { name, namespace: "default" }, spec: { n: name } });

for (const driver of SQL_DRIVERS) {
  const status = sqlDriverStatus(driver);
  if (!status.ok) {
    describe(`SqliteStore on ${driver}`, { skip: `${driver} is not available: ${status.reason}` });
    continue;
  }
  runStoreConformance(`sqlite (${driver})`, (tuning) => {
    return new SqliteStore({ ...tuning, path: freshPath(), driver });
  });
  describePersistence(driver);
  describeFullDisk(driver);
}

describe("SqliteStore driver choice", () => {
  test("uses node:sqlite where this Node has it, better-sqlite3 elsewhere", () => {
    const store = new SqliteStore({ path: freshPath() });
    try {
      const expected = sqlDriverStatus("node:sqlite").ok ? "node:sqlite" : "better-sqlite3";
      assert.equal(store.driver, expected);
    } finally {
      store.close();
    }
  });

  test("without better-sqlite3 installed, opens on node:sqlite or says in one sentence what to do", async () => {
    const out = await runChild([
      "--require",
      testing("hide-better-sqlite3.cjs"),
      "--import",
      "tsx",
      testing("open-store.ts"),
      freshPath(),
    ]);
    if (sqlDriverStatus("node:sqlite").ok) {
      assert.deepEqual(out, { code: 0, stdout: "node:sqlite\n" });
    } else {
      assert.equal(out.code, 1);
      assert.equal(
        out.stdout,
        `store: SQLite needs Node.js 22.13 or newer (built-in node:sqlite), or on Node.js ${process.version} the optional package better-sqlite3, which cannot be used (it is not installed): use Node.js 22 or 24, install better-sqlite3 where a C++ compiler is present (npm install better-sqlite3), or run with --ephemeral\n`,
      );
    }
  });
});

function describePersistence(driver: SqlDriverName): void {
  const open = (path: string) => new SqliteStore({ path, driver });

  describe(`SqliteStore on ${driver}: persistence`, () => {
    test("reopening keeps every object and the revision continues", () => {
      const path = freshPath();
      const a = open(path);
      a.create("/pods/default/a", obj("a"));
      a.create("/pods/default/b", obj("b"));
      a.update("/pods/default/a", { ...obj("a"), status: { phase: "Running" } });
      a.create("/pods/default/c", obj("c"));
      a.delete("/pods/default/c");
      assert.equal(a.revision(), 5);
      a.close();

      const b = open(path);
      try {
        assert.equal(b.revision(), 5, "the revision of the last write, a delete, is kept");
        assert.deepEqual(
          b.list("/pods/").items.map((o) => [o.metadata.name, o.metadata.resourceVersion]),
          [
            ["a", "3"],
            ["b", "2"],
          ],
        );
        assert.deepEqual(b.get("/pods/default/a")?.["status"], { phase: "Running" });
        assert.equal(b.get("/pods/default/c"), undefined);
        assert.equal(b.count("/pods/"), 2);
        assert.equal(b.create("/pods/default/d", obj("d")).metadata.resourceVersion, "6");
        assert.throws(() => b.update("/pods/default/a", obj("a"), 2), { code: "Conflict" });
      } finally {
        b.close();
      }
    });

    test("a file written by the other driver opens with every object", (t) => {
      const other = SQL_DRIVERS.find((d) => d !== driver)!;
      const status = sqlDriverStatus(other);
      if (!status.ok) return t.skip(`${other} is not available: ${status.reason}`);
      const path = freshPath();
      const a = new SqliteStore({ path, driver: other });
      a.create("/k/a", obj("a"));
      a.create("/k/b", obj("b"));
      a.delete("/k/a");
      a.close();
      const b = open(path);
      try {
        assert.equal(b.revision(), 3);
        assert.deepEqual(
          b.list("/k/").items.map((o) => o.metadata.name),
          ["b"],
        );
      } finally {
        b.close();
      }
    });

    test("a reopened store has an empty window: watches start at its revision", () => {
      const path = freshPath();
      const a = open(path);
      a.create("/k/a", obj("a"));
      a.create("/k/b", obj("b"));
      a.close();
      const b = open(path);
      try {
        assert.equal(b.oldestWatchableRevision(), 2);
        assert.throws(() => b.watch("/k/", { fromRevision: 1, onEvent: () => {} }), {
          code: "Expired",
          message: "too old resource version: 1 (2)",
        });
        b.watch("/k/", { fromRevision: 2, onEvent: () => {} }).stop();
      } finally {
        b.close();
      }
    });

    test("a key stored twice in the file (never written so) loads as its newer row", () => {
      const path = freshPath();
      const a = open(path);
      a.create("/k/a", obj("old"));
      a.create("/k/b", obj("b"));
      a.close();
      const db = openSqlDriver(path, driver);
      db.prepare("INSERT INTO objects (key, revision, value) VALUES (?, ?, ?)").run(
        "/k/a",
        7,
        JSON.stringify(obj("new")),
      );
      db.close();
      const b = open(path);
      try {
        assert.equal(b.get("/k/a")?.metadata.name, "new");
        assert.equal(b.revision(), 7);
        b.delete("/k/a");
      } finally {
        b.close();
      }
      const c = open(path);
      try {
        assert.equal(c.get("/k/a"), undefined, "the older duplicate was dropped too");
        assert.deepEqual(
          c.list("/k/").items.map((o) => o.metadata.name),
          ["b"],
        );
      } finally {
        c.close();
      }
    });

    test("a second store on the same file fails at open", () => {
      const path = freshPath();
      const a = open(path);
      try {
        assert.throws(
          () => open(path),
          (err: Error) => {
            assert.match(err.message, /in use by another process or store/);
            assert.equal((err.cause as { code?: string }).code, "SQLITE_BUSY");
            return true;
          },
        );
        a.create("/k/a", obj("a"));
      } finally {
        a.close();
      }
      open(path).close();
    });

    // Across processes, as a cluster started on another Node would try. (Within one process two
    // SQLite libraries do not see each other's POSIX locks, so loopkube picks one driver per
    // process and the test holds the file from a child.)
    test("a store held by another process fails at open, whichever driver either uses", async () => {
      for (const other of SQL_DRIVERS.filter((d) => sqlDriverStatus(d).ok)) {
        const path = freshPath();
        const holder = spawn(
          process.execPath,
          ["--import", "tsx", testing("hold-store.ts"), path, other],
          { cwd: repo, stdio: ["pipe", "pipe", "inherit"] },
        );
        try {
          await new Promise<void>((resolve, reject) => {
            holder.stdout.once("data", () => resolve());
            holder.once("exit", (code) => reject(new Error(`holder exited (${code})`)));
          });
          assert.throws(() => open(path), /in use by another process or store/, other);
        } finally {
          const exited = new Promise((resolve) => holder.once("exit", resolve));
          holder.stdin.end();
          await exited;
        }
        open(path).close();
      }
    });

    test("every write acknowledged before kill -9 survives, and the revision covers them", async () => {
      const dir = mkdtempSync(join(root, "crash-"));
      const path = join(dir, "store.db");
      const child = spawn(
        process.execPath,
        ["--import", "tsx", testing("crash-writer.ts"), path, driver],
        { cwd: repo, stdio: ["ignore", "pipe", "pipe"] },
      );
      const acked: string[] = [];
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on("exit", (_code, signal) => resolve(signal)),
      );
      await new Promise<void>((resolve, reject) => {
        let partial = "";
        child.stdout.on("data", (d: Buffer) => {
          const lines = (partial + d.toString()).split("\n");
          partial = lines.pop()!;
          acked.push(...lines);
          if (acked.length >= 300) {
            child.kill("SIGKILL");
            resolve();
          }
        });
        child.on("exit", () => reject(new Error(`writer exited early: ${stderr}`)));
      });
      assert.equal(await exited, "SIGKILL");

      const store = open(path);
      try {
        // The writer deletes p(i-1) before acknowledging p(i) when i % 10 === 9: such a key must
        // be gone if its successor was acknowledged; its fate is open only when the kill came
        // between.
        const index = (k: string) => Number(k.slice(k.lastIndexOf("p") + 1));
        const ackedSet = new Set(acked);
        const deletedAfterAck = (k: string) =>
          index(k) % 10 === 8 && ackedSet.has(`/pods/default/p${index(k) + 1}`);
        const undecided = (k: string) => index(k) % 10 === 8 && !deletedAfterAck(k);
        const missing = acked.filter((k) => !deletedAfterAck(k) && !undecided(k) && !store.get(k));
        assert.deepEqual(missing, []);
        const resurrected = acked.filter((k) => deletedAfterAck(k) && store.get(k));
        assert.deepEqual(resurrected, []);
        const deletes = acked.filter((k) => index(k) % 10 === 9).length;
        assert.ok(
          store.revision() >= acked.length + deletes,
          `revision ${store.revision()} < ${acked.length} creates + ${deletes} deletes`,
        );
      } finally {
        store.close();
      }
    });
  });
}

function describeFullDisk(driver: SqlDriverName): void {
  // SQLite's max_page_count refuses growth exactly as a full disk does: SQLITE_FULL,
  // "database or disk is full", the statement rolled back.
  const QUOTA = 256 * 1024;
  const big = (name: string) => ({ ...obj(name), data: { blob: "x".repeat(4000) } });

  describe(`SqliteStore on ${driver}: a full disk`, () => {
    test("writes past the quota fail with WriteFailed, change nothing and lose nothing", async () => {
      const path = freshPath();
      const store = new SqliteStore({ path, driver, quotaBytes: QUOTA });
      const events: StoreEvent[] = [];
      const acked: string[] = [];
      let failure: unknown;
      let revision = 0;
      try {
        store.watch("/k/", { fromRevision: 0, onEvent: (e) => events.push(e) });
        assert.deepEqual(store.health(), { writable: true });
        for (let i = 0; i < 1000 && failure === undefined; i++) {
          try {
            store.create(`/k/o${i}`, big(`o${i}`));
            acked.push(`/k/o${i}`);
          } catch (err) {
            failure = err;
          }
        }
        assert.ok(acked.length > 10, `only ${acked.length} objects fit in ${QUOTA} bytes`);
        assert.equal((failure as { code?: string }).code, "WriteFailed");
        assert.match(
          (failure as Error).message,
          /^storage cannot write: database or disk is full \(SQLITE_FULL, .*store\.db\)$/,
        );
        const health = store.health();
        assert.equal(health.writable, false);
        assert.equal(health.reason, (failure as Error).message);

        // Nothing changed: no revision taken, no object, no event; reads go on.
        const failedKey = `/k/o${acked.length}`;
        assert.equal(store.revision(), acked.length);
        assert.equal(store.get(failedKey), undefined);
        assert.equal(store.count("/k/"), acked.length);
        assert.throws(() => store.update(acked[0]!, big("again")), { code: "WriteFailed" });
        assert.equal(store.get(acked[0]!)?.metadata.resourceVersion, "1");

        // Deletes free space (as etcd takes deletes past its quota) but prove nothing yet.
        const creates = acked.length;
        for (const key of acked.splice(0, 5)) store.delete(key);
        assert.equal(store.health().writable, false);
        store.create(failedKey, big(failedKey.slice("/k/".length)));
        acked.push(failedKey);
        assert.deepEqual(store.health(), { writable: true });
        revision = store.revision();
        assert.equal(revision, creates + 5 + 1);
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(
          events.map((e) => e.revision),
          Array.from({ length: store.revision() }, (_, i) => i + 1),
          "one event per acknowledged write, none for the failed ones",
        );
      } finally {
        store.close();
      }

      const reopened = new SqliteStore({ path, driver });
      try {
        assert.deepEqual(
          reopened
            .list("/k/")
            .items.map((o) => o.metadata.name)
            .sort(),
          acked.map((k) => k.slice("/k/".length)).sort(),
        );
        assert.equal(reopened.revision(), revision);
      } finally {
        reopened.close();
      }
    });
  });
}

function runChild(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: repo,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout }));
  });
}
