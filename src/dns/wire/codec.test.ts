import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeMessage } from "./decode.ts";
import { encodeMessage } from "./encode.ts";
import { WireError, type WireErrorReason } from "./errors.ts";
import { formatIPv6, parseIPv4, parseIPv6 } from "./ip.ts";
import { emptyHeader, type Message, type ResourceRecord } from "./message.ts";
import { nameToLabels, readName } from "./name.ts";

function msg(parts: Partial<Message>): Message {
  return {
    header: emptyHeader(7),
    questions: [],
    answers: [],
    authorities: [],
    additionals: [],
    ...parts,
  };
}

const sample: ResourceRecord[] = [
  { name: "a.example.test", type: 1, class: 1, ttl: 5, address: "10.1.2.3" },
  { name: "a.example.test", type: 28, class: 1, ttl: 5, address: "2001:db8::1" },
  { name: "c.example.test", type: 5, class: 1, ttl: 5, target: "a.example.test" },
  { name: "example.test", type: 2, class: 1, ttl: 5, target: "ns.dns.example.test" },
  { name: "1.0.0.10.in-addr.arpa", type: 12, class: 1, ttl: 5, target: "a.example.test" },
  {
    name: "_http._tcp.example.test",
    type: 33,
    class: 1,
    ttl: 5,
    priority: 0,
    weight: 33,
    port: 80,
    target: "a.example.test",
  },
  { name: "v.example.test", type: 16, class: 1, ttl: 28800, texts: ["1.1.0", "two words"] },
  {
    name: "example.test",
    type: 6,
    class: 1,
    ttl: 5,
    mname: "ns.dns.example.test",
    rname: "hostmaster.example.test",
    serial: 4000000000,
    refresh: 7200,
    retry: 1800,
    expire: 86400,
    minimum: 5,
  },
  {
    name: "x.example.test",
    type: 0,
    rawType: 13,
    class: 1,
    ttl: 5,
    rdata: new Uint8Array([1, 65, 1, 66]),
  },
];

