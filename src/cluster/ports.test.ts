import assert from "node:assert/strict";
import dgram from "node:dgram";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { bindError, choosePort, whoHolds } from "./ports.ts";

describe("choosePort", () => {
  let held: net.Server;
  let heldUdp: dgram.Socket;
  let tcpPort: number;
  let udpPort: number;
  before(async () => {
    held = net.createServer();
    await new Promise<void>((r) => held.listen(0, "127.0.0.1", r));
    tcpPort = (held.address() as net.AddressInfo).port;
    heldUdp = dgram.createSocket("udp4");
    await new Promise<void>((r) => heldUdp.bind(0, "127.0.0.1", r));
    udpPort = heldUdp.address().port;
  });
  after(() => {
    held.close();
    heldUdp.close();
  });

  const cases: {
    name: string;
    transport: "tcp" | "both";
    wanted: () => number | undefined;
    fallback: () => number;
    want: (free: number) => number;
    logged: RegExp | undefined;
  }[] = [
    {
      name: "a port the user asked for is used as it is, even when taken (the listener says so)",
      transport: "tcp",
      wanted: () => tcpPort,
      fallback: () => tcpPort,
      want: () => tcpPort,
      logged: undefined,
    },
    {
      name: "a free default is used",
      transport: "tcp",
      wanted: () => undefined,
      fallback: () => 0,
      want: () => 0,
      logged: undefined,
    },
    {
      name: "a taken default TCP port gives way to a free one, and the log names the holder",
      transport: "tcp",
      wanted: () => undefined,
      fallback: () => tcpPort,
      want: () => 0,
      logged:
        /^API port \d+ on 127\.0\.0\.1 is in use by this process \(pid \d+\): using a free port instead$/,
    },
    {
      name: "a default DNS port taken over UDP only gives way too",
      transport: "both",
      wanted: () => undefined,
      fallback: () => udpPort,
      want: () => 0,
      logged:
        /^API port \d+ on 127\.0\.0\.1 is in use by this process \(pid \d+\): using a free port instead$/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const lines: string[] = [];
      const port = await choosePort(
        "API",
        c.transport,
        "127.0.0.1",
        c.wanted(),
        c.fallback(),
        (m) => lines.push(m),
      );
      assert.equal(port, c.want(0));
      if (c.logged) assert.match(lines.join("\n"), c.logged);
      else assert.deepEqual(lines, []);
    });
  }
});

describe("bindError", () => {
  it("tells why an address cannot be bound, and nothing when it can", async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      assert.equal(await bindError("tcp", "127.0.0.1", port), "EADDRINUSE");
      assert.equal(whoHolds("tcp", "127.0.0.1", port), `this process (pid ${process.pid})`);
    } finally {
      await new Promise((r) => server.close(r));
    }
    assert.equal(await bindError("tcp", "127.0.0.1", port), undefined);
    assert.equal(await bindError("udp", "127.0.0.1", 0), undefined);
  });
});
