/**
 * Named locks shared by every process of one user on one store: an `O_EXCL` lock file holding
 * the owner's pid, taken over when that pid no longer lives (so a `kill -9` never leaks one),
 * plus an in-process queue so that two pulls in one process never race each other either.
 *
 * @module
 */
import { open, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";

const inProcess = new Map<string, Promise<unknown>>();
const POLL_MS = 25;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function acquire(file: string): Promise<void> {
  for (;;) {
    try {
      const fh = await open(file, "wx");
      await fh.writeFile(String(process.pid));
      await fh.close();
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const owner = Number.parseInt(await readFile(file, "utf8").catch(() => ""), 10);
    if (Number.isFinite(owner) && owner > 0 && !alive(owner)) {
      await unlink(file).catch(() => {});
      continue;
    }
    // An empty file is one being written this instant; wait as for a live owner.
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Runs `fn` holding the lock `name` under `dir`. */
export async function withLock<T>(dir: string, name: string, fn: () => Promise<T>): Promise<T> {
  const file = join(dir, `${name}.lock`);
  const before = inProcess.get(file) ?? Promise.resolve();
  const run = before
    .catch(() => {})
    .then(async () => {
      await acquire(file);
      try {
        return await fn();
      } finally {
        await unlink(file).catch(() => {});
      }
    });
  const tail = run.catch(() => {});
  inProcess.set(file, tail);
  void tail.then(() => {
    if (inProcess.get(file) === tail) inProcess.delete(file);
  });
  return run;
}
