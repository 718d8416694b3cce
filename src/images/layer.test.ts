import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { openLayer, sniffCompression } from "./layer.ts";

async function readAll(file: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const streams = await openLayer(file);
  await pipeline([
    ...streams,
    new Writable({
      write(c: Buffer, _e, done) {
        chunks.push(c);
        done();
      },
    }),
  ]);
  return Buffer.concat(chunks);
}

let hasZstd = true;
try {
  execFileSync("zstd", ["--version"], { stdio: "ignore" });
} catch {
  hasZstd = false;
}

test("openLayer reads plain, gzip and zstd layers alike", {
  skip: !hasZstd && "zstd (the program) is not installed",
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "layer-"));
  try {
    const data = Buffer.alloc(3 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
    writeFileSync(join(dir, "plain"), data);
    writeFileSync(join(dir, "gz"), gzipSync(data));
    execFileSync("zstd", ["-q", "-3", join(dir, "plain"), "-o", join(dir, "zst")]);
    const cases: [string, string][] = [
      ["plain", "none"],
      ["gz", "gzip"],
      ["zst", "zstd"],
    ];
    for (const [name, kind] of cases) {
      assert.equal(await sniffCompression(join(dir, name)), kind);
      assert.ok((await readAll(join(dir, name))).equals(data), name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
