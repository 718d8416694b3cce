import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { LogLevel } from "../cluster/index.ts";
import {
  createLog,
  effectiveLevel,
  formatLogLine,
  outputIo,
  splitComponent,
  useColor,
} from "./_log.ts";
import type { Io } from "./_shared.ts";

const TIME = new Date("2026-01-02T03:04:05.678Z");

describe("effectiveLevel", () => {
  const cases: Array<[{ quiet?: boolean; verbose?: number; logLevel: LogLevel }, LogLevel]> = [
    [{ logLevel: "warn" }, "warn"],
    [{ logLevel: "debug" }, "debug"],
    [{ quiet: true, logLevel: "debug" }, "error"],
    [{ verbose: 1, logLevel: "warn" }, "info"],
    [{ verbose: 2, logLevel: "warn" }, "debug"],
    [{ verbose: 5, logLevel: "error" }, "debug"],
    [{ verbose: 0, logLevel: "info" }, "info"],
  ];
  for (const [given, want] of cases) {
    test(`${JSON.stringify(given)} logs at ${want}`, () =>
      assert.equal(effectiveLevel(given), want));
  }
});

describe("useColor", () => {
  const cases: Array<[string, { flag: boolean; env: NodeJS.ProcessEnv; isTTY: boolean }, boolean]> =
    [
      ["a terminal", { flag: true, env: {}, isTTY: true }, true],
      ["a pipe", { flag: true, env: {}, isTTY: false }, false],
      ["--no-color on a terminal", { flag: false, env: {}, isTTY: true }, false],
      ["NO_COLOR on a terminal", { flag: true, env: { NO_COLOR: "1" }, isTTY: true }, false],
      [
        "an empty NO_COLOR (no-color.org: ignored)",
        { flag: true, env: { NO_COLOR: "" }, isTTY: true },
        true,
      ],
      ["TERM=dumb", { flag: true, env: { TERM: "dumb" }, isTTY: true }, false],
      ["FORCE_COLOR on a pipe", { flag: true, env: { FORCE_COLOR: "1" }, isTTY: false }, true],
      ["FORCE_COLOR=0 on a terminal", { flag: true, env: { FORCE_COLOR: "0" }, isTTY: true }, true],
      [
        "FORCE_COLOR with NO_COLOR",
        { flag: true, env: { FORCE_COLOR: "1", NO_COLOR: "1" }, isTTY: true },
        false,
      ],
      [
        "FORCE_COLOR with --no-color",
        { flag: false, env: { FORCE_COLOR: "1" }, isTTY: true },
        false,
      ],
    ];
  for (const [what, given, want] of cases) {
    test(`${what}: ${want ? "colour" : "none"}`, () => assert.equal(useColor(given), want));
  }
});

describe("splitComponent", () => {
  const cases: Array<[string, string, string]> = [
    ["dns: not listening on 127.96.0.10:53", "dns", "not listening on 127.96.0.10:53"],
    ["proxy: endpoint gone", "proxy", "endpoint gone"],
    ["deployment default/web: conflict", "deployment", "deployment default/web: conflict"],
    ["informer list: timed out", "informer", "informer list: timed out"],
    ["Something else", "", "Something else"],
  ];
  for (const [message, component, msg] of cases) {
    test(`"${message}" is component "${component}"`, () =>
      assert.deepEqual(splitComponent(message), { component, msg }));
  }
});

describe("formatLogLine", () => {
  test("text: the level, then the message", () => {
    assert.equal(
      formatLogLine({ time: TIME, level: "warn", message: "dns: x" }, "text", false),
      "warn: dns: x",
    );
  });
  test("text on a terminal: the level tag coloured", () => {
    assert.equal(
      formatLogLine({ time: TIME, level: "error", message: "dns: x" }, "text", true),
      "\x1b[31merror\x1b[39m: dns: x",
    );
  });
  test("json: one object with slog's keys and the component", () => {
    const line = formatLogLine({ time: TIME, level: "info", message: "dns: up" }, "json", true);
    assert.equal(
      line,
      '{"time":"2026-01-02T03:04:05.678Z","level":"INFO","component":"dns","msg":"up"}',
    );
  });
});

describe("createLog", () => {
  test("writes the lines at or above its level", () => {
    const lines: string[] = [];
    const log = createLog({
      level: "info",
      format: "text",
      color: false,
      write: (l) => lines.push(l),
    });
    for (const level of ["error", "warn", "info", "debug"] as const) log(level, `up: ${level}`);
    assert.deepEqual(lines, ["error: up: error", "warn: up: warn", "info: up: info"]);
  });
});

describe("outputIo", () => {
  test("json: every non-empty output line becomes an INFO record, errors ERROR", () => {
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = {
      out: (l) => out.push(l),
      raw: (t) => out.push(t),
      err: (l) => err.push(l),
      setExitCode: () => {},
    };
    const json = outputIo(io, "json", "up", () => TIME);
    json.out(" ✓ pki   1.0 ms");
    json.out("");
    json.raw("a\nb\n");
    json.err("API port in use");
    assert.deepEqual(
      out.map((l) => JSON.parse(l)),
      ["✓ pki   1.0 ms", "a", "b"].map((msg) => ({
        time: TIME.toISOString(),
        level: "INFO",
        component: "up",
        msg,
      })),
    );
    assert.deepEqual(JSON.parse(err[0] ?? ""), {
      time: TIME.toISOString(),
      level: "ERROR",
      component: "up",
      msg: "API port in use",
    });
  });
  test("text: the same io", () => {
    const io = { out() {}, raw() {}, err() {}, setExitCode() {} };
    assert.equal(outputIo(io, "text", "up"), io);
  });
});
