/**
 * The kubelet's atomic writer (pkg/volume/util/atomic_writer.go), for volumes whose content
 * changes while containers read it (ConfigMap, Secret, downward API, projected: the
 * service-account token is rewritten before it expires). A reader never sees half a payload or
 * a mix of two: the files live in a timestamped directory `..<UTC time>.<random>`, the symlink
 * `..data` points at the current one, and each visible entry is a symlink through it
 * (`token → ..data/token`). An update writes a new timestamped directory, swaps `..data` with one
 * `rename` (atomic), then fixes the visible symlinks and removes the old directory.
 *
 * Invariants: the volume directory itself is never replaced (a running container has it
 * bind-mounted); a payload equal to the current one (paths, content, modes) writes nothing;
 * paths are relative, without `..` elements, and may not start with `..`; names starting with
 * `..` are the writer's own. A volume written in place by an earlier version is converted.
 *
 * @module
 */
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";

export interface FileProjection {
  /** Relative path inside the volume (`token`, `a/b`). */
  path: string;
  content: string;
  mode: number;
}

export class PayloadError extends Error {
  override name = "PayloadError";
}

const DATA = "..data";
const DATA_TMP = "..data_tmp";

/** kube's validatePath: relative, not too long, no `..` element, not starting with `..`. */
export function checkPath(path: string): void {
  if (path === "") throw new PayloadError("invalid path: must not be empty");
  if (path.length > 4096)
    throw new PayloadError(`invalid path: must be less than or equal to 4096 characters`);
  if (path.startsWith("/")) throw new PayloadError(`invalid path: must be relative path: ${path}`);
  if (path.split("/").includes(".."))
    throw new PayloadError(`invalid path: must not contain '..': ${path}`);
  if (path.startsWith(".."))
    throw new PayloadError(`invalid path: must not start with '..': ${path}`);
}

/** `..2006_01_02_15_04_05.` for `now`, the prefix of a timestamped directory. */
function stampPrefix(now: Date): string {
  const iso = now.toISOString(); // 2006-01-02T15:04:05.000Z
  return `..${iso.slice(0, 10).replace(/-/g, "_")}_${iso.slice(11, 19).replace(/:/g, "_")}.`;
}

function currentDir(dir: string): string | undefined {
  try {
    const target = readlinkSync(join(dir, DATA));
    return statSync(join(dir, target)).isDirectory() ? target : undefined;
  } catch {
    return undefined;
  }
}

/** Every file under `root` (relative paths). */
function listFiles(root: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(root, rel));
    else out.push(rel);
  }
  return out;
}

function sameAsCurrent(dir: string, current: string, files: readonly FileProjection[]): boolean {
  const root = join(dir, current);
  let present: string[];
  try {
    present = listFiles(root);
  } catch {
    return false;
  }
  if (present.length !== files.length) return false;
  for (const f of files) {
    try {
      const p = join(root, f.path);
      if ((statSync(p).mode & 0o7777) !== f.mode) return false;
      if (readFileSync(p, "utf8") !== f.content) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Makes `dir` hold exactly `files`, atomically. Returns false when the payload was already there
 * (nothing written).
 */
export function writeAtomically(
  dir: string,
  files: readonly FileProjection[],
  now: Date = new Date(),
): boolean {
  for (const f of files) checkPath(f.path);
  mkdirSync(dir, { recursive: true });
  const old = currentDir(dir);
  if (old !== undefined && sameAsCurrent(dir, old, files)) return false;

  const fresh = mkdtempSync(join(dir, stampPrefix(now)));
  chmodSync(fresh, 0o755);
  for (const f of files) {
    const p = join(fresh, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.content);
    chmodSync(p, f.mode);
  }
  const name = fresh.slice(dir.length + 1);
  rmSync(join(dir, DATA_TMP), { force: true });
  symlinkSync(name, join(dir, DATA_TMP));
  renameSync(join(dir, DATA_TMP), join(dir, DATA));

  // The visible entries: one symlink per top-level name of the payload.
  const visible = new Set(files.map((f) => f.path.split("/")[0] ?? f.path));
  for (const top of visible) {
    const at = join(dir, top);
    const want = join(DATA, top);
    let ok = false;
    try {
      ok = lstatSync(at).isSymbolicLink() && readlinkSync(at) === want;
      if (!ok) rmSync(at, { recursive: true, force: true });
    } catch {
      // absent
    }
    if (!ok) symlinkSync(want, at);
  }
  for (const e of readdirSync(dir)) {
    if (e.startsWith("..")) {
      if (e !== DATA && e !== name) rmSync(join(dir, e), { recursive: true, force: true });
    } else if (!visible.has(e)) {
      rmSync(join(dir, e), { recursive: true, force: true });
    }
  }
  return true;
}
