/**
 * `SqliteStore`: the durable backend, one SQLite file, through Node's built-in `node:sqlite`
 * where the running Node has it and better-sqlite3 elsewhere (Node 20); see `_sql.ts`. One
 * implementation over both: same SQL, same pragmas, same file.
 *
 * Durability: the database runs in WAL mode with `synchronous=NORMAL`. Every write is one
 * statement in its own transaction, committed before the call returns; the commit appends to the
 * WAL file through the OS page cache, so a write that returned survives the death of the process
 * (`kill -9`, a crash). Commits are not fsynced (only checkpoints are, every 4,000 WAL pages), so
 * an OS crash or power loss may roll back the last writes, though never corrupt the file (SQLite's
 * guarantee for WAL + NORMAL). Loopkube promises survival of process death, not of power loss;
 * in exchange a write costs a `write(2)` instead of an fsync (measured: ~20,000 commits/s against
 * ~300/s with `synchronous=FULL`).
 *
 * A write SQLite refuses (disk full, `SQLITE_FULL` past `quotaBytes`, an I/O error) rolls back
 * whole and throws; the engine then answers `WriteFailed` and changes nothing in memory. A commit
 * that went into the WAL stands even when the checkpoint after it cannot grow the file: SQLite's
 * automatic checkpoint does not fail the write, and the pages wait in the WAL for the next one.
 *
 * Reads never touch SQLite: every object is loaded into the shared in-memory index at open
 * and written through on every write (see `_engine.ts`). The database is opened with an
 * exclusive lock, so a second process (or store) on the same file fails at open instead of
 * writing behind this index's back.
 *
 * Schema: `objects(id, key, revision, value)` holds each object's JSON (its stored resourceVersion
 * is not trusted: the `revision` column is), `meta('revision')` the revision of the latest
 * delete; the store's revision at open is the larger of that and the newest object's.
 *
 * @module
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { KubeObject } from "../api/types.ts";
import { internStrings } from "./_clone.ts";
import {
  type InitialState,
  type Journal,
  type StoreTuning,
  stampRevision,
  VersionedStore,
} from "./_engine.ts";
import type { SqlDriver, SqlDriverName, SqlStatement } from "./_sql.ts";
import { openSqlDriver } from "./_sql_open.ts";

const SCHEMA_VERSION = 1;
const CHECKPOINT_PAGES = 4000;

export interface SqliteStoreOptions extends StoreTuning {
  /** The database file; its directory is created if missing. */
  path: string;
  /** Most bytes the database file may grow to (like etcd's `--quota-backend-bytes`); writes
   *  past it fail with `WriteFailed` ("database or disk is full"). Default: no limit. */
  quotaBytes?: number;
  /** The driver to use; default: `node:sqlite` where present, else better-sqlite3. */
  driver?: SqlDriverName;
}

export class SqliteStore extends VersionedStore {
  /** The driver this store runs on. */
  readonly driver: SqlDriverName;

  constructor(options: SqliteStoreOptions) {
    const { path, quotaBytes, driver, ...tuning } = options;
    const db = openDatabase(path, driver, quotaBytes);
    try {
      const { initial, ids } = load(db);
      super(new SqliteJournal(db, ids, path), initial, tuning);
    } catch (err) {
      db.close();
      throw err;
    }
    this.driver = db.name;
  }
}

