import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { entriesByCidr, IpamError, openIpam, parseCidr } from "./ipam.ts";
import { openIpJournal } from "./ipjournal.ts";

test("openIpam skips the network address and .1 and gives distinct addresses", () => {
  const ipam = openIpam("127.244.0.0/16");
  assert.equal(ipam.allocate("a/x"), "127.244.0.2");
  assert.equal(ipam.allocate("a/y"), "127.244.0.3");
  assert.equal(ipam.allocate("a/x"), "127.244.0.2", "stable for the same key");
});

test("openIpam keeps allocations across reopen of the journal, and releases", () => {
  const dir = mkdtempSync(join(tmpdir(), "ipam-"));
  try {
    const j1 = openIpJournal(dir);
    const a = openIpam("127.244.0.0/16", { journal: j1 });
    a.allocate("ns/one");
    const two = a.allocate("ns/two");
    j1.flush();
    const j2 = openIpJournal(dir);
    const b = openIpam("127.244.0.0/16", { journal: j2 });
    assert.equal(b.get("ns/two"), two);
    b.release("ns/two");
    j2.flush();
    assert.equal(
      openIpam("127.244.0.0/16", { journal: openIpJournal(dir) }).get("ns/two"),
      undefined,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("nodes sharing a journal each take back the entries of their own CIDR", () => {
  const dir = mkdtempSync(join(tmpdir(), "ipam-"));
  try {
    const j1 = openIpJournal(dir);
    const a = openIpam("127.244.0.0/24", { journal: j1 });
    const b = openIpam("127.244.1.0/24", { journal: j1 });
    const ipA = a.allocate("ns/a");
    const ipB = b.allocate("ns/b");
    j1.flush();
    const j2 = openIpJournal(dir);
    const a2 = openIpam("127.244.0.0/24", { journal: j2 });
    const b2 = openIpam("127.244.1.0/24", { journal: j2 });
    assert.deepEqual([...a2.entries()], [["ns/a", ipA]]);
    assert.deepEqual([...b2.entries()], [["ns/b", ipB]]);
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

test("entriesByCidr gives each node's CIDR its own entries and drops foreign ones", () => {
  const entries = new Map([
    ["ns/a", "127.244.0.2"],
    ["ns/b", "127.244.1.9"],
    ["ns/c", "127.244.0.200"],
    ["ns/far", "10.0.0.5"],
    ["ns/gap", "127.244.3.1"],
    ["ns/bad", "not-an-ip"],
  ]);
  const got = entriesByCidr(entries, ["127.244.1.0/24", "127.244.0.0/24", "127.244.2.0/24"]);
  assert.deepEqual(Object.fromEntries(got), {
    "127.244.0.0/24": [
      ["ns/a", "127.244.0.2"],
      ["ns/c", "127.244.0.200"],
    ],
    "127.244.1.0/24": [["ns/b", "127.244.1.9"]],
    "127.244.2.0/24": [],
  });
});
