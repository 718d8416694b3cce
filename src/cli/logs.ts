/**
 * `loopkube logs [--follow]`: the log of a cluster started with `up --detach`
 * (`<data-dir>/loopkube.log`: its output and its logs, as `--log-format` wrote them). With
 * `--follow`, new lines are printed as they come until the cluster stops (then the command ends,
 * as `kubectl logs -f` ends with its container) or until Ctrl-C. A log that shrinks (truncated by
 * hand) is read again from its start.
 *
 * @module
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { type Command, InvalidArgumentError } from "commander";
import { ClusterError, isProcessAlive, readRunInfo, runInfoPaths } from "../cluster/index.ts";
import { DEFAULT_NAME, dataDirOf, type Io, type TargetOptions } from "./_shared.ts";

const POLL_MS = 200;

interface LogsOptions extends TargetOptions {
  follow?: boolean;
  tail?: number;
}

export function addLogsCommand(program: Command, io: Io): void {
  program
    .command("logs")
    .description("print the log of a cluster started with up --detach")
    .option("--name <name>", "cluster name", DEFAULT_NAME)
    .option("--data-dir <dir>", "data directory (default: under the XDG data home, per name)")
    .option("-f, --follow", "keep printing new lines until the cluster stops")
    .option("--tail <lines>", "only the last N lines to start with", parseLines)
    .action(async (o: LogsOptions) => {
      const dir = dataDirOf(o);
      const file = runInfoPaths(dir).log;
      let offset = 0;
      try {
        // Throws when there is no log: `--tail` or not.
        offset = tailOffset(file, o.tail ?? Number.POSITIVE_INFINITY);
      } catch {
        throw new ClusterError(
          `cluster "${o.name}" has no log in ${dir}: only \`loopkube up --detach\` writes one (a cluster in the foreground logs to its terminal)`,
        );
      }
      // One decoder across reads: a character split between two reads is printed whole.
      const out = { io, decoder: new StringDecoder("utf8") };
      offset = copy(file, offset, out);
      if (!o.follow) return;
      // Follow while the cluster that writes the log runs; then print what it wrote last. Its
      // pid is remembered: a stopping cluster removes its run info before its last line.
      let pid: number | undefined;
      for (;;) {
        pid = readRunInfo(dir)?.pid ?? pid;
        const running = pid !== undefined && isProcessAlive(pid);
        offset = copy(file, offset, out);
        if (!running) return;
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    });
}

function parseLines(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("not a line count (0 or more).");
  return Number(value);
}

/** Writes what `file` holds past `offset`; returns the new offset. */
function copy(file: string, offset: number, out: { io: Io; decoder: StringDecoder }): number {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return offset;
  }
  let from = size < offset ? 0 : offset;
  if (size === from) return from;
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(64 * 1024);
    while (from < size) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, size - from), from);
      if (n === 0) break;
      out.io.raw(out.decoder.write(buf.subarray(0, n)));
      from += n;
    }
  } finally {
    closeSync(fd);
  }
  return from;
}

/** Where the last `lines` lines of `file` start (throws if there is no file). */
function tailOffset(file: string, lines: number): number {
  const size = statSync(file).size;
  if (lines === 0) return size;
  if (!Number.isFinite(lines)) return 0;
  const fd = openSync(file, "r");
  try {
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    let seen = 0;
    // A final newline ends the last line rather than starting an empty one.
    let skipFinal = true;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const n = readSync(fd, chunk, 0, end - start, start);
      for (let i = n - 1; i >= 0; i--) {
        if (chunk[i] !== 0x0a) {
          skipFinal = false;
          continue;
        }
        if (skipFinal) {
          skipFinal = false;
          continue;
        }
        if (++seen === lines) return start + i + 1;
      }
      end = start;
    }
    return 0;
  } finally {
    closeSync(fd);
  }
}
