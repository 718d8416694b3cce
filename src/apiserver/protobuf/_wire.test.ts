import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bField, dField, f32Field, varint, vField } from "./_testing/encode.ts";
import { WireError, WireReader } from "./_wire.ts";

describe("WireReader", () => {
  const cases: [string, bigint | number, bigint][] = [
    ["zero", 0, 0n],
    ["one byte", 127, 127n],
    ["two bytes", 300, 300n],
    ["a negative int32 as ten bytes", -1, 0xffffffffffffffffn],
    ["the largest uint64", 0xffffffffffffffffn, 0xffffffffffffffffn],
  ];
  for (const [name, input, want] of cases) {
    it(`varint reads ${name}`, () => {
      const bytes = varint(input);
      const r = new WireReader(bytes);
      assert.equal(r.varint(), want);
      assert.equal(r.done, true);
    });
  }

  it("varint rejects more than ten continuation bytes as an overflow", () => {
    const r = new WireReader(new Uint8Array(11).fill(0x80));
    assert.throws(() => r.varint(), { name: "WireError", message: "proto: integer overflow" });
  });

  it("varint rejects a value cut short", () => {
    assert.throws(() => new WireReader(Uint8Array.from([0x80, 0x80])).varint(), WireError);
  });

  it("tag splits field number and wire type and rejects field 0", () => {
    assert.deepEqual(new WireReader(vField(17, 1)).tag(), { field: 17, wireType: 0 });
    assert.throws(() => new WireReader(Uint8Array.from([0x02])).tag(), /illegal tag 0/);
  });

  it("bytes returns the value's range and refuses a length past the end", () => {
    const msg = bField(1, "abc");
    const r = new WireReader(msg);
    r.tag();
    const range = r.bytes();
    assert.equal(new TextDecoder().decode(r.slice(range)), "abc");
    const cut = new WireReader(msg.subarray(0, msg.length - 1));
    cut.tag();
    assert.throws(() => cut.bytes(), { message: "unexpected EOF" });
  });

  it("skip steps over every wire type Kubernetes uses and rejects groups", () => {
    const all = Uint8Array.from([
      ...vField(1, 5),
      ...dField(2, 1.5),
      ...bField(3, "x"),
      ...f32Field(4, 7),
    ]);
    const r = new WireReader(all);
    const seen: number[] = [];
    while (!r.done) {
      const t = r.tag();
      seen.push(t.field);
      r.skip(t.wireType);
    }
    assert.deepEqual(seen, [1, 2, 3, 4]);
    assert.throws(() => new WireReader(new Uint8Array(0)).skip(3), /illegal wireType 3/);
  });

  it("a sub-reader never reads past its window", () => {
    const buf = Uint8Array.from([...bField(1, [vField(1, 1)]), ...vField(2, 9)]);
    const r = new WireReader(buf);
    r.tag();
    const sub = r.sub(r.bytes());
    sub.tag();
    sub.varint();
    assert.equal(sub.done, true);
    assert.throws(() => sub.varint(), WireError);
  });
});
