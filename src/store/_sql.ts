/**
 * The narrow SQLite driver interface the SQLite store is written against, with two
 * implementations: Node's built-in `node:sqlite` (Node 22.13+, 23.4+, 24: nothing to compile)
 * and the optional native package better-sqlite3 (for Node 20, which has no `node:sqlite`).
 * Both link SQLite itself, so the same SQL and pragmas give the same file format, locking and
 * durability; the store holds one implementation of its logic over this interface.
 *
 * Contract of every driver:
 * - statements take positional parameters (strings, numbers, null); rows are plain objects;
 *   integers come back as numbers (loopkube's revisions and row ids stay far below 2^53);
 *   `run` is for statements that return no rows, `get`/`all`/`iterate` for those that do
 *   (better-sqlite3 refuses the other use);
 * - a failure is a {@link SqliteError} whose `code` is SQLite's primary result code name
 *   (`SQLITE_FULL`, `SQLITE_IOERR`, `SQLITE_BUSY`, …), whichever driver raised it;
 * - a driver is loaded only when asked for (`openSqlDriver`), so that a missing or broken
 *   better-sqlite3 costs nothing where `node:sqlite` serves.
 *
 * One process uses one driver for a given file: the two drivers link two copies of SQLite, which
 * do not see each other's POSIX locks within one process (across processes they do, so a cluster
 * started on Node 20 and one on Node 24 still exclude each other from one data dir).
 *
 * @module
 */
export type SqlValue = string | number | null;
export type SqlRow = Record<string, unknown>;

export interface SqlStatement {
  run(...params: SqlValue[]): { changes: number; lastInsertRowid: number };
  get(...params: SqlValue[]): SqlRow | undefined;
  all(...params: SqlValue[]): SqlRow[];
  /** Rows one at a time (a big table is not materialised at once). */
  iterate(...params: SqlValue[]): IterableIterator<SqlRow>;
}

export interface SqlDriver {
  readonly name: SqlDriverName;
  /** Runs one or more statements without results. */
  exec(sql: string): void;
  prepare(sql: string): SqlStatement;
  /** Runs `fn` in one transaction: committed if it returns, rolled back if it throws. */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export type SqlDriverName = "node:sqlite" | "better-sqlite3";

/** Preference order: the built-in first, so that nothing native is loaded where it serves. */
export const SQL_DRIVERS: readonly SqlDriverName[] = ["node:sqlite", "better-sqlite3"];

/** A SQLite failure, named by its primary result code whichever driver raised it. */
export class SqliteError extends Error {
  /** `SQLITE_FULL`, `SQLITE_IOERR`, `SQLITE_BUSY`, … (`SQLITE_ERROR` when unknown). */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SqliteError";
    this.code = code;
  }
}

/** SQLite's primary result codes (https://sqlite.org/rescode.html), by number. */
const PRIMARY_CODES = [
  "SQLITE_OK",
  "SQLITE_ERROR",
  "SQLITE_INTERNAL",
  "SQLITE_PERM",
  "SQLITE_ABORT",
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
  "SQLITE_NOMEM",
  "SQLITE_READONLY",
  "SQLITE_INTERRUPT",
  "SQLITE_IOERR",
  "SQLITE_CORRUPT",
  "SQLITE_NOTFOUND",
  "SQLITE_FULL",
  "SQLITE_CANTOPEN",
  "SQLITE_PROTOCOL",
  "SQLITE_EMPTY",
  "SQLITE_SCHEMA",
  "SQLITE_TOOBIG",
  "SQLITE_CONSTRAINT",
  "SQLITE_MISMATCH",
  "SQLITE_MISUSE",
  "SQLITE_NOLFS",
  "SQLITE_AUTH",
  "SQLITE_FORMAT",
  "SQLITE_RANGE",
  "SQLITE_NOTADB",
];

/** The primary code name of a result code given as a number (extended or not) or a name. */
export function primaryCode(code: number | string | undefined): string {
  if (typeof code === "number") return PRIMARY_CODES[code & 0xff] ?? "SQLITE_ERROR";
  if (typeof code !== "string" || !code.startsWith("SQLITE_")) return "SQLITE_ERROR";
  // Extended names extend their primary one: SQLITE_IOERR_WRITE → SQLITE_IOERR.
  return (
    PRIMARY_CODES.find((name) => code === name || code.startsWith(`${name}_`)) ?? "SQLITE_ERROR"
  );
}

/** Runs `fn` between BEGIN and COMMIT on prepared statements; any failure rolls back. */
export function transactionOver(prepare: (sql: string) => SqlStatement): <T>(fn: () => T) => T {
  const begin = prepare("BEGIN");
  const commit = prepare("COMMIT");
  const rollback = prepare("ROLLBACK");
  return (fn) => {
    begin.run();
    try {
      const out = fn();
      commit.run();
      return out;
    } catch (err) {
      try {
        rollback.run();
      } catch {
        // SQLite already rolled back (it does so itself on some I/O and full-disk errors).
      }
      throw err;
    }
  };
}
