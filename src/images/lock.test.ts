import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { withLock } from "./lock.ts";

test("withLock never runs two holders of one name at once", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lock-"));
  try {
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        withLock(dir, "x", async () => {
          inside++;
          most = Math.max(most, inside);
          await new Promise((r) => setImmediate(r));
          inside--;
        }),
      ),
    );
    assert.equal(most, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("withLock takes over a lock whose owner is dead", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lock-"));
  try {
    writeFileSync(join(dir, "y.lock"), "2147483646"); // no such pid
    assert.equal(await withLock(dir, "y", async () => 42), 42);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
