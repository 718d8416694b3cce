import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseFdLimits } from "./fd-limit.ts";

describe("parseFdLimits", () => {
  const cases = [
    {
      text: "Max open files            1024                 524288               files     ",
      want: { soft: 1024, hard: 524288 },
    },
    {
      text: "Max open files            unlimited            unlimited            files     ",
      want: { soft: Infinity, hard: Infinity },
    },
    {
      text: "Max processes             63704                63704                processes ",
      want: undefined,
    },
  ];
  for (const c of cases) {
    it(`reads ${JSON.stringify(c.text.slice(0, 40))}`, () => {
      assert.deepEqual(parseFdLimits(`Limit Soft Hard Units\n${c.text}\n`), c.want);
    });
  }
});

const linux = existsSync("/proc/self/limits");

describe("readFdLimits", () => {
  it("shows that Node raised a low soft limit to the hard limit at startup", {
    skip: !linux && "needs Linux",
  }, async () => {
    const module = fileURLToPath(new URL("./fd-limit.ts", import.meta.url));
    const script = `import(${JSON.stringify(module)}).then(async (m) => console.log(JSON.stringify(await m.readFdLimits())))`;
    // The shell lowers the soft limit to 256; the Node process it starts finds it raised.
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        "sh",
        ["-c", `ulimit -Sn 256 && exec "${process.execPath}" --import tsx -e '${script}'`],
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      ),
    );
    const limits = JSON.parse(out) as { soft: number; hard: number } | null;
    assert.ok(limits !== null);
    assert.equal(limits.soft, limits.hard);
    if (limits.hard > 256) assert.notEqual(limits.soft, 256);
  });
});
