/**
 * How `loopkube up` writes its logs and its output.
 *
 * - Level: `--log-level error|warn|info|debug` (default warn); `-q/--quiet` is `error`, `-v` is
 *   `info`, `-vv` is `debug` (kubectl's and kind's `-v` count verbosity the same way).
 * - `--log-format text` (default): `warn: dns: message`, the level tag coloured on a terminal.
 * - `--log-format json`: one JSON object per line with the keys of Go's log/slog JSON handler —
 *   `time` (RFC 3339, UTC, milliseconds), `level` (`DEBUG`, `INFO`, `WARN`, `ERROR`), `msg` — and
 *   `component`: the part of the cluster that speaks, which the cluster's messages name first
 *   (`dns: …`, `proxy: …`, `deployment default/web: …`). slog's names rather than klog's (`ts`
 *   as a float, `v`, `msg`): klog's JSON has no level for info lines, and log shippers (Loki,
 *   Vector, Fluent Bit) read slog's keys without configuration. The command's own output lines
 *   (start steps, addresses, the Services table) become `INFO` records of component `up` on
 *   stdout, so a detached cluster's `loopkube.log` is JSON throughout.
 * - Colour: only on a terminal, never with `--no-color`, `NO_COLOR` (no-color.org) or
 *   `TERM=dumb`; `FORCE_COLOR` forces it where nothing forbids it.
 *
 * @module
 */
import type { LogLevel } from "../cluster/index.ts";
import type { Io } from "./_shared.ts";

export type LogFormat = "text" | "json";

const LEVELS: readonly LogLevel[] = ["error", "warn", "info", "debug"];

/** The level that `-q`, `-v` (counted) and `--log-level` mean together. */
export function effectiveLevel(o: {
  quiet?: boolean;
  verbose?: number;
  logLevel: LogLevel;
}): LogLevel {
  if (o.quiet) return "error";
  if ((o.verbose ?? 0) >= 2) return "debug";
  if (o.verbose === 1) return "info";
  return o.logLevel;
}

/** Whether to colour a stream, by the flag, the environment and whether it is a terminal. */
export function useColor(o: { flag: boolean; env: NodeJS.ProcessEnv; isTTY: boolean }): boolean {
  if (!o.flag) return false;
  if (o.env.NO_COLOR) return false;
  if (o.env.TERM === "dumb") return false;
  if (o.env.FORCE_COLOR && o.env.FORCE_COLOR !== "0") return true;
  return o.isTTY;
}

const COLORS: Record<LogLevel, string> = {
  error: "\x1b[31m", // red
  warn: "\x1b[33m", // yellow
  info: "\x1b[36m", // cyan
  debug: "\x1b[90m", // grey
};
const RESET = "\x1b[39m";

/** `dns: not listening …` → component `dns`; `deployment default/web: …` → `deployment`. */
export function splitComponent(message: string): { component: string; msg: string } {
  const m = /^([a-z][a-z0-9-]*):\s(.*)$/s.exec(message);
  if (m) return { component: m[1] ?? "", msg: m[2] ?? "" };
  const keyed = /^([a-z][a-z0-9-]*)\s\S+:\s/.exec(message);
  return { component: keyed?.[1] ?? "", msg: message };
}

export interface LogLine {
  time: Date;
  level: LogLevel;
  message: string;
}

export function formatLogLine(line: LogLine, format: LogFormat, color: boolean): string {
  if (format === "json") {
    const { component, msg } = splitComponent(line.message);
    return JSON.stringify({
      time: line.time.toISOString(),
      level: line.level.toUpperCase(),
      component,
      msg,
    });
  }
  const tag = color ? `${COLORS[line.level]}${line.level}${RESET}` : line.level;
  return `${tag}: ${line.message}`;
}

/** The `log` of `startCluster`: lines at or above `level`, formatted, to `write`. */
export function createLog(o: {
  level: LogLevel;
  format: LogFormat;
  color: boolean;
  write: (line: string) => void;
  now?: () => Date;
}): (level: LogLevel, message: string) => void {
  const max = LEVELS.indexOf(o.level);
  const now = o.now ?? (() => new Date());
  return (level, message) => {
    if (LEVELS.indexOf(level) > max) return;
    o.write(formatLogLine({ time: now(), level, message }, o.format, o.color));
  };
}

/** The command's output as `format` asks: unchanged for text, INFO records of `component` for json. */
export function outputIo(io: Io, format: LogFormat, component: string, now = () => new Date()): Io {
  if (format === "text") return io;
  const record = (level: LogLevel, text: string) =>
    JSON.stringify({
      time: now().toISOString(),
      level: level.toUpperCase(),
      component,
      msg: text.trim(),
    });
  return {
    out: (line) => {
      for (const l of line.split("\n")) if (l.trim() !== "") io.out(record("info", l));
    },
    raw: (text) => {
      for (const l of text.split("\n")) if (l.trim() !== "") io.out(record("info", l));
    },
    err: (line) => {
      for (const l of line.split("\n")) if (l.trim() !== "") io.err(record("error", l));
    },
    setExitCode: io.setExitCode,
  };
}
