/**
 * Reading a container's CRI log the way the kubelet's ReadLogs does, for `pods/log` and
 * `pods/attach`: asynchronously, a block at a time, so that a log of any size costs a bounded
 * amount of memory and never holds the event loop.
 *
 * - `tailStart` finds where the last N lines begin by reading blocks backwards from the end
 *   (kube's `tail.FindTailLineStartIndex`: an unfinished last line does not count), so
 *   `--tail=1` of a huge file reads one block.
 * - `LogCursor` reads whole lines forward from an offset. When it reaches the end of what is
 *   written and the file at its path is no longer the one it has open (the log was rotated:
 *   logfile.ts renames it aside and creates a new one), it finishes the old file and goes on
 *   from the start of the new one — `kubectl logs -f` follows a log across rotations, as the
 *   kubelet's reader reopens the path when the file is renamed.
 * - `parseCriLine` splits one record: `<RFC3339Nano> <stdout|stderr> <P|F> <text>`.
 *
 * @module
 */
import { type FileHandle, open, stat } from "node:fs/promises";

/** Bytes read at a time. */
export const LOG_BLOCK_BYTES = 64 * 1024;
/** A "line" this long without a newline is not a CRI record: it is given out as it is. */
const MAX_LINE_BYTES = 1 << 20;
const NEWLINE = 0x0a;

export interface CriRecord {
  time: string;
  stream: "stdout" | "stderr";
  /** A `P` record: the line goes on in the next record. */
  partial: boolean;
  text: string;
}

/** One CRI log line (without its newline); undefined when it is not one. */
export function parseCriLine(line: string): CriRecord | undefined {
  const a = line.indexOf(" ");
  const b = a < 0 ? -1 : line.indexOf(" ", a + 1);
  const c = b < 0 ? -1 : line.indexOf(" ", b + 1);
  if (c < 0 && !(b > 0 && line.length === b + 2)) return undefined;
  const stream = line.slice(a + 1, b);
  const tag = line.slice(b + 1, c < 0 ? undefined : c);
  if ((stream !== "stdout" && stream !== "stderr") || (tag !== "P" && tag !== "F"))
    return undefined;
  return {
    time: line.slice(0, a),
    stream,
    partial: tag === "P",
    text: c < 0 ? "" : line.slice(c + 1),
  };
}

type Readable = Pick<FileHandle, "read">;

/**
 * The offset where the last `lines` complete lines of a file of `size` bytes begin (0 when it
 * has fewer; `size` minus its unfinished tail when `lines` is 0).
 */
export async function tailStart(fh: Readable, size: number, lines: number): Promise<number> {
  let count = 0;
  const buf = Buffer.alloc(Math.min(LOG_BLOCK_BYTES, size));
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - LOG_BLOCK_BYTES);
    const length = end - start;
    const { bytesRead } = await fh.read(buf, 0, length, start);
    for (let i = bytesRead - 1; i >= 0; i--) {
      if (buf[i] !== NEWLINE) continue;
      count++;
      if (count > lines) return start + i + 1;
    }
    end = start;
  }
  return 0;
}

/** Reads whole lines of a log forward, following it across rotations. */
export class LogCursor {
  private pending: Buffer = Buffer.alloc(0);
  private readonly buf = Buffer.alloc(LOG_BLOCK_BYTES);

  private constructor(
    private readonly path: string,
    private fh: FileHandle,
    private ino: number,
    private offset: number,
  ) {}

  /**
   * Opens `path` at `at`: a byte offset, `"end"` (what is written from now on), or
   * `{ tail: n }` (the last n lines). Rejects when the file cannot be opened.
   */
  static async open(path: string, at: number | "end" | { tail: number } = 0): Promise<LogCursor> {
    const fh = await open(path, "r");
    try {
      const st = await fh.stat();
      const offset =
        at === "end"
          ? st.size
          : typeof at === "number"
            ? at
            : at.tail < 0
              ? 0
              : await tailStart(fh, st.size, at.tail);
      return new LogCursor(path, fh, st.ino, offset);
    } catch (e) {
      await fh.close().catch(() => {});
      throw e;
    }
  }

  /**
   * The next whole lines (without their newlines), at most about a block of them; none when
   * everything written so far has been read. `flush`: the writer is done, so an unfinished last
   * line counts as a line.
   */
  async next(flush = false): Promise<string[]> {
    for (;;) {
      const { bytesRead } = await this.fh.read(this.buf, 0, this.buf.length, this.offset);
      if (bytesRead > 0) {
        this.offset += bytesRead;
        const data = this.pending.length
          ? Buffer.concat([this.pending, this.buf.subarray(0, bytesRead)])
          : this.buf.subarray(0, bytesRead);
        const cut = data.lastIndexOf(NEWLINE) + 1;
        if (cut === 0 && data.length >= MAX_LINE_BYTES) {
          this.pending = Buffer.alloc(0);
          return [data.toString("utf8")];
        }
        this.pending = Buffer.from(data.subarray(cut));
        if (cut === 0) continue;
        return data.toString("utf8", 0, cut - 1).split("\n");
      }
      // At the end of this file: was it rotated meanwhile?
      if (await this.reopenIfRotated()) continue;
      if (flush && this.pending.length) {
        const last = this.pending.toString("utf8");
        this.pending = Buffer.alloc(0);
        return [last];
      }
      return [];
    }
  }

  private async reopenIfRotated(): Promise<boolean> {
    let ino: number;
    try {
      ino = (await stat(this.path)).ino;
    } catch {
      return false; // Between the rename and the new file, or the pod is gone.
    }
    if (ino === this.ino) return false;
    let next: FileHandle;
    try {
      next = await open(this.path, "r");
    } catch {
      return false;
    }
    const old = this.fh;
    this.fh = next;
    this.ino = (await next.stat().catch(() => ({ ino }))).ino;
    this.offset = 0;
    this.pending = Buffer.alloc(0);
    await old.close().catch(() => {});
    return true;
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => {});
  }
}
