import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SpecialType } from "./_schema.ts";
import { decodeSpecial, goDuration } from "./_special.ts";
import { bField, vField } from "./_testing/encode.ts";
import { WireReader } from "./_wire.ts";

function decode(type: SpecialType, parts: Uint8Array[]): unknown {
  const bytes = Uint8Array.from(parts.flatMap((p) => [...p]));
  return decodeSpecial(type, new WireReader(bytes), bytes.length === 0);
}

describe("decodeSpecial", () => {
  const cases: [string, SpecialType, Uint8Array[], unknown][] = [
    ["an empty Time is the zero time, printed as null", "Time", [], null],
    ["Time prints RFC 3339 in UTC", "Time", [vField(1, 1704164645)], "2024-01-02T03:04:05Z"],
    [
      "Time drops nanoseconds as apimachinery does",
      "Time",
      [vField(1, 0), vField(2, 5)],
      "1970-01-01T00:00:00Z",
    ],
    [
      "MicroTime keeps microseconds",
      "MicroTime",
      [vField(1, 1704164645), vField(2, 123456789)],
      "2024-01-02T03:04:05.123456Z",
    ],
    [
      "MicroTime before the epoch counts nanos forward",
      "MicroTime",
      [vField(1, -1), vField(2, 500000000)],
      "1969-12-31T23:59:59.500000Z",
    ],
    ["IntOrString type 0 is its intVal", "IntOrString", [vField(1, 0), vField(2, 8080)], 8080],
    ["IntOrString type 1 is its strVal", "IntOrString", [vField(1, 1), bField(3, "http")], "http"],
    ["an empty IntOrString is 0", "IntOrString", [], 0],
    ["a negative intVal survives its ten-byte varint", "IntOrString", [vField(2, -3)], -3],
    ["Quantity is its string", "Quantity", [bField(1, "500m")], "500m"],
    ["an empty Quantity is 0", "Quantity", [], "0"],
    ["Duration prints as Go does", "Duration", [vField(1, 90_000_000_000)], "1m30s"],
    ["RawExtension carries JSON", "json", [bField(1, '{"a":[1,"x"]}')], { a: [1, "x"] }],
    ["an empty RawExtension is null", "json", [], null],
  ];
  for (const [name, type, parts, want] of cases) {
    it(name, () => assert.deepEqual(decode(type, parts), want));
  }

  it("rejects a Time outside the years 0 to 9999 as Go's JSON encoder does", () => {
    assert.throws(() => decode("Time", [vField(1, 253402300800)]), /year outside of range/);
  });

  it("rejects an IntOrString of an unknown type and raw bytes that are not JSON", () => {
    assert.throws(() => decode("IntOrString", [vField(1, 2)]), /impossible IntOrString.Type/);
    assert.throws(() => decode("json", [bField(1, "{")]), /not valid JSON/);
  });
});

describe("goDuration", () => {
  const cases: [bigint, string][] = [
    [0n, "0s"],
    [1n, "1ns"],
    [1500n, "1.5\u00b5s"],
    [100_000_000n, "100ms"],
    [1_500_000_000n, "1.5s"],
    [3_600_000_000_000n, "1h0m0s"],
    [3_723_004_000_000n, "1h2m3.004s"],
    [-123_000_000_000n, "-2m3s"],
  ];
  for (const [ns, want] of cases)
    it(`prints ${ns}ns as ${want}`, () => assert.equal(goDuration(ns), want));
});
