/**
 * Child process for the locking test: opens a SqliteStore at argv[2] with the driver named in
 * argv[3], prints "held" once it holds the file's exclusive lock, and closes when stdin ends.
 *
 * @module
 */
import type { SqlDriverName } from "../_sql.ts";
import { SqliteStore } from "../sqlite.ts";

const [path, driver] = process.argv.slice(2) as [string?, SqlDriverName?];
if (!path || !driver) throw new Error("usage: hold-store.ts <db-path> <driver>");
const store = new SqliteStore({ path, driver });
process.stdout.write("held\n");
process.stdin.resume();
process.stdin.on("end", () => store.close());
