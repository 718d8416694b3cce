/**
 * Child process for the SQLite crash test: opens a SqliteStore at argv[2] with the driver named
 * in argv[3] and creates objects forever, writing each key to stdout (synchronously, one whole line) only after `create` returned.
 * The parent kills it with SIGKILL and checks that every key it read survived.
 *
 * @module
 */
import { writeSync } from "node:fs";
import type { SqlDriverName } from "../_sql.ts";
import { SqliteStore } from "../sqlite.ts";

const [path, driver] = process.argv.slice(2) as [string?, SqlDriverName?];
if (!path || !driver) throw new Error("usage: crash-writer.ts <db-path> <driver>");
const store = new SqliteStore({ path, driver });
for (let i = 0; ; i++) {
  const name = `p${i}`;
  const key = `/pods/default/${name}`;
  store.create(key, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { containers: [{ name: "c", image: "busybox", args: ["x".repeat(200)] }] },
  });
  // Some updates and deletes too, so that revisions and the meta row move as in real use.
  if (i % 10 === 9) store.delete(`/pods/default/p${i - 1}`);
  writeLine(`${key}\n`);
}

/**
 * Writes the whole line before the next create. stdout may be a non-blocking pipe (Node 24 gets
 * one from its parent): a full pipe answers EAGAIN, and the line waits for the parent to read.
 */
function writeLine(line: string): void {
  const buf = Buffer.from(line);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let done = 0; done < buf.length; ) {
    try {
      done += writeSync(1, buf, done);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}
