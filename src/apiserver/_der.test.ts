import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  bitString,
  boolean,
  children,
  DerError,
  directoryString,
  explicit,
  generalizedTime,
  implicit,
  integer,
  namedBits,
  nullValue,
  octetString,
  oid,
  printableString,
  readTlv,
  sequence,
  set,
  tlv,
  utcTime,
  utf8String,
  x509Time,
} from "./_der.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const ascii = (s: string) => Buffer.from(s, "latin1").toString("hex");

describe("DER encoders produce the known encodings", () => {
  // Expected bytes from X.690 examples, RFC 5280 and certificates OpenSSL writes.
  const cases: [string, () => Buffer, string][] = [
    ["INTEGER 0", () => integer(0), "020100"],
    ["INTEGER 2 (X.509 v3)", () => integer(2n), "020102"],
    ["INTEGER 127", () => integer(127), "02017f"],
    ["INTEGER 128 gets a 0x00 sign byte", () => integer(128), "02020080"],
    ["INTEGER 256", () => integer(256), "02020100"],
    ["INTEGER 2^64", () => integer(2n ** 64n), "0209010000000000000000"],
    ["INTEGER bytes lose leading zeros", () => integer(Buffer.from([0, 0, 1])), "020101"],
    ["INTEGER bytes with the top bit set", () => integer(Buffer.from([0xff, 1])), "020300ff01"],
    ["INTEGER of zero bytes is 0", () => integer(Buffer.from([0, 0])), "020100"],
    ["BOOLEAN true is 0xFF", () => boolean(true), "0101ff"],
    ["BOOLEAN false", () => boolean(false), "010100"],
    ["NULL", () => nullValue(), "0500"],
    ["OID rsadsi 1.2.840.113549", () => oid("1.2.840.113549"), "06062a864886f70d"],
    ["OID basicConstraints 2.5.29.19", () => oid("2.5.29.19"), "0603551d13"],
    ["OID ecdsa-with-SHA256", () => oid("1.2.840.10045.4.3.2"), "06082a8648ce3d040302"],
    ["OID serverAuth", () => oid("1.3.6.1.5.5.7.3.1"), "06082b06010505070301"],
    ["OID 2.999.3 (X.690 §8.19.5)", () => oid("2.999.3"), "0603883703"],
    ["BIT STRING of whole bytes", () => bitString(Buffer.from([1, 2])), "0303000102"],
    ["keyUsage of a CA (bits 0, 5, 6)", () => namedBits([0, 5, 6]), "03020186"],
    ["keyUsage of a leaf (bits 0, 2)", () => namedBits([0, 2]), "030205a0"],
    ["keyUsage digitalSignature only", () => namedBits([0]), "03020780"],
    ["keyUsage decipherOnly (bit 8)", () => namedBits([8]), "0303070080"],
    ["empty named-bit BIT STRING", () => namedBits([]), "030100"],
    ["OCTET STRING", () => octetString(Buffer.from([0x30, 0])), "04023000"],
    ["UTF8String", () => utf8String("é"), "0c02c3a9"],
    ["PrintableString", () => printableString("Test"), `1304${ascii("Test")}`],
    [
      "DirectoryString prefers PrintableString",
      () => directoryString("system:masters"),
      `130e${ascii("system:masters")}`,
    ],
    [
      "DirectoryString falls back to UTF8String",
      () => directoryString("a_b"),
      `0c03${ascii("a_b")}`,
    ],
    ["UTCTime", () => utcTime(new Date("2026-01-02T03:04:05Z")), `170d${ascii("260102030405Z")}`],
    [
      "UTCTime drops milliseconds",
      () => utcTime(new Date("2026-01-01T00:00:00.999Z")),
      `170d${ascii("260101000000Z")}`,
    ],
    [
      "GeneralizedTime",
      () => generalizedTime(new Date("2051-06-30T12:00:00Z")),
      `180f${ascii("20510630120000Z")}`,
    ],
    [
      "X.509 time in 2049 is UTCTime",
      () => x509Time(new Date("2049-12-31T23:59:59Z")),
      `170d${ascii("491231235959Z")}`,
    ],
    [
      "X.509 time in 2050 is GeneralizedTime",
      () => x509Time(new Date("2050-01-01T00:00:00Z")),
      `180f${ascii("20500101000000Z")}`,
    ],
    [
      "X.509 time in 1949 is GeneralizedTime",
      () => x509Time(new Date("1949-12-31T23:59:59Z")),
      `180f${ascii("19491231235959Z")}`,
    ],
    ["empty SEQUENCE", () => sequence(), "3000"],
    ["SEQUENCE keeps order", () => sequence(integer(2), integer(1)), "3006020102020101"],
    ["SET OF sorts by encoding", () => set(integer(2), integer(1)), "3106020101020102"],
    ["[0] EXPLICIT", () => explicit(0, integer(2)), "a003020102"],
    ["[3] EXPLICIT", () => explicit(3, sequence()), "a3023000"],
    ["[2] IMPLICIT dNSName", () => implicit(2, Buffer.from("a")), "820161"],
    ["[7] IMPLICIT iPAddress", () => implicit(7, Buffer.from([127, 0, 0, 1])), "87047f000001"],
  ];
  for (const [name, encode, expected] of cases) {
    test(`${name} encodes as ${expected.length > 24 ? `${expected.slice(0, 24)}…` : expected}`, () => {
      assert.equal(hex(encode()), expected);
    });
  }
});

