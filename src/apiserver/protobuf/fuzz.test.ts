import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { StatusError } from "../../api/errors.ts";
import { decodeKubeProtobuf } from "./index.ts";

const FIXTURES = join(import.meta.dirname, "fixtures");
const MAGIC = [0x6b, 0x38, 0x73, 0x00];

/** mulberry32: a seeded generator, so that a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const f of readdirSync(join(FIXTURES, "kubectl.1.33"))) {
    const fx = JSON.parse(readFileSync(join(FIXTURES, "kubectl.1.33", f), "utf8")) as {
      body: string;
    };
    out.push(Buffer.from(fx.body, "base64"));
  }
  for (const f of [
    "core.v1.Pod.pb",
    "core.v1.Service.pb",
    "batch.v1.CronJob.pb",
    "core.v1.Event.pb",
  ]) {
    out.push(readFileSync(join(FIXTURES, "upstream-v1.33.0", f)));
  }
  return out;
}

function mutate(src: Uint8Array, rand: () => number): Uint8Array {
  const at = (n: number) => Math.floor(rand() * n);
  const b = Array.from(src);
  const ops = 1 + at(4);
  for (let i = 0; i < ops; i++) {
    const pos = 4 + at(Math.max(1, b.length - 4));
    switch (at(5)) {
      case 0: // flip bits in one byte
        b[pos] = (b[pos] ?? 0) ^ (1 << at(8));
        break;
      case 1: // random byte
        b[pos] = at(256);
        break;
      case 2: // truncate
        b.length = pos;
        break;
      case 3: // insert random bytes
        b.splice(pos, 0, ...Array.from({ length: 1 + at(8) }, () => at(256)));
        break;
      default: // a run of continuation bytes: varint overflow or huge lengths
        b.splice(pos, 0, ...Array.from({ length: 1 + at(12) }, () => 0x80 | at(128)));
    }
  }
  return Uint8Array.from(b);
}

it("decodeKubeProtobuf throws only StatusError on 20,000 random and mutated bodies", () => {
  const rand = rng(20241125);
  const base = seeds();
  let decoded = 0;
  for (let i = 0; i < 20_000; i++) {
    let body: Uint8Array;
    if (i % 4 === 0) {
      const len = Math.floor(rand() * 200);
      const bytes = Array.from({ length: len }, () => Math.floor(rand() * 256));
      body = Uint8Array.from(i % 8 === 0 ? [...MAGIC, ...bytes] : bytes);
    } else {
      body = mutate(base[i % base.length] as Uint8Array, rand);
    }
    try {
      const obj = decodeKubeProtobuf(body);
      JSON.stringify(obj); // no bigint or cycle may leak out
      decoded++;
    } catch (e) {
      if (!(e instanceof StatusError)) {
        assert.fail(`input #${i} threw ${String(e)}: ${Buffer.from(body).toString("base64")}`);
      }
      assert.equal(e.code, 400);
      // A decoder bug (TypeError, RangeError…) is also turned into a 400, with this prefix.
      assert.ok(!e.message.includes("malformed protobuf body"), `input #${i}: ${e.message}`);
    }
  }
  // Some mutations must still decode, or the fuzz only ever tested the first error check.
  assert.ok(decoded > 500, `only ${decoded} bodies decoded`);
});
