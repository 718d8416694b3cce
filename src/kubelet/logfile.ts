/**
 * A container's log file as the runtime writes it and the kubelet rotates it: CRI records
 * appended to `<container>/<restart>.log`, rotated at `maxSize` into `<restart>.log.<YYYYMMDD-HHMMSS>`
 * with at most `maxFiles` files per log (the current one included), every rotated file but the
 * newest compressed to `.gz` — the kubelet's `containerLogMaxSize` (10 Mi) and
 * `containerLogMaxFiles` (5) and the names and order of its container log manager.
 *
 * Where it differs, and why: the kubelet checks sizes every 10 s (`containerLogMonitorInterval`),
 * so a fast writer grows a file far past the limit between checks; here the writer itself rotates
 * as soon as a write crosses `maxSize`, so a log never holds much more than `maxSize` (a second
 * rotation within one second gets the suffix `-1`, `-2`, … since kube's names have seconds).
 * The newest rotated file is renamed first and the older ones compressed after, in the
 * background, so writes never wait for gzip.
 *
 * Contract, for the node agent's sake (one process serves the whole cluster):
 * - `openContainerLog` is the one call that fails (the file cannot be created: EROFS, EMFILE,
 *   ENOTDIR, …); the runtime then fails the container's start, as containerd does ("failed to
 *   create and open log file").
 * - After that nothing throws and no error goes unhandled: a write that fails (ENOSPC, EIO, …)
 *   drops the lines it carried and the container keeps running, as containerd's logger keeps
 *   draining the output ("Fail to write log"). `onError` hears the first failure of each episode
 *   (a later successful write ends it) and every failed rotation or clean-up.
 * - Memory is bounded: `append` returns false once `HIGH_WATER_BYTES` wait to be written, and the
 *   caller pauses the container's pipes until `drained()` (the container then blocks on its own
 *   writes, as it does on a real node when the log writer falls behind). A failing log never
 *   holds the container back: its lines are dropped at once.
 * - The file system is injected (`LogFileSystem`, like the kubelet's OSInterface), so each fault
 *   can be tested.
 *
 * @module
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";

export interface LogRotation {
  /** Bytes after which the file is rotated; negative: never rotate (kube's `-1`). */
  maxSize: number;
  /** Files kept per log, the current one included; at least 2. */
  maxFiles: number;
}

/** The kubelet's defaults: `containerLogMaxSize: 10Mi`, `containerLogMaxFiles: 5`. */
export const DEFAULT_LOG_ROTATION: LogRotation = { maxSize: 10 * 2 ** 20, maxFiles: 5 };

/** How many bytes may wait for the disk before the container's output is paused. */
export const HIGH_WATER_BYTES = 1 << 20;
/** Largest single write. */
const BATCH_BYTES = 256 * 1024;

