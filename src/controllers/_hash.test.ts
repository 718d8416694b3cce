import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { canonicalJson, computeHash, fnv32a, safeEncodeString } from "./_hash.ts";

const template = {
  metadata: { labels: { app: "web" } },
  spec: { containers: [{ name: "nginx", image: "nginx:1" }] },
};

describe("computeHash", () => {
  test("FNV-32a matches the reference vectors", () => {
    const enc = new TextEncoder();
    assert.equal(fnv32a(enc.encode("")), 0x811c9dc5);
    assert.equal(fnv32a(enc.encode("a")), 0xe40c292c);
    assert.equal(fnv32a(enc.encode("foobar")), 0xbf9cf968);
  });

  test("SafeEncodeString maps each character into the consonant-and-digit alphabet", () => {
    assert.equal(safeEncodeString("0123456789"), "456789bcdf");
    assert.match(computeHash(template), /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  });

  test("is stable whatever the key order", () => {
    const reordered = {
      spec: { containers: [{ image: "nginx:1", name: "nginx" }] },
      metadata: { labels: { app: "web" } },
    };
    assert.equal(canonicalJson(reordered), canonicalJson(template));
    assert.equal(computeHash(reordered), computeHash(template));
  });

  test("changes with the template and with the collision count", () => {
    const other = structuredClone(template);
    other.spec.containers[0] = { name: "nginx", image: "nginx:2" };
    const seen = new Set([
      computeHash(template),
      computeHash(other),
      computeHash(template, 1),
      computeHash(template, 2),
    ]);
    assert.equal(seen.size, 4);
    assert.notEqual(
      computeHash(template, 0),
      computeHash(template),
      "0 is hashed in, as kube does",
    );
  });
});
