/**
 * The store component: a versioned object store with etcd-style revisions, compare-and-swap,
 * prefix list/count and watch from a revision. See `types.ts` for the contract every backend
 * keeps; `openStore` is the one entry point the rest of loopkube uses. The SQLite backend runs
 * on `node:sqlite` (Node 22.13+, 24) or, on Node 20, the optional better-sqlite3 (`_sql.ts`).
 *
 * @module
 */
import type { StoreTuning } from "./_engine.ts";
import { MemoryStore } from "./memory.ts";
import { SqliteStore, type SqliteStoreOptions } from "./sqlite.ts";
import type { Store } from "./types.ts";

export { DEFAULT_TUNING, type StoreTuning } from "./_engine.ts";
export type { SqlDriverName } from "./_sql.ts";
export { MemoryStore } from "./memory.ts";
export { SqliteStore, type SqliteStoreOptions } from "./sqlite.ts";
export * from "./types.ts";

export type StoreBackendOptions =
  | { backend: "memory" }
  | ({ backend: "sqlite" } & Pick<SqliteStoreOptions, "path" | "quotaBytes">);

/** Opens a store: in memory, or durable in one SQLite file (created if missing). */
export function openStore(options: StoreBackendOptions, tuning: StoreTuning = {}): Store {
  switch (options.backend) {
    case "memory":
      return new MemoryStore(tuning);
    case "sqlite": {
      const { backend: _, ...sqlite } = options;
      return new SqliteStore({ ...tuning, ...sqlite });
    }
  }
}