function openDatabase(path: string, driver?: SqlDriverName, quotaBytes?: number): SqlDriver {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = openSqlDriver(path, driver);
  const pragma = (sql: string) => db.prepare(`PRAGMA ${sql}`).get() ?? {};
  try {
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    const mode = pragma("journal_mode = WAL")["journal_mode"];
    if (mode !== "wal" && path !== ":memory:") throw new Error(`journal_mode is ${String(mode)}`);
    db.exec("PRAGMA synchronous = NORMAL");
    // Checkpoints (the only fsyncs in this mode) every 4,000 pages (16 MB) rather than 1,000:
    // they cost in proportion to the pages they copy, fewer of them copy each hot page fewer times.
    db.exec(`PRAGMA wal_autocheckpoint = ${CHECKPOINT_PAGES}`);
    // Takes (and, in exclusive mode, keeps) the write lock now.
    db.exec("BEGIN IMMEDIATE; COMMIT");
    const version = Number(pragma("user_version")["user_version"]);
    if (version > SCHEMA_VERSION) {
      throw new Error(`database schema ${version} is newer than this loopkube (${SCHEMA_VERSION})`);
    }
    // Rows are addressed by an integer id, not by key: a create appends to the end of one B-tree
    // instead of also inserting into a key index at a random place, which halves the pages each
    // commit writes. Keys are unique because this store, holding the exclusive lock, is the only
    // writer and checks them in memory.
    db.exec(`
      CREATE TABLE IF NOT EXISTS objects (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        revision INTEGER NOT NULL,
        value TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      PRAGMA user_version = ${SCHEMA_VERSION};
    `);
    if (quotaBytes !== undefined) {
      const pageSize = Number(pragma("page_size")["page_size"]);
      // SQLite never sets the bound below the pages already in use.
      pragma(`max_page_count = ${Math.max(1, Math.floor(quotaBytes / pageSize))}`);
    }
    return db;
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === "SQLITE_BUSY") {
      throw new Error(`store: ${path} is in use by another process or store`, { cause: err });
    }
    throw err;
  }
}

/** Reads every row; returns the store's initial state and each key's row id. */
function load(db: SqlDriver): { initial: InitialState; ids: Map<string, number> } {
  const meta = db.prepare("SELECT value FROM meta WHERE name = 'revision'").get();
  let revision = Number(meta?.["value"] ?? 0);
  const ids = new Map<string, number>();
  const objects = new Map<string, KubeObject>();
  const stale: number[] = [];
  const rows = db.prepare("SELECT id, key, revision, value FROM objects ORDER BY id").iterate();
  for (const r of rows) {
    const row = r as { id: number; key: string; revision: number; value: string };
    const seen = objects.get(row.key);
    if (seen !== undefined) {
      // Cannot happen while this store is the only writer; if it does, the newer row wins.
      if (Number(seen.metadata.resourceVersion) > row.revision) {
        stale.push(row.id);
        continue;
      }
      stale.push(ids.get(row.key)!);
    }
    const object = internStrings(JSON.parse(row.value) as KubeObject);
    objects.set(row.key, stampRevision(object, row.revision));
    ids.set(row.key, row.id);
    if (row.revision > revision) revision = row.revision;
  }
  const drop = db.prepare("DELETE FROM objects WHERE id = ?");
  for (const id of stale) drop.run(id);
  return { initial: { revision, objects: [...objects] }, ids };
}

class SqliteJournal implements Journal {
  private readonly insert: SqlStatement;
  private readonly update: SqlStatement;
  private readonly del: SqlStatement;
  private readonly setRevision: SqlStatement;

  constructor(
    private readonly db: SqlDriver,
    /** Row id of every stored key. */
    private readonly ids: Map<string, number>,
    private readonly path: string,
  ) {
    this.insert = db.prepare("INSERT INTO objects (key, revision, value) VALUES (?, ?, ?)");
    this.update = db.prepare("UPDATE objects SET revision = ?, value = ? WHERE id = ?");
    this.del = db.prepare("DELETE FROM objects WHERE id = ?");
    this.setRevision = db.prepare(
      `INSERT INTO meta (name, value) VALUES ('revision', ?)
       ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
    );
  }

  // A put is one autocommitted statement; its revision lives in the row itself.
  put(key: string, revision: number, object: KubeObject): void {
    const json = JSON.stringify(object);
    const id = this.ids.get(key);
    this.write(() => {
      if (id === undefined) {
        const { lastInsertRowid } = this.insert.run(key, revision, json);
        this.ids.set(key, lastInsertRowid);
      } else {
        this.update.run(revision, json, id);
      }
    });
  }

  remove(key: string, revision: number): void {
    const id = this.ids.get(key);
    if (id === undefined) throw new Error(`store: no row for ${key}`);
    // A delete leaves no row behind, so its revision is recorded in the same transaction.
    this.write(() =>
      this.db.transaction(() => {
        this.del.run(id);
        this.setRevision.run(revision);
      }),
    );
    this.ids.delete(key);
  }

  close(): void {
    this.db.close();
  }

  /** Runs a write, naming the file in its failure ("database or disk is full" says not which). */
  private write(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      const code = (err as { code?: string }).code ?? "SQLITE_ERROR";
      throw new Error(`${(err as Error).message} (${code}, ${this.path})`, { cause: err });
    }
  }
}