describe("DER lengths use the shortest form", () => {
  const cases: [number, string][] = [
    [0, "00"],
    [127, "7f"],
    [128, "8180"],
    [255, "81ff"],
    [256, "820100"],
    [65535, "82ffff"],
    [65536, "83010000"],
  ];
  for (const [length, header] of cases) {
    test(`a ${length}-byte content has the length bytes ${header}`, () => {
      const encoded = tlv(0x04, Buffer.alloc(length));
      assert.equal(hex(encoded.subarray(1, 1 + header.length / 2)), header);
      assert.equal(encoded.length, 1 + header.length / 2 + length);
    });
  }
});

describe("DER encoders refuse what DER or X.509 cannot hold", () => {
  const cases: [string, () => unknown][] = [
    ["a negative INTEGER", () => integer(-1)],
    ["an OID with one arc", () => oid("1")],
    ["an OID with a second arc above 39 under 0 or 1", () => oid("1.40")],
    ["a PrintableString with @", () => printableString("a@b")],
    ["a UTCTime in 2050", () => utcTime(new Date("2050-01-01T00:00:00Z"))],
    ["an invalid date", () => x509Time(new Date(Number.NaN))],
    ["a truncated TLV", () => readTlv(Buffer.from("3005020101", "hex"))],
    ["an indefinite length", () => readTlv(Buffer.from("30800000", "hex"))],
  ];
  for (const [name, run] of cases) {
    test(`${name} throws a DerError`, () => {
      assert.throws(run, DerError);
    });
  }
});

describe("readTlv and children", () => {
  test("walk back what the encoders wrote, long lengths included", () => {
    const big = octetString(Buffer.alloc(300, 7));
    const der = sequence(integer(5), big, explicit(0, boolean(true)));
    const outer = readTlv(der);
    assert.equal(outer.tag, 0x30);
    assert.equal(outer.end, der.length);
    const [a, b, c] = children(der, outer);
    assert.ok(a && b && c);
    assert.equal(hex(der.subarray(a.offset, a.end)), "020105");
    assert.equal(b.end - b.start, 300);
    assert.equal(b.start - b.offset, 4, "tag + 0x82 + two length bytes");
    assert.equal(c.tag, 0xa0);
    assert.equal(hex(der.subarray(c.start, c.end)), "0101ff");
  });
});
