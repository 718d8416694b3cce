/**
 * Applies image layers, in order, to a root directory, as containerd's applier does:
 *
 * - `.wh.<name>` removes `<name>` from the layers below; `.wh..wh..opq` empties its directory of
 *   everything the layers below put there (what this layer adds stays).
 * - Every path is resolved inside the root as if the root were `/`: a symlink met on the way
 *   (absolute or with `..`) is followed within the root and can never lead out of it; `..`
 *   stops at the root. The entry's own last component is replaced, never followed.
 * - Hardlinks point at an earlier entry, resolved the same way.
 * - Owners are applied when running as root; device nodes and fifos are made with mknod(1)
 *   and mkfifo(1) when running as root and skipped otherwise (a container's /dev comes from
 *   the runtime anyway). Extended attributes are not applied.
 * - Modes (setuid included, as root) and modification times are kept; directories stay
 *   writable to their owner until every layer is applied, then get their own modes.
 * - Each layer's uncompressed digest is checked against the config's `diff_ids`.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  createWriteStream,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { extract, type Header } from "tar-stream";
import { openLayer } from "./layer.ts";

const run = promisify(execFile);
const MAX_LINKS = 255;
const IS_ROOT = typeof process.getuid === "function" && process.getuid() === 0;

export class UnpackError extends Error {
  override name = "UnpackError";
}

/** Normalized components of a tar entry name; `..` above the top is dropped. */
function components(name: string): string[] {
  const out: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out;
}

function lstatOrNull(p: string) {
  try {
    return lstatSync(p);
  } catch (e) {
    if (
      (e as NodeJS.ErrnoException).code === "ENOENT" ||
      (e as NodeJS.ErrnoException).code === "ENOTDIR"
    )
      return null;
    throw e;
  }
}

/**
 * The host path of `parts` inside `root`, every symlink followed within the root. With
 * `create`, missing directories are made (mode 0755).
 */
export async function resolveInRoot(
  root: string,
  parts: string[],
  create: boolean,
): Promise<string> {
  const stack = [...parts].reverse();
  const done: string[] = [];
  let hops = 0;
  while (stack.length > 0) {
    const part = stack.pop()!;
    if (part === "" || part === ".") continue;
    if (part === "..") {
      done.pop();
      continue;
    }
    const here = join(root, ...done, part);
    const st = lstatOrNull(here);
    if (st?.isSymbolicLink()) {
      if (++hops > MAX_LINKS)
        throw new UnpackError(`too many levels of symbolic links at /${done.join("/")}`);
      const target = readlinkSync(here);
      if (target.startsWith("/")) done.length = 0;
      for (const p of target.split("/").reverse()) stack.push(p);
      continue;
    }
    if (!st) {
      if (!create) throw new UnpackError(`/${[...done, part].join("/")} does not exist`);
      mkdirSync(here, { mode: 0o755 });
    } else if (!st.isDirectory()) {
      if (stack.length === 0) {
        done.push(part);
        break;
      }
      throw new UnpackError(`/${[...done, part].join("/")} is not a directory`);
    }
    done.push(part);
  }
  return join(root, ...done);
}

interface DirMode {
  mode: number;
  mtime: Date | undefined;
}

export interface UnpackState {
  /** Final modes of directories, applied by `finishUnpack`. */
  dirs: Map<string, DirMode>;
  /** Resolved parent directories by entry path; cleared whenever a symlink or a removal could
   *  change a resolution. */
  parents: Map<string, string>;
}

export function newUnpackState(): UnpackState {
  return { dirs: new Map(), parents: new Map() };
}

const UMASK = process.umask();

function tryLutimes(path: string, time: Date): void {
  try {
    lutimesSync(path, time, time);
  } catch {}
}
const SMALL_FILE = 1 << 20;

async function parentOf(root: string, parts: string[], state: UnpackState): Promise<string> {
  const key = parts.join("/");
  const hit = state.parents.get(key);
  if (hit !== undefined) return hit;
  const resolved = await resolveInRoot(root, parts, true);
  state.parents.set(key, resolved);
  return resolved;
}

