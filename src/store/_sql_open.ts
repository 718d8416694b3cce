/**
 * Chooses the SQLite driver: `node:sqlite` where this Node has it, else better-sqlite3 where it
 * installed and loads, else one sentence saying what to do. A caller may insist on one driver
 * (the tests run every backend that is available here).
 *
 * @module
 */
import { SQL_DRIVERS, type SqlDriver, type SqlDriverName } from "./_sql.ts";
import { loadBetterSqlite, openBetterSqlite } from "./_sql_better.ts";
import { loadNodeSqlite, openNodeSqlite } from "./_sql_node.ts";

/** Whether a driver can be used in this process, and if not, why. */
export function sqlDriverStatus(name: SqlDriverName): { ok: true } | { ok: false; reason: string } {
  switch (name) {
    case "node:sqlite":
      return loadNodeSqlite()
        ? { ok: true }
        : { ok: false, reason: `Node.js ${process.version} has no node:sqlite (22.13+ has)` };
    case "better-sqlite3": {
      const found = loadBetterSqlite();
      return found.ok ? { ok: true } : { ok: false, reason: `better-sqlite3: ${found.reason}` };
    }
  }
}

/** Opens `path` with `driver`, or with the first available driver when none is named. */
export function openSqlDriver(path: string, driver?: SqlDriverName): SqlDriver {
  const name = driver ?? SQL_DRIVERS.find((d) => sqlDriverStatus(d).ok);
  if (name === undefined) {
    const reason = (sqlDriverStatus("better-sqlite3") as { reason: string }).reason;
    throw new Error(
      `store: SQLite needs Node.js 22.13 or newer (built-in node:sqlite), or on Node.js ${process.version} the optional package better-sqlite3, which cannot be used (${reason.replace(/^better-sqlite3: /, "")}): use Node.js 22 or 24, install better-sqlite3 where a C++ compiler is present (npm install better-sqlite3), or run with --ephemeral`,
    );
  }
  return name === "node:sqlite" ? openNodeSqlite(path) : openBetterSqlite(path);
}
