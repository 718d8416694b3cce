import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { SqliteStore } from "./sqlite.ts";
import { runStoreConformance } from "./store.conformance.ts";

const root = mkdtempSync(join(tmpdir(), "loopkube-store-"));
after(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;
const freshPath = () => join(root, `db${++seq}`, "store.db");

runStoreConformance("sqlite", (tuning) => new SqliteStore({ ...tuning, path: freshPath() }));

const obj = (name: string) => ({ metadata: { name, namespace: "default" }, spec: { n: name } });

describe("SqliteStore persistence", () => {
  test("reopening keeps every object and the revision continues", () => {
    const path = freshPath();
    const a = new SqliteStore({ path });
    a.create("/pods/default/a", obj("a"));
    a.create("/pods/default/b", obj("b"));
    a.update("/pods/default/a", { ...obj("a"), status: { phase: "Running" } });
    a.create("/pods/default/c", obj("c"));
    a.delete("/pods/default/c");
    assert.equal(a.revision(), 5);
    a.close();

    const b = new SqliteStore({ path });
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
      rejectsCas(b);
    } finally {
      b.close();
    }
  });

  test("a reopened store has an empty window: watches start at its revision", () => {
    const path = freshPath();
    const a = new SqliteStore({ path });
    a.create("/k/a", obj("a"));
    a.create("/k/b", obj("b"));
    a.close();
    const b = new SqliteStore({ path });
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
    const a = new SqliteStore({ path });
    a.create("/k/a", obj("old"));
    a.create("/k/b", obj("b"));
    a.close();
    const db = new Database(path);
    db.prepare("INSERT INTO objects (key, revision, value) VALUES (?, ?, ?)").run(
      "/k/a",
      7,
      JSON.stringify(obj("new")),
    );
    db.close();
    const b = new SqliteStore({ path });
    try {
      assert.equal(b.get("/k/a")?.metadata.name, "new");
      assert.equal(b.revision(), 7);
      b.delete("/k/a");
    } finally {
      b.close();
    }
    const c = new SqliteStore({ path });
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
    const a = new SqliteStore({ path });
    try {
      assert.throws(() => new SqliteStore({ path }), /in use by another process or store/);
      a.create("/k/a", obj("a"));
    } finally {
      a.close();
    }
    new SqliteStore({ path }).close();
  });

  test("every write acknowledged before kill -9 survives, and the revision covers them", async () => {
    const dir = mkdtempSync(join(root, "crash-"));
    const path = join(dir, "store.db");
    const script = fileURLToPath(new URL("./_testing/crash-writer.ts", import.meta.url));
    const repo = fileURLToPath(new URL("../..", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", script, path], {
      cwd: repo,
      stdio: ["ignore", "pipe", "pipe"],
    });
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

    const store = new SqliteStore({ path });
    try {
      // The writer deletes p(i-1) before acknowledging p(i) when i % 10 === 9: such a key must be
      // gone if its successor was acknowledged; its fate is open only when the kill came between.
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

function rejectsCas(store: SqliteStore): void {
  assert.throws(() => store.update("/pods/default/a", obj("a"), 2), { code: "Conflict" });
}
