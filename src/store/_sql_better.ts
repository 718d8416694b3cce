/**
 * The {@link SqlDriver} over better-sqlite3, the native package loopkube uses where Node has no
 * `node:sqlite` (Node 20). It is an optional dependency: npm skips it when it cannot be built
 * (no compiler, no Node headers offline), so it is loaded at first use and its absence is a
 * reason, not a crash. Its addon loads only when a database is opened, so availability is
 * decided by opening one in memory.
 *
 * @module
 */
import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";
import {
  primaryCode,
  type SqlDriver,
  SqliteError,
  type SqlRow,
  type SqlStatement,
  type SqlValue,
  transactionOver,
} from "./_sql.ts";

const require = createRequire(import.meta.url);
let loaded:
  | { ok: true; Database: typeof BetterSqlite3 }
  | { ok: false; reason: string }
  | undefined;

/** better-sqlite3's constructor, or why it cannot be used in this Node. */
export function loadBetterSqlite():
  | { ok: true; Database: typeof BetterSqlite3 }
  | { ok: false; reason: string } {
  if (loaded) return loaded;
  try {
    const Database = require("better-sqlite3") as typeof BetterSqlite3;
    new Database(":memory:").close();
    loaded = { ok: true, Database };
  } catch (err) {
    loaded = { ok: false, reason: whyNot(err) };
  }
  return loaded;
}

function whyNot(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e.code === "MODULE_NOT_FOUND") return "it is not installed";
  const message = (e.message ?? String(err)).replace(/\s+/g, " ");
  const abi =
    /NODE_MODULE_VERSION (\d+)\. This version of Node\.js requires NODE_MODULE_VERSION (\d+)/.exec(
      message,
    );
  if (abi) return `it was built for another Node.js (ABI ${abi[1]}, this one is ${abi[2]})`;
  return message;
}

/** Opens (creating if missing) the database at `path` through better-sqlite3. */
export function openBetterSqlite(path: string): SqlDriver {
  const found = loadBetterSqlite();
  if (!found.ok) throw new Error(`better-sqlite3 cannot be used: ${found.reason}`);
  // timeout 0: like node:sqlite, a lock held elsewhere is an error now, not a wait.
  const db = guard(() => new found.Database(path, { timeout: 0 }));
  const prepare = (sql: string): SqlStatement =>
    statement(guard(() => db.prepare<SqlValue[]>(sql)));
  return {
    name: "better-sqlite3",
    exec: (sql) => {
      guard(() => db.exec(sql));
    },
    prepare,
    transaction: transactionOver(prepare),
    close: () => {
      db.close();
    },
  };
}

function statement(s: BetterSqlite3.Statement<SqlValue[]>): SqlStatement {
  return {
    run: (...params) => {
      const r = guard(() => s.run(...params));
      return { changes: r.changes, lastInsertRowid: Number(r.lastInsertRowid) };
    },
    get: (...params) => guard(() => s.get(...params)) as SqlRow | undefined,
    all: (...params) => guard(() => s.all(...params)) as SqlRow[],
    iterate: (...params) => rows(guard(() => s.iterate(...params))),
  };
}

function* rows(it: IterableIterator<unknown>): IterableIterator<SqlRow> {
  for (;;) {
    const next = guard(() => it.next());
    if (next.done) return;
    yield next.value as SqlRow;
  }
}

/** better-sqlite3 raises `SqliteError` with the (extended) code's name in `code`. */
function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string };
    if (e.name !== "SqliteError") throw err;
    throw new SqliteError(primaryCode(e.code), e.message ?? "SQLite error", { cause: err });
  }
}
