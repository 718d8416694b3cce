import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import { waitFor } from "../../_testing/index.ts";
import type { ContainerLog } from "../logfile.ts";
import { pipeCri, which } from "../runtimes/index.ts";
import { resizeTerminal, terminalOf } from "./tty.ts";

const NO_SCRIPT = which("script", process.env.PATH ?? "") ? false : "util-linux script is missing";

describe("terminalOf and resizeTerminal", { skip: NO_SCRIPT }, () => {
  test("find the pts of a program under script and set its size from the host", async () => {
    // The supervisor's shape: a shell, `script` under it, the program on the pty under that.
    const child = spawn("sh", ["-c", "script -qfec 'sleep 30' /dev/null; :"], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true,
    });
    try {
      const pid = child.pid ?? 0;
      assert.equal(terminalOf(pid, 0), undefined, "the shell itself has no terminal");
      const tty = await waitFor(() => terminalOf(pid), { what: "the program's terminal" });
      assert.match(tty, /^\/proc\/\d+\/fd\/0$/);
      resizeTerminal(pid, 91, 33);
      await waitFor(
        () =>
          execFileSync("stty", ["-F", tty, "size"], { encoding: "utf8" }).trim() === "33 91"
            ? true
            : undefined,
        { what: "33 rows, 91 columns" },
      );
    } finally {
      process.kill(-(child.pid ?? 0), "SIGKILL");
    }
  });
});

describe("pipeCri", () => {
  const fakeLog = () => {
    const lines: string[] = [];
    const log: ContainerLog = {
      append: (l) => {
        lines.push(l);
        return true;
      },
      drained: async () => {},
      close: async () => {},
      dropped: 0,
    };
    return { lines, log };
  };
  const records = (lines: string[]) => lines.map((l) => l.replace(/^\S+ /, "").replace(/\n$/, ""));
  const table: Array<[string, boolean, string[], string[]]> = [
    ["a line waits for its newline", false, ["/ # ", "ls\n"], ["stdout F / # ls"]],
    [
      "a terminal's prompt is written at once as a partial record",
      true,
      ["/ # ", "ls\r\n"],
      ["stdout P / # ", "stdout F ls\r"],
    ],
  ];
  for (const [name, tty, chunks, want] of table) {
    test(name, async () => {
      const { lines, log } = fakeLog();
      const stream = new PassThrough();
      const done = pipeCri(stream, "stdout", log, tty);
      for (const c of chunks) {
        stream.write(c);
        await new Promise((r) => setImmediate(r));
      }
      stream.end();
      stream.destroy();
      await done;
      assert.deepEqual(records(lines), want);
    });
  }
});
