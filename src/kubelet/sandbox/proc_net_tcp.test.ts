import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { listeningPorts, procAddressBytes } from "./proc_net_tcp.ts";

const HEADER =
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
/** One table line: local address, remote address and state as the kernel prints them. */
const line = (n: number, local: string, remote: string, st: string) =>
  `   ${n}: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000     0        0 6072842 1 0000000000000000 100 0 0 10 0`;
const POD = "127.244.0.5";
// On a little-endian machine 127.244.0.5 prints as 0500F47F; ports print as plain hex.
const V4_ZERO = "00000000:0000";
const V6_ZERO = `${"0".repeat(32)}:0000`;

describe("listeningPorts", () => {
  const cases: Array<[string, string[], number[], { littleEndian?: boolean }?]> = [
    ["counts a listener on 0.0.0.0", [line(0, "00000000:1F90", V4_ZERO, "0A")], [8080]],
    ["counts a listener on the pod IP", [line(0, "0500F47F:2328", V4_ZERO, "0A")], [9000]],
    [
      "skips a listener on the pod's 127.0.0.1 only (its private localhost)",
      [line(0, "0100007F:1B58", V4_ZERO, "0A")],
      [],
    ],
    ["skips a listener on another 127.x address", [line(0, "0600F47F:1F90", V4_ZERO, "0A")], []],
    [
      "skips connections that are not listening (01 ESTABLISHED, 06 TIME_WAIT)",
      [
        line(0, "0500F47F:1F90", "0100F47F:D431", "01"),
        line(1, "0500F47F:1F91", "0100F47F:D432", "06"),
      ],
      [],
    ],
    [
      "counts a listener on :: (tcp6, dual stack)",
      [line(0, `${"0".repeat(32)}:1F91`, V6_ZERO, "0A")],
      [8081],
    ],
    [
      "counts a listener on ::ffff:<pod IP> (tcp6)",
      [line(0, "0000000000000000FFFF00000500F47F:1F92", V6_ZERO, "0A")],
      [8082],
    ],
    [
      "skips a listener on ::1 (tcp6)",
      [line(0, "00000000000000000000000001000000:1F93", V6_ZERO, "0A")],
      [],
    ],
    [
      "lists each port once, ascending",
      [
        line(0, "00000000:2328", V4_ZERO, "0A"),
        line(1, "00000000:1F90", V4_ZERO, "0A"),
        line(2, "0500F47F:1F90", V4_ZERO, "0A"),
      ],
      [8080, 9000],
    ],
    [
      "skips lines that do not parse",
      ["garbage", line(0, "XYZ:1F90", V4_ZERO, "0A"), line(1, "00000000", V4_ZERO, "0A")],
      [],
    ],
    [
      "reads a big-endian machine's words",
      [line(0, "7FF40005:1F90", V4_ZERO, "0A"), line(1, "0500F47F:1F91", V4_ZERO, "0A")],
      [8080],
      { littleEndian: false },
    ],
  ];
  for (const [name, lines, want, o] of cases) {
    test(name, () => {
      const table = [HEADER, ...lines, ""].join("\n");
      assert.deepEqual(listeningPorts(table, POD, { littleEndian: true, ...o }), want);
    });
  }
});

describe("procAddressBytes", () => {
  test("turns each 32-bit word into network order", () => {
    assert.deepEqual([...procAddressBytes("0100007F", true)], [127, 0, 0, 1]);
    assert.deepEqual([...procAddressBytes("7F000001", false)], [127, 0, 0, 1]);
  });
  test("rejects a field of another length", () => {
    assert.throws(() => procAddressBytes("0100", true), /not a \/proc\/net address/);
  });
});
