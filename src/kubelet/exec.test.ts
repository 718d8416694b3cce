import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { execArgv, processEnv, shellJoin } from "./exec.ts";

test("shellJoin quotes only what sh would split or expand", () => {
  assert.equal(
    shellJoin(["echo", "a b", "it's", "$HOME", "x=1"]),
    `echo 'a b' 'it'\\''s' '$HOME' x=1`,
  );
  const out = execFileSync("sh", ["-c", `printf '%s|' ${shellJoin(["a b", "it's", "$HOME"])}`]);
  assert.equal(out.toString(), "a b|it's|$HOME|");
});

test("execArgv enters the sandbox with nsenter and wraps a tty in script", () => {
  const cases: [{ pid: number; sandboxed: boolean; tty: boolean }, string[]][] = [
    [{ pid: 7, sandboxed: false, tty: false }, ["ls", "-l"]],
    [
      { pid: 7, sandboxed: true, tty: false },
      ["nsenter", "-t", "7", "-m", "-u", "-r", "-w", "--", "ls", "-l"],
    ],
    [{ pid: 7, sandboxed: false, tty: true }, ["script", "-qfec", "ls -l", "/dev/null"]],
  ];
  for (const [where, want] of cases) assert.deepEqual(execArgv(["ls", "-l"], where), want);
});

test("processEnv reads a process's environment", {
  skip: process.platform !== "linux" && "needs /proc",
}, () => {
  const env = processEnv(process.pid);
  assert.equal(env?.PATH, process.env.PATH);
  assert.equal(processEnv(2 ** 22 + 12345), undefined);
});
