/**
 * Child process for the driver-choice test: opens a SqliteStore at argv[2] with the default
 * driver and prints the driver's name, or the error's message, on one line of stdout.
 *
 * @module
 */
import { SqliteStore } from "../sqlite.ts";

const path = process.argv[2];
if (!path) throw new Error("usage: open-store.ts <db-path>");
try {
  const store = new SqliteStore({ path });
  console.log(store.driver);
  store.close();
} catch (err) {
  console.log(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
}
