import assert from "node:assert/strict";
import { test } from "node:test";
import { BandedAllocator, ipStaticBand, portStaticBand } from "./allocator.ts";

test("ipStaticBand and portStaticBand follow kube's formulas", () => {
  const cases: Array<[number, number, number]> = [
    [14, 16, 16],
    [254, 16, 16],
    [65534, 256, 128],
    [2768, 173, 86],
    [1048574, 256, 128],
  ];
  for (const [size, ip, port] of cases) {
    assert.equal(ipStaticBand(size), ip, `ip band of ${size}`);
    assert.equal(portStaticBand(size), port, `port band of ${size}`);
  }
});

test("BandedAllocator.next takes the upper band before the static band", () => {
  const a = new BandedAllocator(20, 16, () => 0);
  const got = [a.next(), a.next(), a.next(), a.next(), a.next()];
  assert.deepEqual(got, [16, 17, 18, 19, 0]);
});

test("BandedAllocator.take refuses taken and out-of-range offsets", () => {
  const a = new BandedAllocator(4, 2, () => 0);
  assert.equal(a.take(1), true);
  assert.equal(a.take(1), false);
  assert.equal(a.take(4), false);
  assert.equal(a.take(-1), false);
  a.release(1);
  assert.equal(a.take(1), true);
});

test("BandedAllocator never hands out an offset twice and reports a full range", () => {
  const a = new BandedAllocator(50, 16, Math.random);
  const seen = new Set<number>();
  for (let i = 0; i < 50; i++) {
    const n = a.next();
    assert.notEqual(n, undefined);
    assert.equal(seen.has(n!), false);
    seen.add(n!);
  }
  assert.equal(a.next(), undefined);
  assert.equal(a.allocated, 50);
});
