import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  liveLeases,
  ownerAlive,
  ownerName,
  processStartTime,
  releaseLeases,
  writeLease,
} from "./lease.ts";

const lease = (key: string) => ({
  key,
  holder: `pod default/${key}`,
  digest: "sha256:aa",
  id: "sha256:bb",
  ref: "example.com/a:1",
  digests: ["sha256:aa", "sha256:bb"],
});

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(r.stdout.toString());
}

test("this process's owner name is its pid and start time, and it is alive", () => {
  assert.match(ownerName(), new RegExp(`^${process.pid}-\\d+$`));
  assert.equal(ownerName(), `${process.pid}-${processStartTime(process.pid)}`);
  assert.equal(ownerAlive(ownerName()), true);
});

test("an owner whose process is gone, or whose pid another process took, is not alive", () => {
  assert.equal(ownerAlive(`${deadPid()}-12345`), false);
  // pid 1 lives, but was not started at tick 1 past its real start.
  const start = Number(processStartTime(1));
  if (Number.isFinite(start)) assert.equal(ownerAlive(`1-${start + 1}`), false);
  assert.equal(ownerAlive("not-an-owner"), false);
});

test("leases are written, read while their owner lives, released by prefix, and swept when it is gone", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lk-lease-"));
  try {
    await writeLease(dir, lease("uid1_app"));
    await writeLease(dir, lease("uid1_side"));
    await writeLease(dir, lease("uid2_app"));
    const dead = join(dir, `${deadPid()}-777`);
    mkdirSync(dead);
    writeFileSync(join(dead, "x.json"), JSON.stringify(lease("gone")));
    const keys = (await liveLeases(dir)).map((l) => l.key).sort();
    assert.deepEqual(keys, ["uid1_app", "uid1_side", "uid2_app"]);
    assert.equal(existsSync(dead), false, "a dead owner's leases are swept");
    assert.equal(await releaseLeases(dir, "uid1_"), 2);
    assert.deepEqual(
      (await liveLeases(dir)).map((l) => l.key),
      ["uid2_app"],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
