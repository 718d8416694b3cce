import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FLUSH_MS, IpamError, openIpam, parseCidr } from "./ipam.ts";

test("openIpam skips the network address and .1 and gives distinct addresses", () => {
  const ipam = openIpam("127.244.0.0/16");
  assert.equal(ipam.allocate("a/x"), "127.244.0.2");
  assert.equal(ipam.allocate("a/y"), "127.244.0.3");
  assert.equal(ipam.allocate("a/x"), "127.244.0.2", "stable for the same key");
});

test("openIpam keeps allocations across reopen from the data dir, and releases", () => {
  const dir = mkdtempSync(join(tmpdir(), "ipam-"));
  try {
    const a = openIpam("127.244.0.0/16", { dataDir: dir });
    a.allocate("ns/one");
    const two = a.allocate("ns/two");
    a.flush();
    const b = openIpam("127.244.0.0/16", { dataDir: dir });
    assert.equal(b.get("ns/two"), two);
    b.release("ns/two");
    b.flush();
    assert.equal(openIpam("127.244.0.0/16", { dataDir: dir }).get("ns/two"), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("openIpam honours a free preferred address and ignores a taken or foreign one", () => {
  const ipam = openIpam("127.244.0.0/16");
  assert.equal(ipam.allocate("a", "127.244.3.4"), "127.244.3.4");
  assert.notEqual(ipam.allocate("b", "127.244.3.4"), "127.244.3.4");
  assert.match(ipam.allocate("c", "10.0.0.5"), /^127\.244\./);
});

test("openIpam reports exhaustion of a small range", () => {
  const ipam = openIpam("127.1.2.0/30");
  assert.equal(ipam.allocate("a"), "127.1.2.2");
  assert.throws(() => ipam.allocate("b"), IpamError);
});

for (const bad of ["127.0.0.0", "300.1.1.1/8", "1.2.3.4/31"]) {
  test(`parseCidr rejects ${bad}`, () => assert.throws(() => parseCidr(bad), IpamError));
}

test("openIpam writes a burst of allocations once, FLUSH_MS later", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ipam-"));
  const file = join(dir, "pod-ips.json");
  try {
    const a = openIpam("127.244.0.0/16", { dataDir: dir });
    const ips = Array.from({ length: 110 }, (_, i) => a.allocate(`ns/p${i}`));
    await new Promise((r) => setImmediate(r));
    assert.equal(existsSync(file), false, "nothing written at once");
    await new Promise((r) => setTimeout(r, FLUSH_MS + 50));
    const saved = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
    assert.equal(Object.keys(saved).length, 110);
    assert.equal(saved["ns/p109"], ips[109]);
    const b = openIpam("127.244.0.0/16", { dataDir: dir });
    assert.deepEqual([...b.entries().values()], ips);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
