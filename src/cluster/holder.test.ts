import assert from "node:assert/strict";
import dgram from "node:dgram";
import net from "node:net";
import { describe, it } from "node:test";
import { describePortHolder, findPortHolder, socketInodes } from "./holder.ts";

const HEADER =
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
const row = (local: string, state: string, inode: number) =>
  `   0: ${local} 00000000:0000 ${state} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 100 0 0 10 0`;
const TCP = [
  HEADER,
  row("0100007F:1922", "0A", 101), // 127.0.0.1:6434 listening
  row("0A00607F:0035", "0A", 102), // 127.96.0.10:53 listening
  row("0100007F:1923", "01", 103), // 127.0.0.1:6435 established: not a holder
  row("00000000:1F90", "0A", 104), // 0.0.0.0:8080
].join("\n");
const TCP6 = [
  HEADER,
  row("00000000000000000000000000000000:01BB", "0A", 201), // [::]:443
  row("0000000000000000FFFF00000100007F:0050", "0A", 202), // [::ffff:127.0.0.1]:80
].join("\n");

describe("socketInodes", () => {
  const cases: [string, string, "tcp" | "udp", string, number, string[]][] = [
    ["a listening IPv4 socket", TCP, "tcp", "127.0.0.1", 6434, ["101"]],
    ["an address other than 127.0.0.1", TCP, "tcp", "127.96.0.10", 53, ["102"]],
    ["not a connected socket", TCP, "tcp", "127.0.0.1", 6435, []],
    ["the IPv4 wildcard holds every address", TCP, "tcp", "127.96.0.1", 8080, ["104"]],
    ["the IPv6 wildcard holds every address", TCP6, "tcp", "127.96.0.1", 443, ["201"]],
    ["a v4-mapped IPv6 socket", TCP6, "tcp", "127.0.0.1", 80, ["202"]],
    [
      "UDP needs no listening state",
      TCP.replaceAll(" 01 ", " 07 "),
      "udp",
      "127.0.0.1",
      6435,
      ["103"],
    ],
    ["no socket on the port", TCP, "tcp", "127.0.0.1", 1, []],
  ];
  for (const [name, table, transport, host, port, want] of cases) {
    it(name, () => assert.deepEqual(socketInodes(table, transport, host, port), want));
  }
});

describe("findPortHolder", () => {
  it("finds this process holding a TCP port and a UDP port", async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const udp = dgram.createSocket("udp4");
    await new Promise<void>((r) => udp.bind(0, "127.0.0.1", r));
    try {
      const tcpPort = (server.address() as net.AddressInfo).port;
      const tcp = findPortHolder("tcp", "127.0.0.1", tcpPort);
      assert.equal(tcp?.pid, process.pid);
      assert.match(describePortHolder(tcp!), new RegExp(`^pid ${process.pid} \\(.*node`));
      assert.equal(findPortHolder("udp", "127.0.0.1", udp.address().port)?.pid, process.pid);
    } finally {
      server.close();
      udp.close();
    }
  });

  it("finds nothing on a free port", async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((r) => server.close(r));
    assert.equal(findPortHolder("tcp", "127.0.0.1", port), undefined);
  });
});
