/**
 * The {@link SqlDriver} over Node's built-in `node:sqlite` (`DatabaseSync`): present without a
 * flag since Node 22.13 and 23.4 (22.5–22.12 only behind `--experimental-sqlite`), absent on
 * Node 20. Loaded through `require` at first use, so that this module imports on every Node.
 *
 * Node 22 prints "ExperimentalWarning: SQLite is an experimental feature" when the module first
 * loads (Node 24 does not); loopkube relies on it knowingly, so that one warning is held back.
 *
 * @module
 */
import { createRequire } from "node:module";
import {
  primaryCode,
  type SqlDriver,
  SqliteError,
  type SqlRow,
  type SqlStatement,
  type SqlValue,
  transactionOver,
} from "./_sql.ts";

/** The part of `node:sqlite` loopkube uses (its types are not in @types/node 20). */
interface NodeSqliteModule {
  DatabaseSync: new (path: string) => NodeDatabase;
}
interface NodeDatabase {
  exec(sql: string): void;
  prepare(sql: string): NodeStatement;
  close(): void;
}
interface NodeStatement {
  run(...params: SqlValue[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  get(...params: SqlValue[]): unknown;
  all(...params: SqlValue[]): unknown[];
  iterate(...params: SqlValue[]): IterableIterator<unknown>;
}

const require = createRequire(import.meta.url);
let loaded: NodeSqliteModule | null | undefined;

/** `node:sqlite`, or null where this Node has none (without a flag). */
export function loadNodeSqlite(): NodeSqliteModule | null {
  if (loaded !== undefined) return loaded;
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const type = typeof rest[0] === "string" ? rest[0] : (rest[0] as { type?: string })?.type;
    if (type === "ExperimentalWarning" && /SQLite/.test(String(warning))) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    loaded = require("node:sqlite") as NodeSqliteModule;
  } catch (err) {
    if ((err as { code?: string }).code !== "ERR_UNKNOWN_BUILTIN_MODULE") throw err;
    loaded = null;
  } finally {
    process.emitWarning = emitWarning;
  }
  return loaded;
}

/** Opens (creating if missing) the database at `path` through `node:sqlite`. */
export function openNodeSqlite(path: string): SqlDriver {
  const sqlite = loadNodeSqlite();
  if (!sqlite) throw new Error(`node:sqlite is not available in Node.js ${process.version}`);
  const db = guard(() => new sqlite.DatabaseSync(path));
  const prepare = (sql: string): SqlStatement => statement(guard(() => db.prepare(sql)));
  return {
    name: "node:sqlite",
    exec: (sql) => guard(() => db.exec(sql)),
    prepare,
    transaction: transactionOver(prepare),
    close: () => db.close(),
  };
}

function statement(s: NodeStatement): SqlStatement {
  return {
    run: (...params) => {
      const r = guard(() => s.run(...params));
      return { changes: Number(r.changes), lastInsertRowid: Number(r.lastInsertRowid) };
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

/** node:sqlite reports `code: "ERR_SQLITE_ERROR"` with SQLite's number in `errcode`. */
function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const e = err as { code?: string; errcode?: number; message?: string };
    if (e.code !== "ERR_SQLITE_ERROR") throw err;
    throw new SqliteError(primaryCode(e.errcode), e.message ?? "SQLite error", { cause: err });
  }
}