describe("wire codec", () => {
  it("round-trips every record type, header flags and EDNS", () => {
    const m = msg({
      header: {
        ...emptyHeader(0xbeef),
        qr: true,
        aa: true,
        rd: true,
        ra: true,
        cd: true,
        rcode: 3,
      },
      questions: [{ name: "Mixed.Case.example.test", type: 1, class: 1 }],
      answers: sample.slice(0, 5),
      authorities: sample.slice(7, 8),
      additionals: [...sample.slice(5, 7), sample[8]!],
      edns: {
        udpSize: 1232,
        version: 0,
        dnssecOk: true,
        options: [{ code: 10, data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) }],
      },
    });
    const { bytes, truncated, serialOffsets } = encodeMessage(m);
    assert.equal(truncated, false);
    assert.equal(serialOffsets.length, 1);
    assert.equal(bytes.readUInt32BE(serialOffsets[0]!), 4000000000);
    const back = decodeMessage(bytes).message;
    assert.deepEqual(back, m);
  });

  it("compresses repeated names and writes SRV targets in full", () => {
    const answers: ResourceRecord[] = Array.from({ length: 5 }, (_, i) => ({
      name: "svc.ns.svc.cluster.local",
      type: 1 as const,
      class: 1,
      ttl: 5,
      address: `10.0.0.${i}`,
    }));
    const m = msg({
      questions: [{ name: "svc.ns.svc.cluster.local", type: 1, class: 1 }],
      answers,
    });
    const { bytes } = encodeMessage(m);
    // 12 header + 26 name + 4 + 5 × (2 pointer + 10 + 4 address)
    assert.equal(bytes.length, 12 + 26 + 4 + 5 * 16);
    const srv = encodeMessage(
      msg({
        questions: [{ name: "x.cluster.local", type: 33, class: 1 }],
        answers: [
          {
            name: "x.cluster.local",
            type: 33,
            class: 1,
            ttl: 5,
            priority: 0,
            weight: 1,
            port: 1,
            target: "x.cluster.local",
          },
        ],
      }),
    ).bytes;
    assert.ok(
      srv.includes(Buffer.from("\x01x\x07cluster\x05local\x00", "latin1"), 30),
      "SRV target uncompressed",
    );
  });

  it("truncates whole records to the size limit and sets TC", () => {
    const answers: ResourceRecord[] = Array.from({ length: 100 }, (_, i) => ({
      name: "h.ns.svc.cluster.local",
      type: 1 as const,
      class: 1,
      ttl: 5,
      address: `10.0.${i >> 8}.${i & 255}`,
    }));
    const m = msg({
      questions: [{ name: "h.ns.svc.cluster.local", type: 1, class: 1 }],
      answers,
      edns: { udpSize: 1232, version: 0, dnssecOk: false, options: [] },
    });
    const { bytes, truncated } = encodeMessage(m, { maxSize: 512 });
    assert.equal(truncated, true);
    assert.ok(bytes.length <= 512);
    const back = decodeMessage(bytes).message;
    assert.equal(back.header.tc, true);
    assert.ok(back.answers.length > 20 && back.answers.length < 100);
    assert.deepEqual(back.answers, answers.slice(0, back.answers.length));
    assert.ok(back.edns, "OPT kept");
  });

  it("keeps names with dots and spaces inside labels through escapes", () => {
    const name = "a\\.b.c\\032d.\\255.test";
    assert.deepEqual(nameToLabels(name), ["a.b", "c d", "\xff", "test"]);
    const m = msg({ questions: [{ name, type: 1, class: 1 }] });
    assert.equal(decodeMessage(encodeMessage(m).bytes).message.questions[0]!.name, name);
  });

  const header = (qd: number, an = 0, ns = 0, ar = 0) =>
    Buffer.from([0x12, 0x34, 0x01, 0x00, 0, qd, 0, an, 0, ns, 0, ar]);
  const q = (name: number[]) => Buffer.from([...name, 0, 1, 0, 1]);
  const bad: Array<{ name: string; packet: Buffer; reason: WireErrorReason; id: boolean }> = [
    { name: "short header", packet: Buffer.from([1, 2, 3]), reason: "short-header", id: false },
    {
      name: "question cut short",
      packet: Buffer.concat([header(1), Buffer.from([3, 97, 98])]),
      reason: "truncated",
      id: true,
    },
    {
      name: "counts larger than the packet",
      packet: Buffer.concat([header(1, 200), q([0])]),
      reason: "truncated",
      id: true,
    },
    {
      name: "label length 64 (a reserved label type)",
      packet: Buffer.concat([header(1), q([64, ...new Array(64).fill(97), 0])]),
      reason: "bad-label-type",
      id: true,
    },
    {
      name: "name over 255 bytes",
      packet: Buffer.concat([
        header(1),
        q([...new Array(5).fill([60, ...new Array(60).fill(97)]).flat(), 0]),
      ]),
      reason: "name-too-long",
      id: true,
    },
    {
      name: "pointer to itself",
      packet: Buffer.concat([header(1), q([0xc0, 12])]),
      reason: "pointer-loop",
      id: true,
    },
    {
      name: "pointer forward",
      packet: Buffer.concat([header(1), q([0xc0, 40])]),
      reason: "bad-pointer",
      id: true,
    },
    {
      name: "two pointers chasing each other",
      packet: Buffer.concat([header(1), Buffer.from([1, 97, 0xc0, 16, 0xc0, 12, 0, 1, 0, 1])]),
      reason: "bad-pointer",
      id: true,
    },
    {
      name: "reserved label type",
      packet: Buffer.concat([header(1), q([0x40, 0])]),
      reason: "bad-label-type",
      id: true,
    },
    {
      name: "A record with 5 bytes of rdata",
      packet: Buffer.concat([
        header(1, 1),
        q([0]),
        Buffer.from([0, 0, 1, 0, 1, 0, 0, 0, 5, 0, 5, 1, 2, 3, 4, 5]),
      ]),
      reason: "bad-rdata",
      id: true,
    },
    {
      name: "trailing bytes",
      packet: Buffer.concat([header(1), q([0]), Buffer.from([0])]),
      reason: "trailing-bytes",
      id: true,
    },
    {
      name: "two OPT records",
      packet: Buffer.concat([
        header(1, 0, 0, 2),
        q([0]),
        Buffer.from([0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]),
      ]),
      reason: "duplicate-opt",
      id: true,
    },
    {
      name: "OPT in the answer section",
      packet: Buffer.concat([
        header(1, 1),
        q([0]),
        Buffer.from([0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]),
      ]),
      reason: "bad-opt",
      id: true,
    },
  ];
  for (const b of bad) {
    it(`rejects ${b.name} with a typed error${b.id ? " carrying the ID" : ""}`, () => {
      assert.throws(
        () => decodeMessage(b.packet),
        (err: unknown) => {
          assert.ok(err instanceof WireError);
          assert.equal(err.reason, b.reason);
          assert.equal(err.id, b.id ? 0x1234 : undefined);
          return true;
        },
      );
    });
  }

  it("follows a legitimate backward pointer", () => {
    const buf = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 97, 0, 1, 98, 0xc0, 12]);
    assert.deepEqual(readName(buf, 15), { name: "b.a", end: 19 });
  });

  const v6: Array<[string, string | null]> = [
    ["2001:db8::1", "2001:db8::1"],
    ["2001:0DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["2001:db8::", "2001:db8::"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8"],
    ["::ffff:1.2.3.4", "::ffff:102:304"],
    ["1::2::3", null],
    ["1:2:3:4:5:6:7:8:9", null],
    ["12345::", null],
    ["1.2.3.4", null],
  ];
  for (const [input, want] of v6) {
    it(`formats IPv6 ${input} as ${want}`, () => {
      const b = parseIPv6(input);
      assert.equal(b ? formatIPv6(b) : null, want);
    });
  }

  it("rejects IPv4 text with leading zeros, signs or extra parts", () => {
    for (const s of ["01.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1", "+1.2.3.4", "1..2.3"]) {
      assert.equal(parseIPv4(s), null, s);
    }
    assert.deepEqual([...parseIPv4("127.96.0.10")!], [127, 96, 0, 10]);
  });
});