/** An open log file, appended to. */
export interface LogHandle {
  /** Size when opened. */
  readonly size: number;
  write(data: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** What the log writer needs of the file system (the kubelet's OSInterface, narrowed). */
export interface LogFileSystem {
  mkdir(dir: string): Promise<void>;
  /** Opens for appending, creating the file. */
  open(path: string): Promise<LogHandle>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  list(dir: string): Promise<string[]>;
  /** Writes a gzip copy of `from` to `to`. */
  compress(from: string, to: string): Promise<void>;
}

export const nodeLogFileSystem: LogFileSystem = {
  mkdir: async (dir) => {
    await mkdir(dir, { recursive: true });
  },
  open: async (path) => {
    const fh = await open(path, "a");
    let size: number;
    try {
      size = (await fh.stat()).size;
    } catch (e) {
      await fh.close().catch(() => {});
      throw e;
    }
    return {
      size,
      write: async (data) => {
        let done = 0;
        while (done < data.length) done += (await fh.write(data, done)).bytesWritten;
      },
      close: () => fh.close(),
    };
  },
  rename: (from, to) => rename(from, to),
  remove: (path) => rm(path, { force: true }),
  list: (dir) => readdir(dir),
  compress: (from, to) => pipeline(createReadStream(from), createGzip(), createWriteStream(to)),
};

export interface ContainerLog {
  /** Queues one CRI record (a whole line with its newline); false: wait for `drained()`. */
  append(line: string): boolean;
  /** Resolves once fewer than `HIGH_WATER_BYTES` wait (at once if that is so now). */
  drained(): Promise<void>;
  /** Writes what waits, then closes the file; never rejects. Rotated files are tidied after. */
  close(): Promise<void>;
  /** Lines dropped because the file could not be written. */
  readonly dropped: number;
}

export interface ContainerLogOptions {
  rotation?: LogRotation;
  fs?: LogFileSystem;
  now?: () => Date;
  /** A write, rotation or clean-up failed (`what` says which); the log goes on. */
  onError?: (error: NodeJS.ErrnoException, what: "write" | "rotate" | "tidy") => void;
}

/** `<YYYYMMDD-HHMMSS>` in local time, as Go's `20060102-150405` formats the kubelet's clock. */
export function rotationStamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

const ROTATED = /^\.(\d{8}-\d{6})(?:-(\d+))?(\.gz)?(\.tmp)?$/;

/** The rotated files of `log` (a file name) among `names`, oldest first, with what to do. */
export function rotatedFiles(
  log: string,
  names: readonly string[],
): { inUse: string[]; unused: string[] } {
  const parsed: { name: string; key: string; gz: boolean; tmp: boolean }[] = [];
  for (const name of names) {
    if (!name.startsWith(log)) continue;
    const m = ROTATED.exec(name.slice(log.length));
    if (!m) continue;
    const key = `${m[1]}-${(m[2] ?? "0").padStart(6, "0")}`;
    parsed.push({ name, key, gz: m[3] !== undefined, tmp: m[4] !== undefined });
  }
  const all = new Set(names);
  const inUse: typeof parsed = [];
  const unused: string[] = [];
  for (const f of parsed) {
    // A temporary file, or a file whose compressed copy exists: left over by an interrupted tidy.
    if (f.tmp || (!f.gz && all.has(`${f.name}.gz`))) unused.push(f.name);
    else inUse.push(f);
  }
  inUse.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { inUse: inUse.map((f) => f.name), unused };
}

const errno = (e: unknown): NodeJS.ErrnoException =>
  e instanceof Error ? (e as NodeJS.ErrnoException) : new Error(String(e));

/** Opens (creating) the log at `path`; rejects when it cannot be created. */
export async function openContainerLog(
  path: string,
  options: ContainerLogOptions = {},
): Promise<ContainerLog> {
  const fs = options.fs ?? nodeLogFileSystem;
  await fs.mkdir(dirname(path));
  const handle = await fs.open(path);
  return new LogWriter(path, handle, fs, options);
}

/** After a failed write, lines are dropped for this long before the disk is tried again. */
const RETRY_MS = 1000;

class LogWriter implements ContainerLog {
  dropped = 0;
  private queue: string[] = [];
  private queued = 0;
  private size: number;
  private pumping = false;
  private closing = false;
  /** While failing: drop lines until this time (ms), then try the disk again. */
  private failingUntil: number | undefined;
  private waiters: (() => void)[] = [];
  private idle: (() => void)[] = [];
  private tidying: Promise<void> = Promise.resolve();
  private lastStamp = "";
  private sameSecond = 0;
  /** No rotation before this time (ms) after one failed. */
  private rotateAfter = 0;
  private readonly rotation: LogRotation;
  private readonly now: () => Date;

  constructor(
    private readonly path: string,
    private handle: LogHandle,
    private readonly fs: LogFileSystem,
    private readonly options: ContainerLogOptions,
  ) {
    this.size = handle.size;
    this.rotation = options.rotation ?? DEFAULT_LOG_ROTATION;
    this.now = options.now ?? (() => new Date());
  }

  append(line: string): boolean {
    if (this.closing) return true;
    if (this.failingUntil !== undefined && this.now().getTime() < this.failingUntil) {
      this.dropped++;
      return true;
    }
    this.queue.push(line);
    this.queued += line.length;
    this.pump();
    return this.queued < HIGH_WATER_BYTES;
  }

  drained(): Promise<void> {
    if (this.queued < HIGH_WATER_BYTES) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.pumping) await new Promise<void>((resolve) => this.idle.push(resolve));
    await this.handle.close().catch((e) => this.report(e, "write"));
    for (const w of this.waiters.splice(0)) w();
  }

  private report(e: unknown, what: "write" | "rotate" | "tidy"): void {
    this.options.onError?.(errno(e), what);
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    void this.run().finally(() => {
      this.pumping = false;
      for (const w of this.idle.splice(0)) w();
    });
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      // One batch never carries the file far past its rotation size.
      const { maxSize } = this.rotation;
      const room =
        maxSize >= 0 ? Math.max(1, Math.min(BATCH_BYTES, maxSize - this.size)) : BATCH_BYTES;
      let chars = 0;
      let n = 0;
      while (n < this.queue.length && (n === 0 || chars < room)) {
        chars += (this.queue[n] as string).length;
        n++;
      }
      const lines = this.queue.splice(0, n);
      const data = Buffer.from(lines.join(""));
      try {
        await this.handle.write(data);
        this.size += data.length;
        this.failingUntil = undefined;
        this.queued -= chars;
      } catch (e) {
        // Report the first failure of an episode; drop what waits too, so that a broken disk
        // never holds the container's output back.
        if (this.failingUntil === undefined) this.report(e, "write");
        this.failingUntil = this.now().getTime() + RETRY_MS;
        this.dropped += lines.length + this.queue.length;
        this.queue = [];
        this.queued = 0;
      }
      if (this.queued < HIGH_WATER_BYTES) for (const w of this.waiters.splice(0)) w();
      if (this.needsRotation()) await this.rotate();
    }
  }

  private needsRotation(): boolean {
    const { maxSize } = this.rotation;
    return maxSize >= 0 && this.size >= maxSize && this.now().getTime() >= this.rotateAfter;
  }

  /** Renames the current file aside and opens a new one; the older files are tidied after. */
  private async rotate(): Promise<void> {
    const now = this.now();
    const stamp = rotationStamp(now);
    this.sameSecond = stamp === this.lastStamp ? this.sameSecond + 1 : 0;
    const rotated = `${this.path}.${stamp}${this.sameSecond ? `-${this.sameSecond}` : ""}`;
    try {
      await this.fs.rename(this.path, rotated);
    } catch (e) {
      this.rotateAfter = now.getTime() + 1000;
      this.report(e, "rotate");
      return;
    }
    let next: LogHandle;
    try {
      next = await this.fs.open(this.path);
    } catch (e) {
      // Keep writing to the old file under its own name, as the kubelet renames it back.
      await this.fs.rename(rotated, this.path).catch((err) => this.report(err, "rotate"));
      this.rotateAfter = now.getTime() + 1000;
      this.report(e, "rotate");
      return;
    }
    this.lastStamp = stamp;
    const old = this.handle;
    this.handle = next;
    this.size = next.size;
    await old.close().catch((e) => this.report(e, "rotate"));
    this.tidying = this.tidying.then(() =>
      this.tidy().catch((e: NodeJS.ErrnoException) => {
        // The pod's directory went away (the pod was deleted): nothing left to tidy.
        if (e.code !== "ENOENT") this.report(e, "tidy");
      }),
    );
  }

  /**
   * The kubelet's clean-up of a log's rotated files: leftovers of an interrupted clean-up go,
   * the oldest go beyond `maxFiles - 1`, and all but the newest are compressed.
   */
  private async tidy(): Promise<void> {
    const dir = dirname(this.path);
    const log = basename(this.path);
    const { inUse, unused } = rotatedFiles(log, await this.fs.list(dir));
    for (const name of unused) await this.fs.remove(join(dir, name));
    const keep = Math.max(0, this.rotation.maxFiles - 1);
    const excess = inUse.splice(0, Math.max(0, inUse.length - keep));
    for (const name of excess) await this.fs.remove(join(dir, name));
    for (const name of inUse.slice(0, -1)) {
      if (name.endsWith(".gz")) continue;
      const from = join(dir, name);
      const tmp = `${from}.tmp`;
      try {
        await this.fs.compress(from, tmp);
        await this.fs.rename(tmp, `${from}.gz`);
        await this.fs.remove(from);
      } catch (e) {
        await this.fs.remove(tmp).catch(() => {});
        throw e;
      }
    }
  }
}

/**
 * The container garbage collector's share of the logs: only the current and the previous
 * restart's logs are kept (the kubelet keeps one dead container per container, and its log with
 * it), so `<n>.log*` with n < `restart - 1` go. Failures go to `onError`; never throws.
 */
export async function removeOldRestartLogs(
  dir: string,
  restart: number,
  options: { fs?: LogFileSystem; onError?: (e: NodeJS.ErrnoException) => void } = {},
): Promise<void> {
  const fs = options.fs ?? nodeLogFileSystem;
  try {
    for (const name of await fs.list(dir)) {
      const n = /^(\d+)\.log(?:\.|$)/.exec(name)?.[1];
      if (n !== undefined && Number(n) < restart - 1) await fs.remove(join(dir, name));
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") options.onError?.(errno(e));
  }
}
