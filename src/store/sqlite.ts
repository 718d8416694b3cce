/**
 * `SqliteStore`: the durable backend, one SQLite file through better-sqlite3.
 *
 * Durability: the database runs in WAL mode with `synchronous=NORMAL`. Every write is one
 * statement in its own transaction, committed before the call returns; the commit appends to the
 * WAL file through the OS page cache, so a write that returned survives the death of the process
 * (`kill -9`, a crash). It is not fsynced on every commit, so an OS crash or power loss may lose
 * the last writes (never corrupt the file); that is the trade kube's users get from etcd's
 * batching too, and it keeps writes far above the API server's needs.
 *
 * Reads never touch SQLite: every object is loaded into the shared in-memory index at open
 * and written through on every write (see `_engine.ts`). The database is opened with an
 * exclusive lock, so a second process (or store) on the same file fails at open instead of
 * writing behind this index's back.
 *
 * Schema: `objects(key, revision, value)` holds each object's JSON (its stored resourceVersion is
 * not trusted: the `revision` column is), `meta('revision')` the revision of the latest delete;
 * the store's revision at open is the larger of that and the newest object's.
 *
 * @module
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { KubeObject } from "../api/types.ts";
import {
  type InitialState,
  type Journal,
  type StoreTuning,
  stampRevision,
  VersionedStore,
} from "./_engine.ts";

const SCHEMA_VERSION = 1;

export interface SqliteStoreOptions extends StoreTuning {
  /** The database file; its directory is created if missing. */
  path: string;
}

export class SqliteStore extends VersionedStore {
  constructor(options: SqliteStoreOptions) {
    const { path, ...tuning } = options;
    const db = openDatabase(path);
    try {
      const initial = load(db);
      super(new SqliteJournal(db), initial, tuning);
    } catch (err) {
      db.close();
      throw err;
    }
  }
}

function openDatabase(path: string): Database.Database {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  // timeout 0: another holder of the lock is an error to report now, not a wait.
  const db = new Database(path, { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    const mode = db.pragma("journal_mode = WAL", { simple: true });
    if (mode !== "wal" && path !== ":memory:") throw new Error(`journal_mode is ${String(mode)}`);
    db.pragma("synchronous = NORMAL");
    // Takes (and, in exclusive mode, keeps) the write lock now.
    db.exec("BEGIN IMMEDIATE; COMMIT");
    const version = Number(db.pragma("user_version", { simple: true }));
    if (version > SCHEMA_VERSION) {
      throw new Error(`database schema ${version} is newer than this loopkube (${SCHEMA_VERSION})`);
    }
    db.exec(`
      CREATE TABLE IF NOT EXISTS objects (
        key TEXT PRIMARY KEY,
        revision INTEGER NOT NULL,
        value TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      PRAGMA user_version = ${SCHEMA_VERSION};
    `);
    return db;
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === "SQLITE_BUSY") {
      throw new Error(`store: ${path} is in use by another process or store`, { cause: err });
    }
    throw err;
  }
}

function load(db: Database.Database): InitialState {
  const meta = db.prepare("SELECT value FROM meta WHERE name = 'revision'").get() as
    | { value: number }
    | undefined;
  let revision = meta?.value ?? 0;
  const objects: InitialState["objects"] = [];
  const rows = db.prepare("SELECT key, revision, value FROM objects").iterate() as Iterable<{
    key: string;
    revision: number;
    value: string;
  }>;
  for (const row of rows) {
    const object = stampRevision(JSON.parse(row.value) as KubeObject, row.revision);
    if (row.revision > revision) revision = row.revision;
    objects.push([row.key, object]);
  }
  return { revision, objects };
}

class SqliteJournal implements Journal {
  private readonly putStmt: Database.Statement<[string, number, string]>;
  private readonly removeTx: (key: string, revision: number) => void;

  constructor(private readonly db: Database.Database) {
    // A put is one autocommitted statement; its revision lives in the row itself.
    this.putStmt = db.prepare(
      `INSERT INTO objects (key, revision, value) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET revision = excluded.revision, value = excluded.value`,
    );
    const del = db.prepare<[string]>("DELETE FROM objects WHERE key = ?");
    const setRevision = db.prepare<[number]>(
      `INSERT INTO meta (name, value) VALUES ('revision', ?)
       ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
    );
    // A delete leaves no row behind, so its revision is recorded in the same transaction.
    this.removeTx = db.transaction((key: string, revision: number) => {
      del.run(key);
      setRevision.run(revision);
    });
  }

  put(key: string, revision: number, json: string): void {
    this.putStmt.run(key, revision, json);
  }

  remove(key: string, revision: number): void {
    this.removeTx(key, revision);
  }

  close(): void {
    this.db.close();
  }
}
