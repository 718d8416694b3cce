/**
 * In-use leases, in the spirit of containerd's: a container that runs from an image holds a
 * lease on it, and `remove`/`prune`/garbage collection leave a leased image alone.
 *
 *   leases/<pid>-<start>/<key>.json   one file per container: the image and who holds it
 *
 * The directory names the process that owns the leases by its pid and its start time (so a pid
 * reused by another process does not count): when that process is gone — `kill -9` of a cluster
 * included — its leases no longer count and the next reader sweeps them.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** What a container holding an image says about itself and the image. */
export interface Lease {
  /** The container's key within its owner (unique per process: `<pod uid>_<container>`). */
  key: string;
  /** Who uses the image, for messages: `pod default/web (container app) in cluster dev`. */
  holder: string;
  /** The image's top-level digest, its id and every digest it needs (blobs and root). */
  digest: string;
  id: string;
  digests: string[];
  ref: string;
}

/** A container's request for a lease (see `EnsureOptions.lease`). */
export interface LeaseRequest {
  key: string;
  holder: string;
}

/** The start time of process `pid` in clock ticks since boot (field 22 of /proc/PID/stat). */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command (field 2) may hold spaces and parentheses: count from the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19];
  } catch {
    return undefined;
  }
}

let own: string | undefined;

/** This process's owner name: `<pid>-<start>`. */
export function ownerName(): string {
  own ??= `${process.pid}-${processStartTime(process.pid) ?? "0"}`;
  return own;
}

/** Whether the process an owner name names still runs (the same process, not a reused pid). */
export function ownerAlive(name: string): boolean {
  const m = /^(\d+)-(\d+)$/.exec(name);
  if (!m) return false;
  const pid = Number(m[1]);
  if (name === ownerName()) return true;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const start = processStartTime(pid);
  // Without /proc there is no start time to compare: a live pid counts.
  return start === undefined || m[2] === "0" || start === m[2];
}

const fileOf = (key: string) => `${encodeURIComponent(key)}.json`;

/** Writes this process's lease `lease` under `dir` (atomically; a new one replaces an old). */
export async function writeLease(dir: string, lease: Lease): Promise<void> {
  const mine = join(dir, ownerName());
  await mkdir(mine, { recursive: true });
  const tmp = join(mine, `.${fileOf(lease.key)}.tmp`);
  await writeFile(tmp, JSON.stringify(lease));
  await rename(tmp, join(mine, fileOf(lease.key)));
}

/** Drops this process's leases whose key starts with `prefix` (one key when it is whole). */
export async function releaseLeases(dir: string, prefix: string): Promise<number> {
  const mine = join(dir, ownerName());
  const want = encodeURIComponent(prefix);
  let n = 0;
  for (const f of await readdir(mine).catch(() => [] as string[])) {
    if (!f.startsWith(want) || !f.endsWith(".json")) continue;
    await unlink(join(mine, f)).catch(() => {});
    n++;
  }
  return n;
}

/** Every lease of a live owner; the directories of owners that are gone are removed. */
export async function liveLeases(dir: string): Promise<Lease[]> {
  const out: Lease[] = [];
  for (const owner of await readdir(dir).catch(() => [] as string[])) {
    if (!ownerAlive(owner)) {
      await rm(join(dir, owner), { recursive: true, force: true });
      continue;
    }
    for (const f of await readdir(join(dir, owner)).catch(() => [] as string[])) {
      if (!f.endsWith(".json") || f.startsWith(".")) continue;
      try {
        out.push(JSON.parse(await readFile(join(dir, owner, f), "utf8")) as Lease);
      } catch {}
    }
  }
  return out;
}
