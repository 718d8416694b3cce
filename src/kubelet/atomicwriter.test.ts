import assert from "node:assert/strict";
import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { PayloadError, writeAtomically } from "./atomicwriter.ts";

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "atomic-"));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("writeAtomically lays a payload out as kube's atomic writer: ..data, a timestamped dir, symlinks", () => {
  withDir((dir) => {
    const now = new Date("2025-02-03T04:05:06.789Z");
    assert.equal(
      writeAtomically(
        dir,
        [
          { path: "token", content: "t1", mode: 0o644 },
          { path: "sub/ca.crt", content: "ca", mode: 0o600 },
        ],
        now,
      ),
      true,
    );
    const entries = readdirSync(dir).sort();
    const stamp = entries.find((e) => e.startsWith("..2025"));
    assert.match(stamp ?? "", /^\.\.2025_02_03_04_05_06\.\w+$/);
    assert.deepEqual(entries, [stamp, "..data", "sub", "token"].sort());
    assert.equal(readlinkSync(join(dir, "..data")), stamp);
    assert.equal(readlinkSync(join(dir, "token")), "..data/token");
    assert.equal(readlinkSync(join(dir, "sub")), "..data/sub");
    assert.equal(readFileSync(join(dir, "sub", "ca.crt"), "utf8"), "ca");
    assert.equal(statSync(join(dir, "sub", "ca.crt")).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, stamp ?? "")).mode & 0o777, 0o755);
  });
});

test("writeAtomically writes nothing for the same payload and swaps ..data for a new one", () => {
  withDir((dir) => {
    const files = [{ path: "token", content: "t1", mode: 0o644 }];
    writeAtomically(dir, files);
    const first = readlinkSync(join(dir, "..data"));
    assert.equal(writeAtomically(dir, files), false);
    assert.equal(readlinkSync(join(dir, "..data")), first);
    assert.equal(writeAtomically(dir, [{ path: "token", content: "t1", mode: 0o600 }]), true);
    assert.equal(writeAtomically(dir, [{ path: "token2", content: "t2", mode: 0o644 }]), true);
    const second = readlinkSync(join(dir, "..data"));
    assert.notEqual(second, first);
    // The old timestamped directory and the stale visible entry are gone.
    assert.deepEqual(readdirSync(dir).sort(), [second, "..data", "token2"].sort());
    assert.equal(readFileSync(join(dir, "token2"), "utf8"), "t2");
  });
});

test("writeAtomically converts a volume written in place and refuses paths that escape", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "token"), "old");
    writeAtomically(dir, [{ path: "token", content: "new", mode: 0o644 }]);
    assert.ok(lstatSync(join(dir, "token")).isSymbolicLink());
    assert.equal(readFileSync(join(dir, "token"), "utf8"), "new");
    for (const path of ["../x", "/etc/passwd", "a/../../b", "..data", ""]) {
      assert.throws(() => writeAtomically(dir, [{ path, content: "", mode: 0o644 }]), PayloadError);
    }
  });
});