/** Applies the layer blob `file` to `root`; returns its uncompressed digest. */
export async function applyLayer(
  root: string,
  file: string,
  state: UnpackState,
  expectedDiffId?: string,
): Promise<string> {
  const hash = createHash("sha256");
  const hasher = new Transform({
    transform(chunk: Buffer, _e, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const ex = extract();
  const streams = await openLayer(file);
  const feeding = pipeline([...streams, hasher, ex]);
  feeding.catch(() => {});
  const written = new Set<string>();
  try {
    for await (const entry of ex) {
      await applyEntry(
        root,
        entry.header,
        entry as unknown as AsyncIterable<Buffer>,
        written,
        state,
      );
      (entry as unknown as { resume(): void }).resume();
    }
    await feeding;
  } catch (e) {
    ex.destroy();
    await feeding.catch(() => {});
    throw e;
  }
  const diffId = `sha256:${hash.digest("hex")}`;
  if (expectedDiffId && diffId !== expectedDiffId)
    throw new UnpackError(
      `layer ${file}: uncompressed digest ${diffId}, the config says ${expectedDiffId}`,
    );
  return diffId;
}

async function removeLowerEntries(dir: string, keep: Set<string>): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const p = join(dir, name);
    if (!keep.has(p)) await rm(p, { recursive: true, force: true });
    else if (lstatSync(p).isDirectory()) await removeLowerEntries(p, keep);
  }
}

async function applyEntry(
  root: string,
  h: Header,
  body: AsyncIterable<Buffer>,
  written: Set<string>,
  state: UnpackState,
): Promise<void> {
  const parts = components(h.name);
  if (parts.length === 0) return; // the root itself
  const base = parts[parts.length - 1]!;
  const parentParts = parts.slice(0, -1);
  if (base === ".wh..wh..opq" || base.startsWith(".wh.")) state.parents.clear();
  if (base === ".wh..wh..opq") {
    const dir = await resolveInRoot(root, parentParts, true);
    await removeLowerEntries(dir, written);
    return;
  }
  if (base.startsWith(".wh.")) {
    const parent = await resolveInRoot(root, parentParts, false).catch(() => undefined);
    if (parent) await rm(join(parent, base.slice(4)), { recursive: true, force: true });
    return;
  }
  const parent = await parentOf(root, parentParts, state);
  const target = join(parent, base);
  written.add(target);
  const mode = (h.mode ?? 0o644) & (IS_ROOT ? 0o7777 : 0o777);
  const existing = lstatOrNull(target);
  const type = h.type ?? "file";
  if (existing && !(existing.isDirectory() && type === "directory")) {
    await rm(target, { recursive: true, force: true });
    state.parents.clear();
  }
  switch (type) {
    case "directory":
      if (!existing?.isDirectory()) mkdirSync(target, { mode: 0o755 });
      chmodSync(target, mode | 0o700);
      state.dirs.set(target, { mode, mtime: h.mtime });
      break;
    case "file":
    case "contiguous-file":
      if ((h.size ?? 0) <= SMALL_FILE) {
        const chunks: Buffer[] = [];
        for await (const chunk of body) chunks.push(chunk);
        writeFileSync(target, Buffer.concat(chunks), { mode });
      } else await pipeline(body, createWriteStream(target, { mode }));
      if ((mode & UMASK) !== 0 || mode > 0o777) chmodSync(target, mode);
      break;
    case "symlink":
      symlinkSync(h.linkname ?? "", target);
      state.parents.clear();
      break;
    case "link": {
      const source = await resolveInRoot(root, components(h.linkname ?? ""), false);
      const st = lstatOrNull(source);
      if (!st || st.isDirectory())
        throw new UnpackError(`hardlink ${h.name} → ${h.linkname}: no such file`);
      linkSync(source, target);
      return; // a hardlink shares its source's owner, mode and times
    }
    case "character-device":
    case "block-device":
    case "fifo":
      if (!IS_ROOT) return;
      try {
        if (type === "fifo") await run("mkfifo", ["-m", mode.toString(8), target]);
        else
          await run("mknod", [
            "-m",
            mode.toString(8),
            target,
            type === "character-device" ? "c" : "b",
            String(h.devmajor ?? 0),
            String(h.devminor ?? 0),
          ]);
      } catch {
        return; // not permitted here (e.g. in a user namespace): skipped
      }
      break;
    default:
      return;
  }
  if (IS_ROOT && ((h.uid ?? 0) !== 0 || (h.gid ?? 0) !== 0))
    lchownSync(target, h.uid ?? 0, h.gid ?? 0);
  if (type !== "directory" && h.mtime) tryLutimes(target, h.mtime);
}

/** Gives directories their own modes and times once every layer is applied. */
export async function finishUnpack(state: UnpackState): Promise<void> {
  const dirs = [...state.dirs.entries()].sort((a, b) => b[0].length - a[0].length);
  for (const [dir, { mode, mtime }] of dirs) {
    const st = lstatOrNull(dir);
    if (!st?.isDirectory()) continue;
    chmodSync(dir, mode);
    if (mtime) tryLutimes(dir, mtime);
  }
}

/** Removes a tree even where its directories lost their write bits. */
export async function removeTree(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch {
    await run("chmod", ["-R", "u+rwx", dir]).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}
