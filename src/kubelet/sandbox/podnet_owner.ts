/**
 * Who owns which pod-network names on this machine. Network namespaces, links and routes are
 * machine-wide, and several clusters (of several people) run side by side, so every name the
 * pod network creates carries a per-cluster tag of four hex digits (see podnet.ts), and the tag
 * is held by an owner file `<dir>/<tag>` (pid, process start time, pod range, data dir).
 *
 * Contract:
 * - A tag is claimed by publishing its owner file with `link` (atomic, never overwrites), before
 *   any name carrying it is created; it is released (file removed) after every such name is gone.
 * - A tag whose owner process is gone (crash, `kill -9`: its pid no longer runs, or runs a
 *   different process, told apart by its start time) is dead: `deadTags` names it so that its
 *   leftovers are removed, then its file. A tag carried by names on the machine but with no owner
 *   file at all is dead too (a crash between removing the names and the file).
 * - An owner file that cannot be read (being written) is taken as alive: never remove what may
 *   belong to a live cluster.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { linkSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TagOwner {
  pid: number;
  startTime?: string | undefined;
  podCidr: string;
  dataDir: string;
}

export interface OwnerRegistry {
  /** The directory of owner files; default {@link DEFAULT_OWNER_DIR}. */
  dir: string;
  /** Whether an owner still runs (default: signal 0 and its start time). */
  isAlive?: (owner: Pick<TagOwner, "pid" | "startTime">) => boolean;
}

/** Machine-wide (namespaces are), on the tmpfs that a reboot empties along with the namespaces. */
export const DEFAULT_OWNER_DIR = "/run/loopkube-podnet";

const TAG = /^[0-9a-f]{4}$/;

/** A process's start time (clock ticks since boot, field 22 of `/proc/<pid>/stat`). */
export function startTimeOf(pid: number | "self"): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

export function processAlive(owner: Pick<TagOwner, "pid" | "startTime">): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  return owner.startTime === undefined || startTimeOf(owner.pid) === owner.startTime;
}

/** The tag tried first for a pod range: the same range starts from the same tag. */
export function preferredTag(podCidr: string): string {
  return createHash("sha1").update(podCidr).digest("hex").slice(0, 4);
}

function readOwner(dir: string, tag: string): TagOwner | "unreadable" | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, tag), "utf8");
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? undefined : "unreadable";
  }
  try {
    const o = JSON.parse(text) as TagOwner;
    return typeof o.pid === "number" ? o : "unreadable";
  } catch {
    return "unreadable";
  }
}

/**
 * Claims a free tag for this cluster: the preferred one for its pod range if free (or dead),
 * else the next. Returns the tag and whether a dead owner's file was taken over (its names are
 * then this cluster's to remove, see `deadTags`).
 */
export function claimTag(owner: TagOwner, registry: OwnerRegistry): string {
  const alive = registry.isAlive ?? processAlive;
  mkdirSync(registry.dir, { recursive: true, mode: 0o755 });
  const start = Number.parseInt(preferredTag(owner.podCidr), 16);
  const tmp = join(registry.dir, `.${process.pid}.${Math.random().toString(36).slice(2)}`);
  writeFileSync(tmp, `${JSON.stringify(owner)}\n`);
  try {
    for (let i = 0; i < 0x10000; i++) {
      const tag = ((start + i) % 0x10000).toString(16).padStart(4, "0");
      try {
        linkSync(tmp, join(registry.dir, tag));
        return tag;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const held = readOwner(registry.dir, tag);
      // A dead owner's tag is skipped here; its names are removed by the sweep (`deadTags`).
      if (held === "unreadable" || held === undefined || alive(held)) continue;
    }
  } finally {
    unlinkSync(tmp);
  }
  throw new Error("no free pod network tag: 65536 clusters hold one");
}

/** Gives a tag up (after its names are gone). */
export function releaseTag(tag: string, registry: Pick<OwnerRegistry, "dir">): void {
  try {
    unlinkSync(join(registry.dir, tag));
  } catch {
    // Already gone.
  }
}

/**
 * The tags whose names may be removed: among `seen` (tags carried by names on the machine) and
 * the owner files, those whose owner is dead or missing. Never this cluster's own `self` tag.
 */
export function deadTags(seen: Iterable<string>, registry: OwnerRegistry, self: string): string[] {
  const alive = registry.isAlive ?? processAlive;
  const tags = new Set(seen);
  let files: string[] = [];
  try {
    files = readdirSync(registry.dir).filter((f) => TAG.test(f));
  } catch {
    // No registry yet: every tag seen is ownerless.
  }
  for (const f of files) tags.add(f);
  const dead: string[] = [];
  for (const tag of tags) {
    if (tag === self || !TAG.test(tag)) continue;
    const held = readOwner(registry.dir, tag);
    if (held === "unreadable") continue;
    if (held === undefined || !alive(held)) dead.push(tag);
  }
  return dead.sort();
}
